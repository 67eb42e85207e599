"""The informers' stores: read as key -> values; a list replaces them exactly, so a missed DELETED leaves no ghost."""

from credcheck.controller.discovery.store import Store


def test_objects_are_read_by_key_and_a_moved_object_changes_both_keys() -> None:
    store: Store[str, str] = Store()
    assert store.put(("", "c1"), ("secret-a", "c1")) == ["secret-a"]
    assert store.put(("", "c2"), ("secret-a", "c2")) == ["secret-a"]
    assert store["secret-a"] == ("c1", "c2")
    assert store.put(("", "c1"), ("secret-a", "c1")) == [], "unchanged: nothing to do"
    assert sorted(store.put(("", "c1"), ("secret-b", "c1"))) == ["secret-a", "secret-b"], "moved: old and new key"
    assert store["secret-a"] == ("c2",) and store["secret-b"] == ("c1",)
    assert store.delete(("", "c2")) == ["secret-a"]
    assert "secret-a" not in store and len(store) == 1


def test_a_list_replaces_the_store_and_names_what_vanished_without_an_event() -> None:
    store: Store[tuple[str, str], str] = Store()
    for name in ("a", "b", "c"):
        store.put(("ns", name), (("ns", name), "1"))
    store.put(("other", "x"), (("other", "x"), "1"))
    changed, gone = store.replace({("ns", "a"): (("ns", "a"), "1"), ("ns", "b"): (("ns", "b"), "2")}, scope="ns")
    assert gone == [("ns", "c")], "deleted while the watch was away: gone, though no DELETED was seen"
    assert sorted(changed) == [("ns", "b"), ("ns", "c")]
    assert ("ns", "c") not in store and store[("ns", "b")] == ("2",)
    assert ("other", "x") in store, "a namespace's list leaves the other namespaces' objects alone"
    assert store.objects == 3


def test_an_object_without_an_entry_is_still_known_so_its_deletion_is_seen() -> None:
    store: Store[str, str] = Store()
    store.put(("ns", "plain"), None)
    assert len(store) == 0 and store.objects == 1
    _, gone = store.replace({})
    assert gone == [("ns", "plain")]


def test_a_key_of_several_objects_keeps_their_order_as_they_come_and_go() -> None:
    store: Store[str, str] = Store()
    for name in ("c1", "c2", "c3"):
        store.put(("", name), ("secret-a", name))
    assert store["secret-a"] == ("c1", "c2", "c3")
    store.put(("", "c1"), ("secret-a", "c1-edited"))
    assert store["secret-a"] == ("c2", "c3", "c1-edited"), "a changed object comes last, as before"
    store.delete(("", "c3"))
    store.delete(("", "c1"))
    assert store["secret-a"] == ("c2",) and dict(store.items()) == {"secret-a": ("c2",)}
    assert store.delete(("", "c2")) == ["secret-a"] and "secret-a" not in store and store.objects == 0
    store.put(("ns", "s"), (("ns", "s"), "7"))
    assert store[("ns", "s")] == ("7",) and store.entry(("ns", "s")) == (("ns", "s"), "7")
