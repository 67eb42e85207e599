"""A Cluster's AWS settings that KKP's running components reject, whatever the credential may do (pure).

Each finding names the component that fails, how, and the KKP code (kubermatic/kubermatic@v2.31.0) that shows it.
"""

import re
from collections.abc import Mapping
from typing import Any

ARN = re.compile(r"^arn:aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::(\d{12}):role/.+$")


def role_arn_findings(role_arn: str | None, disable_iam_reconciling: bool, account: str | None) -> list[str]:
    """spec.cloud.aws.roleARN (the control-plane role): a bare role name, or a role in another account."""
    if not role_arn:
        return []
    found = ARN.match(role_arn)
    if found is None:
        return [
            f"roleARN {role_arn!r} is not an ARN: KKP writes it as RoleARN into the cloud-controller-manager's "
            "cloud-config (pkg/resources/cloudconfig/aws/cloudconfig.go:41), and the AWS cloud-controller-manager "
            "crash-loops on a bare role name (kubermatic/kubermatic#13144); "
            + ("with disableIAMReconciling KKP leaves it as it is: write the full ARN, "
               "arn:aws:iam::<account>:role/<name>" if disable_iam_reconciling else
               "KKP's IAM reconciling rewrites it into the ARN on its next run (pkg/provider/cloud/aws/provider.go:"
               "108-116, role.go:86-99); until then the cloud-controller-manager cannot start")]
    if account and found.group(2) != account:
        return [
            f"roleARN {role_arn} is in account {found.group(2)}, the credential in account {account}: KKP's IAM "
            "calls for the control-plane role go by role name to the credential's own account "
            "(pkg/provider/cloud/aws/role.go:115-125, decodeRoleARN), not to that role, and the cloud-controller-"
            "manager assumes it across accounts (cloudconfig.go:41): its trust policy must admit the credential's "
            "account, and disableIAMReconciling must be set or KKP manages a different role"]
    return []


def config_findings(entry: Mapping[str, Any], account: str | None) -> list[str]:
    """Findings for one spec.clusters entry (roleARN, disableIAMReconciling) and the credential's account."""
    return role_arn_findings(entry.get("roleARN") or None, bool(entry.get("disableIAMReconciling")), account)


def apply_config_findings(status: dict[str, Any], spec_clusters: list[Mapping[str, Any]]) -> None:
    """configFindings in each status.clusters entry, from the check's spec.clusters and the principal's account."""
    account = (status.get("principal") or {}).get("account")
    by_name = {str(c.get("name")): c for c in spec_clusters if c.get("name")}
    for entry in status.get("clusters") or []:
        spec = by_name.get(str(entry.get("name")))
        findings = config_findings(spec, account) if spec is not None else []
        if findings:
            entry["configFindings"] = findings
        else:
            entry.pop("configFindings", None)
