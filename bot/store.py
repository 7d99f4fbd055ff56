"""Storage: each submission recorded before the vendor call; the audit log and idempotency key.

SQLite (one process; the default) or PostgreSQL (several replicas behind one load balancer),
with the same schema, created and upgraded by `bot.migrations`.

Replicas never do the same work twice. The same submission reaching two of them starts once:
`(team_id, external_deployment_id)` is unique, so the second insert fails. Work that outlasts
a request is leased, by `lease_owner` (a replica) and `lease_until` on the deployment's row:

- a submission holds its lease from the insert until its outcome is recorded (Hiveon's call);
- the poll loop claims due deployments (`claim_due`) and holds them until `record_status`;
- recovery claims `submitting` rows whose lease ran out (`claim_unsettled`): their replica died.

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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
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
from sqlalchemy.sql import ColumnElement

from bot import migrations
from bot.config import DEFAULT_LEASE_S
from bot.models import SUBMITTING, Deployment, utc_now

# How long a replica's claim on a row lasts unless renewed: a dead replica's work is taken over
# this long after its last renewal. `DEPLOYBOT_LEASE_S` changes it.
LEASE_S = DEFAULT_LEASE_S
_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})


class DeploymentIdTakenError(Exception):
    """Another submission of the workspace already holds the deployment ID being recorded."""


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
        lease_s: float = LEASE_S,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._lease = timedelta(seconds=lease_s)
        self._clock = clock
        self.owner = replica_name()
        # Rows this process works on: their leases are renewed while it lives.
        self._held: set[int] = set()

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
                url, pool_size=10, max_overflow=10, pool_timeout=60, pool_pre_ping=True
            )
            return cls(engine, lease_s=lease_s, clock=clock)
        # SQLite serialises writers: one pooled connection avoids "database is locked" in bursts.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return cls(engine, lease_s=lease_s, clock=clock)

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
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def ping(self, *, timeout_s: float = 2.0) -> bool:
        """True when the database answers a trivial query within `timeout_s` (readiness)."""
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
        recorded; None when this external ID was already submitted (here or on a replica)."""
        now = self._clock()
        # Writes go through Core, not an ORM session: half the CPU, and a burst of
        # submissions writes several rows each while the event loop also acks.
        statement = (
            insert(Deployment)
            .values(
                team_id=submission.team_id,
                enterprise_id=submission.enterprise_id,
                user_id=submission.user_id,
                channel_id=submission.channel_id,
                external_deployment_id=submission.external_deployment_id,
                request=submission.request,
                response_url=submission.response_url,
                status=SUBMITTING,
                created_at=now,
                updated_at=now,
                lease_owner=self.owner,
                lease_until=now + self._lease,
            )
            .returning(Deployment.id)
        )
        try:
            async with self._engine.begin() as connection:
                row_id: int = (await connection.execute(statement)).scalar_one()
        except IntegrityError:
            return None
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
    ) -> None:
        """Record how the start attempt ended; `follow` (first poll, until) starts following
        in the same write, so no crash can leave a started deployment unfollowed.

        DeploymentIdTakenError (nothing written) when another submission of the workspace
        already holds `deployment_id`: Hiveon's answer cannot be this submission's.
        """
        following = {} if follow is None else {"next_poll_at": follow[0], "follow_until": follow[1]}
        try:
            await self._update(
                deployment,
                status=status,
                deployment_id=deployment_id,
                http_status=http_status,
                error=error,
                **following,
                **self._release(deployment),
            )
        except IntegrityError as exc:
            self._held.add(deployment)  # not released: the outcome is still to be recorded
            raise DeploymentIdTakenError(deployment_id) from exc

    async def get(self, deployment: int) -> Deployment | None:
        """One recorded deployment by its row ID."""
        async with self._sessions() as session:
            return await session.get(Deployment, deployment)

    async def find(self, *, team_id: str, external_deployment_id: str) -> Deployment | None:
        """One recorded deployment by its team and external ID."""
        query = select(Deployment).where(
            Deployment.team_id == team_id,
            Deployment.external_deployment_id == external_deployment_id,
        )
        async with self._sessions() as session:
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
    ) -> None:
        """Record what following learned and when to look again (None: stop following), and
        release this process's lease on it."""
        await self._update(
            deployment,
            vendor_status=vendor_status,
            vendor_status_at=since,
            fail_reason=fail_reason,
            next_poll_at=next_poll_at,
            poll_interval_s=poll_interval_s,
            **self._release(deployment),
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
        async with self._engine.begin() as connection:
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
        query = select(Deployment.id).where(
            Deployment.team_id == team_id, Deployment.deployment_id == deployment_id
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query.limit(1))).first() is not None

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
        async with self._sessions() as session:
            return (await session.scalars(query)).first()

    async def find_by_message(self, *, team_id: str, channel_id: str, ts: str) -> Deployment | None:
        """The team's deployment whose message (the thread's parent) is `ts` in `channel_id`."""
        query = select(Deployment).where(
            Deployment.team_id == team_id,
            Deployment.message_channel == channel_id,
            Deployment.message_ts == ts,
        )
        async with self._sessions() as session:
            return (await session.scalars(query.limit(1))).first()

    async def recent(
        self, *, team_id: str, user_id: str | None = None, limit: int = 20
    ) -> list[Deployment]:
        """The team's (or one user's) latest deployments, newest first."""
        query = select(Deployment).where(Deployment.team_id == team_id)
        if user_id is not None:
            query = query.where(Deployment.user_id == user_id)
        query = query.order_by(Deployment.id.desc()).limit(limit)
        async with self._sessions() as session:
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
        async with self._sessions() as session:
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
        async with self._sessions.begin() as session:
            rows = list((await session.scalars(statement)).all())
        self._held.update(row.id for row in rows)
        return rows

    def _release(self, deployment: int) -> dict[str, Any]:
        """Stop renewing the row; the column values that release this process's lease on it in
        the write that records its outcome or status (another replica's lease is left alone)."""
        self._held.discard(deployment)
        mine = Deployment.lease_owner == self.owner
        return {
            "lease_owner": case((mine, null()), else_=Deployment.lease_owner),
            "lease_until": case((mine, null()), else_=Deployment.lease_until),
        }

    async def _free_leases(self, which: ColumnElement[bool]) -> None:
        statement = update(Deployment).where(which).values(lease_owner=None, lease_until=None)
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def _update(self, deployment: int, **values: object) -> None:
        statement = (
            update(Deployment)
            .where(Deployment.id == deployment)
            .values(**values, updated_at=datetime.now(UTC))
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)


def _sqlite_pragmas(connection: Any, _record: ConnectionPoolEntry) -> None:
    """WAL lets readers run beside the writer; the busy timeout waits instead of failing."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
