"""Does AWS accept a pair of keys at all: one sts:GetCallerIdentity (it needs no permission: STS API reference,
GetCallerIdentity, "No permissions are required to perform this operation"). Used for the keys a KKP Cluster's
components run on (its `cloud-credentials` copy) when they differ from the credential's own."""

from credcheck.engine.aws.errors import INVALID_CREDENTIALS, error_code
from credcheck.engine.aws.ports import SessionFactory
from credcheck.engine.aws.session import RetryPolicy
from credcheck.engine.model import Credential


def keys_refused(aws: SessionFactory, credential: Credential, region: str) -> bool | None:
    """True when AWS refuses the keys (a deleted or deactivated access key is answered InvalidClientTokenId: IAM
    User Guide, "Manage access keys for IAM users"), False when it accepts them, None when it could not be asked."""
    session = aws.static_session(credential, region, RetryPolicy())
    try:
        session.client("sts").get_caller_identity()
    except Exception as err:
        return True if error_code(err) in INVALID_CREDENTIALS else None
    return False
