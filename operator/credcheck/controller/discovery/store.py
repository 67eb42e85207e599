"""What an informer keeps of the objects it watches (pure: plain values in, the keys that changed out).

Each object (namespace, name) contributes at most one entry (key, value): a Cluster the Secret it uses, a Secret
its resourceVersion. Read as a mapping key -> the values of every object with that key, the shape Snapshot reads.
A list from the API server replaces the whole store: objects it lacks are gone, whether or not their DELETED event
was ever seen (a watch that expired, 410, drops the events in between), so nothing outlives its object.
"""

import sys
from collections.abc import Hashable, Iterator, Mapping
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
ObjectId = tuple[str, str]  # (namespace, or "" for cluster-scoped objects; name)


def object_id(body: Mapping[str, Any]) -> ObjectId:
    meta = body.get("metadata") or {}
    return sys.intern(str(meta.get("namespace") or "")), str(meta.get("name") or "")


class Store(Mapping[K, tuple[V, ...]], Generic[K, V]):
    """Objects' entries, and the same read as key -> values (insertion order of the objects).

    Kept small, as a store holds every Secret of a seed: a key maps to the one object that has it (an ObjectId, a
    tuple), or to a list of them when several do; the values stay in the objects' entries. An entry whose key is
    its object's id (a Secret's) keeps that id as its key rather than an equal copy."""

    def __init__(self) -> None:
        self._objects: dict[ObjectId, tuple[K, V] | None] = {}  # None: an object that contributes no entry
        self._by_key: dict[K, ObjectId | list[ObjectId]] = {}

    # --- reading -----------------------------------------------------------------------------------------------
    def __getitem__(self, key: K) -> tuple[V, ...]:
        return tuple(self._value(oid) for oid in self._oids(self._by_key[key]))

    def _oids(self, found: ObjectId | list[ObjectId]) -> list[ObjectId] | tuple[ObjectId]:
        return found if isinstance(found, list) else (found,)

    def _value(self, oid: ObjectId) -> V:
        entry = self._objects[oid]
        assert entry is not None  # an object is under a key only while its entry has that key
        return entry[1]

    def __iter__(self) -> Iterator[K]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    @property
    def objects(self) -> int:
        return len(self._objects)

    def entry(self, oid: ObjectId) -> tuple[K, V] | None:
        return self._objects.get(oid)

    def __repr__(self) -> str:
        return f"Store({dict(self.items())!r})"

    # --- writing: each answers the keys whose values changed ---------------------------------------------------
    def put(self, oid: ObjectId, entry: tuple[K, V] | None) -> list[K]:
        """The object's entry now (None: it exists but contributes nothing)."""
        if oid in self._objects and self._objects[oid] == entry:
            return []
        changed = self._drop(oid)
        if entry is not None and entry[0] == oid:
            entry = (oid, entry[1])  # K is ObjectId here: one tuple, not two
        self._objects[oid] = entry
        if entry is not None:
            key = entry[0]
            found = self._by_key.get(key)
            if found is None:
                self._by_key[key] = oid
            elif isinstance(found, list):
                found.append(oid)
            else:
                self._by_key[key] = [found, oid]
            if key not in changed:
                changed.append(key)
        return changed

    def delete(self, oid: ObjectId) -> list[K]:
        return self._drop(oid)

    def replace(self, listed: Mapping[ObjectId, tuple[K, V] | None],
                scope: str | None = None) -> tuple[list[K], list[ObjectId]]:
        """Exactly what a list from the API server holds (of one namespace: `scope`; None: every object): the keys
        that changed, and the objects that are gone."""
        gone = [oid for oid in self._objects if oid not in listed and (scope is None or oid[0] == scope)]
        changed: list[K] = []
        for oid in gone:
            changed.extend(self._drop(oid))
        for oid, entry in listed.items():
            changed.extend(self.put(oid, entry))
        return list(dict.fromkeys(changed)), gone

    def _drop(self, oid: ObjectId) -> list[K]:
        old = self._objects.pop(oid, None)
        if old is None:  # unknown, or an object without an entry
            return []
        key = old[0]
        found = self._by_key.get(key)
        if isinstance(found, list):
            if oid in found:
                found.remove(oid)
            if len(found) == 1:
                self._by_key[key] = found[0]
        elif found == oid:
            del self._by_key[key]
        return [key]
