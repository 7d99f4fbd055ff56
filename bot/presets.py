"""The preset service: `/deploy presets`, the list's Deploy and Delete buttons, and the deploy
form's preset select.

Saving a preset is the deployment service's (the form is saved once its deployment starts);
opening the form from one is too. A preset is only ever found in the asker's own workspace.
"""

from __future__ import annotations

import logging
from typing import Any

from blocks import presets as preset_words
from bot.administration import is_admin
from bot.asker import Asker
from bot.domain import Preset, Scope
from bot.form import Prefill
from bot.preset_store import PresetStore
from bot.service import DeploymentService

log = logging.getLogger(__name__)


def preset_facts(preset: Preset) -> preset_words.PresetFacts:
    """What the lists show of a preset."""
    return preset_words.PresetFacts(
        name=preset.name,
        image=preset.image,
        machine_id=preset.machine_id,
        user_id=preset.user_id,
        saved_at=int(preset.saved_at.timestamp()),
        last_used_at=int(preset.last_used_at.timestamp()) if preset.last_used_at else None,
    )


class PresetService:
    """Lists, deletes and deploys the workspace's presets; anyone in the workspace may list
    and deploy them (who may deploy where still applies), only whoever saved one or an admin
    may delete it."""

    def __init__(
        self,
        presets: PresetStore,
        deployments: DeploymentService,
        *,
        admins: frozenset[str] = frozenset(),
        command: str = "/deploy",
    ) -> None:
        self._presets = presets
        self._deployments = deployments
        self._admins = admins
        self._command = command

    async def show(self, asker: Asker, containing: str = "") -> None:
        """`/deploy presets [word]`: the workspace's presets, only to the asker."""
        await asker.messenger.tell_user(await self._listing(asker.team_id, containing))

    async def deploy(self, asker: Asker, name: str) -> None:
        """A preset's Deploy button: the form from it, for the list's channel (from the App
        Home, asking where)."""
        await self._deployments.open_deploy_modal(
            asker, Prefill(), preset=name, ask_channel=asker.channel_id is None
        )

    async def delete(self, asker: Asker, name: str) -> None:
        """A preset's Delete button (confirmed first): delete it if the asker saved it or is
        an admin, then show the list again without it."""
        preset = await self._presets.get(asker.team_id, name)
        if preset is None:
            await asker.messenger.tell_user(
                preset_words.unknown_preset_notice(name=name, command=self._command)
            )
            return
        if preset.user_id != asker.user_id and not await is_admin(
            asker.client, asker.user_id, self._admins
        ):
            await asker.messenger.tell_user(
                preset_words.delete_refusal_notice(name=name, owner=preset.user_id)
            )
            return
        gone = await self._presets.delete(
            Scope(asker.enterprise_id, asker.team_id), name, by=asker.user_id
        )
        log.info("preset %s of %s deleted by %s", name, asker.team_id, asker.user_id)
        listing = await self._listing(
            asker.team_id, "", deleted=preset_facts(gone) if gone is not None else None
        )
        await asker.messenger.replace_original(listing)

    async def options(self, team_id: str, typed: str) -> dict[str, Any]:
        """The deploy form's preset select as the user types: those whose name or image holds
        the text, the most recently used first."""
        page = await self._presets.find(team_id, containing=typed.strip())
        return preset_words.preset_options([preset_facts(preset) for preset in page.presets])

    async def _listing(
        self,
        team_id: str,
        containing: str,
        *,
        deleted: preset_words.PresetFacts | None = None,
    ) -> dict[str, Any]:
        page = await self._presets.find(team_id, containing=containing, limit=preset_words.LISTED)
        return preset_words.presets_message(
            presets=[preset_facts(preset) for preset in page.presets],
            total=page.total,
            containing=containing,
            command=self._command,
            deleted=deleted,
        )
