"""Background work after the ack: tracked so nothing is dropped silently and shutdown can wait."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


async def every(interval_s: float, work: Callable[[], Awaitable[None]], *, what: str) -> None:
    """Do `work` now and then every `interval_s` seconds after it ends, until cancelled.

    The bot's loops (polling, recovery, lease renewal) outlive any one failing round.
    """
    while True:
        try:
            await work()
        except Exception:  # the loop must outlive any one failure; logged with its traceback
            log.exception("%s failed; trying again in %g s", what, interval_s)
        await asyncio.sleep(interval_s)


class BackgroundTasks:
    """Runs coroutines after Slack has its ack; logs what fails, drains on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Start `work` now and keep a reference until it ends (asyncio keeps only weak ones)."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float, *, cancel_timeout_s: float = 2.0) -> None:
        """Wait up to `timeout_s` for running work to finish, then cancel what is left and give
        it `cancel_timeout_s` to unwind: the whole takes at most the sum of the two."""
        if not self._tasks:
            return
        log.info("waiting up to %.0f s for %d background tasks", timeout_s, len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("cancelled %d unfinished background tasks at shutdown", len(pending))
            await asyncio.wait(pending, timeout=cancel_timeout_s)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # The one place unexpected background failures surface, with their traceback.
            log.error("background task %s failed", task.get_name(), exc_info=error)
