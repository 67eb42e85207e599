"""The AWSCredentialCheck contract in one place: API coordinates, labels and annotations, the shapes the CRD
enforces, and the timestamp format of its status. Discovery, the Kubernetes client, reconcile, admission and the
handlers all import it from here."""

import re
from datetime import UTC, datetime

GROUP, VERSION, PLURAL = "credcheck.io", "v1alpha1", "awscredentialchecks"
KIND = "AWSCredentialCheck"
KKP_GROUP, KKP_VERSION = "kubermatic.k8c.io", "v1"  # the KKP objects credcheck reads

LABEL_DISCOVERED = "credcheck.io/discovered"
LABEL_SECRET = "credcheck.io/secret"
LABEL_PRESET = "credcheck.io/preset"
ANNOTATION_SOURCE_VERSION = "credcheck.io/source-version"  # the source's resourceVersion: re-check on change
ANNOTATION_NOTE = "credcheck.io/discovery-note"
ANNOTATION_RECHECK = "credcheck.io/recheck"  # an admin's re-check request (any new value): past the verdict cache
ANNOTATION_CLUSTERS = "credcheck.io/clusters"  # the KKP Clusters using the Secret, comma-separated
ANNOTATION_PROBLEM = "credcheck.io/source-problem"  # what is wrong with the Clusters' settings for this Secret
# the Cluster whose assume-role external ID the check uses, and its generation: the ID itself is read from the
# Cluster at check time and stored nowhere; a new generation (a spec change, the ID's included) re-checks
# set by discovery on a check it did not make that has the name a discovered check would take (issue 33)
ANNOTATION_CONFLICT = "credcheck.io/discovery-conflict"
ANNOTATION_EXTERNAL_ID_FROM = "credcheck.io/external-id-from"
# the KKP versions the Clusters using the source report (their conditions' kubermaticVersion): "abc=v2.31.0;…"
ANNOTATION_KKP_VERSIONS = "credcheck.io/kkp-versions"

# the CRD's pattern for spec.assumeRole.roleARN (Gardener's AWS admission uses the same)
ROLE_ARN = re.compile(r"^arn:aws[a-z0-9-]*:iam::\d{12}:role(/[^/]+)*/[^/]+$")
MIN_INTERVAL, MAX_INTERVAL = 300.0, 168 * 3600.0  # spec.interval: 5m to 168h
# spec.assumeRole.externalID: what AWS accepts for sts:AssumeRole's ExternalId (the CRD's pattern is the same)
EXTERNAL_ID = re.compile(r"[A-Za-z0-9_+=,.@:/-]{2,1224}")

TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP)


def parse_timestamp(text: str) -> datetime:
    """A status time back as an aware datetime; ValueError when it is not one."""
    return datetime.strptime(text, TIMESTAMP).replace(tzinfo=UTC)


def parse_duration(text: str) -> float:
    """`6h`, `30m`, `90s`, `1h30m` -> seconds."""
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for char in text.strip():
        if char.isdigit():
            number += char
        elif char in units and number:
            total += int(number) * units[char]
            number = ""
        else:
            raise ValueError(f"not a duration: {text!r} (use e.g. 6h, 30m, 1h30m)")
    if number:
        raise ValueError(f"not a duration: {text!r} (the unit is missing: use e.g. 6h, 30m)")
    return total
