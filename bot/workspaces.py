"""Workspaces: each one's encrypted Hiveon API key, who may deploy there, and the log of changes,
in deploybot's database.

A request's key is looked up in its own workspace first, then in its org's org-wide scope, then
the operator's default (`HIVEON_API_KEY`, when it serves that workspace): never in another
workspace.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.cache import SharedCache
from bot.config import Settings
from bot.crypto import KeyBox, UndecryptableError, dev_key_box
from bot.domain import (
    Access,
    Action,
    Change,
    Freeze,
    Guardrails,
    KeysNotStorableError,
    Scope,
    StoredKey,
    Workspace,
    key_hint,
    lookup_keys,
)
from bot.key_check import KeyCheck
from bot.models import ChangeRecord, WorkspaceRecord, utc_now

log = logging.getLogger(__name__)

CACHE_TTL_S = 5.0


class Workspaces:
    """Every workspace's key and settings in deploybot's database; the one place keys are read."""

    def __init__(  # noqa: PLR0913 — the engine, then keyword-only collaborators and options
        self,
        engine: AsyncEngine,
        *,
        box: KeyBox | None,
        default_key: str | None,
        default_key_serves: Callable[[str | None, str | None], bool] = lambda _org, _team: True,
        installations: AsyncInstallationStore | None = None,
        clock: Callable[[], datetime] = utc_now,
        cache_ttl_s: float = CACHE_TTL_S,
    ) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._box = box
        self._default_key = default_key
        # Which workspaces (enterprise ID, team ID) the operator's default key may serve.
        self._default_key_serves = default_key_serves
        self._installations = installations
        self._clock = clock
        # Every deployment looks its workspace up several times (who may deploy, which key,
        # its guardrails, a freeze); a burst of them shares one read instead of queueing on
        # SQLite's one connection. This process's own changes clear the cache at once. With
        # replicas (PostgreSQL) the TTL is 0: another replica's change must apply at once;
        # callers asking while a read runs still share it, or a burst would queue one read per
        # look-up for the pool's connections, acks too.
        self._cache: SharedCache[tuple[str, ...], dict[str, WorkspaceRecord]] = SharedCache(
            ttl_s=cache_ttl_s
        )

    @property
    def can_store_keys(self) -> bool:
        """True when an encryption key is configured."""
        return self._box is not None

    @property
    def box(self) -> KeyBox | None:
        """The encryption keys, when configured: what else deploybot keeps secret uses them."""
        return self._box

    def default_key_for(self, scope: Scope) -> str | None:
        """The operator's default key (`HIVEON_API_KEY`) if it serves this workspace, else None."""
        if not self._default_key_serves(scope.enterprise_id, scope.team_id):
            return None
        return self._default_key

    async def get(self, scope: Scope) -> Workspace:
        """The workspace's key (as shown, never the key) and settings."""
        async with self._sessions() as session:
            row = await session.get(WorkspaceRecord, scope.key)
        freeze = _freeze(row)
        return Workspace(
            scope,
            self._stored_key(row),
            _access(row),
            _guardrails(row),
            freeze if freeze is not None and freeze.holds(self._clock()) else None,
        )

    async def api_key_for(self, enterprise_id: str | None, team_id: str) -> str | None:
        """The key a request from this workspace deploys with: its own, its org's, the default
        when that serves this workspace (with OAuth installs, only the listed ones).

        A stored key that cannot be decrypted gives None rather than the default: the admins
        chose their own key, so deploying on the operator's account instead would surprise.
        """
        row = await self._first(enterprise_id, team_id, lambda r: r.api_key_encrypted is not None)
        if row is None or row.api_key_encrypted is None:
            return self.default_key_for(Scope(enterprise_id, team_id))
        if self._box is None:
            log.error("workspace %s has a stored key but no encryption key is set", row.scope)
            return None
        try:
            return self._box.decrypt(row.api_key_encrypted)
        except UndecryptableError:
            log.exception("the stored key of workspace %s cannot be decrypted", row.scope)
            return None

    async def access_for(self, enterprise_id: str | None, team_id: str) -> Access:
        """Who may deploy in this workspace: its own settings, else its org's, else everyone."""
        row = await self._first(enterprise_id, team_id, lambda r: r.access_set_at is not None)
        return _access(row)

    async def guardrails_for(self, enterprise_id: str | None, team_id: str) -> Guardrails:
        """Approval and automatic stops in this workspace: set with who may deploy, so they come
        from the same scope (its own settings, else its org's); none by default."""
        row = await self._first(enterprise_id, team_id, lambda r: r.access_set_at is not None)
        return _guardrails(row)

    async def freeze_for(self, enterprise_id: str | None, team_id: str) -> Freeze | None:
        """The freeze that holds deployments in this workspace now (its own, else its org's)."""
        now = self._clock()

        def frozen(row: WorkspaceRecord) -> bool:
            freeze = _freeze(row)
            return freeze is not None and freeze.holds(now)

        return _freeze(await self._first(enterprise_id, team_id, frozen))

    async def set_key(
        self, scope: Scope, api_key: str, *, by: str, check: KeyCheck
    ) -> tuple[Change, StoredKey]:
        """Encrypt and store the workspace's key (set or rotate) and record who did it."""
        if self._box is None:
            raise KeysNotStorableError
        now = self._clock()
        hint = key_hint(api_key)
        async with self._writing() as session:
            row = await self._row(session, scope)
            previous = row.api_key_hint if row.api_key_encrypted is not None else None
            rotated = row.api_key_encrypted is not None
            row.api_key_encrypted = self._box.encrypt(api_key)
            row.api_key_hint = hint
            row.api_key_set_by = by
            row.api_key_set_at = now
            detail: dict[str, Any] = {"hint": hint, "check": check.verdict.value}
            if rotated:
                detail["previous_hint"] = previous
            change = record_change(
                session,
                scope,
                by=by,
                at=now,
                action=Action.KEY_ROTATED if rotated else Action.KEY_SET,
                detail=detail,
            )
        return change, StoredKey(hint, by, now, readable=True)

    async def remove_key(self, scope: Scope, *, by: str) -> Change | None:
        """Delete the workspace's key; None when it had none."""
        now = self._clock()
        async with self._writing() as session:
            row = await session.get(WorkspaceRecord, scope.key)
            if row is None or row.api_key_encrypted is None:
                return None
            detail = {"hint": row.api_key_hint}
            row.api_key_encrypted = row.api_key_hint = None
            row.api_key_set_by = by
            row.api_key_set_at = now
            return record_change(
                session, scope, by=by, at=now, action=Action.KEY_REMOVED, detail=detail
            )

    async def set_access(self, scope: Scope, access: Access, *, by: str) -> Change | None:
        """Store who may deploy; None (and nothing recorded) when nothing changed."""
        now = self._clock()
        async with self._writing() as session:
            row = await self._row(session, scope)
            differences = _access(row).differences(access)
            if not differences and row.access_set_at is not None:
                return None
            row.allowed_channels = list(access.channels)
            row.allowed_users = list(access.users)
            row.allowed_usergroups = list(access.usergroups)
            row.access_set_by = by
            row.access_set_at = now
            return record_change(
                session, scope, by=by, at=now, action=Action.ACCESS_CHANGED, detail=differences
            )

    async def set_guardrails(
        self, scope: Scope, guardrails: Guardrails, *, by: str
    ) -> Change | None:
        """Store approval and automatic-stop settings; None (nothing recorded) when unchanged."""
        now = self._clock()
        async with self._writing() as session:
            row = await self._row(session, scope)
            differences = _guardrails(row).differences(guardrails)
            if not differences:
                return None
            row.require_approval = guardrails.require_approval
            row.approvers = list(guardrails.approvers)
            row.default_stop_after_s = guardrails.default_stop_after_s
            row.max_stop_after_s = guardrails.max_stop_after_s
            if row.access_set_at is None:
                # The settings of this scope now apply, instead of its org's.
                row.access_set_by, row.access_set_at = by, now
            return record_change(
                session, scope, by=by, at=now, action=Action.GUARDRAILS_CHANGED, detail=differences
            )

    async def freeze(
        self, scope: Scope, *, by: str, reason: str, lasting: timedelta | None
    ) -> tuple[Change, Freeze]:
        """Freeze deployments in the scope from now, for `lasting` (None: until lifted),
        replacing a freeze that holds; recorded."""
        now = self._clock()
        until = now + lasting if lasting is not None else None
        async with self._writing() as session:
            row = await self._row(session, scope)
            row.frozen_by, row.frozen_at, row.frozen_until = by, now, until
            row.freeze_reason = reason
            detail: dict[str, Any] = {
                "reason": reason,
                "until": until.isoformat() if until is not None else None,
            }
            change = record_change(
                session, scope, by=by, at=now, action=Action.FROZEN, detail=detail
            )
        return change, Freeze(by, now, until, reason)

    async def unfreeze(self, scope: Scope, *, by: str) -> tuple[Change, Freeze] | None:
        """Lift the scope's freeze, recorded; None when none holds (one that ran out is
        cleared quietly)."""
        now = self._clock()
        async with self._writing() as session:
            row = await session.get(WorkspaceRecord, scope.key)
            freeze = _freeze(row)
            if row is None or freeze is None:
                return None
            row.frozen_by = row.frozen_at = row.frozen_until = row.freeze_reason = None
            if not freeze.holds(now):
                return None
            detail = {"reason": freeze.reason, "since": freeze.at.isoformat()}
            change = record_change(
                session, scope, by=by, at=now, action=Action.UNFROZEN, detail=detail
            )
        return change, freeze

    async def history(self, scope: Scope, *, limit: int = 5) -> list[Change]:
        """The latest changes of a workspace, newest first."""
        query = (
            select(ChangeRecord)
            .where(ChangeRecord.scope == scope.key)
            .order_by(ChangeRecord.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [Change(r.user_id, r.at, Action(r.action), dict(r.detail)) for r in rows]

    async def forget(self, scope: Scope, *, event: str) -> None:
        """Slack uninstalled deploybot: delete the installation, the key and the settings."""
        if self._installations is not None:
            await self._installations.async_delete_all(
                enterprise_id=scope.enterprise_id, team_id=scope.team_id
            )
        now = self._clock()
        async with self._writing() as session:
            row = await session.get(WorkspaceRecord, scope.key)
            had_key = row is not None and row.api_key_encrypted is not None
            if row is not None:
                await session.delete(row)
            detail = {"event": event, "key_deleted": had_key}
            record_change(
                session, scope, by="slack", at=now, action=Action.UNINSTALLED, detail=detail
            )
        log.info("deploybot was uninstalled from %s: installation and key deleted", scope.key)

    async def reencrypt(self) -> int:
        """Re-encrypt stored keys under the current encryption key (rotation); how many changed."""
        if self._box is None:
            return 0
        changed = 0
        async with self._writing() as session:
            query = select(WorkspaceRecord).where(WorkspaceRecord.api_key_encrypted.is_not(None))
            for row in (await session.scalars(query)).all():
                token = row.api_key_encrypted or ""
                if self._box.is_current(token):
                    continue
                try:
                    row.api_key_encrypted = self._box.rotate(token)
                except UndecryptableError:
                    log.error(  # noqa: TRY400 — the traceback adds nothing here
                        "the stored key of workspace %s cannot be decrypted with any "
                        "DEPLOYBOT_ENCRYPTION_KEY; an admin must set it again",
                        row.scope,
                    )
                    continue
                changed += 1
        if changed:
            log.info("re-encrypted %d stored API keys under the current encryption key", changed)
        return changed

    async def _first(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        wanted: Callable[[WorkspaceRecord], bool],
    ) -> WorkspaceRecord | None:
        """The most specific of the request's own scopes whose row is `wanted`."""
        keys = tuple(lookup_keys(enterprise_id, team_id))
        if not keys:
            return None
        by_key = await self._cache.get(keys, lambda: self._load(keys))
        for key in keys:
            row = by_key.get(key)
            if row is not None and wanted(row):
                return row
        return None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction; once it is over, cached reads are dropped."""
        try:
            async with self._sessions.begin() as session:
                yield session
        finally:
            self._cache.clear()

    async def _load(self, keys: tuple[str, ...]) -> dict[str, WorkspaceRecord]:
        async with self._sessions() as session:
            query = select(WorkspaceRecord).where(WorkspaceRecord.scope.in_(keys))
            rows = (await session.scalars(query)).all()
        return {row.scope: row for row in rows}

    async def _row(self, session: AsyncSession, scope: Scope) -> WorkspaceRecord:
        """The scope's row, created when missing (inside the caller's transaction)."""
        row: WorkspaceRecord | None = await session.get(WorkspaceRecord, scope.key)
        if row is None:
            row = WorkspaceRecord(
                scope=scope.key,
                enterprise_id=scope.enterprise_id,
                team_id=scope.team_id,
                allowed_channels=[],
                allowed_users=[],
                allowed_usergroups=[],
            )
            session.add(row)
        elif scope.enterprise_id and row.enterprise_id != scope.enterprise_id:
            row.enterprise_id = scope.enterprise_id  # the workspace joined an org since
        return row

    def _stored_key(self, row: WorkspaceRecord | None) -> StoredKey | None:
        if row is None or row.api_key_encrypted is None or row.api_key_set_at is None:
            return None
        readable = self._box is not None
        if self._box is not None:
            try:
                self._box.decrypt(row.api_key_encrypted)
            except UndecryptableError:
                readable = False
        return StoredKey(row.api_key_hint, row.api_key_set_by or "", row.api_key_set_at, readable)


def record_change(  # noqa: PLR0913 — one keyword per column
    session: AsyncSession,
    scope: Scope,
    *,
    by: str,
    at: datetime,
    action: Action,
    detail: dict[str, Any],
) -> Change:
    """Add one entry to the workspace's change log, in the caller's transaction."""
    session.add(
        ChangeRecord(
            scope=scope.key,
            enterprise_id=scope.enterprise_id,
            team_id=scope.team_id,
            user_id=by,
            at=at,
            action=action.value,
            detail=detail,
        )
    )
    return Change(by, at, action, detail)


def _access(row: WorkspaceRecord | None) -> Access:
    if row is None or row.access_set_at is None:
        return Access()
    return Access(
        channels=tuple(row.allowed_channels or ()),
        users=tuple(row.allowed_users or ()),
        usergroups=tuple(row.allowed_usergroups or ()),
        set_by=row.access_set_by,
        set_at=row.access_set_at,
    )


def _guardrails(row: WorkspaceRecord | None) -> Guardrails:
    if row is None or row.access_set_at is None:
        return Guardrails()
    return Guardrails(
        require_approval=bool(row.require_approval),
        approvers=tuple(row.approvers or ()),
        default_stop_after_s=row.default_stop_after_s,
        max_stop_after_s=row.max_stop_after_s,
    )


def _freeze(row: WorkspaceRecord | None) -> Freeze | None:
    if row is None or row.frozen_at is None or row.frozen_by is None:
        return None
    return Freeze(row.frozen_by, row.frozen_at, row.frozen_until, row.freeze_reason or "")


def key_box_for(settings: Settings) -> KeyBox | None:
    """How stored keys are encrypted: `DEPLOYBOT_ENCRYPTION_KEY`; a key file in sandbox trials.

    Without either, workspace keys cannot be stored (the default `HIVEON_API_KEY` still works).
    """
    if settings.encryption_key is not None:
        return KeyBox.from_setting(settings.encryption_key.get_secret_value())
    url = make_url(settings.database_url)
    database = url.database if url.get_backend_name() == "sqlite" else None
    if settings.uses_sandbox_vendor and database and database != ":memory:":
        return dev_key_box(Path(database).with_suffix(".key"))
    log.warning(
        "DEPLOYBOT_ENCRYPTION_KEY is not set: workspace admins cannot store their own Hiveon "
        "API keys; deployments use HIVEON_API_KEY"
    )
    return None
