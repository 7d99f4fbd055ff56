"""A small cache of async reads: each key is read at most once per time-to-live, and callers
asking at the same moment share that one read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedCache(Generic[K, V]):
    """What `load()` gave for a key, kept for `ttl_s` seconds; a failed load is not kept.

    With `ttl_s` 0 nothing is kept: a call loads anew unless a load of its key is under way,
    whose value it shares (a read that began a few milliseconds before it asked, as if it had
    asked then; a burst of callers makes one read, not one each). A caller that gives up (is
    cancelled) does not cancel the load the others wait for.
    """

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[K, tuple[float, asyncio.Future[V]]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value for `key`: `load()`ed now, or shared with a recent or running load."""
        now = self._clock()
        entry = self._entries.get(key)
        loading: asyncio.Future[V]
        if entry is None or (entry[0] <= now and entry[1].done()):
            loading = asyncio.ensure_future(load())
            self._entries[key] = (now + self._ttl_s, loading)
            loading.add_done_callback(lambda done: self._forget_failed(key, done))
        else:
            loading = entry[1]
        return await asyncio.shield(loading)

    def clear(self) -> None:
        """Forget every value: the next calls read again."""
        self._entries.clear()

    def _forget_failed(self, key: K, done: asyncio.Future[V]) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] is done and (done.cancelled() or done.exception()):
            del self._entries[key]
