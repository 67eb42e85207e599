"""Where the CLI takes a credential from: the boto3 chain, or a KKP Secret through the kubeconfig (read as the
operator reads it: kube.sources)."""

import boto3

from credcheck.engine.credential import CredentialProblem
from credcheck.engine.model import Credential, Verdict
from credcheck.kube.client import Kube
from credcheck.kube.kubeconfig import cli_login
from credcheck.kube.sources import secret_credential
from credcheck.kube.spec import SecretSource


def credential_from_environment(profile: str | None = None) -> Credential | CredentialProblem:
    found = boto3.Session(profile_name=profile).get_credentials()
    if found is None:
        return CredentialProblem("MalformedCredential", "no AWS credential in the environment or profile")
    frozen = found.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return CredentialProblem("MalformedCredential", "the environment's AWS credential is incomplete")
    return Credential(frozen.access_key, frozen.secret_key, frozen.token)


def credential_from_secret(namespace: str, name: str) -> Credential | CredentialProblem:
    """A KKP credential Secret's keys (KKP's key names), or why they cannot be used."""
    found = secret_credential(Kube(cli_login), namespace, SecretSource(name))
    return CredentialProblem(found.reason, found.message) if isinstance(found, Verdict) else found
