"""Discovery's writes (controller/discovery/apply.py) against an in-memory apiserver: create, bring in step, delete
and touch checks with optimistic concurrency; a Conflict means read, decide and write again."""

from typing import Any

import pytest
from fakes import FakeKube

from credcheck.controller.discovery import apply
from credcheck.controller.discovery.desired import desired_for_secret
from credcheck.controller.discovery.kkp import merge_uses
from credcheck.controller.discovery.world import Plan
from credcheck.engine.target import Target
from credcheck.kube.client import Conflict
from credcheck.kube.contract import ANNOTATION_NOTE, ANNOTATION_SOURCE_VERSION, LABEL_DISCOVERED
from credcheck.kube.kkp import KKPCluster

NS = "kubermatic"
ROLE = "arn:aws:iam::111122223333:role/kkp"


def desired(secret: str = "credential-aws-abc", version: str = "7", role: str | None = None,
            disagreeing: bool = False) -> dict[str, Any]:
    """The check discovery wants for the Secret: used by Cluster c1 assuming `role` (with an external ID), and by
    a Cluster c2 without a role when `disagreeing` (which notes the disagreement)."""
    uses = [KKPCluster(Target(cluster="c1"), (NS, secret), role, "ext-id")] if role else []
    if disagreeing:
        uses.append(KKPCluster(Target(cluster="c2"), (NS, secret)))
    return desired_for_secret(NS, secret, resource_version=version, uses=merge_uses(uses), profile="kkp",
                              interval="6h")


def user_made(name: str = "credential-aws-abc") -> dict[str, Any]:
    check = desired(name)
    del check["metadata"]["labels"][LABEL_DISCOVERED]
    return check


def stored(kube: FakeKube, name: str = "credential-aws-abc") -> dict[str, Any]:
    return kube.stored[(NS, name)]


# --- ensure ---

def test_a_missing_check_is_created() -> None:
    kube = FakeKube()
    assert apply.ensure(kube, desired()) == "created"
    assert kube.writes() == ["create_check"]
    assert stored(kube)["spec"] == desired()["spec"]


def test_a_check_in_step_is_left_alone() -> None:
    kube = FakeKube(desired())
    assert apply.ensure(kube, desired()) == "unchanged"
    assert kube.writes() == []


def test_a_check_an_admin_made_by_hand_with_that_name_keeps_its_spec_and_is_told_why_once() -> None:
    """Issue 33: never silence: its only write is the DiscoveryConflict annotation (its status shows it as a
    condition), made once, not on every resync."""
    kube = FakeKube(user_made())
    before = dict(stored(kube)["spec"])
    assert apply.ensure(kube, desired(version="8", role=ROLE)) == "user-owned"
    assert kube.writes() == ["patch_check"]
    after = stored(kube)
    assert after["spec"] == before and "assumeRole" not in after["spec"]
    assert "not made by discovery" in after["metadata"]["annotations"]["credcheck.io/discovery-conflict"]
    assert apply.ensure(kube, desired(version="8", role=ROLE)) == "user-owned"
    assert kube.writes() == ["patch_check"], "told once"


def test_adopting_a_labelled_check_overwrites_its_whole_spec() -> None:
    """Issue 33: a check labelled discovered with suspend and other key names is not partly overwritten."""
    planted = desired()
    planted["spec"]["suspend"] = True
    planted["spec"]["source"]["secretRef"]["accessKeyIdKey"] = "elsewhere"
    kube = FakeKube(planted)
    assert apply.ensure(kube, desired(version="8")) == "updated"
    spec = stored(kube)["spec"]
    assert "suspend" not in spec and spec["source"]["secretRef"] == {"name": "credential-aws-abc"}, spec


def test_overwrite_is_the_merge_patch_that_makes_a_spec_exactly_the_desired_one() -> None:
    current = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1], "f": {"g": 1}}
    desired_ = {"b": {"c": 5}, "e": [2], "f": "x"}
    assert apply.overwrite(current, desired_) == {"a": None, "b": {"c": 5, "d": None}, "e": [2], "f": "x"}


def test_an_update_names_the_version_it_read_and_drops_a_role_and_note_the_clusters_no_longer_set() -> None:
    kube = FakeKube(desired(role=ROLE, disagreeing=True))
    read = stored(kube)["metadata"]["resourceVersion"]
    assert stored(kube)["spec"]["assumeRole"]["roleARN"] == ROLE and stored(kube)["metadata"]["annotations"][
        ANNOTATION_NOTE]
    assert apply.ensure(kube, desired(version="8")) == "updated"
    assert kube.calls[-1] == ("patch_check", NS, "credential-aws-abc", read)
    after = stored(kube)
    assert "assumeRole" not in after["spec"], "merge patch null: the role is gone"
    assert ANNOTATION_NOTE not in after["metadata"]["annotations"], "merge patch null: the note is gone"
    assert after["metadata"]["annotations"][ANNOTATION_SOURCE_VERSION] == "8"


def test_an_update_to_a_role_without_an_external_id_drops_the_one_stored_before() -> None:
    with_id = desired(role=ROLE)
    with_id["spec"]["assumeRole"] = {"roleARN": ROLE, "externalID": "stored-before"}
    kube = FakeKube(with_id)
    wanted = desired(version="8", role=ROLE)
    assert apply.ensure(kube, wanted) == "updated"
    assert stored(kube)["spec"]["assumeRole"] == wanted["spec"]["assumeRole"]
    assert "externalID" not in stored(kube)["spec"]["assumeRole"], "merge patch null: the old external ID is gone"


def test_a_status_write_between_read_and_patch_is_a_conflict_then_read_and_patched_again() -> None:
    kube = FakeKube(desired())
    first = stored(kube)["metadata"]["resourceVersion"]
    kube.before("patch_check", lambda: kube.put({**stored(kube), "status": {"phase": "checked"}}))
    assert apply.ensure(kube, desired(version="8")) == "updated"
    versions = [c[3] for c in kube.calls if c[0] == "patch_check"]
    assert len(versions) == 2 and versions[0] == first and versions[1] != first, "the second names the new version"
    assert stored(kube)["status"] == {"phase": "checked"}, "the status written meanwhile is kept"
    assert stored(kube)["metadata"]["annotations"][ANNOTATION_SOURCE_VERSION] == "8"


def test_a_check_created_meanwhile_is_read_and_updated_not_counted_as_created() -> None:
    kube = FakeKube()
    kube.before("create_check", lambda: kube.put(desired(version="6")))  # another replica, an older decision
    assert apply.ensure(kube, desired(version="7")) == "updated"
    assert kube.writes() == ["create_check", "patch_check"]
    assert stored(kube)["metadata"]["annotations"][ANNOTATION_SOURCE_VERSION] == "7"


def test_an_admins_check_created_meanwhile_is_left_alone() -> None:
    kube = FakeKube()
    kube.before("create_check", lambda: kube.put(user_made()))
    assert apply.ensure(kube, desired()) == "user-owned"
    assert kube.writes() == ["create_check", "patch_check"], "its spec untouched, the conflict annotated"


def test_conflicts_on_every_attempt_give_up_with_a_conflict() -> None:
    kube = FakeKube(desired())
    for _ in range(apply.ATTEMPTS):
        kube.before("patch_check", lambda: kube.put(stored(kube)))
    with pytest.raises(Conflict):
        apply.ensure(kube, desired(version="8"))
    assert kube.writes() == ["patch_check"] * apply.ATTEMPTS


def test_a_check_deleted_between_read_and_patch_is_a_conflict_decided_again_at_once() -> None:
    """Issue 33: the 404 of a patch is a conflict like a 409 (read again, decide again), not an error the queue
    retries with backoff."""
    kube = FakeKube(desired())
    kube.before("patch_check", kube.stored.clear)
    assert apply.ensure(kube, desired(version="8")) == "created"
    assert kube.writes() == ["patch_check", "create_check"]


# --- remove ---

def test_remove_deletes_the_discovered_check_of_that_source_at_the_version_it_read() -> None:
    kube = FakeKube(desired())
    read = stored(kube)["metadata"]["resourceVersion"]
    assert apply.remove(kube, NS, "credential-aws-abc", ("secretRef", "credential-aws-abc"))
    assert kube.calls[-1] == ("delete_check", NS, "credential-aws-abc", read)
    assert kube.stored == {}


def test_remove_leaves_a_missing_a_hand_made_or_another_sources_check() -> None:
    assert not apply.remove(FakeKube(), NS, "credential-aws-abc")
    hand_made = FakeKube(user_made())
    assert not apply.remove(hand_made, NS, "credential-aws-abc")
    taken_over = FakeKube(desired())
    assert not apply.remove(taken_over, NS, "credential-aws-abc",
                            ("secretRef", "credential-aws-other"))
    assert hand_made.writes() == taken_over.writes() == []
    assert len(hand_made.stored) == len(taken_over.stored) == 1


def test_remove_on_a_conflict_decides_again_on_what_is_stored_now() -> None:
    kube = FakeKube(desired())
    taken = desired()
    taken["spec"]["source"] = {"secretRef": {"name": "credential-aws-other"}}
    kube.before("delete_check", lambda: kube.put(taken))  # another source's check by now
    assert not apply.remove(kube, NS, "credential-aws-abc",
                            ("secretRef", "credential-aws-abc"))
    assert kube.writes() == ["delete_check"] and len(kube.stored) == 1, "the other source's check stays"


def test_remove_of_a_check_deleted_meanwhile_is_nothing_done() -> None:
    kube = FakeKube(desired())
    kube.before("delete_check", kube.stored.clear)
    assert not apply.remove(kube, NS, "credential-aws-abc")


def test_remove_gives_up_with_a_conflict_after_every_attempt_conflicted() -> None:
    kube = FakeKube(desired())
    for _ in range(apply.ATTEMPTS):
        kube.before("delete_check", lambda: kube.put(stored(kube)))
    with pytest.raises(Conflict):
        apply.remove(kube, NS, "credential-aws-abc")
    assert len(kube.stored) == 1


# --- touch and apply_plan ---

def test_touch_records_the_sources_version_on_a_hand_made_check_without_a_precondition() -> None:
    kube = FakeKube(user_made())
    apply.touch(kube, NS, "credential-aws-abc", "42")
    assert kube.calls[-1] == ("patch_check", NS, "credential-aws-abc", "")
    assert kube.patches == [{"metadata": {"annotations": {ANNOTATION_SOURCE_VERSION: "42"}}}]


def test_apply_plan_reports_only_what_it_changed() -> None:
    kube = FakeKube(desired("credential-aws-old"), desired("credential-aws-same"), user_made("credential-aws-mine"))
    plan = Plan(ensure=desired("credential-aws-new"),
                remove=(("kubermatic", "credential-aws-old"), ("kubermatic", "credential-aws-gone")),
                touch=(("kubermatic", "credential-aws-mine"),), version="9")
    assert apply.apply_plan(kube, plan) == [
        "created kubermatic/credential-aws-new", "deleted kubermatic/credential-aws-old",
        "re-check kubermatic/credential-aws-mine"]
    assert apply.apply_plan(kube, Plan(ensure=desired("credential-aws-same"))) == []
    assert stored(kube, "credential-aws-mine")["metadata"]["annotations"][ANNOTATION_SOURCE_VERSION] == "9"
