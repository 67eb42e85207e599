"""Who a credential is: sts:GetCallerIdentity, mapped to the user or role whose policies IAM simulates."""

from botocore.exceptions import ClientError

from credcheck.aws.errors import ACCESS_DENIED, error_code
from credcheck.aws.session import AWSSession
from credcheck.iam.arn import Arn
from credcheck.model import Principal


def principal_from_arn(caller_arn: str, role_arn_with_path: str | None = None) -> Principal:
    """Pure mapping of a caller ARN to the simulation's policy source (an assumed role -> its role)."""
    arn = Arn.parse(caller_arn)
    if arn.service == "iam" and arn.resource == "root":
        return Principal(caller_arn, caller_arn, arn.account, arn.partition, "root",
                         ("these are the account's root keys: KKP should use an IAM user or role, never root",))
    if arn.service == "iam" and arn.resource_type == "user":
        return Principal(caller_arn, caller_arn, arn.account, arn.partition, "user")
    if arn.service == "sts" and arn.resource_type == "assumed-role":
        role_name = arn.resource.split("/")[1]
        if role_arn_with_path:
            return Principal(caller_arn, role_arn_with_path, arn.account, arn.partition, "assumed-role")
        return Principal(caller_arn, f"arn:{arn.partition}:iam::{arn.account}:role/{role_name}", arn.account,
                         arn.partition, "assumed-role",
                         ("the role's path could not be read (iam:GetRole denied); assumed path /",))
    if arn.service == "sts" and arn.resource_type == "federated-user":
        return Principal(caller_arn, caller_arn, arn.account, arn.partition, "federated-user",
                         ("a federated user's session policy cannot be simulated",))
    return Principal(caller_arn, caller_arn, arn.account, arn.partition, arn.resource_type)


def resolve(session: AWSSession) -> Principal:
    """One GetCallerIdentity, plus one GetRole for an assumed role (its path is not in the session ARN)."""
    caller_arn = session.client("sts").get_caller_identity()["Arn"]
    arn = Arn.parse(caller_arn)
    if arn.service == "sts" and arn.resource_type == "assumed-role":
        role_name = arn.resource.split("/")[1]
        try:
            role_arn = session.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
        except ClientError as err:
            if error_code(err) not in ACCESS_DENIED:
                raise
            role_arn = None
        return principal_from_arn(caller_arn, role_arn)
    return principal_from_arn(caller_arn)
