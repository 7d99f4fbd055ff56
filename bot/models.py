"""deploybot's tables, as SQLAlchemy models: deployments, workspaces, their change log, presets.

One module for every table deploybot owns (slack_sdk's OAuth tables are `bot.installations`'),
so the schema the migrations in `bot/migrations/` must build is read in one place. Times are
aware UTC on every backend (`UTCDateTime`); `utc_now` is the one clock the models assume.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

SUBMITTING = "submitting"
# A submission in a workspace that requires approval, before anyone decides: nothing was sent.
AWAITING_APPROVAL = "awaiting_approval"
REJECTED = "rejected"
EXPIRED = "expired"


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


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
    __table_args__ = (
        UniqueConstraint("team_id", "external_deployment_id"),
        # A deployment is one submission's: an external ID can never claim another's.
        Index("uq_deployments_team_deployment_id", "team_id", "deployment_id", unique=True),
    )

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
    status: Mapped[str] = mapped_column(String(32), default=SUBMITTING, index=True)
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
    vendor_status: Mapped[str | None] = mapped_column(String(128))  # plain: bot.deployment
    vendor_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fail_reason: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    poll_interval_s: Mapped[float | None] = mapped_column(Float)
    follow_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The replica working on it (a start in flight, a status poll) and until when (see above).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Automatic stop: the requested run (or the workspace's default), when Hiveon started it,
    # when deploybot stops it (None: never, or done) and reminds first (None: sent, or none),
    # and when it did stop it. Due times are claimed like polls (bot.auto_stop).
    stop_after_s: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stop_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    stopped_automatically_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Approval: until when it may be approved, who decided and when, why it was rejected.
    approval_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # While it awaits approval: the request as Hiveon will receive it, secrets included, as a
    # Fernet token (bot.crypto); cleared when it starts, is rejected or expires.
    sealed_request: Mapped[str | None] = mapped_column(Text)


class WorkspaceRecord(Base):
    """One workspace's (or org's) encrypted key, deploy restrictions, guardrails and freeze."""

    __tablename__ = "workspaces"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(String(32))
    # Fernet token of the key (bot.crypto); the key itself is never stored.
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_hint: Mapped[str | None] = mapped_column(String(8))
    api_key_set_by: Mapped[str | None] = mapped_column(String(32))
    api_key_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    allowed_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_users: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_usergroups: Mapped[list[str]] = mapped_column(JSON, default=list)
    access_set_by: Mapped[str | None] = mapped_column(String(32))
    access_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Guardrails, saved with who may deploy (access_set_at marks both as set).
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    approvers: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_stop_after_s: Mapped[int | None] = mapped_column(Integer)
    max_stop_after_s: Mapped[int | None] = mapped_column(Integer)
    # A deploy freeze: who, since when, until when (None: until someone lifts it), and why.
    frozen_by: Mapped[str | None] = mapped_column(String(32))
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    frozen_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    freeze_reason: Mapped[str | None] = mapped_column(Text)


class ChangeRecord(Base):
    """One change of a workspace's key or settings: who, when, what (never the key)."""

    __tablename__ = "workspace_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class PresetRecord(Base):
    """One preset of a workspace: a named deploy form without secrets (bot.domain.Preset)."""

    __tablename__ = "presets"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(32))
    # Whoever saved it last: they (and admins) may replace or delete it.
    user_id: Mapped[str] = mapped_column(String(32))
    # StartDeploymentRequest.for_preset(): no external ID, no registry password, secrets masked.
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
