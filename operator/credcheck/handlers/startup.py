import logging

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: object) -> None:
    settings.posting.level = logging.WARNING  # no "Handler succeeded" Events; ours mark transitions only
    settings.execution.max_workers = max(4, memo.runtime.settings.concurrency * 2)
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    # kopf hides every annotation under its storage prefix from change detection: keep it apart from ours
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="kopf.credcheck.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="kopf.credcheck.io")
