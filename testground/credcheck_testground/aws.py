"""The local AWS endpoint as tests and the dev environment use it: start, seed IAM, inject faults.

Partitions: the endpoint keeps IAM and STS apart per partition (aws, aws-cn, aws-us-gov), chosen by the Region a
request is signed for. Each partition has its own test-ground admin; `create_user(..., partition="aws-cn")` makes a
user that only the China partition knows, whose ARN is arn:aws-cn:iam::….
"""

import json
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from credcheck_testground.processes import spawn, wait_until

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-central-1"
# the Region the test ground signs its own requests for, per partition
PARTITION_REGIONS = {"aws": REGION, "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str = field(repr=False)

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def _post(url: str, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",  # noqa: S310 - loopback only
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
        return json.loads(resp.read() or b"{}")


@dataclass(frozen=True)
class LocalAWS:
    url: str
    control_url: str
    admin: Keys
    partition_admins: dict[str, Keys] = field(default_factory=dict, hash=False)  # the admins of aws-cn, aws-us-gov

    def admin_of(self, partition: str) -> Keys:
        if partition == "aws":
            return self.admin
        if partition not in self.partition_admins:
            raise KeyError(f"the test ground has no admin in {partition} (started before partitions? restart it)")
        return self.partition_admins[partition]

    def client(self, service: str, keys: Keys | None = None, session_token: str | None = None,
               partition: str = "aws", region: str | None = None) -> Any:
        """A client signing for `region` (default: the partition's test-ground Region), as `keys` (default: the
        partition's admin)."""
        keys = keys or self.admin_of(partition)
        make_client: Any = boto3.client  # a runtime service name defeats boto3-stubs' overloads
        return make_client(service, endpoint_url=self.url, region_name=region or PARTITION_REGIONS[partition],
                            aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key,
                            aws_session_token=session_token,
                            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    # --- seeding ------------------------------------------------------------------------------------
    def create_user(self, name: str | None = None, policies: list[dict[str, Any]] | None = None,
                    boundary: dict[str, Any] | None = None, path: str = "/",
                    partition: str = "aws") -> tuple[str, Keys]:
        """An IAM user with inline policies (and optionally a boundary) in `partition`; its ARN and fresh keys."""
        iam = self.client("iam", partition=partition)
        name = name or f"user-{uuid.uuid4().hex[:10]}"
        arn = iam.create_user(UserName=name, Path=path)["User"]["Arn"]
        for i, doc in enumerate(policies or []):
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy-{i}", PolicyDocument=json.dumps(doc))
        if boundary is not None:
            policy_arn = iam.create_policy(PolicyName=f"{name}-boundary",
                                           PolicyDocument=json.dumps(boundary))["Policy"]["Arn"]
            iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=policy_arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return arn, Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def rotate_key(self, user: str, partition: str = "aws") -> Keys:
        """A new access key for `user`, deleting its oldest when it already has two (IAM's limit)."""
        iam = self.client("iam", partition=partition)
        keys = sorted(iam.list_access_keys(UserName=user)["AccessKeyMetadata"], key=lambda k: k["CreateDate"])
        if len(keys) >= 2:
            iam.delete_access_key(UserName=user, AccessKeyId=keys[0]["AccessKeyId"])
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def create_role(self, name: str, trusted_arn: str, policies: list[dict[str, Any]], *,
                    external_id: str | None = None, boundary: dict[str, Any] | None = None, path: str = "/",
                    partition: str = "aws") -> str:
        statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": trusted_arn}, "Action": "sts:AssumeRole"}
        if external_id is not None:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        iam = self.client("iam", partition=partition)
        kwargs: dict[str, Any] = {}
        if boundary is not None:
            kwargs["PermissionsBoundary"] = iam.create_policy(
                PolicyName=f"{name}-boundary", PolicyDocument=json.dumps(boundary))["Policy"]["Arn"]
        arn: str = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [statement]}), **kwargs)["Role"]["Arn"]
        for i, doc in enumerate(policies):
            iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy-{i}", PolicyDocument=json.dumps(doc))
        return arn

    # --- faults -------------------------------------------------------------------------------------
    def set_faults(self, throttle: int = 0, throttle_actions: tuple[str, ...] = (), latency_ms: int = 0) -> None:
        """Throttle the next `throttle` requests (-1: until cleared), optionally only some actions."""
        _post(f"{self.control_url}/faults", {"throttle": throttle, "throttle_actions": list(throttle_actions),
                                             "latency_ms": latency_ms})

    def clear_faults(self) -> None:
        self.set_faults()

    def outage(self, down: bool = True) -> None:
        """Close (or reopen) the endpoint's port: clients see connection refused, state is kept."""
        _post(f"{self.control_url}/outage", {"down": down})

    def set_scps(self, policies: list[dict[str, Any]], account: str = ACCOUNT,
                 levels: list[list[dict[str, Any]]] | None = None) -> None:
        """Service control policies for `account`: one level, or `levels` from the root down; [] removes them."""
        _post(f"{self.control_url}/scps", {"account": account, "policies": policies, "levels": levels or []})

    def set_decisions(self, principal_arn: str, table: dict[str, dict[str, Any]] | None) -> None:
        """Answer SimulatePrincipalPolicy for this principal from `table` (action or "*" -> answer), not from an
        evaluator; None goes back to evaluating its policies. See simulate.DECISIONS for the answer's keys."""
        _post(f"{self.control_url}/decisions", {"principal": principal_arn, "table": table})

    def record_events(self, region: str, events: list[dict[str, Any]], account: str = ACCOUNT) -> None:
        """CloudTrail records (their JSON form: eventTime, eventSource, eventName, awsRegion, errorCode,
        userIdentity) that LookupEvents in `region` will find."""
        _post(f"{self.control_url}/cloudtrail/events", {"account": account, "region": region, "events": events})

    def clear_events(self) -> None:
        _post(f"{self.control_url}/cloudtrail/events", {"clear": True})

    def set_key_facts(self, access_key_id: str, *, create_date: str | None = None, status: str | None = None,
                      last_used: dict[str, str] | None = None) -> None:
        """What AWS says about one access key, in its wire format: CreateDate (ListAccessKeys) and AccessKeyLastUsed
        ({"LastUsedDate", "ServiceName", "Region"}; {} for never used). The key's last use then stays as set."""
        body: dict[str, Any] = {"AccessKeyId": access_key_id}
        if create_date is not None:
            body["CreateDate"] = create_date
        if status is not None:
            body["Status"] = status
        if last_used is not None:
            body["AccessKeyLastUsed"] = last_used
        _post(f"{self.control_url}/iam/access-keys", body)

    def drop_results(self, actions: list[str]) -> None:
        """Leave these actions' results out of every simulation answer ([] restores them)."""
        _post(f"{self.control_url}/drop-results", {"actions": actions})

    def calls(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.control_url}/calls", timeout=10) as resp:  # noqa: S310
            return dict(json.loads(resp.read()))

    def calls_by_key(self) -> dict[str, dict[str, int]]:
        """Requests since the last reset_calls per access key id they were signed with, then per action."""
        with urllib.request.urlopen(f"{self.control_url}/calls/keys", timeout=10) as resp:  # noqa: S310
            return dict(json.loads(resp.read()))

    def calls_by_region(self) -> dict[str, dict[str, int]]:
        """Requests since the last reset_calls per Region they were signed for, then per action."""
        with urllib.request.urlopen(f"{self.control_url}/calls/regions", timeout=10) as resp:  # noqa: S310
            return dict(json.loads(resp.read()))

    def disable_regions(self, regions: list[str]) -> None:
        """Opt-in Regions the account has not enabled: requests signed for them are answered InvalidClientTokenId,
        as at such a Region's STS endpoint ([] enables every Region again)."""
        _post(f"{self.control_url}/regions", {"disabled": regions})

    def reset_calls(self) -> None:
        _post(f"{self.control_url}/calls/reset", {})


ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def start(state: Path, timeout: float = 60) -> LocalAWS:
    """Start the endpoint, create the test ground's admin user, then enforce request authentication."""
    state.mkdir(parents=True, exist_ok=True)
    ready = state / "aws.json"
    ready.unlink(missing_ok=True)
    proc = spawn("aws", [sys.executable, "-m", "credcheck_testground.awsserver", "--ready-file", str(ready)], state)
    wait_until(ready.exists, "AWS endpoint", timeout, proc, state / "aws.log")
    info = json.loads(ready.read_text())
    bootstrap_keys = Keys("AKIAIOSFODNN7EXAMPLE", "bootstrap-secret")
    bootstrap = LocalAWS(info["url"], info["control_url"], bootstrap_keys,
                         {p: bootstrap_keys for p in PARTITION_REGIONS if p != "aws"})
    _, admin = bootstrap.create_user("testground-admin", [ADMIN_POLICY])
    others = {p: bootstrap.create_user("testground-admin", [ADMIN_POLICY], partition=p)[1]
              for p in PARTITION_REGIONS if p != "aws"}
    _post(f"{info['url']}/moto-api/reset-auth", b"0")
    endpoint = LocalAWS(info["url"], info["control_url"], admin, others)
    (state / "aws-admin.json").write_text(json.dumps(admin.__dict__))
    (state / "aws-admin.json").chmod(0o600)
    (state / "aws-partition-admins.json").write_text(json.dumps({p: k.__dict__ for p, k in others.items()}))
    (state / "aws-partition-admins.json").chmod(0o600)
    return endpoint


def attach(state: Path) -> LocalAWS:
    """The endpoint a running dev environment started (from its state folder)."""
    info = json.loads((state / "aws.json").read_text())
    admin = Keys(**json.loads((state / "aws-admin.json").read_text()))
    others_file = state / "aws-partition-admins.json"
    others = ({p: Keys(**k) for p, k in json.loads(others_file.read_text()).items()} if others_file.exists() else {})
    return LocalAWS(info["url"], info["control_url"], admin, others)
