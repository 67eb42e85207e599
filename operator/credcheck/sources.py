"""Where the CLI takes a credential from: the boto3 chain, or a KKP Secret through the kubeconfig."""

import base64

import boto3
from kubernetes import client, config

from credcheck.credential import CredentialProblem, parse_credential
from credcheck.model import Credential


def credential_from_environment(profile: str | None = None) -> Credential | CredentialProblem:
    found = boto3.Session(profile_name=profile).get_credentials()
    if found is None:
        return CredentialProblem("MalformedCredential", "no AWS credential in the environment or profile")
    frozen = found.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return CredentialProblem("MalformedCredential", "the environment's AWS credential is incomplete")
    return Credential(frozen.access_key, frozen.secret_key, frozen.token)


def credential_from_secret(namespace: str, name: str) -> Credential | CredentialProblem:
    config.load_kube_config()  # type: ignore[no-untyped-call]
    secret = client.CoreV1Api().read_namespaced_secret(name, namespace)
    data = {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}
    return parse_credential(data)
