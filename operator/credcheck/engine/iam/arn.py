"""ARNs: parse, format, partitions, templating and resource matching."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from credcheck.engine.iam.wildcard import glob_match


class ArnError(ValueError):
    """A string that is not a well-formed ARN."""


@dataclass(frozen=True)
class Partition:
    name: str
    dns_suffix: str
    signing_region: str
    region_prefixes: tuple[str, ...]


# botocore's endpoints.json knows these partitions; a unit test keeps this table in step with it.
PARTITIONS: dict[str, Partition] = {
    p.name: p
    for p in (
        Partition("aws", "amazonaws.com", "us-east-1",
                  ("us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-")),
        Partition("aws-cn", "amazonaws.com.cn", "cn-north-1",
                  ("cn-",)),
        Partition("aws-us-gov", "amazonaws.com", "us-gov-west-1",
                  ("us-gov-",)),
        Partition("aws-iso", "c2s.ic.gov", "us-iso-east-1",
                  ("us-iso-",)),
        Partition("aws-iso-b", "sc2s.sgov.gov", "us-isob-east-1",
                  ("us-isob-",)),
        Partition("aws-iso-e", "cloud.adc-e.uk", "eu-isoe-west-1",
                  ("eu-isoe-",)),
        Partition("aws-iso-f", "csp.hci.ic.gov",
                  "us-isof-south-1", ("us-isof-",)),
        Partition("aws-eusc", "amazonaws.eu", "eusc-de-east-1",
                  ("eusc-",)),
    )
}


def partition_of_region(region: str) -> str:
    """The partition a region belongs to; the longest matching prefix wins (us-gov- before us-)."""
    best, best_len = "aws", 0
    for partition in PARTITIONS.values():
        for prefix in partition.region_prefixes:
            if region.startswith(prefix) and len(prefix) > best_len:
                best, best_len = partition.name, len(prefix)
    return best


# The partitions reachable from the internet, in the order a rejected key is asked of them (the ISO partitions are
# air-gapped: nothing outside them can reach their endpoints).
PUBLIC_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")

# The Regions of `aws` enabled in every account: those launched before 20 March 2019 (AWS Account Management
# Reference Guide, "Enable or disable AWS Regions in your account"). Every later Region is opt-in: disabled until the
# account enables it, and its STS endpoint rejects the account's keys until then (IAM User Guide, "AWS STS Regions
# and endpoints": "¹You must enable the Region to use it"). aws-cn and aws-us-gov have no opt-in Regions.
DEFAULT_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-south-1",
})
_REGION_NAME = re.compile(r"^[a-z]{2,4}(?:-[a-z]+)+-\d+$")


def home_region(partition: str) -> str:
    """Where STS and IAM are asked in a partition: its first Region (us-east-1, cn-north-1, us-gov-west-1), never an
    opt-in one (and us-east-1's STS cannot be deactivated); botocore then signs for, and sends to, that partition's
    endpoints."""
    return PARTITIONS[partition].signing_region if partition in PARTITIONS else PARTITIONS["aws"].signing_region


def is_opt_in(region: str) -> bool:
    """A Region of `aws` that an account must enable before using it (me-south-1, ap-east-1, il-central-1, …)."""
    return (bool(_REGION_NAME.match(region)) and partition_of_region(region) == "aws"
            and region not in DEFAULT_REGIONS)


@dataclass(frozen=True)
class PartitionChoice:
    """The partition a check asks STS and IAM in, chosen from the Regions it checks."""

    partition: str
    regions: tuple[tuple[str, tuple[str, ...]], ...]  # every partition of the check -> its Regions, as first seen

    @property
    def region(self) -> str:
        return home_region(self.partition)

    @property
    def mixed(self) -> bool:
        """The checked Regions span partitions: no access key can serve them all."""
        return len(self.regions) > 1


def choose_partition(regions: Sequence[str]) -> PartitionChoice:
    """The partition of most of `regions` (one per Cluster; the check's region when there is none); on a tie, the
    partition seen first. Keys belong to one partition: when the Regions span several, the choice says so (mixed)."""
    seen: dict[str, list[str]] = {}
    for region in regions:
        seen.setdefault(partition_of_region(region), []).append(region)
    if not seen:
        seen["aws"] = [home_region("aws")]
    partition = max(seen, key=lambda name: len(seen[name]))  # max keeps the first of equals
    return PartitionChoice(partition, tuple((name, tuple(dict.fromkeys(found))) for name, found in seen.items()))


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> "Arn":
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ArnError(f"not an ARN (expected arn:partition:service:region:account:resource): {text!r}")
        _, partition, service, region, account, resource = parts
        if not partition or not service or not resource:
            raise ArnError(f"ARN lacks its partition, service or resource: {text!r}")
        return cls(partition, service, region, account, resource)

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """`role` for `role/path/name`, `assumed-role` for `assumed-role/R/S`, `root` for `root`."""
        return self.resource.split("/", 1)[0].split(":", 1)[0]


def template(text: str, *, account: str, partition: str = "aws") -> str:
    """Fill the placeholders profiles and KKP's docs use: `{account}`, `{partition}`, `YOUR_ACCOUNT_ID`."""
    return (text.replace("{account}", account).replace("YOUR_ACCOUNT_ID", account)
            .replace("{partition}", partition))


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM's Resource matching: case-sensitive, `*` and `?` wildcards, each ARN segment matched on its own.

    A wildcard does not cross the colons between partition, service, region and account; the resource part
    (which may contain colons itself) is matched as a whole.
    """
    if pattern == "*":
        return True
    p_parts = pattern.split(":", 5)
    r_parts = resource.split(":", 5)
    if len(p_parts) == 6 and len(r_parts) == 6:
        return all(glob_match(p, r) for p, r in zip(p_parts, r_parts, strict=True))
    return glob_match(pattern, resource)
