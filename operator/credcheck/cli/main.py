"""`credcheck`: check a credential, evaluate or check policies offline, show requirement profiles."""

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import replace
from enum import IntEnum
from pathlib import Path
from typing import Any

import yaml

from credcheck.cli import recheck as recheck_cli
from credcheck.cli.report import verdict_to_dict, verdict_to_text
from credcheck.engine.iam.catalog import load_catalog
from credcheck.engine.iam.evaluator import evaluate, make_request
from credcheck.engine.iam.policy import Policy, PolicyError, parse_policy
from credcheck.engine.model import AssumeRole, Severity, Status, Verdict
from credcheck.engine.offline import check_policies
from credcheck.engine.requirements.coverage import coverage, version_findings
from credcheck.engine.requirements.coverage import table as coverage_table
from credcheck.engine.requirements.profiles import DEFAULT_PROFILE, Profile, ProfileError, load_profile
from credcheck.engine.target import Target
from credcheck.engine.verdict import grant_policy
from credcheck.kube.kkp import (
    KKPCluster,
    KKPObjectError,
    cluster_kkp_versions,
    read_cluster,
    seed_kkp_version,
    seed_regions,
)

DEFAULT_REGION = "us-east-1"


class Exit(IntEnum):
    """Every command's exit status (README, "Command line"). A verdict's status decides it for `check`, `policy
    check` and `explain`; `policy evaluate`, `requirements show` and `catalog` exit 0 when they could answer;
    `run` exits as the operator does. A bug prints its traceback and exits 4, not Python's 1 (Insufficient)."""

    SUFFICIENT = 0
    INSUFFICIENT = 1
    # argparse itself exits 2 on a bad command line, so 2 is every usage error: a bad flag, an unreadable or
    # malformed input file, an unknown profile; and a Misconfigured check, whose own settings are that input
    USAGE = 2
    INVALID = 3  # the credential itself: malformed, rejected by AWS, or its role cannot be assumed
    UNKNOWN = 4  # no verdict: AWS could not decide, could not be asked, or the check failed or never ran
    # stdout's reader went away (`credcheck … | head -1`): 128 + SIGPIPE (13), the status a shell reports for a
    # program SIGPIPE ended (`yes | head -1`), which is what scripts and `set -o pipefail` users know. Not the 1 of
    # the Python docs' example: here 1 says Insufficient. See main()
    BROKEN_PIPE = 141


EXIT = {Status.SUFFICIENT: Exit.SUFFICIENT, Status.INSUFFICIENT: Exit.INSUFFICIENT, Status.INVALID: Exit.INVALID,
        Status.UNKNOWN: Exit.UNKNOWN, Status.MISCONFIGURED: Exit.USAGE}


def exit_code(status: Status) -> int:
    return int(EXIT[status])


class UsageError(Exception):
    """Bad input from the command line: printed, exit 2 (Exit.USAGE)."""


def _read_policy(path: str, policy_type: str = "IAM Policy") -> Policy:
    try:
        text = Path(path).read_text("utf-8")
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return parse_policy(text, Path(path).stem, policy_type)
    except PolicyError as err:
        raise UsageError(f"{path}: {err}") from None


def _profile(name: str) -> Profile:
    try:
        return load_profile(name)
    except ProfileError as err:
        raise UsageError(str(err)) from None


def _context(pairs: Sequence[str]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--context takes KEY=VALUE, not {pair!r}")
        context.setdefault(key, []).append(value)
    return context


def cmd_policy_evaluate(args: argparse.Namespace) -> int:
    policies = [_read_policy(p) for p in args.policy]
    boundary = _read_policy(args.boundary, "PermissionsBoundaryPolicy") if args.boundary else None
    scps = [_read_policy(p, "Organizations") for p in args.scp] if args.scp else None
    result = evaluate(make_request(args.action, args.resource, _context(args.context)), policies, boundary, scps)
    print(json.dumps({
        "decision": result.decision,
        "matchedStatements": [s.label for s in result.matched_statements],
        "missingContextValues": list(result.missing_context_values),
        "allowedByPermissionsBoundary": result.allowed_by_boundary,
        "allowedByOrganizations": result.allowed_by_organizations,
    }, indent=2))
    return 0


def cmd_policy_check(args: argparse.Namespace) -> int:
    policies = [_read_policy(p) for p in args.policy]
    boundary = _read_policy(args.boundary, "PermissionsBoundaryPolicy") if args.boundary else None
    scps = [_read_policy(p, "Organizations") for p in args.scp] if args.scp else None
    verdict = check_policies(policies, _profile(args.requirements), account=args.account,
                             region=args.region or DEFAULT_REGION, boundary=boundary, scps=scps,
                             skip_features=args.skip_feature, target=_target(args)[0])
    _print_verdict(verdict, args)
    return exit_code(verdict.status)


def _read_manifest(path: str, kind: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(Path(path).read_text("utf-8"))
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError:
        raise UsageError(f"{path}: not valid YAML or JSON") from None
    if not isinstance(raw, dict) or raw.get("kind") != kind:
        raise UsageError(f"{path}: expected a KKP {kind} manifest (kind: {kind})")
    return raw


def _kkp_cluster(path: str, cluster: dict[str, Any]) -> KKPCluster:
    try:
        use = read_cluster(cluster, require_reference=False)
    except KKPObjectError as err:
        raise UsageError(f"{path}: {err}") from None
    if use is None:
        raise UsageError(f"{path}: the Cluster has no spec.cloud.aws")
    return use


def _seed_regions(path: str | None) -> dict[str, str]:
    try:
        return seed_regions(_read_manifest(path, "Seed")) if path else {}
    except KKPObjectError as err:
        raise UsageError(f"{path}: {err}") from None


def _target(args: argparse.Namespace) -> tuple[Target, dict[str, Any] | None]:
    """The Cluster the command asks about (--cluster, --seed), or none; --region still wins."""
    if not getattr(args, "cluster", None):
        target = Target(kubernetes_version=getattr(args, "kubernetes_version", None))
        return target, None
    cluster = _read_manifest(args.cluster, "Cluster")
    regions = _seed_regions(getattr(args, "seed", None))
    use = _kkp_cluster(args.cluster, cluster)
    dc = use.target.datacenter
    # KKP's controllers assume the Cluster's assumeRoleARN with the keys: the policy must allow it
    target = replace(use.target, region=args.region or ((regions.get(dc) or None) if dc else None),
                     assume_role_arn=use.assume_role_arn)
    if getattr(args, "kubernetes_version", None):
        target = replace(target, kubernetes_version=args.kubernetes_version)
    if target.region is None and dc:
        print(f"note: datacenter {dc!r} is not in --seed; using {args.region or DEFAULT_REGION}", file=sys.stderr)
    return target, cluster


def _reported_kkp_versions(cluster: dict[str, Any] | None, seed: dict[str, Any] | None) -> dict[str, str]:
    """The KKP versions a Seed (status.versions.kubermatic) and a Cluster (its conditions' kubermaticVersion: a map
    by condition type in KKP's API) report."""
    try:
        return _kkp_versions(cluster, seed)
    except KKPObjectError as err:
        raise UsageError(str(err)) from None


def _kkp_versions(cluster: dict[str, Any] | None, seed: dict[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if seed is not None:
        version = seed_kkp_version(seed)
        if version:
            out[f"Seed {(seed.get('metadata') or {}).get('name', '')}"] = version
    if cluster is not None:
        versions = cluster_kkp_versions(cluster)
        name = (cluster.get("metadata") or {}).get("name", "")
        for version in versions:
            out[f"Cluster {name}" + (f" ({version})" if len(versions) > 1 else "")] = version
    return out


def cmd_requirements_show(args: argparse.Namespace) -> int:
    if args.kkp_versions:
        print(coverage_table(coverage()))
        return 0
    profile = _profile(args.profile)
    target, _ = _target(args)
    # without a region, regional ARNs say `*`: the policy serves Clusters in every region; without a Kubernetes
    # version, every minor the KKP version supports (each runs its own cloud-controller-manager mode)
    targets = [target] if target.kubernetes_version or not profile.cloud_controllers else [
        replace(target, kubernetes_version=minor) for minor in profile.cloud_controllers]
    reqs = tuple(dict.fromkeys(r for t in targets for r in profile.requirements(
        args.account, args.partition, args.skip_feature, target=t, region=args.region or "*",
        include_on_request=args.include_recommended)))
    if args.format == "list":
        for each in targets:
            ccm = profile.cloud_controller(each)
            if ccm is not None:
                print(f"# KKP {profile.version}, Kubernetes {ccm.minor}: cloud-controller-manager {ccm.ccm}, "
                      f"{ccm.mode} mode ({', '.join(profile.evidence)})")
        for r in reqs:
            context = ",".join(f"{k}={'|'.join(v)}" for k, v in r.context if k != "aws:RequestedRegion")
            print(f"{r.severity.value:<12} {r.action:<50} {r.resource:<60} {','.join(r.features):<28} "
                  f"{r.principal:<9} {context or '-'}")
            if args.evidence:
                for evidence in r.evidence:
                    print(f"{'':12} evidence: {evidence}")
        return 0

    wanted = (Severity.REQUIRED,) if args.required_only else (Severity.REQUIRED, Severity.RECOMMENDED)
    print(json.dumps(grant_policy(reqs, wanted), indent=2))
    return 0


def _print_verdict(verdict: Verdict, args: argparse.Namespace) -> None:
    if args.output == "json":
        print(json.dumps(verdict_to_dict(verdict, profile=args.requirements,
                                         upgrade_profile=getattr(args, "upgrade_to", None)),
                         indent=2))
    else:
        print(verdict_to_text(verdict))


def cmd_check(args: argparse.Namespace) -> int:
    # boto3 and the Kubernetes login load only for the commands that talk to AWS or Kubernetes: the offline
    # commands start in a fraction of the time (tests/unit/test_cli_start.py)
    from botocore.exceptions import ProfileNotFound  # noqa: PLC0415

    from credcheck.cli.sources import credential_from_environment, credential_from_secret  # noqa: PLC0415
    from credcheck.engine.aws.auditor import AuditorCache  # noqa: PLC0415
    from credcheck.engine.aws.session import AWSClients  # noqa: PLC0415
    from credcheck.engine.check import check_failed, check_options, run_check  # noqa: PLC0415
    from credcheck.engine.credential import CredentialProblem  # noqa: PLC0415

    # the command line first: a usage error is exit 2 whatever the credential is
    namespace, _, name = (args.secret or "").partition("/")
    if args.secret and not name:
        raise UsageError("--secret takes NAMESPACE/NAME")
    target, cluster = _target(args)
    use = _kkp_cluster(args.cluster, cluster) if cluster is not None else None
    role_arn = args.assume_role_arn or (use.assume_role_arn if use else None)
    external_id = args.external_id or (use.external_id if use else None)
    role = AssumeRole(role_arn, external_id) if role_arn else None
    # one check, so the clients and the auditor's memory live as long as the command; a person runs it in their own
    # environment, so the endpoints they configured (AWS_ENDPOINT_URL, the AWS config) are honoured
    options = check_options(_profile(args.requirements), region=args.region or DEFAULT_REGION, assume_role=role,
                            skip_features=args.skip_feature, targets=(target,),
                            target_profile=_profile(args.upgrade_to) if args.upgrade_to else None,
                            include_recommended=args.include_recommended,
                            denial_reader=_denial_reader() if args.observe_denials else None,
                            aws=AWSClients(honour_configured_endpoints=True), auditor_cache=AuditorCache(),
                            auditor_profile=args.auditor_profile, auditor_role_arn=args.auditor_role_arn,
                            seed_egress=args.seed_egress_cidr or ())
    if args.secret:
        credential = credential_from_secret(namespace, name)
    else:
        try:
            credential = credential_from_environment(args.profile)
        except ProfileNotFound as err:
            raise UsageError(str(err)) from None
    if isinstance(credential, CredentialProblem):
        print(f"Invalid: {credential.reason}\n  {credential.message}", file=sys.stderr)
        return exit_code(Status.INVALID)
    try:
        verdict = run_check(credential, options)
    except Exception as err:  # an engine bug: the same words the operator's CheckFailed condition uses
        print(f"Unknown: CheckFailed\n  {check_failed(err).message}", file=sys.stderr)
        return exit_code(Status.UNKNOWN)
    reported = _reported_kkp_versions(cluster, _read_manifest(args.seed, "Seed") if args.seed else None)
    verdict = replace(verdict, findings=verdict.findings + version_findings(options.profile, reported))
    _print_verdict(verdict, args)
    return exit_code(verdict.status)


def cmd_explain(args: argparse.Namespace) -> int:
    from credcheck.cli.explain import explanation, to_text, verdict_of  # noqa: PLC0415
    from credcheck.kube.client import Kube  # noqa: PLC0415
    from credcheck.kube.kubeconfig import cli_login  # noqa: PLC0415

    namespace, _, name = args.check.partition("/")
    if not name:
        namespace, name = "kubermatic", namespace
    check = Kube(cli_login).get_check(namespace, name)
    if check is None:
        raise UsageError(f"no AWSCredentialCheck {namespace}/{name} (kubectl get awscc -A lists them)")
    print(json.dumps(explanation(check), indent=2) if args.output == "json" else
          to_text(check, all_recommended=args.recommended))
    return exit_code(verdict_of(check))


def cmd_recheck(args: argparse.Namespace) -> int:
    from credcheck.cli.explain import verdict_of  # noqa: PLC0415
    from credcheck.kube.client import Kube  # noqa: PLC0415
    from credcheck.kube.kubeconfig import cli_login  # noqa: PLC0415

    namespace, _, name = args.check.partition("/")
    if not name:
        namespace, name = "kubermatic", namespace
    try:
        answer = recheck_cli.recheck(Kube(cli_login), namespace, name, wait=args.wait)
    except recheck_cli.Refused as err:
        raise UsageError(str(err)) from None
    if answer.check is None:
        print(f"{namespace}/{name}: re-check asked for" + (f"; no new status within {args.wait:.0f} s (is the "
              "operator running, the check suspended? `kubectl describe awscc` shows its Events)" if args.wait
              else ""))
        return int(Exit.UNKNOWN) if args.wait else 0
    print(recheck_cli.ready_line(answer.check))
    return exit_code(verdict_of(answer.check))


def cmd_run(_: argparse.Namespace) -> int:
    """Reached only when this module is run itself: the `credcheck` command (credcheck.entry) routes `run` to the
    operator before the CLI parses anything, and the CLI never imports the controller."""
    raise UsageError("`run` starts the operator: use the `credcheck run` command or `python -m credcheck run`")


def cmd_catalog(_: argparse.Namespace) -> int:
    catalog = load_catalog()
    print(json.dumps({"generated": catalog.generated, "source": catalog.source, "actions": len(catalog),
                      "services": {svc: len(names) for svc, names in catalog.services.items()}}))
    return 0


def _policy_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", action="append", required=True, metavar="FILE", help="identity policy (JSON)")
    parser.add_argument("--boundary", metavar="FILE", help="permissions boundary policy (JSON)")
    parser.add_argument("--scp", action="append", metavar="FILE", help="service control policy (JSON)")


def _profile_inputs(parser: argparse.ArgumentParser) -> None:
    """What `check` and `policy check` share: the profile to check against, where, and how to print it."""
    parser.add_argument("--requirements", default=DEFAULT_PROFILE, help="kkp, kkp-docs or a profile file")
    parser.add_argument("--skip-feature", action="append", default=[], help="e.g. iam-reconciling")
    parser.add_argument("--region", help=f"overrides the Cluster's datacenter region (default {DEFAULT_REGION})")
    parser.add_argument("--output", choices=["text", "json"], default="text")
    _cluster_inputs(parser)


def _denial_reader() -> Any:
    from credcheck.engine.aws.cloudtrail import DenialReader  # noqa: PLC0415 - boto3 only for commands that reach AWS

    return DenialReader()


def _cluster_inputs(parser: argparse.ArgumentParser) -> None:
    """Ask what KKP asks for one Cluster: its names, region (from the Seed) and Kubernetes version."""
    parser.add_argument("--cluster", metavar="FILE", help="a KKP Cluster manifest (YAML or JSON)")
    parser.add_argument("--seed", metavar="FILE", help="the KKP Seed manifest holding the Cluster's datacenter")
    parser.add_argument("--kubernetes-version", help="decides the cloud-controller-manager (default: the "
                        "Cluster's spec.version, else the newest the KKP version supports)")
    parser.add_argument("--include-recommended", action="store_true",
                        help="also check what KKP's docs grant but no KKP code calls")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="credcheck", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="check one AWS credential against a requirement profile")
    check.add_argument("--secret", metavar="NAMESPACE/NAME", help="read a KKP credential Secret (via kubeconfig)")
    check.add_argument("--profile", help="boto3 profile to take the credential from (default: the boto3 chain)")
    check.add_argument("--assume-role-arn")
    check.add_argument("--external-id")
    _profile_inputs(check)
    check.add_argument("--auditor-profile")
    check.add_argument("--auditor-role-arn", help="e.g. arn:aws:iam::{account}:role/credcheck-auditor")
    check.add_argument("--observe-denials", action="store_true", help="also read what AWS refused the credential "
                       "in the last 24 h (CloudTrail; needs cloudtrail:LookupEvents for the keys or the auditor)")
    check.add_argument("--upgrade-to", metavar="PROFILE", help="also say what KKP version PROFILE would lack, "
                       "e.g. kkp-2.31 (from the same simulation)")
    check.add_argument("--seed-egress-cidr", action="append", metavar="CIDR",
                       help="an address or CIDR the seed's traffic to AWS leaves from (repeatable): the aws:SourceIp "
                       "of the cloud-controller-manager's AssumeRole, to decide a trust policy conditioned on it")
    check.set_defaults(func=cmd_check)

    policy = sub.add_parser("policy", help="offline policy evaluation").add_subparsers(dest="policy_command",
                                                                                      required=True)
    evaluate_p = policy.add_parser("evaluate", help="decide one request as IAM would")
    _policy_inputs(evaluate_p)
    evaluate_p.add_argument("--action", required=True)
    evaluate_p.add_argument("--resource", default="*")
    evaluate_p.add_argument("--context", action="append", default=[], metavar="KEY=VALUE")
    evaluate_p.add_argument("--output", choices=["json"], default="json")
    evaluate_p.set_defaults(func=cmd_policy_evaluate)
    check_p = policy.add_parser("check", help="do these policies grant a requirement profile?")
    _policy_inputs(check_p)
    _profile_inputs(check_p)
    check_p.add_argument("--account", default="123456789012", help="account the profile's ARNs are built for")
    check_p.set_defaults(func=cmd_policy_check)

    reqs = sub.add_parser("requirements", help="requirement profiles").add_subparsers(dest="req_command",
                                                                                   required=True)
    show = reqs.add_parser("show", help="a profile expanded to concrete actions")
    show.add_argument("profile", nargs="?", default=DEFAULT_PROFILE)
    show.add_argument("--format", choices=["list", "policy"], default="list")
    show.add_argument("--account", default="YOUR_ACCOUNT_ID")
    show.add_argument("--partition", default="aws")
    show.add_argument("--skip-feature", action="append", default=[])
    show.add_argument("--required-only", action="store_true")
    show.add_argument("--evidence", action="store_true", help="with --format list: the KKP code behind each action")
    show.add_argument("--region", help=f"default {DEFAULT_REGION}")
    show.add_argument("--kkp-versions", action="store_true", help="which KKP releases and Kubernetes minors each "
                      "built-in profile covers, and from which tags it was read")
    _cluster_inputs(show)
    show.set_defaults(func=cmd_requirements_show)

    explain = sub.add_parser("explain", help="what an AWSCredentialCheck says is wrong, for a person "
                             "(also `kubectl credcheck explain`)")
    explain.add_argument("check", metavar="NAMESPACE/NAME", help="the check (NAME alone: in namespace kubermatic)")
    explain.add_argument("--output", choices=["text", "json"], default="text")
    explain.add_argument("--recommended", action="store_true",
                         help="name every recommended (never failing) action, not only how many")
    explain.set_defaults(func=cmd_explain)

    recheck_cli.add_parser(sub, cmd_recheck)
    run = sub.add_parser("run", help="run the operator (flags also read from CREDCHECK_<FLAG> variables; "
                         "`credcheck run --help` lists them)", add_help=False)
    run.add_argument("operator_flags", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)

    sub.add_parser("catalog", help="the IAM action catalog's source and date").set_defaults(func=cmd_catalog)
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as err:
        print(f"credcheck: {err}", file=sys.stderr)
        return int(Exit.USAGE)
    except BrokenPipeError:
        raise  # main's
    except Exception:  # a bug: its traceback, but not Python's exit 1, which a script would read as Insufficient
        traceback.print_exc()
        return int(Exit.UNKNOWN)


def main(argv: Sequence[str] | None = None) -> int:
    """A reader that closes the pipe early (`credcheck requirements show --format list | head -1`) ends the
    command quietly, as Python's documentation recommends ("Note on SIGPIPE", in the signal module's): catch
    BrokenPipeError here and point stdout at /dev/null, so the interpreter's final flush of what is still buffered
    cannot fail again. SIGPIPE is not reset to SIG_DFL instead: the same page warns that it would also kill the
    process when a socket (AWS, the Kubernetes API, `credcheck run`'s servers) is closed under a write."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # what is still buffered fails here, inside the try, not at interpreter exit
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(Exit.BROKEN_PIPE)


if __name__ == "__main__":
    sys.exit(main())
