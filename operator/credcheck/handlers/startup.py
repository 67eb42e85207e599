import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kopf

from credcheck import kube


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: object) -> None:
    # asyncio.to_thread's pool is for Kubernetes calls only: AWS checks have their own (Runtime.checks), and askers
    # waiting for a check in flight are coroutines, so these threads only ever wait on the API server
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(kube.THREADS, thread_name_prefix="kube"))
    settings.posting.level = logging.WARNING  # no "Handler succeeded" Events; ours mark transitions only
    settings.execution.max_workers = max(4, memo.runtime.settings.concurrency * 2)
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    # kopf hides every annotation under its storage prefix from change detection: keep it apart from ours
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="kopf.credcheck.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="kopf.credcheck.io")
    ours = memo.runtime.settings
    if ours.webhook_cert_dir and ours.webhook_mode != "off":
        certs = Path(ours.webhook_cert_dir)
        # TLS only: the server refuses plain HTTP. The webhook configuration is shipped, not managed by kopf.
        settings.admission.server = kopf.WebhookServer(addr=ours.webhook_address, port=ours.webhook_port,
                                                       certfile=certs / "tls.crt", pkeyfile=certs / "tls.key")
