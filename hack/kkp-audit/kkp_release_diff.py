"""What changed between two KKP releases in the code the audit was read from: a checklist for the next audit.

It reads code; it never decides a requirement. For each project (kubermatic, machine-controller, dashboard,
cloud-provider-aws) it compares two versions of the audited folders and lists:
- every AWS SDK call site added, removed or moved (a site: an SDK input literal `&<service>.<Operation>Input{`,
  with the service package the file imports from aws-sdk-go(-v2)/service/..., in its enclosing Go function);
- every changed line in those files that touches what gates an audited call: Kubernetes and CCM version maps,
  `disableIAMReconciling`, ownership tags, which identity a client is built from (keys, assumed role), and the
  errors a caller tolerates;
- KKP's Kubernetes -> cloud-controller-manager map (AWSCCMVersion) and supported Kubernetes versions at both tags,
  from which the cloud-provider-aws versions to compare are derived (the same minor's CCM at each tag);
- per site, the audit rows (hack/kkp-audit/kkp-aws-calls-v2.31.json) with the same action and file, or none.

A version is either a git directory and a tag (`GIT_DIR@TAG`, e.g. a mirror's `/work/.mirror/kubermatic+kubermatic/
repo@v2.31.0`) or a folder holding the project's files. Usage:

    python hack/kkp-audit/kkp_release_diff.py \
        --kubermatic GIT_DIR@v2.30.0 GIT_DIR@v2.31.0 --dashboard GIT_DIR@v2.30.0 GIT_DIR@v2.31.0 \
        --machine-controller GIT_DIR@v1.65.0 GIT_DIR@v1.66.2 --cloud-provider-aws GIT_DIR [--output FILE]

With only a git directory for machine-controller or cloud-provider-aws, their tags are read from KKP's go.mod and
AWSCCMVersion at the two kubermatic tags.
"""

import argparse
import difflib
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AUDIT = HERE / "kkp-aws-calls-v2.31.json"

# The folders the audit was read from (hack/kkp-audit/README.md, "Refreshing it for a new KKP release").
SCOPES: dict[str, tuple[str, ...]] = {
    "kubermatic": ("pkg/provider/cloud/aws/", "pkg/provider/cloud/eks/", "pkg/webhook/cluster/validation/",
                   "pkg/controller/master-controller-manager/external-cluster/", "pkg/resources/cloudconfig/aws/",
                   "pkg/resources/cloudcontroller/aws.go", "pkg/defaulting/configuration.go",
                   "pkg/machine/provider/aws.go", "pkg/validation/cluster.go", "go.mod"),
    "dashboard": ("modules/api/pkg/provider/cloud/aws/", "modules/api/pkg/provider/cloud/eks/",
                  "modules/api/pkg/handler/common/provider/", "modules/api/pkg/provider/kubernetes/credentials.go"),
    "machine-controller": ("pkg/cloudprovider/provider/aws/",),
    "cloud-provider-aws": ("pkg/providers/v1/", "pkg/resourcemanagers/", "cmd/aws-cloud-controller-manager/"),
}
REPOSITORIES = {"kubermatic": "kubermatic/kubermatic", "dashboard": "kubermatic/dashboard",
                "machine-controller": "kubermatic/machine-controller",
                "cloud-provider-aws": "kubernetes/cloud-provider-aws"}
# SDK package -> IAM service prefix (the audit's `action` is `prefix:Operation`)
SERVICES = {"ec2": "ec2", "iam": "iam", "sts": "sts", "eks": "eks", "elb": "elasticloadbalancing",
            "elbv2": "elasticloadbalancing", "elasticloadbalancing": "elasticloadbalancing",
            "elasticloadbalancingv2": "elasticloadbalancing", "kms": "kms", "autoscaling": "autoscaling",
            "ssm": "ssm", "pricing": "pricing", "sqs": "sqs", "route53": "route53"}
# What gates an audited call, per kind: a changed line matching one is listed with its kind.
GATES: dict[str, re.Pattern[str]] = {
    "kubernetes/CCM version map": re.compile(
        r"AWSCCMVersion|case v1\d\d|return \"v1\.\d+\.\d+\"|newSemver\(\"v1\.\d+|MajorMinor|Versions:"),
    "disableIAMReconciling": re.compile(r"DisableIAMReconciling|disableIAMReconciling"),
    "ownership tags": re.compile(r"[Oo]wnershipTag|hasIAMTag|hasEC2Tag|owned-by|ClusterTag|ResourceLifecycle"
                                 r"|hasClusterTag|TagNameKubernetesCluster"),
    "identity (keys / assumed role)": re.compile(
        r"AssumeRole|stscreds|NewStaticCredentialsProvider|AccessKeyID|SecretAccessKey|GetAWSConfig|getClientSet"
        r"|GetClientSet|AWS_ACCESS_KEY_ID|AWS_ASSUME_ROLE|Credentials\s*[:=]|RoleARN|SourceARN|NewSts"),
    "tolerated errors": re.compile(r"UnauthorizedOperation|AccessDenied|isNotFound|NoSuchEntity|"
                                   r"DoesInstanceTypeRequireResponse|UnsupportedOperation"),
}
_IMPORT = re.compile(r'^\s*(?:(\w+)\s+)?"github\.com/aws/aws-sdk-go(?:-v2)?/service/(\w+)"', re.MULTILINE)
_INPUT = re.compile(r"&?\b(\w+)\.([A-Z]\w*?)Input\s*\{")
NEAR = 6  # lines between an SDK input literal and the call it is passed to, still the same site
_FUNC = re.compile(r"^func\s+(?:\([^)]*\)\s*)?(\w+)", re.MULTILINE)


# --- sources -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One version of a project: a git directory at a tag, or a folder."""

    where: str
    tag: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Source":
        path, sep, tag = text.rpartition("@")
        return cls(path, tag) if sep and path and not Path(text).exists() else cls(text)

    @property
    def label(self) -> str:
        return self.tag or self.where

    def files(self, scopes: Sequence[str]) -> dict[str, str]:
        """path -> text of every file under the scopes (Go files without tests, and go.mod)."""
        names = self._names()
        wanted = [n for n in names if any(n == s or (s.endswith("/") and n.startswith(s)) for s in scopes)
                  and ((n.endswith(".go") and not n.endswith("_test.go")) or n.endswith("go.mod"))]
        return {n: self.read(n) for n in sorted(wanted)}

    def _names(self) -> list[str]:
        if self.tag is None:
            root = Path(self.where)
            return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
        out = subprocess.run(["git", "--git-dir", self.where, "ls-tree", "-r", "--name-only", self.tag],
                             capture_output=True, text=True, check=True)
        return out.stdout.splitlines()

    def read(self, name: str) -> str:
        if self.tag is None:
            path = Path(self.where) / name
            return path.read_text("utf-8", errors="replace") if path.is_file() else ""
        out = subprocess.run(["git", "--git-dir", self.where, "show", f"{self.tag}:{name}"], capture_output=True,
                             check=False)
        return out.stdout.decode("utf-8", errors="replace") if out.returncode == 0 else ""


# --- call sites ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Site:
    action: str  # e.g. ec2:DescribeSecurityGroups
    path: str
    line: int
    function: str

    @property
    def key(self) -> tuple[str, str]:
        return self.action, self.function


def sdk_packages(text: str) -> dict[str, str]:
    """Local package name -> IAM service prefix, for the AWS SDK service packages a Go file imports."""
    out: dict[str, str] = {}
    for alias, service in _IMPORT.findall(text):
        prefix = SERVICES.get(service, service)
        out[alias or service] = prefix
    return out


def call_sites(path: str, text: str) -> list[Site]:
    """Every SDK input literal in a Go file, as the action it asks for, with its line and enclosing function."""
    packages = sdk_packages(text)
    if not packages:
        return []
    funcs = [(m.start(), m.group(1)) for m in _FUNC.finditer(text)]
    out: list[Site] = []
    for m in _INPUT.finditer(text):
        package, operation = m.group(1), m.group(2)
        if package not in packages:
            continue
        line = text.count("\n", 0, m.start()) + 1
        function = next((name for start, name in reversed(funcs) if start <= m.start()), "(top level)")
        out.append(Site(f"{packages[package]}:{operation}", path, line, function))
    return out


def all_sites(files: Mapping[str, str]) -> list[Site]:
    return [site for path, text in files.items() for site in call_sites(path, text)]


@dataclass
class SiteChanges:
    added: list[Site] = field(default_factory=list)
    removed: list[Site] = field(default_factory=list)
    moved: list[tuple[Site, Site]] = field(default_factory=list)  # same action and function, another file or line


def compare_sites(old: Sequence[Site], new: Sequence[Site]) -> SiteChanges:
    """Match sites by (action, function) in order; unmatched are added/removed; matched in another file, or whose
    line moved by more than the file's own drift, are moved."""
    changes = SiteChanges()
    by_key_old: dict[tuple[str, str], list[Site]] = {}
    for site in old:
        by_key_old.setdefault(site.key, []).append(site)
    by_key_new: dict[tuple[str, str], list[Site]] = {}
    for site in new:
        by_key_new.setdefault(site.key, []).append(site)
    for key in sorted(set(by_key_old) | set(by_key_new)):
        olds, news = by_key_old.get(key, []), by_key_new.get(key, [])
        for a, b in zip(olds, news, strict=False):
            if a.path != b.path or a.line != b.line:
                changes.moved.append((a, b))
        changes.removed += olds[len(news):]
        changes.added += news[len(olds):]
    return changes


# --- gates -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GateChange:
    kind: str
    path: str
    old_line: int | None  # None: an added line
    new_line: int | None  # None: a removed line
    text: str


def gate_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[GateChange]:
    """Changed lines (added or removed) in the audited files that match a gate."""
    out: list[GateChange] = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, "").splitlines(), new.get(path, "").splitlines()
        if a == b:
            continue
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            for i in range(i1, i2):
                out += [GateChange(k, path, i + 1, None, a[i].strip()) for k, p in GATES.items() if p.search(a[i])]
            for j in range(j1, j2):
                out += [GateChange(k, path, None, j + 1, b[j].strip()) for k, p in GATES.items() if p.search(b[j])]
    return out


# --- KKP's version facts ----------------------------------------------------------------------------------------------
def ccm_map(aws_go: str) -> dict[str, str]:
    """Kubernetes minor -> CCM tag from AWSCCMVersion's switch (fallthrough and default included)."""
    body = aws_go.split("func AWSCCMVersion", 1)[1] if "func AWSCCMVersion" in aws_go else ""
    out: dict[str, str] = {}
    pending: list[str] = []
    for line in body.splitlines():
        case = re.match(r"\s*case v(\d)(\d+):", line)
        if case:
            pending.append(f"{case.group(1)}.{case.group(2)}")
        elif re.match(r"\s*default:", line):
            pending.append("default")
        ret = re.search(r'return "(v\d+\.\d+\.\d+)"', line)
        if ret:
            for minor in pending:
                out[minor] = ret.group(1)
            pending = []
        if line.startswith("}"):
            break
    return out


def supported_minors(configuration_go: str) -> list[str]:
    """The Kubernetes minors of DefaultKubernetesVersioning.Versions."""
    block = configuration_go.split("Versions: []semver.Semver{", 1)
    body = block[1].split("}", 1)[0] if len(block) > 1 else ""
    return sorted({m for m in re.findall(r'newSemver\("v(1\.\d+)\.\d+"\)', body)},
                  key=lambda v: tuple(int(x) for x in v.split(".")))


def machine_controller_version(go_mod: str) -> str | None:
    found = re.search(r"k8c\.io/machine-controller(?:/sdk)?\s+(v\d+\.\d+\.\d+)", go_mod)
    return found.group(1) if found else None


# --- the audit ------------------------------------------------------------------------------------------------------
def audit_rows(path: Path = AUDIT) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text("utf-8"))) if path.is_file() else []


def rows_for(site: Site, project: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Audit rows with the site's action whose evidence names the site's file in that project."""
    repo = REPOSITORIES[project]
    return [i for i, row in enumerate(rows) if row.get("action") == site.action
            and re.search(rf"{re.escape(repo)}@[^:]+:{re.escape(site.path)}:", str(row.get("evidence", "")))]


# --- one comparison ---------------------------------------------------------------------------------------------
@dataclass
class ProjectDiff:
    project: str
    old: str
    new: str
    sites: SiteChanges
    gates: list[GateChange]
    unchanged_sites: int


def compare(project: str, old: Source, new: Source) -> ProjectDiff:
    scopes = SCOPES[project]
    a, b = old.files(scopes), new.files(scopes)
    old_sites, new_sites = all_sites(a), all_sites(b)
    changes = compare_sites(old_sites, new_sites)
    unchanged = len(new_sites) - len(changes.added) - len(changes.moved)
    return ProjectDiff(project, old.label, new.label, changes, gate_changes(a, b), unchanged)


def cited_lines(row: Mapping[str, Any], project: str, tag: str, path: str) -> set[int]:
    """The lines an audit row's evidence cites for a file at a tag (`path:1390`, `path:787-792`, `path:33-37,74`)."""
    found: set[int] = set()
    pattern = rf"{re.escape(REPOSITORIES[project])}@{re.escape(tag)}:{re.escape(path)}:([0-9,\-]+)"
    for spans in re.findall(pattern, str(row.get("evidence", ""))):
        for span in spans.split(","):
            bounds = [int(x) for x in span.split("-") if x.isdigit()]
            if bounds:
                found.update(range(bounds[0], bounds[-1] + 1))
    return found


def _rows(site: Site, project: str, rows: Sequence[Mapping[str, Any]], tag: str | None = None) -> str:
    found = rows_for(site, project, rows)
    if not found:
        return "NO AUDIT ROW for this action in this file"
    text = f"audit rows {', '.join(map(str, found))}"
    if tag is not None:
        cited = set().union(*(cited_lines(rows[i], project, tag, site.path) for i in found))
        if cited:  # a call is cited at its call line, a few lines below its input literal
            near = any(abs(line - site.line) <= NEAR for line in cited)
            text += (f" (cited at {tag})" if near else
                     f" (they cite {', '.join(map(str, sorted(cited)[:4]))} at {tag}, not this site: check that "
                     "the rows cover it)")
    return text


def render(diffs: Iterable[ProjectDiff], facts: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown checklist: every item is for a person to confirm against the audit rows."""
    lines = ["# KKP release diff: AWS call sites and their gates", "",
             "Generated by hack/kkp-audit/kkp_release_diff.py (it reads code; it decides no requirement). Each "
             "item is to be checked against the audit rows of hack/kkp-audit/kkp-aws-calls-v2.31.json.", ""]
    if facts:
        lines += ["## KKP's version facts", "", *[f"- {f}" for f in facts], ""]
    for d in diffs:
        repo = REPOSITORIES[d.project]
        lines += [f"## {repo} {d.old} -> {d.new}", "",
                  f"{len(d.sites.added)} call site(s) added, {len(d.sites.removed)} removed, {len(d.sites.moved)} "
                  f"moved, {d.unchanged_sites} unchanged; {len(d.gates)} gating line(s) changed.", ""]
        if d.sites.added:
            lines += ["### Added call sites", ""]
            lines += [f"- [ ] `{s.action}` {repo}@{d.new}:{s.path}:{s.line} in `{s.function}` — "
                      f"{_rows(s, d.project, rows, d.new)}" for s in d.sites.added]
            lines.append("")
        if d.sites.removed:
            lines += ["### Removed call sites", ""]
            lines += [f"- [ ] `{s.action}` {repo}@{d.old}:{s.path}:{s.line} in `{s.function}` — "
                      f"{_rows(s, d.project, rows)}" for s in d.sites.removed]
            lines.append("")
        moved = [(a, b) for a, b in d.sites.moved if a.path != b.path or rows_for(b, d.project, rows)]
        if moved:
            lines += ["### Moved call sites (another file, or audited ones whose line changed)", ""]
            lines += [f"- [ ] `{b.action}` in `{b.function}`: {a.path}:{a.line} -> {b.path}:{b.line} — "
                      f"{_rows(b, d.project, rows, d.new)}" for a, b in moved]
            lines.append("")
        if d.gates:
            lines += ["### Changed gating lines", ""]
            for g in d.gates:
                where = (f"{repo}@{d.new}:{g.path}:{g.new_line} (added)" if g.new_line is not None
                         else f"{repo}@{d.old}:{g.path}:{g.old_line} (removed)")
                lines.append(f"- [ ] {g.kind}: {where}: `{g.text[:140]}`")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def kkp_facts(old: Source, new: Source) -> tuple[list[str], dict[str, str], dict[str, str], tuple[str | None, ...]]:
    """The version facts at both kubermatic tags: lines to print, the CCM maps and machine-controller versions."""
    maps = [ccm_map(s.read("pkg/resources/cloudcontroller/aws.go")) for s in (old, new)]
    minors = [supported_minors(s.read("pkg/defaulting/configuration.go")) for s in (old, new)]
    machines = tuple(machine_controller_version(s.read("go.mod")) for s in (old, new))
    facts = [f"supported Kubernetes minors: {old.label} {', '.join(minors[0]) or '?'}; {new.label} "
             f"{', '.join(minors[1]) or '?'}",
             *(compare_with_audit(s.label, m, c) for s, m, c in ((old, minors[0], maps[0]), (new, minors[1], maps[1]))
               if s.tag),
             f"AWSCCMVersion: {old.label} {json.dumps(maps[0])}; {new.label} {json.dumps(maps[1])}",
             f"machine-controller (go.mod): {old.label} {machines[0]}; {new.label} {machines[1]}"]
    return facts, maps[0], maps[1], machines


def _minor_key(minor: str) -> tuple[int, ...]:
    return tuple(int(x) for x in minor.split(".")) if minor != "default" else (999,)


def ccm_pairs(old_map: Mapping[str, str], new_map: Mapping[str, str]) -> list[tuple[str, str]]:
    """The cloud-provider-aws versions to compare: for each minor the new release maps, its old CCM (the old
    switch's default for a minor it did not name) -> its new CCM, when they differ."""
    pairs: list[tuple[str, str]] = []
    for minor in sorted(new_map, key=_minor_key):
        before = old_map.get(minor) or old_map.get("default")
        after = new_map[minor]
        if before and before != after and (before, after) not in pairs:
            pairs.append((before, after))
    return pairs


def recorded_versions(tag: str) -> Mapping[str, Any] | None:
    """What the audit records for a KKP minor (hack/generate_profiles.py VERSIONS), e.g. v2.31.0 -> VERSIONS['2.31']."""
    import importlib.util  # noqa: PLC0415 - the generator is a script beside the audit, loaded only here

    spec = importlib.util.spec_from_file_location("generate_profiles", HERE.parent / "generate_profiles.py")
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    minor = ".".join(tag.lstrip("v").split(".")[:2])
    found = module.VERSIONS.get(minor)
    return found if isinstance(found, Mapping) else None


def compare_with_audit(tag: str, minors: Sequence[str], ccms: Mapping[str, str]) -> str:
    """Does the audit's record of a release's Kubernetes minors and CCMs agree with the code at its tag?"""
    recorded = recorded_versions(tag)
    if recorded is None:
        return f"the audit records no versions for {tag} (hack/generate_profiles.py VERSIONS): add them"
    supported: Mapping[str, str] = recorded["supported"]
    read = {m: ccms.get(m, ccms.get("default", "?")) for m in minors}
    if dict(supported) == read:
        return f"the audit's VERSIONS for {tag} agree with the code: {json.dumps(read)}"
    return (f"the audit's VERSIONS for {tag} DIFFER from the code: recorded {json.dumps(dict(supported))}, "
            f"read {json.dumps(read)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubermatic", nargs=2, metavar=("OLD", "NEW"), required=True)
    parser.add_argument("--dashboard", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--machine-controller", nargs="+", metavar="SOURCE",
                        help="OLD NEW, or a git directory (tags from KKP's go.mod)")
    parser.add_argument("--cloud-provider-aws", nargs="+", metavar="SOURCE",
                        help="OLD NEW, or a git directory (tags from KKP's AWSCCMVersion at both tags)")
    parser.add_argument("--audit", type=Path, default=AUDIT)
    parser.add_argument("--output", type=Path, help="write the checklist here (default: stdout)")
    args = parser.parse_args(argv)
    old, new = (Source.parse(s) for s in args.kubermatic)
    facts, old_map, new_map, machines = kkp_facts(old, new)
    diffs = [compare("kubermatic", old, new)]
    if args.dashboard:
        diffs.append(compare("dashboard", *(Source.parse(s) for s in args.dashboard)))
    if args.machine_controller:
        mc = args.machine_controller
        if len(mc) == 1 and all(machines):
            diffs.append(compare("machine-controller", Source(mc[0], machines[0]), Source(mc[0], machines[1])))
        elif len(mc) == 2:
            diffs.append(compare("machine-controller", *(Source.parse(s) for s in mc)))
    if args.cloud_provider_aws:
        ccm = args.cloud_provider_aws
        if len(ccm) == 1:
            pairs = ccm_pairs(old_map, new_map)
            facts.append("cloud-provider-aws compared: " + (", ".join(f"{a} -> {b}" for a, b in pairs) or
                                                            "none (the same CCM for every minor)"))
            diffs += [compare("cloud-provider-aws", Source(ccm[0], a), Source(ccm[0], b)) for a, b in pairs]
        elif len(ccm) == 2:
            diffs.append(compare("cloud-provider-aws", *(Source.parse(s) for s in ccm)))
    text = render(diffs, facts, audit_rows(args.audit))
    if args.output:
        args.output.write_text(text, "utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
