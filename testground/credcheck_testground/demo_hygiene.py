"""The demo's key hygiene and excess access examples, on credentials the demo already has (no extra check):

- `kkp-full` (credential-aws-prod1 and -own4): its key was created 200 days ago: OldKey, and the alert
  CredcheckAccessKeyOld fires in the demo's Prometheus;
- `kkp-documented` (credential-aws-docs9): its user has an older second key that is recorded as used ten minutes
  after the seed — after the Secret switched to its current key, as if a forgotten copy still ran on it:
  OtherKeyInUse;
- the role `kkp-provisioner` that credential-aws-role5 acts as carries AWS's AdministratorAccess: the excess finding,
  `*` on `*` included.
Both users may read their own keys' facts (iam:ListAccessKeys, iam:GetAccessKeyLastUsed); every fact is recorded on
the test ground in AWS's wire format (credcheck_testground.accesskeys).
"""

import json
from datetime import UTC, datetime, timedelta

from moto.iam.aws_managed_policies import aws_managed_policies_data

from credcheck_testground import aws

READ_KEYS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
     "Resource": f"arn:aws:iam::{aws.ACCOUNT}:user/${{aws:username}}"},
    {"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
     "Resource": f"arn:aws:iam::{aws.ACCOUNT}:user/kkp-*"}]}  # the test ground's moto matches no policy variables


def _wire(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(endpoint: aws.LocalAWS, *, old: tuple[str, aws.Keys], switched: tuple[str, aws.Keys], admin_role: str) -> None:
    now = datetime.now(UTC)
    iam = endpoint.client("iam")
    for user, _ in (old, switched):
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-read-own-keys", PolicyDocument=json.dumps(READ_KEYS))
    endpoint.set_key_facts(old[1].access_key_id, create_date=_wire(now - timedelta(days=200)),
                           last_used={"LastUsedDate": _wire(now - timedelta(hours=1)), "ServiceName": "ec2",
                                      "Region": "eu-central-1"})
    retired = iam.create_access_key(UserName=switched[0])["AccessKey"]["AccessKeyId"]
    endpoint.set_key_facts(switched[1].access_key_id, create_date=_wire(now - timedelta(days=20)))
    endpoint.set_key_facts(retired, create_date=_wire(now - timedelta(days=400)),
                           last_used={"LastUsedDate": _wire(now + timedelta(minutes=10)), "ServiceName": "ec2",
                                      "Region": "eu-west-1"})
    entry = json.loads(aws_managed_policies_data)["AdministratorAccess"]
    policy_arn = iam.create_policy(PolicyName="AdministratorAccess-demo",
                                   PolicyDocument=json.dumps(entry.get("Document", entry)))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=admin_role, PolicyArn=policy_arn)
