"""Storage: each submission recorded before the vendor call; the audit log and idempotency key.

SQLite (one process; the default) or PostgreSQL (several replicas behind one load balancer),
with the same schema, created and upgraded by `bot.migrations`.

Replicas never do the same work twice. The same submission reaching two of them starts once:
`(team_id, external_deployment_id)` is unique, so the second insert fails. Work that outlasts
a request is leased, by `lease_owner` (a replica) and `lease_until` on the deployment's row:

- a submission holds its lease from the insert until its outcome is recorded (Hiveon's call);
- the poll loop claims due deployments (`claim_due`) and holds them until `record_status`;
- recovery claims `submitting` rows whose lease ran out (`claim_unsettled`): their replica died;
- the guardrails claim what is due (`claim_expired_approvals`, `claim_reminders`,
  `claim_stops`) and hold it until they record what they did.

An approval is not a claim but one conditional write (`take_approval`, `close_approval`):
`UPDATE … WHERE status = 'awaiting_approval' RETURNING …`, so of two approvers (or two clicks,
on two replicas) exactly one starts the deployment, and a rejection or expiry racing it loses.

A claim is one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …`: on
PostgreSQL two replicas claiming at once skip each other's rows; SQLite has a single writer and
no FOR UPDATE. A live replica renews the leases it holds every third of `lease_s`
(`renew_leases`), however long Hiveon takes; a dead one's run out within `lease_s` and another
replica takes the work over. On SQLite, one process by definition, any lease found at start-up
is a dead process's: `clear_leases` drops them so the restart recovers at once. Leases are read
against each replica's own clock: a skew of a few seconds (NTP keeps less) only shifts when a
take-over happens.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Self, TypeVar, cast

import aiosqlite
from sqlalchemy import (
    Select,
    Table,
    bindparam,
    case,
    event,
    func,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import ColumnElement, Update

from bot import migrations
from bot.config import DEFAULT_LEASE_S
from bot.crypto import KeyBox, UndecryptableError
from bot.models import AWAITING_APPROVAL, SUBMITTING, Deployment, utc_now

# How long a replica's claim on a row lasts unless renewed: a dead replica's work is taken over
# this long after its last renewal. `DEPLOYBOT_LEASE_S` changes it.
LEASE_S = DEFAULT_LEASE_S
_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})
# Each process's PostgreSQL pool: replicas share the server.
_PG_POOL_SIZE = 10
_PG_POOL_OVERFLOW = 10
_T = TypeVar("_T")


# The writes every submission makes, built once: a statement built per call costs more CPU to
# build and to find in SQLAlchemy's compiled cache than the database takes to run it. The
# columns a write sets are its parameters' keys (Core's Table, not the ORM entity: no ORM
# bookkeeping either).
_TABLE = cast("Table", Deployment.__table__)
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_BY_ID = _TABLE.c.id == bindparam("row_id")
_UPDATE = update(_TABLE).where(_BY_ID)
# The values that release this process's lease (the `me` parameter) in the write that
# records a row's outcome or status, leaving another replica's lease alone.
_MINE = _TABLE.c.lease_owner == bindparam("me")
_RELEASED = {
    "lease_owner": case((_MINE, null()), else_=_TABLE.c.lease_owner),
    "lease_until": case((_MINE, null()), else_=_TABLE.c.lease_until),
}
_UPDATE_AND_RELEASE = update(_TABLE).where(_BY_ID).values(_RELEASED)
_HOLDS_DEPLOYMENT_ID = (
    select(_TABLE.c.id)
    .where(
        _TABLE.c.team_id == bindparam("team_id"),
        _TABLE.c.deployment_id == bindparam("deployment_id"),
    )
    .limit(1)
)


class DeploymentIdTakenError(Exception):
    """Another submission of the workspace already holds the deployment ID being recorded."""


@dataclass(frozen=True)
class PendingApproval:
    """A submission that waits for an approval: until when, and the request as Hiveon will
    receive it, encrypted (None when it holds no secret: the stored request is all of it)."""

    expires_at: datetime
    sealed_request: str | None


@dataclass(frozen=True)
class NewSubmission:
    """What is known about a submission before the vendor is called."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    channel_id: str
    external_deployment_id: str
    request: dict[str, Any]
    response_url: str | None = None
    stop_after_s: int | None = None  # deploybot stops it this long after it started
    approval: PendingApproval | None = None


@dataclass(frozen=True)
class AutoStop:
    """When a started deployment began, when deploybot reminds its requester, and stops it."""

    started_at: datetime
    remind_at: datetime
    stop_at: datetime


def async_url(database_url: str) -> URL:
    """Map `DATABASE_URL` to its async driver: `sqlite:///x` → `sqlite+aiosqlite:///x`, and
    `postgresql://…` or the `postgres://…` that hosting platforms hand out → psycopg 3."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in _POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+psycopg")
    message = f"DATABASE_URL must be a sqlite:/// or postgresql:// URL (got a {backend} URL)"
    raise ValueError(message)


def replica_name() -> str:
    """This process's name in `lease_owner`: its host, and a random part for each start."""
    return f"{socket.gethostname()[:48]}/{uuid.uuid4().hex[:12]}"


class Store:
    """deploybot's database, behind SQLAlchemy's asyncio engine: no write blocks the event loop."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        connections: int,
        lease_s: float = LEASE_S,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        # At most `connections` (the pool's size) of the store's own uses at once; the rest
        # wait their turn here. Inside SQLAlchemy's pool each waiter would be a suspended
        # greenlet, with its stack saved and timed out after pool_timeout: a burst of 200
        # submissions on SQLite's one connection cost more CPU and memory that way.
        self._turns = asyncio.Semaphore(connections)
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._lease = timedelta(seconds=lease_s)
        self._clock = clock
        self.owner = replica_name()
        # Rows this process works on: their leases are renewed while it lives.
        self._held: set[int] = set()

    @asynccontextmanager
    async def _queued(self, use: AbstractAsyncContextManager[_T]) -> AsyncIterator[_T]:
        """`use` (a connection, a transaction or a session) once a connection is free."""
        async with self._turns, use as opened:
            yield opened

    @classmethod
    def from_url(
        cls,
        database_url: str,
        *,
        lease_s: float = LEASE_S,
        clock: Callable[[], datetime] = utc_now,
    ) -> Store:
        """Open the store at `DATABASE_URL`."""
        url = async_url(database_url)
        if url.get_backend_name() == "postgresql":
            # Replicas share the server: a pool per process, checked before use because
            # hosted servers and proxies drop idle connections.
            engine = create_async_engine(
                url,
                pool_size=_PG_POOL_SIZE,
                max_overflow=_PG_POOL_OVERFLOW,
                pool_timeout=60,
                pool_pre_ping=True,
            )
            return cls(
                engine,
                connections=_PG_POOL_SIZE + _PG_POOL_OVERFLOW,
                lease_s=lease_s,
                clock=clock,
            )
        # SQLite serialises writers: one pooled connection avoids "database is locked" in bursts.
        # Every use of it ends its own transaction (SQLAlchemy's Connection rolls back what is
        # left open when it closes), so the pool's rollback on return is skipped: with
        # aiosqlite each is a round trip to its thread, one per statement a burst runs.
        engine = create_async_engine(
            url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            pool_reset_on_return=None,
            async_creator=partial(_open_sqlite, url),
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return cls(engine, connections=1, lease_s=lease_s, clock=clock)

    @property
    def engine(self) -> AsyncEngine:
        """The engine, shared by the workspace tables and Slack's installation store."""
        return self._engine

    @property
    def shared(self) -> bool:
        """True when other processes may use the database too (PostgreSQL, not SQLite)."""
        return self._engine.dialect.name != "sqlite"

    @property
    def lease_s(self) -> float:
        """Seconds a lease lasts unless renewed."""
        return self._lease.total_seconds()

    async def migrate(self) -> None:
        """Create or upgrade every table to the newest schema; safe with replicas starting."""
        await migrations.upgrade(self._engine)

    async def count_followed(self) -> int:
        """How many deployments are being followed now (a poll is scheduled), on any replica."""
        query = (
            select(func.count()).select_from(Deployment).where(Deployment.next_poll_at.is_not(None))
        )
        async with self._queued(self._engine.connect()) as connection:
            return int((await connection.execute(query)).scalar_one())

    async def ping(self, *, timeout_s: float = 2.0) -> bool:
        """True when the database answers a trivial query within `timeout_s` (readiness).

        Not queued behind the store's own uses: in a burst the probe would wait out every
        queued write and could report a busy database as down."""
        try:
            async with asyncio.timeout(timeout_s), self._engine.connect() as connection:
                await connection.execute(select(1))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def record_submission(self, submission: NewSubmission) -> int | None:
        """Record a submission as `submitting`, leased to this process until its outcome is
        recorded, or as `awaiting_approval`, unleased (nothing is under way); None when this
        external ID was already submitted (here or on a replica)."""
        now = self._clock()
        approval = submission.approval
        if approval is None:
            state: dict[str, Any] = {
                "status": SUBMITTING,
                "lease_owner": self.owner,
                "lease_until": now + self._lease,
            }
        else:
            state = {
                "status": AWAITING_APPROVAL,
                "approval_expires_at": approval.expires_at,
                "sealed_request": approval.sealed_request,
            }
        # Writes go through Core, not an ORM session: half the CPU, and a burst of
        # submissions writes several rows each while the event loop also acks.
        values = {
            "team_id": submission.team_id,
            "enterprise_id": submission.enterprise_id,
            "user_id": submission.user_id,
            "channel_id": submission.channel_id,
            "external_deployment_id": submission.external_deployment_id,
            "request": submission.request,
            "response_url": submission.response_url,
            "stop_after_s": submission.stop_after_s,
            "created_at": now,
            "updated_at": now,
            **state,
        }
        try:
            async with self._queued(self._engine.begin()) as connection:
                row_id: int = (await connection.execute(_INSERT, values)).scalar_one()
        except IntegrityError:
            return None
        if approval is None:
            self._held.add(row_id)
        return row_id

    async def record_message(self, deployment: int, *, channel: str | None, ts: str | None) -> None:
        """Remember where the deployment's message and thread are."""
        await self._update(deployment, message_channel=channel, message_ts=ts)

    async def record_outcome(  # noqa: PLR0913 — one keyword per column the outcome writes
        self,
        deployment: int,
        *,
        status: str,
        deployment_id: str | None,
        http_status: int | None,
        error: str | None,
        follow: tuple[datetime, datetime] | None = None,
        auto_stop: AutoStop | None = None,
    ) -> None:
        """Record how the start attempt ended; `follow` (first poll, until) starts following
        and `auto_stop` schedules the reminder and the stop, in the same write, so no crash can
        leave a started deployment unfollowed or running for good. A sealed request is
        forgotten: it has served, whatever the outcome.

        DeploymentIdTakenError (nothing written) when another submission of the workspace
        already holds `deployment_id`: Hiveon's answer cannot be this submission's.
        """
        following = {} if follow is None else {"next_poll_at": follow[0], "follow_until": follow[1]}
        stopping = (
            {}
            if auto_stop is None
            else {
                "started_at": auto_stop.started_at,
                "remind_at": auto_stop.remind_at,
                "stop_at": auto_stop.stop_at,
            }
        )
        try:
            await self._update_and_release(
                deployment,
                status=status,
                deployment_id=deployment_id,
                http_status=http_status,
                error=error,
                sealed_request=None,
                **following,
                **stopping,
            )
        except IntegrityError as exc:
            self._held.add(deployment)  # not released: the outcome is still to be recorded
            raise DeploymentIdTakenError(deployment_id) from exc

    async def get(self, deployment: int) -> Deployment | None:
        """One recorded deployment by its row ID."""
        async with self._queued(self._sessions()) as session:
            return await session.get(Deployment, deployment)

    async def find(self, *, team_id: str, external_deployment_id: str) -> Deployment | None:
        """One recorded deployment by its team and external ID."""
        query = select(Deployment).where(
            Deployment.team_id == team_id,
            Deployment.external_deployment_id == external_deployment_id,
        )
        async with self._queued(self._sessions()) as session:
            return (await session.scalars(query)).first()

    async def record_status(  # noqa: PLR0913 — one keyword per column following writes
        self,
        deployment: int,
        *,
        vendor_status: str | None,
        since: datetime | None,
        fail_reason: str | None,
        next_poll_at: datetime | None,
        poll_interval_s: float | None,
        settled: bool = False,
    ) -> None:
        """Record what following learned and when to look again (None: stop following), and
        release this process's lease on it. A settled deployment (stopped, failed) has nothing
        left to stop automatically."""
        await self._update_and_release(
            deployment,
            vendor_status=vendor_status,
            vendor_status_at=since,
            fail_reason=fail_reason,
            next_poll_at=next_poll_at,
            poll_interval_s=poll_interval_s,
            **({"stop_at": None, "remind_at": None} if settled else {}),
        )

    async def follow(self, deployment: int, *, first_poll_at: datetime, until: datetime) -> None:
        """Start (or resume) following a deployment."""
        await self._update(
            deployment, next_poll_at=first_poll_at, follow_until=until, poll_interval_s=None
        )

    async def claim_due(self, now: datetime, *, limit: int = 100) -> list[Deployment]:
        """Claim followed deployments whose next poll is due (`now`) and that no live replica
        holds, oldest due first; each stays leased to this process until `record_status`."""
        query = select(Deployment.id).where(
            Deployment.next_poll_at.is_not(None), Deployment.next_poll_at <= now
        )
        rows = await self._claim(query.order_by(Deployment.next_poll_at).limit(limit))
        return sorted(rows, key=lambda row: (row.next_poll_at or now, row.id))

    async def claim_unsettled(self, *, limit: int = 100) -> list[Deployment]:
        """Claim submissions still `submitting` whose lease ran out: the process that made them
        died before Hiveon answered (or, on SQLite, before the restart). Oldest first."""
        query = select(Deployment.id).where(Deployment.status == SUBMITTING)
        rows = await self._claim(query.order_by(Deployment.id).limit(limit))
        return sorted(rows, key=lambda row: row.id)

    async def claim(self, deployment: int) -> Deployment | None:
        """Claim one deployment (Refresh); None while another live replica holds it."""
        rows = await self._claim(select(Deployment.id).where(Deployment.id == deployment))
        return rows[0] if rows else None

    # -- approvals ------------------------------------------------------------------------------

    async def take_approval(self, deployment: int, *, by: str, now: datetime) -> Deployment | None:
        """Approve an awaiting submission for `by`: it becomes `submitting`, leased to this
        process, as a new submission is. One conditional write: of several approvals at once
        (double clicks, two approvers, two replicas) exactly one gets the row; the others, and
        any after its expiry (`now`), get None."""
        statement = (
            update(Deployment)
            .where(
                Deployment.id == deployment,
                Deployment.status == AWAITING_APPROVAL,
                Deployment.approval_expires_at > now,
            )
            .values(
                status=SUBMITTING,
                decided_by=by,
                decided_at=now,
                lease_owner=self.owner,
                lease_until=self._clock() + self._lease,
                updated_at=datetime.now(UTC),
            )
            .returning(Deployment)
            .execution_options(synchronize_session=False)
        )
        async with self._queued(self._sessions.begin()) as session:
            row = (await session.scalars(statement)).first()
        if row is not None:
            self._held.add(row.id)
        return row

    async def forget_sealed(self, deployment: int) -> None:
        """Drop a sealed request once read: the password it holds is kept no longer."""
        await self._update(deployment, sealed_request=None)

    async def close_approval(
        self, deployment: int, *, status: str, by: str | None, reason: str | None, now: datetime
    ) -> Deployment | None:
        """End an awaiting submission unstarted (`rejected` by `by` for `reason`, or `expired`),
        forgetting its sealed request; None when it no longer awaits (approved, rejected or
        expired meanwhile). Releases this process's lease on it."""
        self._held.discard(deployment)
        statement = (
            update(Deployment)
            .where(Deployment.id == deployment, Deployment.status == AWAITING_APPROVAL)
            .values(
                status=status,
                decided_by=by,
                decided_at=now,
                rejection_reason=reason,
                sealed_request=None,
                updated_at=datetime.now(UTC),
                **_RELEASED,
            )
            .returning(Deployment)
            .execution_options(synchronize_session=False)
        )
        async with self._queued(self._sessions.begin()) as session:
            return (await session.scalars(statement, {"me": self.owner})).first()

    async def claim_expired_approvals(self, now: datetime, *, limit: int = 100) -> list[Deployment]:
        """Claim submissions whose wait for an approval ran out by `now`, oldest first."""
        query = select(Deployment.id).where(
            Deployment.status == AWAITING_APPROVAL, Deployment.approval_expires_at <= now
        )
        rows = await self._claim(query.order_by(Deployment.id).limit(limit))
        return sorted(rows, key=lambda row: row.id)

    # -- automatic stops ------------------------------------------------------------------------

    async def claim_reminders(self, now: datetime, *, limit: int = 100) -> list[Deployment]:
        """Claim started deployments whose reminder is due by `now`, earliest first."""
        query = select(Deployment.id).where(
            Deployment.remind_at.is_not(None), Deployment.remind_at <= now
        )
        rows = await self._claim(query.order_by(Deployment.remind_at).limit(limit))
        return sorted(rows, key=lambda row: (row.remind_at or now, row.id))

    async def claim_stops(self, now: datetime, *, limit: int = 100) -> list[Deployment]:
        """Claim started deployments whose automatic stop is due by `now`, earliest first."""
        query = select(Deployment.id).where(
            Deployment.stop_at.is_not(None), Deployment.stop_at <= now
        )
        rows = await self._claim(query.order_by(Deployment.stop_at).limit(limit))
        return sorted(rows, key=lambda row: (row.stop_at or now, row.id))

    async def record_reminded(self, deployment: int) -> None:
        """The reminder is sent (or is no longer worth sending): release the row."""
        await self._update_and_release(deployment, remind_at=None)

    async def record_auto_stop(self, deployment: int, *, at: datetime | None) -> None:
        """The automatic stop is done: asked of Hiveon `at` (None: nothing was left to stop);
        nothing more is scheduled, and the row is released."""
        stopped = {} if at is None else {"stopped_automatically_at": at}
        await self._update_and_release(deployment, stop_at=None, remind_at=None, **stopped)

    async def clear_stop(self, deployment: int) -> None:
        """Nothing is to be stopped automatically any more (someone stopped it)."""
        await self._update(deployment, stop_at=None, remind_at=None)

    async def extend(
        self, deployment: int, *, expected_stop_at: datetime, stop_at: datetime, remind_at: datetime
    ) -> bool:
        """Move the automatic stop from `expected_stop_at` (as read) to `stop_at`; False when it
        moved meanwhile (another Extend, a double click) or is gone (stopped): nothing changes."""
        statement = (
            update(Deployment)
            .where(Deployment.id == deployment, Deployment.stop_at == expected_stop_at)
            .values(stop_at=stop_at, remind_at=remind_at, updated_at=datetime.now(UTC))
        )
        async with self._queued(self._engine.begin()) as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def reseal(self, box: KeyBox) -> int:
        """Re-encrypt sealed requests under the current encryption key (rotation); how many."""
        query = select(Deployment.id, Deployment.sealed_request).where(
            Deployment.sealed_request.is_not(None)
        )
        async with self._queued(self._engine.connect()) as connection:
            sealed = (await connection.execute(query)).all()
        changed = 0
        for deployment, token in sealed:
            if token is None or box.is_current(token):
                continue
            try:
                fresh = box.rotate(token)
            except UndecryptableError:
                continue  # its approval will say it cannot be started
            statement = (
                update(Deployment)
                .where(Deployment.id == deployment, Deployment.sealed_request == token)
                .values(sealed_request=fresh)
            )
            async with self._queued(self._engine.begin()) as connection:
                changed += (await connection.execute(statement)).rowcount
        return changed

    async def renew_leases(self) -> None:
        """Extend the leases of the rows this process is working on (every third of a lease)."""
        held = list(self._held)
        if not held:
            return
        statement = (
            update(Deployment)
            .where(Deployment.id.in_(held), Deployment.lease_owner == self.owner)
            .values(lease_until=self._clock() + self._lease)
        )
        async with self._queued(self._engine.begin()) as connection:
            await connection.execute(statement)

    def let_go(self, deployment: int) -> None:
        """Stop renewing this row's lease (its work ended, however): it runs out if not released."""
        self._held.discard(deployment)

    async def release_leases(self) -> None:
        """Release every lease this process holds (shutdown): replicas may take over at once."""
        self._held.clear()
        await self._free_leases(Deployment.lease_owner == self.owner)

    async def clear_leases(self) -> None:
        """Drop every lease, whoever holds it: only for the start of a single process (SQLite),
        when any lease in the file is one a dead process left."""
        self._held.clear()
        await self._free_leases(Deployment.lease_owner.is_not(None))

    async def holds_deployment_id(self, *, team_id: str, deployment_id: str) -> bool:
        """True when a submission of the team recorded this Hiveon deployment ID."""
        async with self._queued(self._engine.connect()) as connection:
            found = await connection.execute(
                _HOLDS_DEPLOYMENT_ID, {"team_id": team_id, "deployment_id": deployment_id}
            )
            return found.first() is not None

    async def find_by_any_id(self, *, team_id: str, any_id: str) -> Deployment | None:
        """One of the team's deployments by its Hiveon ID or its external ID."""
        query = (
            select(Deployment)
            .where(
                Deployment.team_id == team_id,
                (Deployment.deployment_id == any_id)
                | (Deployment.external_deployment_id == any_id),
            )
            .order_by(Deployment.id.desc())
        )
        async with self._queued(self._sessions()) as session:
            return (await session.scalars(query)).first()

    async def find_by_message(self, *, team_id: str, channel_id: str, ts: str) -> Deployment | None:
        """The team's deployment whose message (the thread's parent) is `ts` in `channel_id`."""
        query = select(Deployment).where(
            Deployment.team_id == team_id,
            Deployment.message_channel == channel_id,
            Deployment.message_ts == ts,
        )
        async with self._queued(self._sessions()) as session:
            return (await session.scalars(query.limit(1))).first()

    async def recent(
        self, *, team_id: str, user_id: str | None = None, limit: int = 20
    ) -> list[Deployment]:
        """The team's (or one user's) latest deployments, newest first."""
        query = select(Deployment).where(Deployment.team_id == team_id)
        if user_id is not None:
            query = query.where(Deployment.user_id == user_id)
        query = query.order_by(Deployment.id.desc()).limit(limit)
        async with self._queued(self._sessions()) as session:
            return list((await session.scalars(query)).all())

    async def last_started(self, *, team_id: str, user_id: str) -> Deployment | None:
        """The user's latest deployment in the team that started: "same again" prefills it."""
        query = (
            select(Deployment)
            .where(
                Deployment.team_id == team_id,
                Deployment.user_id == user_id,
                Deployment.deployment_id.is_not(None),
            )
            .order_by(Deployment.id.desc())
            .limit(1)
        )
        async with self._queued(self._sessions()) as session:
            return (await session.scalars(query)).first()

    async def _claim(self, query: Select[int]) -> list[Deployment]:
        """Lease the rows `query` selects, skipping those a live replica holds; the claimed rows."""
        now = self._clock()
        free = or_(Deployment.lease_until.is_(None), Deployment.lease_until < now)
        # SKIP LOCKED: replicas claiming at the same moment each take other rows, never wait.
        chosen = query.where(free).with_for_update(skip_locked=True)
        statement = (
            update(Deployment)
            .where(Deployment.id.in_(chosen))
            .values(lease_owner=self.owner, lease_until=now + self._lease)
            .returning(Deployment)
            .execution_options(synchronize_session=False)
        )
        async with self._queued(self._sessions.begin()) as session:
            rows = list((await session.scalars(statement)).all())
        self._held.update(row.id for row in rows)
        return rows

    async def _free_leases(self, which: ColumnElement[bool]) -> None:
        statement = update(Deployment).where(which).values(lease_owner=None, lease_until=None)
        async with self._queued(self._engine.begin()) as connection:
            await connection.execute(statement)

    async def _update(self, deployment: int, **values: object) -> None:
        await self._execute(_UPDATE, row_id=deployment, **values)

    async def _update_and_release(self, deployment: int, **values: object) -> None:
        """Write `values` and release this process's lease on the row, in one statement."""
        self._held.discard(deployment)
        await self._execute(_UPDATE_AND_RELEASE, row_id=deployment, me=self.owner, **values)

    async def _execute(self, statement: Update, **parameters: object) -> None:
        """One of the constant updates, setting the columns its parameters name (and
        `updated_at`), in a transaction of its own."""
        async with self._queued(self._engine.begin()) as connection:
            await connection.execute(statement, {**parameters, "updated_at": datetime.now(UTC)})


class _SqliteCursor(aiosqlite.Cursor):
    """aiosqlite's cursor, with a statement's rows read in the same trip to aiosqlite's
    thread that executes it (SQLAlchemy reads them all at once anyway), and closed where it
    is: closing resets a finished statement, which waits for nothing."""

    def __init__(self, connection: aiosqlite.Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(connection, cursor)
        self._rows: deque[Any] = deque()

    async def execute(self, sql: str, parameters: Any = None) -> Self:
        """Execute `sql`, and read every row it returns."""
        in_thread: Callable[..., Awaitable[deque[Any]]] = self._conn._execute  # noqa: SLF001
        self._rows = await in_thread(self._run, sql, parameters or ())
        return self

    async def executemany(self, sql: str, parameters: Any) -> Self:
        """Execute `sql` once per parameter set; nothing is left to fetch."""
        self._rows = deque()
        await super().executemany(sql, parameters)
        return self

    def _run(self, sql: str, parameters: Any) -> deque[Any]:
        """In aiosqlite's thread: the statement executed, its rows read."""
        self._cursor.execute(sql, parameters)
        return deque(self._cursor.fetchall()) if self._cursor.description else deque()

    async def fetchone(self) -> Any:
        """The next row read, or None."""
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next `size` rows read (`arraysize` by default)."""
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        """Every row read and not fetched yet."""
        rows, self._rows = list(self._rows), deque()
        return rows

    async def close(self) -> None:
        """Close the cursor, in this thread."""
        self._cursor.close()


class _Opened:
    """A cursor made already, awaited or entered as aiosqlite's `cursor()` result is."""

    def __init__(self, cursor: _SqliteCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, _SqliteCursor]:
        return self.__aenter__().__await__()

    async def __aenter__(self) -> _SqliteCursor:
        return self._cursor

    async def __aexit__(self, *_exc: object) -> None:
        await self._cursor.close()


class _SqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection, with one round trip to its thread per statement instead of
    four (cursor, execute, fetch, close), plus the commit's.

    Each trip is a hand-over to aiosqlite's thread and a wake-up of the event loop on the way
    back: a submission's three writes cost 4.7 ms of CPU with five trips each. SQLAlchemy
    opens a cursor per statement, executes it, reads all its rows and closes it: making and
    closing a cursor touch no file, so they run here (the connection is shared across
    threads already, `check_same_thread=False`, and SQLAlchemy uses it for one statement at a
    time), and the rows are read in the trip that executes. Executing and committing still
    run in aiosqlite's thread, so the event loop never waits for the disk or a lock.
    """

    def cursor(self) -> _Opened:  # type: ignore[override]
        """A new cursor, made here."""
        return _Opened(_SqliteCursor(self, self._conn.cursor()))


async def _open_sqlite(url: URL) -> aiosqlite.Connection:
    """A connection as SQLAlchemy's aiosqlite dialect would open it, cursors made in place."""
    args, options = url.get_dialect()().create_connect_args(url)
    connection = _SqliteConnection(partial(sqlite3.connect, *args, **options), 64)
    connection._thread.daemon = True  # noqa: SLF001 — as SQLAlchemy's dialect does
    return await connection


def _sqlite_pragmas(connection: Any, _record: ConnectionPoolEntry) -> None:
    """WAL lets readers run beside the writer; the busy timeout waits instead of failing."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
