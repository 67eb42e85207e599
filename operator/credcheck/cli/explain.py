"""An AWSCredentialCheck read back for a person (pure: a stored object in, text or a summary out).

The words are the status's own — conditions, per-Cluster entries, missing actions with why KKP needs them, the
policy to add — grouped by KKP feature and by Cluster, for a terminal.
"""

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from credcheck.engine.action_result import ACTION_FIELDS
from credcheck.engine.model import Status, role_of
from credcheck.kube.check_status import ActionEntry, CheckStatus, entry_dict, policy_document


def explanation(check: Mapping[str, Any]) -> dict[str, Any]:
    """What `explain --output json` prints: the parts of the status a person acts on."""
    meta, status = check.get("metadata") or {}, CheckStatus.from_dict(check.get("status"))
    stored = status.to_dict()
    by_feature: dict[str, list[ActionEntry]] = defaultdict(list)
    for entry in status.missing:
        for feature in entry.features or ("(none)",):
            by_feature[feature].append(entry)
    ready = status.ready
    return {
        "name": f"{meta.get('namespace', '')}/{meta.get('name', '')}",
        "ready": {"status": ready.status, "reason": ready.reason, "message": ready.message} if ready is not None
        else dict.fromkeys(("status", "reason", "message")),
        "conditions": {c.type: {"status": c.status, "reason": c.reason} for c in status.conditions},
        "principal": status.principal.arn if status.principal is not None else None,
        "kkpVersion": status.kkp_version,
        "clusters": stored["clusters"],
        "missingByFeature": {f: [_row(e) for e in entries] for f, entries in sorted(by_feature.items())},
        "blockers": list(status.blockers),
        "findings": list(status.findings),
        "remediationPolicy": policy_document(status.remediation_policy),
        "roleRemediation": {r.role: policy_document(r.policy) for r in status.role_remediation},
        **{key: stored[key] for key in ("upgrade", "observedDenials", "keys", "excessPermissions")},
    }


# a row per missing action: its features group the rows; the matched statements are for scripts, not a person
ROW_FIELDS = tuple(k for k in ACTION_FIELDS if k not in ("features", "matchedStatements"))


def _row(entry: ActionEntry) -> dict[str, Any]:
    written = entry_dict(entry)
    return {k: written[k] for k in ROW_FIELDS if written.get(k)}


def verdict_of(check: Mapping[str, Any]) -> Status:
    """The verdict a stored check records (status.verdict), so `explain` exits with the code `check` would; a check
    not checked yet (or checked by a version that did not record it) is Unknown."""
    recorded = CheckStatus.from_dict(check.get("status")).verdict
    return Status(recorded) if recorded in set(Status) else Status.UNKNOWN


def _key_line(key: Mapping[str, Any]) -> str:
    used = ("never used" if key.get("neverUsed") else
            f"last used {str(key['lastUsed'])[:10]}" + "".join(f", {key[k]}" for k in ("lastUsedService",
                                                                                     "lastUsedRegion") if key.get(k))
            if key.get("lastUsed") else "last use not read")
    return f"{key.get('accessKeyId')} {key.get('status')}, {key.get('ageDays')} days old, {used}"


def _hygiene_lines(s: Mapping[str, Any]) -> list[str]:
    """The keys' facts and findings (status.keys) and what the credential may do beyond KKP's needs."""
    lines: list[str] = []
    keys = s.get("keys") or {}
    if keys:
        lines.append(f"\n  Access keys of user {keys.get('user') or '?'}: {keys.get('state')}"
                     + (f" — {keys['message']}" if keys.get("message") else ""))
        if keys.get("current"):
            lines.append(f"    in this Secret: {_key_line(keys['current'])}")
        lines.extend(f"    other key: {_key_line(k)}" for k in keys.get("others") or [])
        lines.extend(f"    {f.get('type')}: {f.get('message')}" for f in keys.get("findings") or [])
    excess = s.get("excessPermissions") or []
    if excess:
        lines.append("\n  Can do more than KKP needs (informational; status.leastPrivilegePolicy is the replacement):")
        lines.extend(f"    - {e.get('action')}" + (f" on {e['resource']}" if e.get("resource") not in (None, "*")
                                                    else "")
                     + (f" (allowed by {', '.join(e['allowedBy'])})" if e.get("allowedBy") else "") for e in excess)
    return lines


def _mark(status: str | None) -> str:
    return {"True": "OK", "False": "NOT READY", "Unknown": "UNKNOWN"}.get(str(status), "PENDING")


RECOMMENDED_LISTED = 5  # a feature's recommended actions named in full up to this many, else counted


def to_text(check: Mapping[str, Any], all_recommended: bool = False) -> str:
    """The check for a person; a feature's long list of recommended (never failing) actions is a count unless
    `all_recommended` (`credcheck explain --recommended`)."""
    s = explanation(check)
    ready = s["ready"]
    lines = [f"{s['name']}: {_mark(ready['status'])} ({ready['reason'] or 'not checked yet'})"]
    if ready["message"]:
        lines.append(f"  {ready['message']}")
    if s["principal"]:
        lines.append(f"  principal: {s['principal']}" + (f"   KKP {s['kkpVersion']}" if s["kkpVersion"] else ""))
    for cluster in s["clusters"]:
        detail = ", ".join(x for x in (cluster.get("region"), cluster.get("kubernetes") and
                                       f"Kubernetes {cluster['kubernetes']}", cluster.get("cloudController") and
                                       f"cloud-controller {cluster['cloudController']}") if x)
        lines.append(f"\n  Cluster {cluster.get('name')}: {_mark(cluster.get('ready'))}" + (f" — {detail}" if detail
                                                                                              else ""))
        if cluster.get("missing"):
            lines.append(f"    missing: {', '.join(cluster['missing'])}")
        if cluster.get("undecided"):
            lines.append(f"    AWS could not decide: {', '.join(cluster['undecided'])}")
        lines.extend(f"    note: {note}" for note in cluster.get("notes") or [])
        if cluster.get("credentialInUse"):  # issue 34: the keys the Cluster's components run on
            lines.append(f"    keys in use: {cluster['credentialInUse']} since {cluster.get('credentialInUseSince')}"
                         f" — {cluster.get('credentialInUseMessage', '')}")
        if cluster.get("deletionReady") == "False":
            lines.append(f"    deletion: {cluster.get('deletionMessage', '')}")
        lines.extend(f"    setting: {finding}" for finding in cluster.get("configFindings") or [])
    for feature, rows in s["missingByFeature"].items():
        if all(row.get("severity") == "recommended" for row in rows):
            actions = sorted({str(row["action"]) for row in rows})
            listed = (", ".join(actions) if all_recommended or len(actions) <= RECOMMENDED_LISTED else
                      f"{len(actions)} actions (--recommended lists them)")
            lines.append(f"\n  {feature} (recommended, never failing): {listed}")
            continue
        lines.append(f"\n  {feature}:")
        for row in rows:
            where = f" on {row['resource']}" if row.get("resource") not in (None, "*") else ""
            role = role_of(str(row.get("identity", "")))
            lines.append(f"    - {row['action']}{where} [{row['severity']}, {row['reason']}]"
                         + (f" (Cluster {row['cluster']})" if row.get("cluster") else "")
                         + (f" as {role}" if role else ""))
            if row.get("why"):
                lines.append(f"      why: {row['why']}")
    for blocker in s["blockers"]:
        lines.append(f"\n  blocked: {blocker}")
    for finding in s["findings"]:
        lines.append(f"  finding: {finding}")
    if s["remediationPolicy"]:
        lines.append("\n  To fix it, add to the credential's policy:")
        lines.extend("    " + line for line in json.dumps(s["remediationPolicy"], indent=2).splitlines())
    observed = s["observedDenials"]
    if observed:
        regions = ", ".join(observed.get("regions") or [])
        lines.append(f"\n  AWS refused (CloudTrail, last {observed.get('windowHours')} h, {regions}): "
                     f"{observed.get('state')} — {observed.get('message')}")
        lines.extend(f"    - {d.get('action')}, {d.get('count')} time(s) in {d.get('region')} ({d.get('errorCode')}, "
                     f"last {d.get('lastSeen')})" for d in observed.get("denials") or [])
    for role, grant in s["roleRemediation"].items():
        lines.append(f"\n  To fix it, add to the policy of the control-plane role {role}:")
        lines.extend("    " + line for line in json.dumps(grant, indent=2).splitlines())
    lines.extend(_hygiene_lines(s))
    upgrade = s["upgrade"]
    if upgrade:
        lines.append(f"\n  Upgrade to KKP {upgrade.get('kkpVersion')} ({upgrade.get('profile')}): "
                     + ("ready" if not upgrade.get("missingRequired") else
                        f"{upgrade['missingRequired']} required action(s) missing"))
        for row in upgrade.get("missing") or []:
            lines.append(f"    - {row.get('action')} on {row.get('resource')}")
    return "\n".join(lines)
