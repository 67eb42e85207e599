"""Profiles from ConfigMaps are anyone's text (issue 33): aliases cannot expand them past a bound, they have a size
cap, and what a status says about them never quotes them."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

import pytest
import yaml
from fakes import FakeKube

from credcheck.controller.admission import required_access
from credcheck.controller.reconcile import reconcile
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine.requirements import bounded_yaml
from credcheck.engine.requirements.profiles import BUILTIN, ProfileError, parse_profile_text
from credcheck.engine.requirements.untrusted import role_problems
from credcheck.kube.spec import CheckSpec, Requirements, SecretSource, parse_check


def laughs(levels: int, width: int = 9) -> str:
    """The billion laughs: each level a list of `width` aliases of the one before."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("levels", "width"), [(8, 9), (30, 2)], ids=["nine-wide", "two-wide-thirty-deep"])
def test_nested_aliases_are_refused_before_anything_expands_them(levels: int, width: int) -> None:
    started = time.monotonic()
    with pytest.raises(ProfileError) as refused:
        parse_profile_text(laughs(levels, width), "ConfigMap kubermatic/p")
    assert time.monotonic() - started < 1.0
    assert "YAML" in str(refused.value) and "lol" not in str(refused.value)


def test_a_recursive_alias_and_an_oversized_text_are_refused() -> None:
    with pytest.raises(ProfileError, match="recursive"):
        parse_profile_text("a: &a [*a]\n", "ConfigMap kubermatic/p")
    with pytest.raises(ProfileError, match="longer than 256 KiB"):
        parse_profile_text("a: " + "x" * (256 * 1024), "ConfigMap kubermatic/p")


def test_every_built_in_profile_loads_the_same_within_the_bounds() -> None:
    for name in (n for n in BUILTIN if n != "kkp"):  # kkp is kkp-2.31's alias
        text = resources.files("credcheck.engine.requirements").joinpath(f"data/{name}.yaml").read_text("utf-8")
        assert bounded_yaml.load(text) == yaml.safe_load(text), name


def test_a_profile_error_shown_in_a_status_quotes_no_value() -> None:
    text = "statements:\n  - {feature: x-secret-feature, actions: ['ec2:NotAnActionSECRET'], principal: 'SECRETp'}\n"
    with pytest.raises(ProfileError) as refused:
        parse_profile_text(text, "ConfigMap kubermatic/p")
    shown = bounded_yaml.redacted(str(refused.value))
    assert "SECRET" in str(refused.value) and "SECRET" not in shown, shown
    assert shown.startswith("ConfigMap kubermatic/p: statements[0]")


def test_a_configmap_profile_is_read_with_its_makers_rights() -> None:
    spec = CheckSpec(SecretSource("credential-aws-x"), requirements=Requirements(
        profile="configmap:team-profile/profile.yaml", upgrade_profile="configmap:next"))
    asked = [(a.resource, a.name, a.namespace) for a in required_access("kubermatic", spec)]
    assert asked == [("secrets", "credential-aws-x", "kubermatic"), ("configmaps", "team-profile", "kubermatic"),
                     ("configmaps", "next", "kubermatic")]


def test_an_alias_bomb_in_a_valid_statement_is_refused_not_expanded_into_its_text() -> None:
    """Six levels of nine: 531,441 strings once `why` is turned into text (the issue's reproduction, smaller)."""
    text = laughs(6) + ("features: {f: {severity: required}}\nstatements:\n"
                        "  - {feature: f, actions: ['ec2:DescribeInstances'], resources: ['*'], why: *l6}\n")
    with pytest.raises(ProfileError, match="nodes with its aliases expanded"):
        parse_profile_text(text, "ConfigMap kubermatic/p")


def test_a_checks_status_never_quotes_its_configmap_profile() -> None:
    """Through reconcile: the InvalidProfile condition names the place, not the text."""
    kube = FakeKube(config_maps={("kubermatic", "p", "profile.yaml"):
                                 "statements:\n  - {feature: f, actions: ['ec2:LeakedSECRETvalue']}\n"},
                    secrets={("kubermatic", "s"): {"accessKeyId": b"AKIAIOSFODNN7EXAMPLE", "secretAccessKey": b"x" * 40}})
    body: dict[str, Any] = {"metadata": {"namespace": "kubermatic", "name": "c", "generation": 1},
                            "spec": {"source": {"secretRef": {"name": "s"}},
                                     "requirements": {"profile": "configmap:p/profile.yaml"}}}
    runtime = Runtime(Settings(), kube, VerdictCache(0), ThreadPoolExecutor(1))
    done = asyncio.run(reconcile(runtime, parse_check(body, BUILTIN), {}))
    messages = " ".join(c.get("message", "") for c in done.status.to_dict()["conditions"])
    assert "InvalidProfile" in {c["reason"] for c in done.status.to_dict()["conditions"]}
    assert "SECRET" not in messages and "ConfigMap kubermatic/p" in messages, messages


def test_a_configmap_profile_asks_the_control_plane_role_only_what_kkps_ccm_calls_as_it() -> None:
    """Issue 33: `principal: controlPlaneRole` in anyone's profile would turn the role's simulation into a question
    about anything that role may do."""
    def profile(action: str) -> str:
        return ("features: {f: {severity: required}}\nstatements:\n"
                f"  - {{feature: f, actions: ['{action}'], resources: ['*'], principal: controlPlaneRole}}\n")

    assert role_problems(parse_profile_text(profile("ec2:DescribeInstances"), "ConfigMap kubermatic/p")) == []
    refused = role_problems(parse_profile_text(profile("iam:ListUsers"), "ConfigMap kubermatic/p"))
    assert len(refused) == 1 and refused[0].startswith("statements[0]") and "ListUsers" not in refused[0]

    kube = FakeKube(config_maps={("kubermatic", "p", "profile.yaml"): profile("iam:ListUsers")})
    body: dict[str, Any] = {"metadata": {"namespace": "kubermatic", "name": "c", "generation": 1},
                            "spec": {"source": {"secretRef": {"name": "s"}},
                                     "requirements": {"profile": "configmap:p/profile.yaml"}}}
    runtime = Runtime(Settings(), kube, VerdictCache(0), ThreadPoolExecutor(1))
    done = asyncio.run(reconcile(runtime, parse_check(body, BUILTIN), {}))
    ready = next(c for c in done.status.to_dict()["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "InvalidProfile" and "controlPlaneRole" in ready["message"], ready


def test_a_redacted_error_keeps_the_catalogs_suggestion() -> None:
    shown = bounded_yaml.redacted("ConfigMap kubermatic/p: statements[0]: unknown action 'iam:PasRoleSECRET'; "
                                  "did you mean 'iam:PassRole'?")
    assert "SECRET" not in shown and "did you mean 'iam:PassRole'" in shown
