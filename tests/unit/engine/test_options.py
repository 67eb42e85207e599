"""check_options(): the one assembly of a check's options, for the operator (reconcile.prepare) and the CLI
(`credcheck check`)."""

from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.options import Auditor, CheckOptions, check_options
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target

AWS = AWSClients(honour_configured_endpoints=False)
PROFILE = load_profile("kkp")


def assemble(auditor_profile: str | None = None, auditor_role_arn: str | None = None) -> CheckOptions:
    return check_options(PROFILE, aws=AWS, auditor_cache=AuditorCache(), region="eu-west-1", assume_role=None,
                         skip_features=["iam-reconciling"], targets=[Target(cluster="abc")], target_profile=None,
                         include_recommended=False, denial_reader=None, auditor_profile=auditor_profile,
                         auditor_role_arn=auditor_role_arn, seed_egress=["192.0.2.0/24"])


def test_an_auditor_only_when_its_profile_or_its_role_is_given() -> None:
    assert assemble().auditor is None
    assert assemble(auditor_profile="audit").auditor == Auditor("audit", None)
    role = "arn:aws:iam::{account}:role/credcheck-auditor"
    assert assemble(auditor_role_arn=role).auditor == Auditor(None, role)


def test_lists_from_flags_or_settings_become_the_tuples_the_cache_key_and_the_engine_read() -> None:
    options = assemble()
    assert options.skip_features == ("iam-reconciling",)
    assert options.targets == (Target(cluster="abc"),)
    assert options.seed_egress == ("192.0.2.0/24",)


def test_without_the_operators_keywords_a_check_has_no_rate_limit_key_facts_or_excess_questions() -> None:
    options = assemble()
    assert (options.limiter, options.key_facts, options.excess_permissions,
            options.audit_roles) == (None, None, False, True)
