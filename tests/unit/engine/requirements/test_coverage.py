"""Which KKP releases the profiles cover (requirements show --kkp-versions), and the finding for a reported KKP version
no profile covers. Expectations are the version table in docs/requirements.md, written by hand."""

from credcheck.engine.requirements.coverage import coverage, findings_for, kkp_minor, table, version_findings
from credcheck.engine.requirements.profiles import load_profile


def test_each_kkp_profile_says_its_kubernetes_minors_ccms_and_the_tags_it_was_read_from() -> None:
    rows = {c.profile: c for c in coverage()}
    assert list(rows) == ["kkp-2.29", "kkp-2.30", "kkp-2.31"]
    assert [(m, ccm) for m, ccm, _ in rows["kkp-2.31"].kubernetes] == [
        ("1.33", "v1.33.2"), ("1.34", "v1.34.0"), ("1.35", "v1.35.2"), ("1.36", "v1.35.2")]
    assert [m for m, _, _ in rows["kkp-2.30"].kubernetes] == ["1.32", "1.33", "1.34", "1.35"]
    assert ("1.33", "v1.33.0", "hybrid") in rows["kkp-2.29"].kubernetes
    assert "kubermatic/kubermatic@v2.31.0" in rows["kkp-2.31"].read_from
    assert "kubermatic/machine-controller@v1.66.2" in rows["kkp-2.31"].read_from
    assert "kubermatic/kubermatic@v2.30.0:pkg/resources/cloudcontroller/aws.go:131" in rows["kkp-2.30"].versions_evidence
    printed = table(tuple(rows.values()))
    assert "kkp-2.29   2.29   1.31        v1.31.1   direct" in printed


def test_a_reported_kkp_version_no_profile_covers_is_a_finding() -> None:
    """A Seed's status.versions.kubermatic and a Cluster condition's kubermaticVersion (KKP's API)."""
    profile = load_profile("kkp-2.31")
    [newer] = version_findings(profile, {"Seed europe": "v2.32.0"})
    assert "Seed europe reports KKP v2.32.0" in newer and "no profile covers" in newer and "2.29, 2.30, 2.31" in newer
    [other] = version_findings(profile, {"Cluster abc": "v2.30.4"})
    assert "uses kkp-2.31: use kkp-2.30" in other
    assert version_findings(profile, {"Cluster abc": "v2.31.1", "Seed europe": "2.31.0"}) == ()
    assert version_findings(load_profile("kkp-docs"), {"Cluster abc": "v2.30.4"}) == (), "a docs profile: no advice"
    assert kkp_minor("weekly-2026-12") is None and kkp_minor("v2.31.0-rc.1") == "2.31"
    assert findings_for("kkp", "2.31", {"Cluster abc": "v2.30.0"}) == (
        "Cluster abc reports KKP v2.30.0, but this check uses kkp-2.31: use kkp-2.30 (the operator's --profile, a "
        "check's spec.requirements.profile)",), "the alias kkp is the newest profile"


def test_a_bare_role_name_with_disable_iam_reconciling_is_a_finding_for_an_assume_role_ccm() -> None:
    """kubermatic/kubermatic#13144: the CCM parses the cloud-config's RoleARN as an ARN when it starts
    (cloud-provider-aws@v1.35.2 pkg/services/aws_sts.go:81); KKP passes roleARN as is with disableIAMReconciling."""
    from credcheck.engine.cloud_config import role_name_findings  # noqa: PLC0415
    from credcheck.engine.target import Target  # noqa: PLC0415

    profile = load_profile("kkp-2.31")
    bare = Target(cluster="abc", kubernetes_version="1.34.1", control_plane_role="team-cp", disable_iam_reconciling=True)
    [finding] = role_name_findings(profile, [bare])
    assert "cluster abc" in finding and "'team-cp' is a role name" in finding and "#13144" in finding
    assert role_name_findings(profile, [Target(cluster="abc", kubernetes_version="1.34.1",
                                               control_plane_role="arn:aws:iam::1:role/team-cp",
                                               disable_iam_reconciling=True)]) == ()
    assert role_name_findings(profile, [Target(cluster="abc", control_plane_role="team-cp")]) == (), (
        "KKP turns the name into the ARN while it reconciles IAM (role.go:97-99)")
    assert role_name_findings(load_profile("kkp-2.29"), [Target(
        cluster="abc", kubernetes_version="1.31.2", control_plane_role="team-cp", disable_iam_reconciling=True)]) == ()
