"""Logging in as kopf does, but with a bounded connection pool.

kopf's own aiohttp session allows unlimited connections; under a burst of status patches it opened hundreds, each
TLS transport holding a 256 KiB buffer (about 56 MB for 430 of them, measured). Watch streams hold a connection
each, so the limit grows with the number of watched namespaces.
"""

import asyncio
from typing import Any

import aiohttp
import kopf

from credcheck.kube.client import login as kube_login

BASE_CONNECTIONS = 16
PER_NAMESPACE = 4


@kopf.on.login()
async def login(memo: kopf.Memo, **_: Any) -> kopf.AiohttpSession:
    # reads the ServiceAccount token or the kubeconfig from disk: not on the event loop
    info = await asyncio.to_thread(kube_login)
    namespaces = len(memo.runtime.settings.namespaces) + 1
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=BASE_CONNECTIONS + PER_NAMESPACE * namespaces,
                                       ssl=info.as_ssl_context()),
        headers=info.as_http_headers(),
    )
    return kopf.AiohttpSession(server=info.server, default_namespace=info.default_namespace,
                               expiration=info.expiration, priority=info.priority, aiohttp_session=session)
