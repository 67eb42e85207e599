"""Last of the cluster tests: nothing credcheck wrote or printed during the whole run holds a secret byte, and its
ServiceAccount cannot read Secrets outside the watched namespaces."""

import dataclasses
import json

import pytest

from credcheck.kube.client import Kube, ReadFailure, login
from credcheck_testground.controlplane import ControlPlane

from .conftest import LEAKS, NS

pytestmark = pytest.mark.cluster


def find_leaks(written: dict[str, str], values: set[str]) -> list[tuple[str, str]]:
    """(where, first four characters) of every secret value found in the texts."""
    return [(where, value[:4] + "…") for where, text in written.items() for value in values if value in text]


def test_no_secret_in_any_object_event_annotation_or_log(control_plane: ControlPlane) -> None:
    if not LEAKS.values:
        pytest.skip("no cluster test wrote secrets in this run")
    written = {
        "AWSCredentialChecks (spec, status, annotations)": control_plane.run_kubectl(
            "get", "awscc", "-A", "-o", "json").stdout,
        "Events": control_plane.run_kubectl("get", "events", "-A", "-o", "json").stdout,
        **{f"operator log {log.parent.name}": log.read_text(errors="replace") for log in LEAKS.logs if log.exists()},
    }
    assert len(written) > 2, "the scan covers operator logs"
    assert json.loads(written["Events"])["items"], "the scan covers Events credcheck posted"
    assert find_leaks({"planted": "x" + sorted(LEAKS.values)[0] + "y"}, LEAKS.values), "the scan can fail"
    leaked = find_leaks(written, LEAKS.values)
    assert leaked == [], f"secret values found: {leaked}"
    print(f"scanned {sum(len(t) for t in written.values())} bytes in {len(written)} places for "
          f"{len(LEAKS.values)} secret values: none found")


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


def test_kkp_objects_were_never_written_by_the_operator(control_plane: ControlPlane) -> None:
    """kopf stores diff-bases, progress and finalizers on objects it handles with change handlers; credcheck
    watches KKP's Secrets, Clusters and Presets only with event handlers and an index, so none may carry them."""
    for kind, args in (("secrets", ("-n", NS)), ("clusters.kubermatic.k8c.io", ()), ("presets.kubermatic.k8c.io", ())):
        items = json.loads(control_plane.run_kubectl("get", kind, *args, "-o", "json", "--show-managed-fields")
                           .stdout)["items"]
        for item in items:
            meta = item["metadata"]
            marks = [k for k in (meta.get("annotations") or {}) if "kopf" in k or "credcheck" in k]
            assert marks == [], f"{kind} {meta['name']} carries {marks}"
            assert not meta.get("finalizers"), f"{kind} {meta['name']} has finalizers"
            writers = {f.get("manager", "") for f in meta.get("managedFields") or []}
            assert not any("kopf" in w or "credcheck" in w for w in writers), writers


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
