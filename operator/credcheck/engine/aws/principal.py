"""Who a credential is: sts:GetCallerIdentity, mapped to the user or role whose policies IAM simulates.

An access key belongs to one partition (aws, aws-cn, aws-us-gov, …) and is known only to that partition's STS;
a key of another partition, like a key that never existed, is answered InvalidClientTokenId. So is every key of an
account at the STS endpoint of an opt-in Region the account has not enabled. `elsewhere` tells these apart after a
rejection by asking the other public partitions once; `refusing_regions` asks the opt-in Regions a check is about.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from botocore.exceptions import ClientError

from credcheck.engine.aws.errors import (
    ACCESS_DENIED,
    EXPIRED,
    INVALID_CREDENTIALS,
    KEY_NOT_KNOWN_HERE,
    REGION_DISABLED,
    AWSFailure,
    describe,
    error_code,
)
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import PROBE_RETRY, UNRESOLVED, AWSSession, RetryPolicy
from credcheck.engine.iam.arn import (
    PUBLIC_PARTITIONS,
    Arn,
    ArnError,
    PartitionChoice,
    choose_partition,
    home_region,
    is_opt_in,
    partition_of_region,
)
from credcheck.engine.model import Credential, Principal
from credcheck.engine.target import Target

NO_CLUSTER = "the check itself (no Cluster)"
_LISTED = 5  # what a message names before "and N more"


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
    """One GetCallerIdentity, plus one GetRole for an assumed role (its path is not in the session ARN), spent from
    the account's budget."""
    caller_arn = session.client("sts").get_caller_identity()["Arn"]
    arn = Arn.parse(caller_arn)
    if arn.service == "sts" and arn.resource_type == "assumed-role":
        role_name = arn.resource.split("/")[1]
        if session.limit_key == UNRESOLVED:
            session.limit_key = arn.account  # GetRole is IAM's: it spends the account's budget like every IAM call
        try:
            role_arn = session.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
        except ClientError as err:
            if error_code(err) not in ACCESS_DENIED:
                raise
            role_arn = None
        return principal_from_arn(caller_arn, role_arn)
    return principal_from_arn(caller_arn)


# --- partitions and Regions ------------------------------------------------------------------------------------------
Probe = Callable[[Credential, str], AWSSession]  # a session of these credentials in a Region, counted with the check's
Checked = Sequence[tuple[str, str]]  # what is checked ("cluster abc", or NO_CLUSTER) and the Region it is in


@dataclass(frozen=True)
class Scope:
    """What a check is about — each Cluster in its Region — and the partition whose STS and IAM it asks."""

    checked: tuple[tuple[str, str], ...]
    choice: PartitionChoice

    @classmethod
    def of(cls, targets: Sequence[Target], region: str) -> "Scope":
        """Each Cluster in its region (the check's when unknown); the check's region when there is no Cluster (the
        check's spec.region, else the operator's --region). STS and IAM: the home Region of their partition."""
        checked = (tuple((f"cluster {t.cluster}" if t.cluster else NO_CLUSTER, t.region or region) for t in targets)
                   or ((NO_CLUSTER, region),))
        return cls(checked, choose_partition([where for _, where in checked]))

    @property
    def region(self) -> str:
        return self.choice.region


def rejected(err: Exception, credential: Credential, scope: Scope, probe: Probe) -> AWSFailure:
    """The reason for a failed GetCallerIdentity of the keys: when STS did not know them, what the other partitions
    say (`elsewhere`); any other failure as `describe` has it."""
    code = error_code(err)
    if code in KEY_NOT_KNOWN_HERE:
        return elsewhere(credential, scope.choice, scope.checked, probe, code)
    return describe(err, "sts:GetCallerIdentity", scope.region)


def out_of_scope(session: AWSSession, principal: Principal, scope: Scope,
                 probe: Probe) -> tuple[AWSFailure | None, tuple[str, ...]]:
    """Why the identity KKP acts as cannot serve what is checked although STS knows it — Clusters in several
    partitions (MixedPartitions), an opt-in Region the account has not enabled (RegionNotEnabled) — or None; and
    notes on the opt-in Regions that could not be asked."""
    if scope.choice.mixed:
        return AWSFailure("MixedPartitions", mixed_partitions(scope.choice, scope.checked, principal.partition,
                                                              principal.account)), ()
    refused, notes = refusing_regions(session.credential, scope.checked, probe)
    if refused:
        return AWSFailure("RegionNotEnabled", regions_not_enabled(refused, scope.checked, principal),
                          refused[0][1]), tuple(notes)
    return None, tuple(notes)


def prober(factory: Callable[[Credential, str, RetryPolicy, RateLimiter | None], AWSSession],
           calls: Counter[str]) -> Probe:
    """Sessions for probing, made by the check's factory: short timeouts, outside the IAM budget, counted in `calls`."""
    def probe(credential: Credential, region: str) -> AWSSession:
        session = factory(credential, region, PROBE_RETRY, None)
        session.calls = calls
        return session
    return probe


@dataclass(frozen=True)
class _Answer:
    """One GetCallerIdentity of a probe: the caller (known there), refused (not known there: STS's code), the key
    id known but the secret wrong (SignatureDoesNotMatch), or no answer (why: AWSUnreachable, Throttled, …)."""

    arn: str | None = None
    refused: str = ""
    wrong_secret: bool = False
    unanswered: str = ""


def _ask(probe: Probe, credential: Credential, region: str) -> _Answer:
    try:
        return _Answer(arn=str(probe(credential, region).client("sts").get_caller_identity()["Arn"]))
    except Exception as err:
        code = error_code(err)
        if code == "SignatureDoesNotMatch":
            return _Answer(wrong_secret=True)
        if code in (INVALID_CREDENTIALS | EXPIRED | REGION_DISABLED):
            return _Answer(refused=code)
        return _Answer(unanswered=describe(err, "sts:GetCallerIdentity", region).reason)


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _in(checked: Checked, partition: str) -> str:
    """`cluster abc (eu-central-1), cluster def (eu-west-1)`: what is checked in a partition."""
    return _listing([f"{label} ({where})" for label, where in dict.fromkeys(checked)
                     if partition_of_region(where) == partition])


def _at(checked: Checked, region: str) -> str:
    """`cluster abc, cluster def`: what is checked in a Region."""
    return _listing([label for label, where in dict.fromkeys(checked) if where == region])


def _account(arn: str) -> str:
    try:
        return Arn.parse(arn).account
    except ArnError:
        return "unknown"


def elsewhere(credential: Credential, choice: PartitionChoice, checked: Checked, probe: Probe,
              code: str) -> AWSFailure:
    """The reason after STS of the check's partition did not know the keys (`code`, InvalidClientTokenId): the other
    public partitions are asked once each. WrongPartition when one knows them, MixedPartitions when that partition
    is also one of the check's, InvalidCredentials only when none does (or one knows the key id, not the secret)."""
    here = choice.partition
    if here not in PUBLIC_PARTITIONS:  # an ISO partition is air-gapped: nothing else can be asked from there
        return describe_rejected(code, here, [], [])
    refused: list[str] = []
    unanswered: list[str] = []
    for partition in PUBLIC_PARTITIONS:
        if partition == here:
            continue
        answer = _ask(probe, credential, home_region(partition))
        if answer.arn is not None:
            if partition in dict(choice.regions):
                return AWSFailure("MixedPartitions", mixed_partitions(choice, checked, partition, _account(answer.arn)))
            return AWSFailure("WrongPartition", (
                f"the access key belongs to the {partition} partition (account {_account(answer.arn)}: STS in "
                f"{home_region(partition)} knows it), but what is checked — {_in(checked, here)} — is in {here}, "
                f"whose STS rejected it ({code}); keys work only in their own partition, so nothing was verified. "
                f"Store keys of an IAM identity in {here} for it, or, if it is meant to run in {partition}, set its "
                f"region to a Region of {partition} (the Seed datacenter's region, or the check's spec.region)"), code)
        if answer.wrong_secret:
            return AWSFailure("InvalidCredentials", (
                f"AWS rejected the access key during sts:GetCallerIdentity ({code}) in {here}; the key id belongs to "
                f"the {partition} partition, but its secret is wrong there too (SignatureDoesNotMatch); update the "
                "Secret with a valid key pair"), code)
        if answer.unanswered:
            unanswered.append(f"{partition}: {answer.unanswered}")
        else:
            refused.append(partition)
    return describe_rejected(code, here, refused, unanswered)


def describe_rejected(code: str, partition: str, refused: Sequence[str], unanswered: Sequence[str]) -> AWSFailure:
    """InvalidCredentials after every partition that could be asked rejected the key."""
    others = f", and {' and '.join(refused)} {'does' if len(refused) == 1 else 'do'} not know it either" \
        if refused else ""
    missing = f" (could not ask {'; '.join(unanswered)})" if unanswered else ""
    return AWSFailure("InvalidCredentials", f"AWS rejected the access key during sts:GetCallerIdentity ({code}) in "
                      f"{partition}{others}{missing}: the key id is unknown or the secret is wrong; update the Secret "
                      "with a valid key pair", code)


def mixed_partitions(choice: PartitionChoice, checked: Checked, keys_partition: str, account: str) -> str:
    """Why a check of Clusters in several partitions has no verdict: the keys can serve only one of them."""
    spans = "; ".join(f"{name}: {_in(checked, name)}" for name, _ in choice.regions)
    others = [name for name, _ in choice.regions if name != keys_partition]
    return (f"the Clusters using this credential span partitions ({spans}), and an access key works in one partition "
            f"only: these keys belong to {keys_partition} (account {account}), so KKP cannot use them for "
            f"{_listing([_in(checked, name) for name in others])}. Give the Clusters in {' and '.join(others)} a "
            f"credential of their own (keys of an IAM identity there); nothing was verified")


def refusing_regions(credential: Credential | None, checked: Checked,
                     probe: Probe) -> tuple[list[tuple[str, str]], list[str]]:
    """The opt-in Regions checked whose STS rejects an identity the partition's home Region accepted: Regions the
    account has not enabled ((region, code) each), and notes on those that could not be asked."""
    refused: list[tuple[str, str]] = []
    notes: list[str] = []
    if credential is None:
        return refused, notes
    for region in dict.fromkeys(where for _, where in checked):
        if not is_opt_in(region):
            continue
        answer = _ask(probe, credential, region)
        if answer.refused:
            refused.append((region, answer.refused))
        elif answer.arn is None:
            notes.append(f"could not ask STS in the opt-in Region {region} whether the account has enabled it "
                         f"({answer.unanswered or 'SignatureDoesNotMatch'})")
    return refused, notes


def regions_not_enabled(refused: Sequence[tuple[str, str]], checked: Checked, principal: Principal) -> str:
    regions = [region for region, _ in refused]
    what = "; ".join(f"{_at(checked, region)} in {region}" for region in regions)
    codes = ", ".join(dict.fromkeys(code for _, code in refused))
    return (f"{what}: the opt-in Region{'s' if len(regions) > 1 else ''} {', '.join(regions)} "
            f"{'are' if len(regions) > 1 else 'is'} not enabled for account {principal.account}: STS there rejected "
            f"the identity that {home_region(principal.partition)} accepted ({codes}), and KKP can create nothing in a "
            f"Region the account has not enabled; nothing was verified. Enable it (AWS console: Account, AWS Regions; "
            f"or aws account enable-region --region-name {regions[0]}) or run the Cluster in an enabled Region")
