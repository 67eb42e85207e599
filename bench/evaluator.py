"""Benchmark: the full KKP requirement set against a 10-statement policy with the local evaluator.

Target (issue #3): under 50 ms for about 900 concrete action-resource pairs. Prints the numbers; never fails.
"""

import statistics
import time

from credcheck.engine.iam.policy import parse_policy
from credcheck.engine.iam.wildcard import compile_glob, glob_to_regex
from credcheck.engine.offline import check_policies
from credcheck.engine.requirements.profiles import load_profile

ACCOUNT = "111122223333"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Ec2Read", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    {"Sid": "Ec2Write", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:TerminateInstances", "ec2:*Tags",
                                                      "ec2:*SecurityGroup*"], "Resource": "*"},
    {"Sid": "Elb", "Effect": "Allow", "Action": "elasticloadbalancing:*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]}}},
    {"Sid": "Roles", "Effect": "Allow", "Action": ["iam:*Role*"],
     "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*"},
    {"Sid": "Profiles", "Effect": "Allow", "Action": "iam:*InstanceProfile*",
     "Resource": f"arn:aws:iam::{ACCOUNT}:instance-profile/*"},
    {"Sid": "NoUsers", "Effect": "Deny", "Action": "iam:*User*", "Resource": "*"},
    {"Sid": "Region", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]}}},
    {"Sid": "Routes", "Effect": "Allow", "Action": ["ec2:CreateRoute", "ec2:DeleteRoute"], "Resource": "*"},
    {"Sid": "Sts", "Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"},
    {"Sid": "NotRes", "Effect": "Deny", "Action": "iam:PassRole", "NotResource": f"arn:aws:iam::{ACCOUNT}:role/*"},
]}


def main(rounds: int = 30) -> None:
    profile = load_profile("kkp")
    policy = parse_policy(POLICY, "bench")
    check_policies([policy], profile, account=ACCOUNT, region="eu-central-1")  # warm caches (regexes, catalog)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        verdict = check_policies([policy], profile, account=ACCOUNT, region="eu-central-1")
        times.append((time.perf_counter() - start) * 1000)
    compile_glob.cache_clear()
    glob_to_regex.cache_clear()
    cold_start = time.perf_counter()
    check_policies([policy], profile, account=ACCOUNT, region="eu-central-1")
    cold = (time.perf_counter() - cold_start) * 1000
    print(f"evaluator: {len(verdict.results)} action-resource pairs x {len(POLICY['Statement'])} statements: "
          f"median {statistics.median(times):.1f} ms, p95 {sorted(times)[int(rounds * 0.95) - 1]:.1f} ms, "
          f"cold regex cache {cold:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
