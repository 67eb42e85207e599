"""Which AWSCredentialCheck a discovered KKP credential should have (pure: plain dicts in, a manifest out)."""

import re
from typing import Any

from credcheck.contract import (
    ANNOTATION_CLUSTERS,
    ANNOTATION_NOTE,
    ANNOTATION_PROBLEM,
    ANNOTATION_SOURCE_VERSION,
    GROUP,
    KIND,
    LABEL_DISCOVERED,
    LABEL_PRESET,
    LABEL_SECRET,
    ROLE_ARN,
    VERSION,
)
from credcheck.discovery.kkp import CheckSettings


def _dns_name(text: str, prefix: str = "") -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", (prefix + text).lower()).strip("-")
    return name[:253] or "unnamed"


def check_name_for_secret(secret_name: str) -> str:
    return _dns_name(secret_name)


def check_name_for_preset(preset_name: str) -> str:
    return _dns_name(preset_name, "preset-")


def _label_value(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")


def desired_for_secret(namespace: str, secret_name: str, *, resource_version: str, uses: CheckSettings,
                       profile: str, interval: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "source": {"secretRef": {"name": secret_name}},
        "requirements": {"profile": uses.profile or profile, "skipFeatures": []},
        "interval": interval,
        "clusters": [dict(c) for c in uses.clusters],
    }
    annotations = {ANNOTATION_SOURCE_VERSION: resource_version, ANNOTATION_CLUSTERS: ",".join(uses.names),
                   ANNOTATION_PROBLEM: ""}
    if uses.assume_role_arn and not ROLE_ARN.match(uses.assume_role_arn):
        # the CRD would refuse it: the check reports the Cluster's mistake instead
        annotations[ANNOTATION_PROBLEM] = (f"Cluster {uses.names[0]}: spec.cloud.aws.assumeRoleARN "
                                           f"{uses.assume_role_arn[:100]!r} is not an IAM role ARN "
                                           "(arn:aws:iam::123456789012:role/NAME): fix the Cluster")
    elif uses.assume_role_arn:
        spec["assumeRole"] = {"roleARN": uses.assume_role_arn, **(
            {"externalID": uses.external_id} if uses.external_id else {})}
    if uses.note:
        annotations[ANNOTATION_NOTE] = uses.note
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
        "metadata": {"name": check_name_for_secret(secret_name), "namespace": namespace,
                     "labels": {LABEL_DISCOVERED: "true", LABEL_SECRET: _label_value(secret_name)},
                     "annotations": annotations},
        "spec": spec,
    }


def desired_for_preset(namespace: str, preset_name: str, *, resource_version: str, profile: str,
                       interval: str, assume_role_arn: str | None, external_id: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"source": {"presetRef": {"name": preset_name}},
                            "requirements": {"profile": profile, "skipFeatures": []}, "interval": interval}
    if assume_role_arn:
        spec["assumeRole"] = {"roleARN": assume_role_arn, **({"externalID": external_id} if external_id else {})}
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
        "metadata": {"name": check_name_for_preset(preset_name), "namespace": namespace,
                     "labels": {LABEL_DISCOVERED: "true", LABEL_PRESET: _label_value(preset_name)},
                     "annotations": {ANNOTATION_SOURCE_VERSION: resource_version}},
        "spec": spec,
    }


def needs_update(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    """True when the discovered check's spec or tracking annotations differ from what they should be."""
    cur_ann = (current.get("metadata") or {}).get("annotations") or {}
    want_ann = desired["metadata"]["annotations"]
    if any(cur_ann.get(k) != v for k, v in want_ann.items()) or (
            ANNOTATION_NOTE in cur_ann and ANNOTATION_NOTE not in want_ann):
        return True
    cur_spec = current.get("spec") or {}
    want = desired["spec"]
    cur_req = cur_spec.get("requirements") or {}
    cur_source = {kind: {"name": ref.get("name")} for kind, ref in (cur_spec.get("source") or {}).items()}
    return (cur_source != want["source"]
            or (cur_spec.get("assumeRole") or None) != (want.get("assumeRole") or None)
            or cur_req.get("profile") != want["requirements"]["profile"]
            or sorted(cur_req.get("skipFeatures") or []) != sorted(want["requirements"]["skipFeatures"])
            or cur_spec.get("interval") != want["interval"]
            or (cur_spec.get("clusters") or []) != want.get("clusters", []))
