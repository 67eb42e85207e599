"""hack/kkp-audit's release diff on two small fixture trees (no KKP sources): it finds an added call, a removed
call and a changed gate, and names the audit rows of each site."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kkp_release_diff", ROOT / "hack" / "kkp-audit" / "kkp_release_diff.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kkp_release_diff"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
HEADER = '''package aws

import (
\t"github.com/aws/aws-sdk-go-v2/service/ec2"
\tiamapi "github.com/aws/aws-sdk-go-v2/service/iam"
)
'''
OLD_SG = HEADER + '''
func cleanUpSecurityGroup(ctx context.Context, client *ec2.Client, cluster *Cluster) error {
\tout, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
\tif !hasEC2Tag(ec2OwnershipTag(cluster.Name), out.SecurityGroups[0].Tags) {
\t\treturn nil
\t}
\t_, err = client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &id})
\treturn err
}

func tagIt(ctx context.Context, client *ec2.Client) error {
\t_, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids})
\treturn err
}
'''
NEW_SG = HEADER + '''
func cleanUpSecurityGroup(ctx context.Context, client *ec2.Client, cluster *Cluster) error {
\tout, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
\tif !hasEC2Tag(ec2ClusterTag(cluster.Name), out.SecurityGroups[0].Tags) {
\t\treturn nil
\t}
\t_, err = client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &id})
\treturn err
}

func cleanUpRole(ctx context.Context, client *iamapi.Client) error {
\t_, err := client.DeleteRole(ctx, &iamapi.DeleteRoleInput{RoleName: &name})
\treturn err
}
'''
OLD_CCM = '''package cloudcontroller

func AWSCCMVersion(version semver.Semver) string {
\tswitch version.MajorMinor() {
\tcase v134:
\t\treturn "v1.34.0"
\tdefault:
\t\treturn "v1.34.0"
\t}
}
'''
NEW_CCM = OLD_CCM.replace('''\tcase v134:
\t\treturn "v1.34.0"
''', '''\tcase v134:
\t\treturn "v1.34.0"
\tcase v135:
\t\treturn "v1.35.2"
''')
ROWS: list[dict[str, Any]] = [
    {"action": "ec2:DeleteSecurityGroup",
     "evidence": "kubermatic/kubermatic@v9.9.9:pkg/provider/cloud/aws/security_group.go:12"},
    {"action": "ec2:CreateTags", "evidence": "kubermatic/kubermatic@v9.9.8:pkg/provider/cloud/aws/security_group.go:17"},
]


def _tree(root: Path, files: dict[str, str]) -> Any:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return TOOL.Source(str(root))


def test_the_release_diff_finds_an_added_call_a_removed_call_and_a_changed_gate(tmp_path: Path) -> None:
    old = _tree(tmp_path / "old", {"pkg/provider/cloud/aws/security_group.go": OLD_SG,
                                   "pkg/resources/cloudcontroller/aws.go": OLD_CCM,
                                   "pkg/provider/cloud/aws/security_group_test.go": NEW_SG})
    new = _tree(tmp_path / "new", {"pkg/provider/cloud/aws/security_group.go": NEW_SG,
                                   "pkg/resources/cloudcontroller/aws.go": NEW_CCM,
                                   "docs/unrelated.go": NEW_SG})
    diff = TOOL.compare("kubermatic", old, new)
    assert [(s.action, s.function) for s in diff.sites.added] == [("iam:DeleteRole", "cleanUpRole")], (
        "an added call, named by the IAM action (the aliased iam package) and its function")
    assert [(s.action, s.function) for s in diff.sites.removed] == [("ec2:CreateTags", "tagIt")]
    assert diff.unchanged_sites == 2, "test files and files outside the audited folders are not read"
    gates = {(g.kind, g.old_line is None) for g in diff.gates}
    assert ("ownership tags", True) in gates and ("ownership tags", False) in gates, "the ownership check changed"
    assert ("kubernetes/CCM version map", True) in gates, "a new minor in AWSCCMVersion"
    assert TOOL.ccm_pairs(TOOL.ccm_map(OLD_CCM), TOOL.ccm_map(NEW_CCM)) == [("v1.34.0", "v1.35.2")]

    text = TOOL.render([diff], [], ROWS)
    assert "`iam:DeleteRole`" in text and "NO AUDIT ROW for this action in this file" in text
    assert "`ec2:CreateTags`" in text and "audit rows 1" in text, "a removed call names the audit row it voids"
    assert "ownership tags: kubermatic/kubermatic@" in text and "ec2ClusterTag" in text


def test_a_moved_call_is_matched_by_action_and_function(tmp_path: Path) -> None:
    moved = NEW_SG.replace("func cleanUpSecurityGroup", "// a comment\n// another\nfunc cleanUpSecurityGroup")
    old = _tree(tmp_path / "old", {"pkg/provider/cloud/aws/security_group.go": NEW_SG})
    new = _tree(tmp_path / "new", {"pkg/provider/cloud/aws/sg.go": moved})
    diff = TOOL.compare("kubermatic", old, new)
    assert not diff.sites.added and not diff.sites.removed
    assert {(a.path, b.path) for a, b in diff.sites.moved} == {
        ("pkg/provider/cloud/aws/security_group.go", "pkg/provider/cloud/aws/sg.go")}
