"""A Verdict as JSON-ready data and as a readable text table (for the CLI).

The JSON is the AWSCredentialCheck's status itself (kube.status.verdict_status, kube.check_status.CheckStatus):
`credcheck check --output json` and `kubectl get awscc -o jsonpath='{.status}'` have one shape (docs/status.md).
"""

import json
from collections import defaultdict
from typing import Any

from credcheck.engine.model import ActionResult, Outcome, Severity, Verdict
from credcheck.kube.status import verdict_status


def verdict_to_dict(verdict: Verdict, *, profile: str | None = None,
                    upgrade_profile: str | None = None) -> dict[str, Any]:
    """`credcheck check --output json`: the status the operator would write for this verdict (kube.check_status,
    docs/status.md), with every missing action rather than the first 50, the AWS calls made, and no times."""
    return verdict_status(verdict, profile=profile or "", upgrade_profile=upgrade_profile, missing_limit=None,
                          aws_calls=True).to_dict()


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
