import logging

import kopf


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: object) -> None:
    # the loop's default executor (asyncio.to_thread) is the Kubernetes calls' pool: credcheck.controller.main sets it
    # up before leader election; the admission webhook is served by credcheck.controller.webhook.server, not by kopf
    settings.posting.level = logging.WARNING  # no "Handler succeeded" Events; ours mark transitions only
    settings.execution.max_workers = max(4, memo.runtime.settings.concurrency * 2)
    # checks handled at once (the rest wait in the watch stream, unread): a burst of a thousand new credentials
    # would otherwise hold a thousand handlers and their bodies while the AWS side works through them
    settings.queueing.worker_limit = max(32, memo.runtime.settings.concurrency * 8)
    settings.queueing.idle_timeout = 1.0  # a handled check's worker leaves its place soon
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    # kopf hides every annotation under its storage prefix from change detection: keep it apart from ours
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="kopf.credcheck.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="kopf.credcheck.io")
