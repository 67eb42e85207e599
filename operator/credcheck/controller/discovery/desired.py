"""Which AWSCredentialCheck a discovered KKP credential should have (pure: plain dicts in, a manifest out)."""

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from credcheck.controller.discovery.kkp import CheckSettings
from credcheck.kube.bounds import MAX_CLUSTERS
from credcheck.kube.contract import (
    ANNOTATION_CLUSTERS,
    ANNOTATION_EXTERNAL_ID_FROM,
    ANNOTATION_KKP_VERSIONS,
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
from credcheck.kube.spec import AssumeRoleSpec, CheckSpec, PresetSource, Requirements, SecretSource


def _dns_name(text: str, prefix: str = "") -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", (prefix + text).lower()).strip("-")
    return name[:253] or "unnamed"


PRESET_PREFIX = "preset-"  # the names of Presets' checks; a Secret's check never takes one without a hash suffix


def _suffixed(name: str, identity: str) -> str:
    """`name` with a stable suffix naming exactly one source: two sources never share a check, whatever order
    they come in (the suffix is the same on every resync)."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{name[:253 - 9].rstrip('-')}-{digest}"


def check_name_for_secret(secret_name: str) -> str:
    """The Secret's own name when it is one a check can have as is; else (dots, which `credential-aws-a.b` and
    `credential-aws-a-b` would both lose, or a name a Preset's check could have) a hash-suffixed one."""
    name = _dns_name(secret_name)
    if name == secret_name and not name.startswith(PRESET_PREFIX):
        return name
    return _suffixed(name, f"secret:{secret_name}")


def check_name_for_preset(preset_name: str) -> str:
    name = _dns_name(preset_name, PRESET_PREFIX)
    return name if name == PRESET_PREFIX + preset_name else _suffixed(name, f"preset:{preset_name}")


def _label_value(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")


def spec_for_secret(secret_name: str, uses: CheckSettings | None = None, *, profile: str | None = None,
                    interval: str | None = None) -> CheckSpec:
    """The spec of a Secret's check: the Clusters that use it and their assume-role (the external ID stays in the
    Cluster: the check names the Cluster to read it from). Without `uses`, the keys alone (the webhook's live check
    of keys no Cluster uses yet: nothing of any Cluster rides along)."""
    role = None
    if uses is not None and uses.assume_role_arn and ROLE_ARN.match(uses.assume_role_arn):
        role = AssumeRoleSpec(uses.assume_role_arn,
                              external_id_from_cluster=uses.names[0] if uses.external_id else None)
    return CheckSpec(SecretSource(secret_name), role,
                     Requirements(profile=(uses.profile if uses else None) or profile),
                     interval=interval, clusters=uses.clusters[:MAX_CLUSTERS] if uses else ())


def desired_for_secret(namespace: str, secret_name: str, *, resource_version: str, uses: CheckSettings,
                       profile: str, interval: str) -> dict[str, Any]:
    annotations = {ANNOTATION_SOURCE_VERSION: resource_version, ANNOTATION_CLUSTERS: ",".join(uses.names),
                   ANNOTATION_PROBLEM: "", ANNOTATION_EXTERNAL_ID_FROM: "", ANNOTATION_KKP_VERSIONS: ""}
    if uses.assume_role_arn and not ROLE_ARN.match(uses.assume_role_arn):
        # the CRD would refuse it in the spec: the check reports the Cluster's mistake instead (kube.spec.parse_check
        # reads it as the check's problem)
        annotations[ANNOTATION_PROBLEM] = (f"Cluster {uses.names[0]}: spec.cloud.aws.assumeRoleARN "
                                           f"{uses.assume_role_arn[:100]!r} is not an IAM role ARN "
                                           "(arn:aws:iam::123456789012:role/NAME): fix the Cluster")
    elif uses.assume_role_arn and uses.external_id:
        # uses.names[0] is the Cluster whose settings merge_uses chose; its generation re-checks when it changes
        annotations[ANNOTATION_EXTERNAL_ID_FROM] = f"{uses.names[0]}@{uses.role_generation or ''}"
    notes = [uses.note] if uses.note else []
    if len(uses.clusters) > MAX_CLUSTERS:  # the CRD's maxItems (kube.bounds): the first ones by name are asked about
        notes.append(f"{len(uses.clusters)} Clusters use this Secret; the check asks about the first {MAX_CLUSTERS} "
                     "by name: give the others credentials of their own")
    if notes:
        annotations[ANNOTATION_NOTE] = "; ".join(notes)
    if uses.kkp_versions:
        annotations[ANNOTATION_KKP_VERSIONS] = ";".join(f"{c}={v}" for c, v in uses.kkp_versions)[:1000]
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
        "metadata": {"name": check_name_for_secret(secret_name), "namespace": namespace,
                     "labels": {LABEL_DISCOVERED: "true", LABEL_SECRET: _label_value(secret_name)},
                     "annotations": annotations},
        "spec": spec_for_secret(secret_name, uses, profile=profile, interval=interval).to_manifest(),
    }


def desired_for_preset(namespace: str, preset_name: str, *, resource_version: str, profile: str,
                       interval: str) -> dict[str, Any]:
    """A Preset's check: its assume-role settings (the external ID included) are read from the Preset at check time;
    a change to them changes the Preset's resourceVersion, which re-checks."""
    spec = CheckSpec(PresetSource(preset_name), requirements=Requirements(profile=profile), interval=interval)
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
        "metadata": {"name": check_name_for_preset(preset_name), "namespace": namespace,
                     "labels": {LABEL_DISCOVERED: "true", LABEL_PRESET: _label_value(preset_name)},
                     "annotations": {ANNOTATION_SOURCE_VERSION: resource_version}},
        "spec": spec.to_manifest(),
    }


TRACKED = (ANNOTATION_SOURCE_VERSION, ANNOTATION_CLUSTERS, ANNOTATION_PROBLEM, ANNOTATION_NOTE,
           ANNOTATION_EXTERNAL_ID_FROM, ANNOTATION_KKP_VERSIONS)


def discovery_view(check: Mapping[str, Any]) -> str:
    """What discovery owns of a check, canonically: equal views need no write (API defaults don't count). A digest
    of it (the checks' store keeps one per check: 32 characters, not the ~1 KB of JSON with the Clusters' entries)."""
    meta = check.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    spec = check.get("spec") or {}
    requirements = spec.get("requirements") or {}
    view = {
        "annotations": {k: annotations.get(k) or "" for k in TRACKED},
        "source": {kind: (ref or {}).get("name") for kind, ref in (spec.get("source") or {}).items()},
        "assumeRole": spec.get("assumeRole") or None,
        "profile": requirements.get("profile"),
        "skipFeatures": sorted(requirements.get("skipFeatures") or []),
        "interval": spec.get("interval"),
        "clusters": spec.get("clusters") or [],
    }
    return hashlib.blake2b(json.dumps(view, sort_keys=True).encode(), digest_size=16).hexdigest()


def needs_update(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """True when the discovered check's spec or tracking annotations differ from what they should be."""
    return discovery_view(current) != discovery_view(desired)
