"""iam:ListAccessKeys and iam:GetAccessKeyLastUsed for the keys' own IAM user, with the keys or the auditor;
facts cached per key (they change slowly: a key's age by the day, its last use as AWS records it).

Cost per read: 1 ListAccessKeys + 1 GetAccessKeyLastUsed per key of the user (IAM allows two): 2 or 3 IAM calls,
none while the key's facts are cached (`ttl`, an hour by default; a denial 5 minutes). A denial with the keys is
retried by the auditor when one is configured; when neither may ask, the facts are Unknown naming the permission
(never an error).
Key ids are masked as soon as they are read: the facts and everything made from them hold no key id.
"""

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credcheck.engine.aws.errors import ACCESS_DENIED, describe, error_code
from credcheck.engine.aws.ports import Clients
from credcheck.engine.aws.session import AWSSession
from credcheck.engine.keyfacts import FAILED, NOT_APPLICABLE, READ, UNKNOWN, AccessKeyFact, KeyFacts, LastUse
from credcheck.engine.model import Principal, mask_key_id

CALLS_PER_READ = 3  # ListAccessKeys, and GetAccessKeyLastUsed for each of at most two keys
PERMISSIONS = ("iam:ListAccessKeys", "iam:GetAccessKeyLastUsed")
MAX_ENTRIES = 20_000
UNKNOWN_TTL = 300.0  # facts neither identity may read: asked again after 5 minutes (a policy fixed is seen soon)


class _Denied(Exception):
    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


def user_name(principal: Principal) -> str | None:
    """The IAM user of a user principal (`arn:aws:iam::1:user/path/name` -> `name`); None for anything else."""
    if principal.kind != "user":
        return None
    resource = principal.policy_source_arn.split(":", 5)[-1]
    return resource.rsplit("/", 1)[-1] if resource.startswith("user/") else None


def _text(value: Any) -> str | None:
    return None if value in (None, "", "N/A") else str(value)


def _read(session: Clients, user: str, access_key_id: str) -> tuple[AccessKeyFact, ...]:
    iam = session.client("iam")
    try:
        listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    except Exception as err:
        if error_code(err) in ACCESS_DENIED:
            raise _Denied("iam:ListAccessKeys") from None
        raise
    out = []
    for meta in listed[:2]:
        key_id = str(meta["AccessKeyId"])
        try:
            used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed") or {}
        except Exception as err:
            if error_code(err) in ACCESS_DENIED:
                raise _Denied("iam:GetAccessKeyLastUsed") from None
            raise
        date = used.get("LastUsedDate")
        out.append(AccessKeyFact(mask_key_id(key_id), str(meta.get("Status", "")), meta["CreateDate"],
                                 LastUse(date if isinstance(date, datetime) else None,
                                         _text(used.get("ServiceName")), _text(used.get("Region"))),
                                 key_id == access_key_id))
    return tuple(out)


def _grant(user: str, principal: Principal) -> str:
    return ('{"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"], '
            f'"Resource": "arn:{principal.partition}:iam::{principal.account}:user/{user}"}}')


def read_facts(keys: AWSSession, principal: Principal, access_key_id: str,
               auditor: Callable[[], tuple[AWSSession, str]] | None = None) -> KeyFacts:
    """The facts, read with the keys (their own user), else by the auditor; never raises."""
    user = user_name(principal)
    if user is None:
        return KeyFacts(NOT_APPLICABLE, f"a {principal.kind} principal has no access keys of its own to judge")
    denied: list[str] = []
    last = PERMISSIONS[0]
    readers: list[tuple[str, Callable[[], AWSSession]]] = [("self", lambda: keys)]
    if auditor is not None:
        found: dict[str, str] = {}

        def by_auditor() -> AWSSession:
            session, arn = auditor()
            found["arn"] = arn
            return session

        readers.append(("auditor", by_auditor))
    for who, session in readers:
        try:
            facts = _read(session(), user, access_key_id)
            read_by = "self" if who == "self" else found.get("arn", "auditor")
            return KeyFacts(READ, user=user, keys=facts, read_by=read_by)
        except _Denied as denial:
            denied.append(f"{'the keys' if who == 'self' else 'the auditor'} may not call {denial.action}")
            last = denial.action
        except Exception as err:
            failure = describe(err, "reading the access keys' facts")
            if who == "self":
                return KeyFacts(FAILED, f"{failure.reason}: {failure.message}", user=user)
            denied.append(f"the auditor failed ({failure.reason}: {failure.message[:200]})")
    return KeyFacts(UNKNOWN, "; ".join(denied) + ("" if auditor else " and no auditor is configured")
                    + f": key age and last use are not known. Add to the user's policy: {_grant(user, principal)}",
                    user=user, missing_permissions=(last,))


@dataclass
class AccessKeyFacts:
    """Reads key facts and remembers them per key for `ttl` seconds (one per process: the operator's Runtime); a
    denial for at most 5 minutes, a failure not at all. Keyed by a digest of the key id, never the id."""

    ttl: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _facts: dict[str, tuple[float, KeyFacts]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _key(access_key_id: str) -> str:
        return hashlib.sha256(access_key_id.encode()).hexdigest()[:32]

    def cached(self, access_key_id: str) -> KeyFacts | None:
        with self._lock:
            entry = self._facts.get(self._key(access_key_id))
        return entry[1] if entry is not None and entry[0] > self.clock() else None

    def facts(self, keys: AWSSession, principal: Principal, access_key_id: str,
              auditor: Callable[[], tuple[AWSSession, str]] | None = None) -> KeyFacts:
        found = self.cached(access_key_id)
        if found is not None:
            return found
        found = read_facts(keys, principal, access_key_id, auditor)
        if found.state in (READ, UNKNOWN, NOT_APPLICABLE):  # a failure (AWS unreachable, …) is asked again
            ttl = self.ttl if found.state != UNKNOWN else min(self.ttl, UNKNOWN_TTL)
            with self._lock:
                now = self.clock()
                if len(self._facts) >= MAX_ENTRIES:
                    self._facts = {k: v for k, v in self._facts.items() if v[0] > now}
                self._facts[self._key(access_key_id)] = (now + ttl, found)
        return found
