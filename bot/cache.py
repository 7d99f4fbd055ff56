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

    With `ttl_s` 0 every call loads (nothing is cached). A caller that gives up (is cancelled)
    does not cancel the load the others wait for.
    """

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[K, tuple[float, asyncio.Future[V]]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value for `key`: `load()`ed now, or shared with a recent or running load."""
        if self._ttl_s <= 0:
            return await load()
        now = self._clock()
        entry = self._entries.get(key)
        loading: asyncio.Future[V]
        if entry is None or entry[0] <= now:
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
