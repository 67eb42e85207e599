"""Check names: one source, one check. Names that lose something (dots, length) or that a Preset's check could have
get a stable hash suffix; a check of the source under another name is removed, only while it still reads it."""

from credcheck.controller.discovery.desired import check_name_for_preset, check_name_for_secret, discovery_view
from credcheck.controller.discovery.world import (
    CheckView,
    DiscoveryScope,
    PresetKey,
    PresetView,
    SecretKey,
    Snapshot,
    plan_for,
)

SCOPE = DiscoveryScope(("kubermatic",), "kubermatic", "kkp", "6h")


def test_sources_that_used_to_share_a_name_get_one_each() -> None:
    assert check_name_for_secret("credential-aws-a.b") != check_name_for_secret("credential-aws-a-b")
    assert check_name_for_secret("credential-aws-a-b") == "credential-aws-a-b", "a name a check can have stays"
    assert check_name_for_secret("preset-x") != check_name_for_preset("x") == "preset-x"
    assert check_name_for_secret("credential-aws-a.b") == check_name_for_secret("credential-aws-a.b"), "stable"
    long = "credential-aws-" + "x" * 240
    assert len(check_name_for_secret(long)) <= 253 and len(check_name_for_preset("y" * 250)) <= 253
    assert check_name_for_preset("y" * 250) != check_name_for_preset("y" * 251), "truncation does not collide"


def test_a_check_of_the_source_under_another_name_is_removed_naming_its_source() -> None:
    key = SecretKey("kubermatic", "credential-aws-a.b")
    old = CheckView("kubermatic", "credential-aws-a-b", True, "{}", "1")  # the name before hash suffixes
    world = Snapshot({("kubermatic", "credential-aws-a.b"): ["7"]}, {}, {}, {}, {},
                  {("kubermatic", "credential-aws-a.b"): [old]})
    plan = plan_for(key, world, SCOPE)
    assert plan.ensure is not None and plan.ensure["metadata"]["name"] == check_name_for_secret(key.name)
    assert plan.remove == (("kubermatic", "credential-aws-a-b"),)
    assert plan.source == ("secretRef", "credential-aws-a.b"), "removed only while it still reads this Secret"
    ours = CheckView("kubermatic", check_name_for_secret(key.name), True, discovery_view(plan.ensure), "7")
    settled = Snapshot(world.secrets, {}, {}, {}, {}, {("kubermatic", "credential-aws-a.b"): [ours]})
    assert plan_for(key, settled, SCOPE).empty, "one check, in step: nothing to write on any resync"


def test_a_gone_preset_removes_every_check_reading_it() -> None:
    checks = {("kubermatic", "preset:x"): [CheckView("kubermatic", "preset-x", True, "{}", "1")]}
    gone = Snapshot({}, {}, {}, {}, {}, checks)
    assert plan_for(PresetKey("x"), gone, SCOPE).remove == (("kubermatic", "preset-x"),)
    present = Snapshot({}, {}, {}, {}, {"x": [PresetView("3", True, None, None)]}, checks)
    assert plan_for(PresetKey("x"), present, SCOPE).remove == ()
