"""Bounds on a check's spec (issue 33): names that a URL would turn into another request, too many Clusters, strings
without end. The webhook's refusals are parse_spec's problems, and the CRD carries the same numbers."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from credcheck.controller.discovery.desired import desired_for_secret
from credcheck.controller.discovery.kkp import CheckSettings
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.engine.target import Target
from credcheck.kube import bounds
from credcheck.kube.client import _path
from credcheck.kube.spec import SpecProblem, parse_spec

CRD = Path(__file__).resolve().parents[3] / "crds" / "awscredentialchecks.credcheck.io.yaml"
SOURCE = {"source": {"secretRef": {"name": "credential-aws-x"}}}


def reasons(spec: dict[str, Any]) -> list[str]:
    parsed = parse_spec(spec, BUILTIN)
    return [p.reason for p in parsed] if isinstance(parsed, list) else []


@pytest.mark.parametrize("name", [".", "..", "a/b", "../x", "A", "-x", "x" * 254])
@pytest.mark.parametrize("where", ["secretRef", "presetRef", "externalIDFrom", "clusters"])
def test_every_object_name_a_spec_holds_must_be_a_dns_subdomain(where: str, name: str) -> None:
    spec: dict[str, Any] = {
        "secretRef": {"source": {"secretRef": {"name": name}}},
        "presetRef": {"source": {"presetRef": {"name": name}}},
        "externalIDFrom": {**SOURCE, "assumeRole": {"roleARN": "arn:aws:iam::123456789012:role/r",
                                                    "externalIDFrom": {"cluster": name}}},
        "clusters": {**SOURCE, "clusters": [{"name": name}]}}[where]
    assert "InvalidName" in reasons(spec)


def test_good_names_and_a_hundred_clusters_pass() -> None:
    spec = {"source": {"secretRef": {"name": "credential-aws-a.b-1"}},
            "clusters": [{"name": f"c{i}", "roleARN": "x" * 2048} for i in range(bounds.MAX_CLUSTERS)]}
    assert reasons(spec) == []


def test_more_clusters_than_the_bound_and_long_strings_are_refused() -> None:
    assert "TooManyClusters" in reasons({**SOURCE, "clusters": [{"name": f"c{i}"} for i in range(101)]})
    assert "ValueTooLong" in reasons({**SOURCE, "clusters": [{"name": "c", "vpcID": "v" * 257}]})
    assert "ValueTooLong" in reasons({**SOURCE, "requirements": {"skipFeatures": ["f"] * 65}})
    assert "InvalidSource" in reasons({"source": {"secretRef": {"name": "s", "accessKeyIdKey": "a/b"}}})


def test_a_problem_quotes_at_most_64_characters_of_a_value() -> None:
    parsed = parse_spec({"source": {"secretRef": {"name": "X" * 5000}}}, BUILTIN)
    assert isinstance(parsed, list) and all(isinstance(p, SpecProblem) and len(p.message) < 300 for p in parsed)


def test_the_client_never_turns_a_dot_name_into_another_request() -> None:
    for name in (".", ".."):
        with pytest.raises(ValueError):
            _path("", "v1", "secrets", "kubermatic", name)
    assert _path("", "v1", "secrets", "kubermatic", "a/b").endswith("/secrets/a%2Fb")


def test_the_crd_carries_the_same_bounds() -> None:
    spec = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    props = spec["properties"]
    clusters = props["clusters"]
    assert clusters["maxItems"] == bounds.MAX_CLUSTERS
    entry = clusters["items"]["properties"]
    assert entry["roleARN"]["maxLength"] == bounds.MAX_ROLE and entry["vpcID"]["maxLength"] == bounds.MAX_FIELD
    for field in (props["source"]["properties"]["secretRef"]["properties"]["name"],
                  props["source"]["properties"]["presetRef"]["properties"]["name"],
                  props["assumeRole"]["properties"]["externalIDFrom"]["properties"]["cluster"], entry["name"]):
        assert field["maxLength"] == bounds.MAX_NAME
        assert field["pattern"] == f"^{bounds.DNS_SUBDOMAIN.pattern}$"
    skip = props["requirements"]["properties"]["skipFeatures"]
    assert (skip["maxItems"], skip["items"]["maxLength"]) == (bounds.MAX_SKIPPED, bounds.MAX_FEATURE)


def test_discovery_writes_the_first_hundred_clusters_and_notes_the_rest() -> None:
    entries = tuple(Target(cluster=f"c{i:03d}") for i in range(150))
    uses = CheckSettings(None, None, entries)
    manifest = desired_for_secret("kubermatic", "credential-aws-x", resource_version="1", uses=uses,
                                  profile="kkp", interval="6h")
    assert len(manifest["spec"]["clusters"]) == 100
    assert "150 Clusters use this Secret" in manifest["metadata"]["annotations"]["credcheck.io/discovery-note"]
    assert isinstance(parse_spec(manifest["spec"], BUILTIN), type(parse_spec(SOURCE, BUILTIN)))
