"""Storage: each submission recorded before the vendor call; the audit log and idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

SUBMITTING = "submitting"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores none and returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        """Store UTC."""
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of deploybot's tables."""


class Deployment(Base):
    """One submission of the deploy modal, from before the vendor call to its outcome."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("team_id", "external_deployment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    # Where the conversation about it lives; may be a DM when the channel refused the bot.
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    external_deployment_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default=SUBMITTING)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # The request as sent, secrets masked (StartDeploymentRequest.redacted()).
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The command's response_url: the fallback when the channel refuses the bot (30 min).
    response_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Following: the vendor's last status and when it began; polling is due at next_poll_at
    # (None once the deployment has settled or deploybot gave up at follow_until).
    vendor_status: Mapped[str | None] = mapped_column(String(32))
    vendor_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fail_reason: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    poll_interval_s: Mapped[float | None] = mapped_column(Float)
    follow_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
    """Map `DATABASE_URL` to its async driver: `sqlite:///x` → `sqlite+aiosqlite:///x`."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    message = f"DATABASE_URL must be a sqlite:/// URL (got a {url.get_backend_name()} URL)"
    raise ValueError(message)


class Store:
    """deploybot's database, behind SQLAlchemy's asyncio engine: no write blocks the event loop."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, database_url: str) -> Store:
        """Open the store at `DATABASE_URL`."""
        url = async_url(database_url)
        # SQLite serialises writers: one pooled connection avoids "database is locked" in bursts.
        engine = create_async_engine(
            url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            # Connections come back clean: SQLAlchemy's Connection rolls back whatever is left
            # open when it closes. The pool's own rollback on top is one more trip to the
            # database thread per statement, while the pool's one connection is held.
            pool_reset_on_return=None,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return cls(engine)

    @property
    def engine(self) -> AsyncEngine:
        """The engine, shared by the workspace tables and Slack's installation store."""
        return self._engine

    async def create_tables(self) -> None:
        """Create missing tables (start-up)."""
        async with self._engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def record_submission(self, submission: NewSubmission) -> int | None:
        """Record a submission as `submitting`; None when this external ID was already submitted."""
        now = datetime.now(UTC)
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
            )
            .returning(Deployment.id)
        )
        try:
            async with self._engine.begin() as connection:
                row_id: int = (await connection.execute(statement)).scalar_one()
        except IntegrityError:
            return None
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
        in the same write, so no crash can leave a started deployment unfollowed."""
        following = {} if follow is None else {"next_poll_at": follow[0], "follow_until": follow[1]}
        await self._update(
            deployment,
            status=status,
            deployment_id=deployment_id,
            http_status=http_status,
            error=error,
            **following,
        )

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
        """Record what following learned and when to look again (None: stop following)."""
        await self._update(
            deployment,
            vendor_status=vendor_status,
            vendor_status_at=since,
            fail_reason=fail_reason,
            next_poll_at=next_poll_at,
            poll_interval_s=poll_interval_s,
        )

    async def follow(self, deployment: int, *, first_poll_at: datetime, until: datetime) -> None:
        """Start (or resume) following a deployment."""
        await self._update(
            deployment, next_poll_at=first_poll_at, follow_until=until, poll_interval_s=None
        )

    async def due_for_polling(self, now: datetime, *, limit: int = 100) -> list[Deployment]:
        """Followed deployments whose next poll is due, oldest due first."""
        query = (
            select(Deployment)
            .where(Deployment.next_poll_at.is_not(None), Deployment.next_poll_at <= now)
            .order_by(Deployment.next_poll_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def unsettled_submissions(self) -> list[Deployment]:
        """Submissions still `submitting`: a crash interrupted them (start-up recovery)."""
        query = select(Deployment).where(Deployment.status == SUBMITTING).order_by(Deployment.id)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

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
