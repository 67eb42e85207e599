"""A Verdict as JSON-ready data and as a readable text table (for the CLI; kube.status builds the CR status).

Actions, the summary and the broken features are shaped by engine.action_result, as in the status: the same keys
(`reason`, `missingContextKeys`, `missingRequired`, …) in both.
"""

import json
from collections import defaultdict
from typing import Any

from credcheck.engine.action_result import action_counts, action_entry, broken_feature_entries, observed_denials
from credcheck.engine.model import ActionResult, ClusterVerdict, Outcome, Severity, Verdict


def verdict_to_dict(verdict: Verdict, include_allowed: bool = False) -> dict[str, Any]:
    p = verdict.principal
    return {
        "status": verdict.status.value,
        "reason": verdict.reason,
        "message": verdict.message,
        "principal": None if p is None else {"arn": p.caller_arn, "policySource": p.policy_source_arn,
                                             "account": p.account, "partition": p.partition, "type": p.kind},
        "simulatedBy": verdict.simulated_by,
        "kkpVersion": verdict.profile_version,
        "summary": action_counts(verdict),
        "clusters": [cluster_to_dict(c) for c in verdict.clusters],
        "brokenFeatures": broken_feature_entries(verdict),
        "missingRequired": [action_entry(r) for r in verdict.missing_required],
        "missingRecommended": [action_entry(r) for r in verdict.missing_recommended],
        **({"allowed": [action_entry(r) for r in verdict.results if r.allowed]} if include_allowed else {}),
        "remediationPolicy": verdict.remediation,
        "blockers": list(verdict.blockers),
        "findings": list(verdict.findings),
        "awsCalls": verdict.aws_calls,
        **({"upgrade": upgrade_to_dict(verdict.upgrade)} if verdict.upgrade is not None else {}),
        **({"observedDenials": observed_denials(verdict.observed_denials)} if verdict.observed_denials else {}),
    }


def cluster_to_dict(c: ClusterVerdict) -> dict[str, Any]:
    return {"name": c.cluster, "status": c.status.value, "region": c.region, "kubernetes": c.kubernetes,
            "cloudController": c.cloud_controller, "missing": list(c.missing), "undecided": list(c.undecided),
            "notes": list(c.notes)}


def upgrade_to_dict(upgrade: Verdict) -> dict[str, Any]:
    return {"kkpVersion": upgrade.profile_version, "status": upgrade.status.value, "reason": upgrade.reason,
            "message": upgrade.message,
            "missingRequired": [action_entry(r) for r in upgrade.missing_required],
            "remediationPolicy": upgrade.remediation}


def verdict_to_text(verdict: Verdict, max_rows: int = 40) -> str:
    lines = [f"{verdict.status.value}: {verdict.reason}", f"  {verdict.message}"]
    if verdict.principal:
        lines.append(f"  principal: {verdict.principal.caller_arn} (simulated as {verdict.principal.policy_source_arn}"
                     f"{', by ' + verdict.simulated_by if verdict.simulated_by not in (None, 'self') else ''})")
    for finding in verdict.findings:
        lines.append(f"  finding: {finding}")
    if verdict.observed_denials is not None:
        observed = verdict.observed_denials
        lines.append(f"  AWS refused (CloudTrail, last {observed.window_hours} h): {observed.state} — "
                     f"{observed.message}")
        lines.extend(f"    - {d.action}, {d.count} time(s) in {d.region} ({d.error_code}, last {d.last_seen})"
                     for d in observed.denials)
    for c in verdict.clusters:
        lines.append(f"  cluster {c.cluster}: {c.status.value} — region {c.region}"
                     + (f", Kubernetes {c.kubernetes}, cloud-controller {c.cloud_controller}" if c.cloud_controller
                        else "")
                     + (f"; missing {', '.join(c.missing)}" if c.missing else "")
                     + (f"; undecided {', '.join(c.undecided)}" if c.undecided else ""))
        for note in c.notes:
            lines.append(f"    note: {note}")
    tally = verdict.tally()
    if tally.checked:
        lines.append(f"  {tally.checked} actions checked: {tally.allowed} allowed, "
                     f"{tally.missing_required} required missing, {tally.missing_recommended} recommended missing")
    groups: dict[tuple[Severity, Outcome], list[ActionResult]] = defaultdict(list)
    for r in verdict.results:
        if not r.allowed:
            groups[(r.requirement.severity, r.outcome)].append(r)
    for (severity, outcome), rows in sorted(groups.items(), key=lambda kv: (kv[0][0] != Severity.REQUIRED, kv[0][1])):
        lines.append(f"\n{severity.value.upper()} — {outcome.value} ({len(rows)})")
        for r in rows[:max_rows]:
            req = r.requirement
            lines.append(f"  {req.action:<55} {req.resource:<50} {','.join(req.features)}")
        if len(rows) > max_rows:
            lines.append(f"  … and {len(rows) - max_rows} more (use --output json for all)")
    for blocker in verdict.blockers:
        lines.append(f"\nblocked: {blocker}")
    if verdict.remediation:
        lines.append("\nto grant what is missing, add:\n" + json.dumps(verdict.remediation, indent=2))
    if verdict.upgrade is not None:
        up = verdict.upgrade
        lines.append(f"\nupgrade to KKP {up.profile_version}: {up.status.value}: {up.reason}\n  {up.message}")
        if up.remediation:
            lines.append("  to be ready, add:\n" + json.dumps(up.remediation, indent=2))
    return "\n".join(lines)
