"""AWSCredentialCheck handlers: check on create, and on a spec, source or annotation change — an admin's re-check
request (a new credcheck.io/recheck value) goes past the verdict cache. Thin: credcheck.controller.checker does the
work, the same run the re-check scheduler makes when a check is due (its status-only writes do not wake these)."""

from typing import Any

import kopf

from credcheck.controller.checker import recheck_asked
from credcheck.kube.contract import GROUP, PLURAL, VERSION


@kopf.on.create(GROUP, VERSION, PLURAL, id="check-on-create")
async def check_on_create(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    await memo.checker.run(body, logger, trigger="create")


@kopf.on.update(GROUP, VERSION, PLURAL, id="check-on-change")
async def check_on_change(body: kopf.Body, old: Any, new: Any, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Spec edits, a new source version (rotation) and an admin's re-check request land here."""
    asked = recheck_asked(old, new)
    await memo.checker.run(body, logger, trigger="recheck" if asked else "change", fresh=asked)
