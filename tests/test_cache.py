"""The shared read cache: one read per key and time-to-live, shared by concurrent callers."""

from __future__ import annotations

import asyncio

import pytest

from bot.cache import SharedCache


class Reads:
    """A load that counts its calls and can be held open or made to fail."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.release.set()
        self.failing = False

    async def __call__(self, key: str) -> str:
        self.calls.append(key)
        await self.release.wait()
        if self.failing:
            raise OSError("the database went away")
        return f"value of {key}"


async def test_concurrent_callers_share_one_read_per_key() -> None:
    """Ten callers asking while a read is under way all get its value from that one read."""
    reads = Reads()
    reads.release.clear()
    cache: SharedCache[str, str] = SharedCache(ttl_s=5)
    waiting = [asyncio.ensure_future(cache.get("T1", lambda: reads("T1"))) for _ in range(10)]
    await asyncio.sleep(0)
    reads.release.set()
    assert await asyncio.gather(*waiting) == ["value of T1"] * 10
    assert reads.calls == ["T1"]


async def test_a_value_is_read_again_once_its_time_is_up_or_the_cache_is_cleared() -> None:
    """Within the time-to-live a key is read once; after it, or after `clear`, it is read anew."""
    now = [0.0]
    reads = Reads()
    cache: SharedCache[str, str] = SharedCache(ttl_s=5, clock=lambda: now[0])
    await cache.get("T1", lambda: reads("T1"))
    now[0] = 4.9
    await cache.get("T1", lambda: reads("T1"))
    assert reads.calls == ["T1"]
    now[0] = 5.0
    await cache.get("T1", lambda: reads("T1"))
    cache.clear()
    await cache.get("T1", lambda: reads("T1"))
    assert reads.calls == ["T1", "T1", "T1"]


async def test_a_failed_read_is_not_kept() -> None:
    """A read that fails reaches its callers and is forgotten: the next call reads again."""
    reads = Reads()
    reads.failing = True
    cache: SharedCache[str, str] = SharedCache(ttl_s=60)
    with pytest.raises(OSError, match="went away"):
        await cache.get("T1", lambda: reads("T1"))
    reads.failing = False
    assert await cache.get("T1", lambda: reads("T1")) == "value of T1"
    assert reads.calls == ["T1", "T1"]


async def test_a_caller_giving_up_does_not_cancel_the_read_others_wait_for() -> None:
    """One caller cancelled mid-read leaves the shared read running for the others."""
    reads = Reads()
    reads.release.clear()
    cache: SharedCache[str, str] = SharedCache(ttl_s=5)
    impatient = asyncio.ensure_future(cache.get("T1", lambda: reads("T1")))
    patient = asyncio.ensure_future(cache.get("T1", lambda: reads("T1")))
    await asyncio.sleep(0)
    impatient.cancel()
    reads.release.set()
    assert await patient == "value of T1"
    assert impatient.cancelled()


async def test_a_time_to_live_of_zero_reads_every_time_but_shares_a_read_under_way() -> None:
    """With replicas sharing a database, nothing is kept: every call once a read ended reads
    again; callers asking while one is under way share it (a burst makes one read)."""
    reads = Reads()
    cache: SharedCache[str, str] = SharedCache(ttl_s=0)
    await cache.get("T1", lambda: reads("T1"))
    await cache.get("T1", lambda: reads("T1"))
    assert reads.calls == ["T1", "T1"]
    reads.release.clear()
    waiting = [asyncio.ensure_future(cache.get("T1", lambda: reads("T1"))) for _ in range(10)]
    await asyncio.sleep(0)
    reads.release.set()
    assert await asyncio.gather(*waiting) == ["value of T1"] * 10
    assert reads.calls == ["T1", "T1", "T1"]
    await cache.get("T1", lambda: reads("T1"))
    assert reads.calls == ["T1", "T1", "T1", "T1"]
