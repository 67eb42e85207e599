"""What AWS refused the keys (and the Clusters' control-plane roles), from CloudTrail, joined to a check's verdict
with where it disagrees with the simulation (opt-in: CheckOptions.denial_reader)."""

from collections.abc import Sequence
from dataclasses import replace

from credcheck.engine.auditing import auditor_of
from credcheck.engine.aws.cloudtrail import DenialReader
from credcheck.engine.aws.errors import describe
from credcheck.engine.aws.session import AWSSession
from credcheck.engine.denials import disagreements
from credcheck.engine.model import Principal, Verdict, role_of
from credcheck.engine.options import CheckOptions
from credcheck.engine.target import Target


def observe(verdict: Verdict, denial_reader: DenialReader, *, keys: AWSSession, principal: Principal,
            targets: Sequence[Target], options: CheckOptions) -> Verdict:
    """Read with the keys or the auditor, in the Clusters' regions and the partition's home region (IAM and STS
    events); `principal`: the identity KKP acts as."""
    sessions = [keys]
    if options.auditor is not None:
        try:
            sessions.append(auditor_of(options, principal, keys.region)[0])
        except Exception as err:
            why = f"what AWS refused was not read: the auditor failed ({describe(err, 'auditor').reason})"
            return replace(verdict, findings=(*verdict.findings, why))
    credential = keys.credential
    if credential is None:
        return verdict
    regions = {t.region or options.region for t in targets} | {keys.region}
    roles = sorted({str(role_of(r.requirement.principal)) for r in verdict.results
                    if role_of(r.requirement.principal)}) if options.audit_roles else []
    clusters = sorted({t.region or options.region for t in targets})
    observed = denial_reader.observe(sessions, principal.account, credential.access_key_id, sorted(regions),
                                role_arns=roles, role_regions=clusters)
    return replace(verdict, observed_denials=observed,
                   findings=verdict.findings + disagreements(observed, verdict.results))
