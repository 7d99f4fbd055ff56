"""Following deployments after they start: one poll loop, backoff, status changes reported.

State lives in the database (`next_poll_at`, `poll_interval_s`, `follow_until`), not in tasks,
so one loop follows any number of deployments and a restart resumes where it stopped. With
several replicas on one database each runs the loop, and a poll is one replica's: it claims
the due row's lease first (`Store.claim_due`), so each status change is reported once, and a
replica that dies mid-poll is replaced when its lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from blocks import ids, replies
from bot import cards, log_context
from bot.lookups import ApiKeyLookup, ClientLookup
from bot.messenger import Messenger, Place
from bot.models import Deployment, utc_now
from bot.store import Store
from bot.tasks import every
from bot.vendor import (
    DeploymentStatus,
    HiveonClient,
    HiveonError,
    HiveonRejectedError,
)

log = logging.getLogger(__name__)

# How often Refresh asks again for a deployment another replica is polling right now.
CLAIM_RETRY_S = 0.2
FAILED = "STATUS_FAILED"


@dataclass(frozen=True)
class FollowTiming:
    """How often to look and for how long: 2 s growing ×1.5 to 30 s, for 30 minutes."""

    first_interval_s: float = 2.0
    max_interval_s: float = 30.0
    growth: float = 1.5
    follow_for: timedelta = timedelta(minutes=30)
    tick_s: float = 1.0


class Follower:
    """Polls followed deployments when due, reports changes, and serves Refresh and Stop."""

    def __init__(  # noqa: PLR0913 — the follower's collaborators, all keyword-only
        self,
        *,
        store: Store,
        vendor: HiveonClient,
        api_key_for: ApiKeyLookup,
        client_for: ClientLookup,
        timing: FollowTiming | None = None,
        clock: Callable[[], datetime] = utc_now,
        concurrency: int = 20,
    ) -> None:
        self._store = store
        self._vendor = vendor
        self._api_key_for = api_key_for
        self._client_for = client_for
        self._timing = timing or FollowTiming()
        self._clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._in_flight: set[int] = set()
        self._poll_ended = asyncio.Condition()

    def follow_window(self) -> tuple[datetime, datetime]:
        """When to look first, and until when to keep looking, from now."""
        now = self._clock()
        return now + timedelta(seconds=self._timing.first_interval_s), now + self._timing.follow_for

    async def start_following(self, row_id: int) -> None:
        """Look at this deployment soon and keep looking until it settles or time runs out."""
        first_poll_at, until = self.follow_window()
        await self._store.follow(row_id, first_poll_at=first_poll_at, until=until)

    async def run(self) -> None:
        """The poll loop: runs until cancelled; one failing round never stops it."""
        await every(self._timing.tick_s, self.poll_due, what="polling followed deployments")

    async def poll_due(self) -> None:
        """Claim the followed deployments whose time has come and that no other replica is
        polling, and poll them, a bounded number at once."""
        due = await self._store.claim_due(self._clock())
        await asyncio.gather(*(self._guarded(row, self._poll) for row in due))

    async def refresh(self, row: Deployment, *, by: str) -> None:
        """Fetch the status now (the Refresh button, `/deploy status`); report it either way."""
        # A poll already under way would make the guard skip this one: wait for it to end.
        async with self._poll_ended:
            await self._poll_ended.wait_for(lambda: row.id not in self._in_flight)
        # The same for a poll on another replica: its lease is released when it has recorded.
        claimed = await self._claim_soon(row.id)
        # Compared with what is stored now, not with `row`: a poll may have changed it since.
        await self._guarded(claimed or row, lambda r: self._poll(r, by=by, fresh=True))

    async def stop(self, row: Deployment, *, by: str) -> None:
        """Ask Hiveon to stop the deployment; report in its thread and follow it to the end."""
        messenger, place = await self._conversation(row)
        api_key = await self._api_key_for(row.enterprise_id, row.team_id)
        if messenger is None:
            return
        if api_key is None or not row.deployment_id:
            await messenger.reply(place, replies.stop_impossible_reply())
            return
        try:
            await self._vendor.stop_deployment(row.deployment_id, api_key=api_key)
        except HiveonRejectedError as exc:
            await messenger.reply(
                place,
                replies.stop_refused_reply(
                    deployment_id=row.deployment_id,
                    by=by,
                    http_status=exc.status_code,
                    vendor_message=exc.message,
                ),
            )
            return
        except HiveonError as exc:
            await messenger.reply(
                place,
                replies.stop_unclear_reply(deployment_id=row.deployment_id, by=by, reason=str(exc)),
            )
            await self.start_following(row.id)
            return
        await self._store.clear_stop(row.id)  # stopped by hand: nothing left to stop
        await messenger.reply(
            place, replies.stop_asked_reply(deployment_id=row.deployment_id, by=by)
        )
        await self.start_following(row.id)

    async def _claim_soon(self, row_id: int) -> Deployment | None:
        """The row, leased to this process, once no other replica holds it; None if that takes
        longer than a lease (a replica stuck mid-poll): Refresh then goes ahead anyway."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._store.lease_s
        while (claimed := await self._store.claim(row_id)) is None:
            if loop.time() >= deadline:
                log.warning("deployment %s stayed leased to another replica; refreshing", row_id)
                return None
            await asyncio.sleep(CLAIM_RETRY_S)
        return claimed

    async def _guarded(
        self, row: Deployment, poll: Callable[[Deployment], Awaitable[None]]
    ) -> None:
        # One poll per deployment at a time, and a bounded number overall.
        if row.id in self._in_flight:
            return  # that poll records, and so releases the lease
        log_context.bind(
            team_id=row.team_id,
            user_id=row.user_id,
            external_deployment_id=row.external_deployment_id,
        )
        self._in_flight.add(row.id)
        try:
            async with self._limit:
                await poll(row)
        finally:
            # Recorded polls released their lease; one that failed runs out instead.
            self._store.let_go(row.id)
            self._in_flight.discard(row.id)
            async with self._poll_ended:
                self._poll_ended.notify_all()

    async def _poll(self, row: Deployment, *, by: str | None = None, fresh: bool = False) -> None:
        if fresh:
            row = await self._store.get(row.id) or row
        api_key = await self._api_key_for(row.enterprise_id, row.team_id)
        if api_key is None or not row.deployment_id:
            await self._store.record_status(
                row.id,
                vendor_status=row.vendor_status,
                since=row.vendor_status_at,
                fail_reason=row.fail_reason,
                next_poll_at=None,
                poll_interval_s=None,
            )
            return
        try:
            status = await self._vendor.get_deployment(row.deployment_id, api_key=api_key)
        except HiveonError as exc:
            log.info("status of %s unavailable (%s); will look again", row.deployment_id, exc)
            status = None
        await self._apply(row, status, by=by)

    async def _apply(
        self, row: Deployment, status: DeploymentStatus | None, *, by: str | None
    ) -> None:
        now = self._clock()
        timing = self._timing
        interval = min(
            (row.poll_interval_s or timing.first_interval_s / timing.growth) * timing.growth,
            timing.max_interval_s,
        )
        if status is None:
            # Transient: keep the known state, look again later.
            await self._schedule(
                row,
                vendor_status=row.vendor_status,
                since=row.vendor_status_at,
                fail_reason=row.fail_reason,
                now=now,
                interval=interval,
            )
            return
        changed = status.status != row.vendor_status
        since = now if changed or row.vendor_status_at is None else row.vendor_status_at
        fail_reason = cards.describe_fail_reason(
            status.fail_reason.code if status.fail_reason else None,
            status.fail_reason.message if status.fail_reason else None,
        )
        if changed:
            interval = timing.first_interval_s  # states move quickly around a transition
        settled = status.status in cards.SETTLED
        next_poll = await self._schedule(
            row,
            vendor_status=status.status,
            since=since,
            fail_reason=fail_reason,
            now=now,
            interval=interval,
            settled=settled,
        )
        if changed or by is not None:
            await self._report(row, status.status, since, fail_reason, by=None if changed else by)
        if next_poll is None and not settled and status.status == "STATUS_PENDING":
            await self._report_gave_up(row)

    async def _schedule(  # noqa: PLR0913 — the state to store and when to look next
        self,
        row: Deployment,
        *,
        vendor_status: str | None,
        since: datetime | None,
        fail_reason: str | None,
        now: datetime,
        interval: float,
        settled: bool = False,
    ) -> datetime | None:
        next_poll: datetime | None = now + timedelta(seconds=interval)
        if settled or (row.follow_until is not None and now >= row.follow_until):
            next_poll = None
        await self._store.record_status(
            row.id,
            vendor_status=vendor_status,
            since=since,
            fail_reason=fail_reason,
            next_poll_at=next_poll,
            poll_interval_s=interval if next_poll else None,
            settled=settled,
        )
        return next_poll

    async def _report(
        self,
        row: Deployment,
        vendor_status: str,
        since: datetime,
        fail_reason: str | None,
        *,
        by: str | None,
    ) -> None:
        messenger, place = await self._conversation(row)
        if messenger is None or not row.deployment_id:
            return
        # A failure deploybot saw by itself is shown in the channel too, naming the requester.
        failed = by is None and vendor_status == FAILED
        await messenger.reply(
            place,
            cards.status_reply(
                vendor_status=vendor_status,
                deployment_id=row.deployment_id,
                fail_reason=fail_reason,
                by=by,
                requester=row.user_id if failed else None,
            ),
            broadcast=failed,
        )
        await messenger.update_parent(
            place,
            cards.card_of(
                row,
                status=cards.state_word(vendor_status),
                detail=cards.status_detail(vendor_status, since, fail_reason),
                buttons=_buttons_for(vendor_status),
                settled=vendor_status in cards.SETTLED,
            ),
        )

    async def _report_gave_up(self, row: Deployment) -> None:
        messenger, place = await self._conversation(row)
        if messenger is None:
            return
        await messenger.reply(place, replies.gave_up_reply(followed_for=self._timing.follow_for))

    async def _conversation(self, row: Deployment) -> tuple[Messenger | None, Place | None]:
        client = await self._client_for(row.enterprise_id, row.team_id)
        if client is None:
            log.warning("no Slack client for team %s; cannot report", row.team_id)
            return None, None
        messenger = Messenger(client, user_id=row.user_id, response_url=row.response_url)
        return messenger, place_of(row)


def place_of(row: Deployment) -> Place | None:
    """Where the deployment's conversation lives, as recorded."""
    if row.message_channel and row.message_ts:
        return Place(channel=row.message_channel, ts=row.message_ts)
    if row.response_url:
        return Place(response_url=row.response_url)
    return None


def _buttons_for(vendor_status: str) -> tuple[str, ...]:
    """Settled deployments can only be redeployed; live ones can be refreshed and stopped too."""
    if vendor_status in cards.SETTLED:
        return ids.SETTLED_DEPLOYMENT_BUTTONS
    return ids.ALL_DEPLOYMENT_BUTTONS
