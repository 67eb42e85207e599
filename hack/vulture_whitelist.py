"""Names vulture cannot see used: called by kopf, botocore or prometheus_client, or read from data files.
`make lint` runs vulture over operator/, tests/, bench/ and testground/ with this file (hack/vulture.sh)."""

from credcheck.controller import main
from credcheck.controller.handlers import checks, lifecycle, startup  # kopf calls the decorated handlers
from credcheck.engine.aws import session
from credcheck.engine.requirements import profiles
from credcheck.kube import check_status

checks.check_on_create
checks.check_on_change
lifecycle.start_services
lifecycle.stop_services
startup.configure
_.max_workers  # kopf's OperatorSettings, set in startup.configure
_.worker_limit
_.idle_timeout
_.server_timeout
_.request_timeout
_.progress_storage
_.diffbase_storage
session._CallerCredentialProvider.load_credentials  # botocore's CredentialProvider interface
profiles.Feature.description  # fields of the profiles' YAML, kept as written (docs and `requirements show`)
profiles.ProfileStatement.component
profiles.Profile.description
main.handlers  # imported for its side effect: registers the kopf handlers
# the status's fields: written and read by name (kube.check_status's to_dict/from_dict), some by a person only
check_status.Principal.policy_source
check_status.ActionEntry.missing_context_keys
check_status.ClusterStatus.credential_in_use_reason
check_status.ClusterStatus.credential_in_use_message
check_status.AccessKey.age_days
check_status.AccessKey.never_used
check_status.AccessKey.last_used_service
check_status.AccessKey.last_used_region
check_status.CheckStatus.least_privilege_policy
