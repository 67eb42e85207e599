"""Bounds on what a check's spec may hold (pure): the same numbers as the CRD's schema (maxItems, maxLength,
patterns), so that the webhook refuses exactly what the CRD would and a stored check written before them gets the
same words as a condition.

- `spec.clusters` holds at most MAX_CLUSTERS entries. KKP gives every Cluster a Secret of its own
  (`credential-aws-<cluster>`, kubermatic sdk/apis/kubermatic/v1/cluster.go GetSecretName; docs/requirements.md),
  so in KKP's own flow a credential serves one Cluster; sharing comes only from Clusters whose
  `credentialsReference` someone pointed at one Secret. 100 leaves that room, and a check of 100 Clusters is about
  12,000 requirements and 500 SimulatePrincipalPolicy calls (300 entries made 35,700 and 1,503): discovery writes
  the first 100 by name and notes the rest.
- Every object name a spec holds (`secretRef.name`, `presetRef.name`, `assumeRole.externalIDFrom.cluster`,
  `clusters[].name`) is a DNS subdomain (RFC 1123, as the API server names these objects): never `.`, `..` or a
  `/`, which a URL path would turn into another request (`.../secrets/.` lists every Secret).
- Strings the API server would otherwise take up to etcd's limit have a maxLength.
"""

import re
from collections.abc import Mapping
from typing import Any

MAX_CLUSTERS = 100
MAX_NAME = 253  # a DNS subdomain
MAX_KEY = 253  # a Secret's key name
MAX_FIELD = 256  # a Cluster entry's datacenter, region, version, instance profile, security group, VPC
MAX_ROLE = 2048  # an IAM role ARN (IAM's own limit)
MAX_SKIPPED = 64  # skipFeatures entries
MAX_FEATURE = 63
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_CLUSTER_STRINGS = {"datacenter": MAX_FIELD, "region": MAX_FIELD, "kubernetesVersion": MAX_FIELD,
                    "roleARN": MAX_ROLE, "instanceProfileName": MAX_FIELD, "securityGroupID": MAX_FIELD,
                    "vpcID": MAX_FIELD}


def _shown(value: Any) -> str:
    """A value named in a message: at most 64 characters of it."""
    text = str(value)
    return repr(text if len(text) <= 64 else text[:64] + "…")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def name_problem(field: str, value: Any) -> str | None:
    """Why `value` cannot be an object's name (None: it can)."""
    text = str(value)
    if len(text) > MAX_NAME or not DNS_SUBDOMAIN.fullmatch(text):
        return (f"{field} {_shown(value)} is not an object name: use lowercase letters, digits, '-' and '.' "
                f"(up to {MAX_NAME} characters, starting and ending with a letter or digit)")
    return None


def bound_problems(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(reason, message) for every bound the spec breaks: InvalidName, TooManyClusters, ValueTooLong."""
    out: list[tuple[str, str]] = []
    source = _mapping(spec.get("source"))
    names = [("spec.source.secretRef.name", _mapping(source.get("secretRef")).get("name")),
             ("spec.source.presetRef.name", _mapping(source.get("presetRef")).get("name")),
             ("spec.assumeRole.externalIDFrom.cluster",
              _mapping(_mapping(spec.get("assumeRole")).get("externalIDFrom")).get("cluster"))]
    secret_ref = _mapping(source.get("secretRef"))
    for key in ("accessKeyIdKey", "secretAccessKeyKey"):
        value = secret_ref.get(key)
        if value is not None and (len(str(value)) > MAX_KEY or not SECRET_KEY.fullmatch(str(value))):
            out.append(("InvalidSource", f"spec.source.secretRef.{key} {_shown(value)} is not a Secret key name "
                        f"(letters, digits, '-', '_', '.'; up to {MAX_KEY} characters)"))
    clusters = spec.get("clusters") or []
    if isinstance(clusters, list):
        if len(clusters) > MAX_CLUSTERS:
            out.append(("TooManyClusters", f"spec.clusters has {len(clusters)} entries; at most {MAX_CLUSTERS}: "
                        "split the Clusters over credentials of their own"))
        for i, raw in enumerate(clusters[:MAX_CLUSTERS + 1]):
            entry = _mapping(raw)
            names.append((f"spec.clusters[{i}].name", entry.get("name")))
            for key, limit in _CLUSTER_STRINGS.items():
                if entry.get(key) is not None and len(str(entry[key])) > limit:
                    out.append(("ValueTooLong", f"spec.clusters[{i}].{key} is longer than {limit} characters"))
    skipped = _mapping(spec.get("requirements")).get("skipFeatures") or []
    if isinstance(skipped, list) and (len(skipped) > MAX_SKIPPED
                                      or any(len(str(f)) > MAX_FEATURE for f in skipped)):
        out.append(("ValueTooLong", f"spec.requirements.skipFeatures takes at most {MAX_SKIPPED} feature names of "
                    f"up to {MAX_FEATURE} characters"))
    for field, value in names:
        if value is not None and value != "":
            problem = name_problem(field, value)
            if problem:
                out.append(("InvalidName", problem))
    return out
