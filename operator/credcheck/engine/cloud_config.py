"""What the cloud-controller-manager's cloud-config gets from a Cluster, where it breaks the controller (pure).

KKP writes spec.cloud.aws.roleARN into the CCM's cloud-config as RoleARN as it is
(kubermatic/kubermatic@v2.31.0:pkg/resources/cloudconfig/aws/cloudconfig.go:41) and turns a role name into the role's
ARN only while it reconciles IAM (pkg/provider/cloud/aws/provider.go:285-286 -> role.go:97-99). A CCM in assume-role
mode parses RoleARN as an ARN when it starts (kubernetes/cloud-provider-aws@v1.35.2:pkg/providers/v1/aws.go:521-530 ->
pkg/services/aws_sts.go:81; v1.34.0 aws.go:510, aws_sts.go:75), so a bare role name with disableIAMReconciling stops
it from starting (kubermatic/kubermatic#13144). The permissions may all be there: this is said as a finding.
"""

from collections.abc import Sequence

from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.target import Target


def role_name_findings(profile: Profile, targets: Sequence[Target]) -> tuple[str, ...]:
    out: list[str] = []
    for target in targets:
        ccm = profile.cloud_controller(target)
        role = target.control_plane_role
        if (target.cluster is None or ccm is None or ccm.mode != "assume-role" or not role
                or role.startswith("arn:") or not target.disable_iam_reconciling):
            continue
        out.append(f"cluster {target.cluster}: spec.cloud.aws.roleARN {role[:100]!r} is a role name, not an ARN; with "
                   f"disableIAMReconciling KKP passes it as is to the cloud-controller-manager {ccm.ccm}, which parses "
                   "it as an ARN when it starts and fails to start (kubermatic/kubermatic#13144): set roleARN to the "
                   "role's ARN (arn:aws:iam::<account>:role/<name>)")
    return tuple(out)
