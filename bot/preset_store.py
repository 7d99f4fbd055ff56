"""Presets in deploybot's database: a workspace's named deploy forms, and their change log.

A preset belongs to the workspace (the team in Bolt's verified context), one per name. It holds
what `StartDeploymentRequest.for_preset()` keeps (no registry password, secret values masked,
no external ID), who saved it last and when, and when a deployment from it last started. Every
save, replacement and deletion is written to the workspace's change log in the same
transaction. Who may replace or delete someone else's preset is the caller's decision
(`may_replace`); this module only keeps the owner and the count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain import Action, Preset, Scope
from bot.models import PresetRecord, utc_now
from bot.workspaces import record_change

# A workspace keeps at most this many presets: a select offers 100 options, and a list of them
# stays readable.
MAX_PRESETS = 100


class Saved(StrEnum):
    """How a save ended."""

    SAVED = "saved"  # a new preset
    REPLACED = "replaced"  # the name's preset was replaced (by its owner, or someone allowed)
    TAKEN = "taken"  # someone else's preset has the name, and the saver may not replace it
    FULL = "full"  # the workspace already has MAX_PRESETS presets


@dataclass(frozen=True)
class SaveResult:
    """A save's outcome; `owner` is who held the name before (for TAKEN and REPLACED)."""

    saved: Saved
    owner: str | None = None


@dataclass(frozen=True)
class PresetPage:
    """Some of a workspace's presets, and how many it has in all that match."""

    presets: list[Preset]
    total: int


class PresetStore:
    """The workspace's presets, on the database the deployments use."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_presets: int = MAX_PRESETS,
    ) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._max = max_presets

    async def get(self, team_id: str, name: str) -> Preset | None:
        """The workspace's preset by this name."""
        async with self._sessions() as session:
            row = await self._row(session, team_id, name)
        return None if row is None else _preset(row)

    async def count(self, team_id: str) -> int:
        """How many presets the workspace has."""
        query = select(func.count()).select_from(PresetRecord)
        async with self._sessions() as session:
            return int(
                (await session.execute(query.where(PresetRecord.team_id == team_id))).scalar_one()
            )

    async def find(
        self, team_id: str, *, containing: str = "", limit: int = MAX_PRESETS
    ) -> PresetPage:
        """The workspace's presets whose name or image contains `containing` (any case), the
        most recently used (else saved) first, at most `limit`; with the total that match.

        A workspace has at most `MAX_PRESETS`: they are read whole and filtered here.
        """
        query = select(PresetRecord).where(PresetRecord.team_id == team_id)
        async with self._sessions() as session:
            presets = [_preset(row) for row in (await session.scalars(query)).all()]
        wanted = containing.lower()
        matching = [
            preset
            for preset in presets
            if wanted in preset.name.lower() or wanted in preset.image.lower()
        ]
        matching.sort(key=lambda preset: preset.name)
        matching.sort(key=lambda preset: preset.last_used_at or preset.saved_at, reverse=True)
        return PresetPage(matching[:limit], len(matching))

    async def save(
        self,
        scope: Scope,
        *,
        name: str,
        request: dict[str, Any],
        by: str,
        may_replace: bool,
    ) -> SaveResult:
        """Save `request` as the workspace's preset `name`; someone else's preset by that name
        is replaced only when `may_replace` (an admin). Recorded in the change log."""
        team_id = scope.team_id or ""
        try:
            return await self._save(scope, team_id, name, request, by=by, may_replace=may_replace)
        except IntegrityError:
            # Someone saved the same new name at the same moment: theirs is there now.
            return await self._save(scope, team_id, name, request, by=by, may_replace=may_replace)

    async def delete(self, scope: Scope, name: str, *, by: str) -> Preset | None:
        """Delete the workspace's preset `name` (the caller checked who may); what it was."""
        team_id = scope.team_id or ""
        async with self._sessions.begin() as session:
            row = await self._row(session, team_id, name, for_update=True)
            if row is None:
                return None
            gone = _preset(row)
            await session.execute(delete(PresetRecord).where(PresetRecord.id == row.id))
            record_change(
                session,
                scope,
                by=by,
                at=self._clock(),
                action=Action.PRESET_DELETED,
                detail=_detail(gone.name, gone.image, owner=gone.user_id),
            )
        return gone

    async def mark_used(self, team_id: str, name: str) -> None:
        """A deployment from the preset started now."""
        statement = (
            update(PresetRecord)
            .where(PresetRecord.team_id == team_id, PresetRecord.name == name)
            .values(last_used_at=self._clock())
        )
        async with self._sessions.begin() as session:
            await session.execute(statement)

    async def _save(  # noqa: PLR0913 — the preset's facts
        self,
        scope: Scope,
        team_id: str,
        name: str,
        request: dict[str, Any],
        *,
        by: str,
        may_replace: bool,
    ) -> SaveResult:
        now = self._clock()
        image = str((request.get("container_config") or {}).get("image", ""))
        async with self._sessions.begin() as session:
            row = await self._row(session, team_id, name, for_update=True)
            if row is not None:
                owner = row.user_id
                if owner != by and not may_replace:
                    return SaveResult(Saved.TAKEN, owner)
                row.user_id, row.request, row.saved_at = by, request, now
                row.enterprise_id = scope.enterprise_id
                action, result = Action.PRESET_REPLACED, SaveResult(Saved.REPLACED, owner)
                detail = _detail(name, image, owner=owner)
            else:
                count = select(func.count()).select_from(PresetRecord)
                held = (
                    await session.execute(count.where(PresetRecord.team_id == team_id))
                ).scalar_one()
                if held >= self._max:
                    return SaveResult(Saved.FULL)
                session.add(
                    PresetRecord(
                        team_id=team_id,
                        enterprise_id=scope.enterprise_id,
                        name=name,
                        user_id=by,
                        request=request,
                        saved_at=now,
                    )
                )
                await session.flush()  # the unique name is checked here, inside the transaction
                action, result = Action.PRESET_SAVED, SaveResult(Saved.SAVED)
                detail = _detail(name, image)
            record_change(session, scope, by=by, at=now, action=action, detail=detail)
        return result

    @staticmethod
    async def _row(
        session: AsyncSession, team_id: str, name: str, *, for_update: bool = False
    ) -> PresetRecord | None:
        query = select(PresetRecord).where(
            PresetRecord.team_id == team_id, PresetRecord.name == name
        )
        if for_update:
            query = query.with_for_update()
        return (await session.scalars(query)).first()


def _preset(row: PresetRecord) -> Preset:
    return Preset(
        name=row.name,
        user_id=row.user_id,
        request=dict(row.request),
        saved_at=row.saved_at,
        last_used_at=row.last_used_at,
    )


def _detail(name: str, image: str, *, owner: str | None = None) -> dict[str, Any]:
    """What the change log keeps of a preset: its name, image and (replaced, deleted) owner."""
    detail: dict[str, Any] = {"name": name, "image": image}
    if owner is not None:
        detail["owner"] = owner
    return detail
