"""The check's rules live in the CRD (CEL, ratcheted for stored objects): they say what credcheck's code says."""

import re
from pathlib import Path
from typing import Any

import yaml

from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.contract import EXTERNAL_ID, MAX_INTERVAL, MIN_INTERVAL, parse_duration

CRD = Path(__file__).resolve().parents[3] / "crds" / "awscredentialchecks.credcheck.io.yaml"


def spec_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    return dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"])


def test_profile_names_are_the_built_in_ones_or_a_configmap() -> None:
    requirements = spec_schema()["requirements"]["properties"]
    for key in ("profile", "upgradeProfile"):
        (rule,) = requirements[key]["x-kubernetes-validations"]
        listed = re.search(r"self in \[([^\]]*)\]", rule["rule"])
        assert listed is not None
        assert tuple(n.strip(" '") for n in listed.group(1).split(",")) == BUILTIN, f"{key}: the CRD lags BUILTIN"
        assert "configmap:" in rule["rule"] and f"spec.requirements.{key}" in rule["messageExpression"]


def test_the_interval_bounds_are_the_operators() -> None:
    (rule,) = spec_schema()["interval"]["x-kubernetes-validations"]
    low, high = re.findall(r"duration\('([0-9hms]+)'\)", rule["rule"])
    assert (parse_duration(low), parse_duration(high)) == (MIN_INTERVAL, MAX_INTERVAL)


def test_external_id_characters_are_what_aws_accepts() -> None:
    field = spec_schema()["assumeRole"]["properties"]["externalID"]
    (rule,) = field["x-kubernetes-validations"]
    crd_class = re.search(r"\^(\[[^\]]+\])\+\$", rule["rule"])
    ours = re.fullmatch(r"(\[[^\]]+\])\{(\d+),(\d+)\}", EXTERNAL_ID.pattern)
    assert crd_class is not None and ours is not None
    assert crd_class.group(1) == ours.group(1)
    assert (field["minLength"], field["maxLength"]) == (int(ours.group(2)), int(ours.group(3)))


def test_a_discovered_check_names_where_the_external_id_is_never_the_id() -> None:
    role = spec_schema()["assumeRole"]
    assert role["properties"]["externalIDFrom"]["required"] == ["cluster"]
    assert any("externalIDFrom" in r["rule"] for r in role["x-kubernetes-validations"])
