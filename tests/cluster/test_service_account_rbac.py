"""credcheck's ServiceAccount, as the chart's RBAC makes it: it cannot read Secrets outside the watched namespaces,
cannot write Secrets or KKP's objects, and its client reports a refusal as such and logs in again after a 401."""

import dataclasses

import pytest

from credcheck.kube.client import Kube, ReadFailure, login
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.install import install_base

from .conftest import NS

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module", autouse=True)
def chart_rbac(control_plane: ControlPlane) -> None:
    """The namespace, CRDs, ServiceAccount and RBAC as the chart installs them, whatever ran before."""
    install_base(control_plane, NS)


def test_service_account_cannot_read_secrets_outside_watched_namespaces(control_plane: ControlPlane) -> None:
    kubeconfig = control_plane.service_account_kubeconfig(NS, "credcheck")
    control_plane.run_kubectl("create", "namespace", "not-watched", check=False)
    control_plane.run_kubectl("create", "secret", "generic", "elsewhere", "-n", "not-watched",
                              "--from-literal=k=v", check=False)

    def can(*args: str) -> bool:
        result = control_plane.run_kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False)
        return result.stdout.strip() == "yes"

    assert can("get", "secrets", "-n", NS) and can("watch", "secrets", "-n", NS)
    assert not can("get", "secrets", "-n", "not-watched")
    assert not can("list", "secrets", "--all-namespaces")
    assert not can("create", "secrets", "-n", NS) and not can("patch", "secrets", "-n", NS)
    assert not can("patch", "clusters.kubermatic.k8c.io") and not can("delete", "presets.kubermatic.k8c.io")
    assert can("patch", "awscredentialchecks.credcheck.io", "-n", NS)
    denied = control_plane.run_kubectl("get", "secret", "elsewhere", "-n", "not-watched", kubeconfig=kubeconfig,
                                       check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr


def test_a_secret_credcheck_may_not_read_is_reported_as_such(control_plane: ControlPlane,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """What a check pointing outside the watched namespaces meets: SecretForbidden, with what to do."""
    kubeconfig = control_plane.service_account_kubeconfig(NS, "credcheck")
    control_plane.run_kubectl("create", "namespace", "not-watched", check=False)
    control_plane.run_kubectl("create", "secret", "generic", "elsewhere", "-n", "not-watched",
                              "--from-literal=k=v", check=False)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    kube = Kube()  # the operator's own client, logged in as its ServiceAccount
    failure = kube.secret_data("not-watched", "elsewhere")
    assert isinstance(failure, ReadFailure) and failure.reason == "SecretForbidden"
    assert "grant its ServiceAccount get on Secrets in this namespace" in failure.message
    assert isinstance(kube.secret_data(NS, "does-not-exist-either"), ReadFailure)


def test_the_kube_client_logs_in_again_after_a_401(control_plane: ControlPlane,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A rotated ServiceAccount token: the first answer is 401, the client re-reads its login and carries on."""
    monkeypatch.setenv("KUBECONFIG", str(control_plane.service_account_kubeconfig(NS, "credcheck")))
    good = login()
    logins = iter([dataclasses.replace(good, token="expired-token"), good])
    kube = Kube(lambda: next(logins))
    assert kube.get_check(NS, "no-such-check") is None  # 401, then the renewed login gets the real 404
    assert isinstance(kube.secret_data(NS, "no-such-secret"), ReadFailure)
    with pytest.raises(StopIteration):
        next(logins)  # exactly one renewal
    control_plane.run_kubectl("create", "secret", "generic", "version-probe", "-n", NS, "--from-literal=k=v",
                              check=False)
    stored = control_plane.run_kubectl("get", "secret", "version-probe", "-n", NS, "-o",
                                       "jsonpath={.metadata.resourceVersion}").stdout
    assert kube.secret_version(NS, "version-probe") == stored  # read as metadata only
    assert kube.secret_version(NS, "no-such-secret") is None
