"""Where the CLI takes a credential from: the boto3 chain, or a KKP Secret through the kubeconfig."""

import boto3

from credcheck.engine.credential import CredentialProblem, parse_credential
from credcheck.engine.model import Credential
from credcheck.kube.client import Kube, ReadFailure
from credcheck.kube.kubeconfig import cli_login


def credential_from_environment(profile: str | None = None) -> Credential | CredentialProblem:
    found = boto3.Session(profile_name=profile).get_credentials()
    if found is None:
        return CredentialProblem("MalformedCredential", "no AWS credential in the environment or profile")
    frozen = found.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return CredentialProblem("MalformedCredential", "the environment's AWS credential is incomplete")
    return Credential(frozen.access_key, frozen.secret_key, frozen.token)


def credential_from_secret(namespace: str, name: str) -> Credential | CredentialProblem:
    data = Kube(cli_login).secret_data(namespace, name)
    if isinstance(data, ReadFailure):
        return CredentialProblem(data.reason, data.message)
    return parse_credential(data)
