"""botocore's data files, read once per process and kept only as far as credcheck uses them.

Every botocore session has a data loader of its own, which parses each service model again, and an endpoint
resolver built from endpoints.json: 1.2 MB of JSON for every service AWS has, ~6.7 MiB of Python objects kept for
the life of the process (and ~15 MiB resident while parsed), of which credcheck reads the entries of the four
services it calls. Sessions made here share one loader (each model parsed once, whichever session asks), and that
loader keeps of endpoints.json every partition's own data (regions, defaults, DNS suffixes) and only SERVICES'
entries: what botocore resolves for those services is unchanged, to the byte of the endpoint and its signing scope.
The parsed file is dropped as soon as the copy is made, so its memory goes back whole.
"""

import json
import os
from typing import Any

import botocore.session
from botocore.loaders import Loader, instance_cache

SERVICES = frozenset({"sts", "iam", "organizations", "cloudtrail"})  # every AWS service credcheck calls
ENDPOINTS = "endpoints"


def keep_services(data: dict[str, Any], services: frozenset[str] = SERVICES) -> str:
    """endpoints.json as JSON text with every partition's data but only `services` among its services."""
    return json.dumps({**data, "partitions": [
        {**partition, "services": {name: entry for name, entry in (partition.get("services") or {}).items()
                                   if name in services}}
        for partition in data.get("partitions") or []]})


class _Loader(Loader):
    """botocore's loader, but what it keeps of endpoints.json is SERVICES' part."""

    _cache: dict[Any, Any]  # botocore's instance_cache keeps what the loader loaded here

    @instance_cache
    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        data, path = super().load_data_with_path(name)
        if name != ENDPOINTS or not isinstance(data, dict):
            return data, path
        kept = keep_services(data)
        # the parent cached the whole file (this method's cache then keeps the part under the same key): dropped
        # before the part is parsed, so the part's objects are not made among the file's and its memory goes back
        for key in [k for k, v in self._cache.items() if isinstance(v, tuple) and v and v[0] is data]:
            del self._cache[key]
        del data
        return json.loads(kept), path


def _loader(loaders: dict[str | None, Loader], data_path: str | None) -> Loader:
    """One loader per data path (AWS_DATA_PATH, the config's data_path; almost always none), as botocore's
    create_loader makes it; the caller holds `loaders` (AWSClients: one set per process) and its lock."""
    if data_path not in loaders:
        extra = ([os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
                 if data_path is not None else None)
        loaders[data_path] = _Loader(extra_search_paths=extra)
    return loaders[data_path]


def share_data(session: botocore.session.Session,
               loaders: dict[str | None, Loader]) -> botocore.session.Session:
    """`session`, loading its models and endpoints through the shared loader in `loaders` (call before its first
    client: the loader a session has made is not replaced)."""
    session.register_component("data_loader", _loader(loaders, session.get_config_variable("data_path")))
    return session
