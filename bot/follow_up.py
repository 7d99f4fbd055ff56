"""The follow-up service: a deployment after its start, as people ask about it.

Buttons on a deployment's message (Refresh, Stop, Redeploy, Copy as curl), the "Redeploy this"
message shortcut, `/deploy status|stop|history|curl` and the App Home all come here. A
deployment is named by its Hiveon ID or its external ID, and only ever found in the asker's own
workspace.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from blocks import guardrails as guardrail_blocks
from blocks import history as history_blocks
from blocks import ids, notices
from blocks import presets as preset_words
from blocks.curl import curl_message
from bot import cards
from bot.administration import is_admin
from bot.asker import Asker
from bot.curl import curl_command
from bot.follow import Follower
from bot.form import Prefill
from bot.lookups import FreezeLookup
from bot.models import Deployment
from bot.preset_store import PresetStore
from bot.presets import preset_facts
from bot.service import DeploymentService, prefill_of
from bot.slack_errors import SLACK_FAILURES
from bot.store import Store

# Where the curl command sends a request when this deploybot runs against the sandbox.
HIVEON_URL = "https://api.hiveon.ai"

log = logging.getLogger(__name__)

HISTORY_ROWS = 20
HOME_ROWS = 10


class FollowUpService:
    """Status, Refresh, Stop (confirmed first when asked from the keyboard), Redeploy, the
    workspace's history and the App Home. Answers go to the asker only; status changes go to
    the deployment's thread, through the follower."""

    def __init__(  # noqa: PLR0913 — the service's collaborators and settings, keyword-only
        self,
        *,
        store: Store,
        follower: Follower,
        deployments: DeploymentService,
        presets: PresetStore | None = None,
        admins: frozenset[str] = frozenset(),
        command: str = "/deploy",
        hiveon_url: str = HIVEON_URL,
        sandbox: bool = False,
        freeze_for: FreezeLookup | None = None,
    ) -> None:
        self._store = store
        self._follower = follower
        self._deployments = deployments
        self._presets = presets
        self._admins = admins
        self._command = command
        # Where the start requests went (HIVEON_API_URL), for "Copy as curl".
        self._hiveon_url = HIVEON_URL if sandbox else hiveon_url
        self._sandbox = sandbox
        self._freeze_for = freeze_for

    async def refresh(self, asker: Asker, any_id: str) -> None:
        """Fetch the status now (the Refresh button); the answer goes to the thread."""
        row = await self._find(asker, any_id)
        if row is None:
            return
        if not row.deployment_id:
            await asker.messenger.tell_user(notices.never_started_notice())
            return
        await self._follower.refresh(row, by=asker.user_id)

    async def status(self, asker: Asker, any_id: str) -> None:
        """`/deploy status`: fetch the status now (posted in the thread) and say where it is."""
        row = await self._find(asker, any_id)
        if row is None:
            return
        if row.deployment_id:
            await self._follower.refresh(row, by=asker.user_id)
            row = await self._store.get(row.id) or row
        await asker.messenger.tell_user(
            notices.status_notice(
                deployment=row.deployment_id or row.external_deployment_id,
                state=cards.current_state(row),
                thread_link=cards.thread_link(row),
            )
        )

    async def stop(self, asker: Asker, any_id: str) -> None:
        """The Stop button: stop it, if the asker started it or is an admin."""
        row = await self._find_stoppable(asker, any_id)
        if row is not None:
            await self._follower.stop(row, by=asker.user_id)

    async def confirm_stop(self, asker: Asker, any_id: str) -> None:
        """`/deploy stop`: the deployment with a Stop button and its confirm dialog, shown to
        those who may stop it."""
        row = await self._find_stoppable(asker, any_id)
        if row is None:
            return
        await asker.messenger.tell_user(
            cards.card_of(
                row,
                status=cards.current_state(row),
                detail=notices.STOP_PROMPT,
                buttons=(ids.STOP_DEPLOYMENT,),
            )
        )

    async def redeploy(self, asker: Asker, any_id: str) -> None:
        """The deploy modal again, prefilled from this deployment (new ID, secrets left empty),
        for the deployment's own channel."""
        row = await self._find(asker, any_id)
        if row is None:
            return
        await self._deployments.open_deploy_modal(
            dataclasses.replace(asker, channel_id=row.channel_id),
            # Someone else's startup script is not shown: scripts hold tokens.
            prefill_of(row, viewer=asker.user_id),
        )

    async def redeploy_message(self, asker: Asker, message: Mapping[str, Any]) -> None:
        """The "Redeploy this" message shortcut: Redeploy for the deployment whose message (or
        a reply in whose thread) it was used on; any other message is answered privately."""
        row = await self._deployment_of(asker, message)
        if row is None:
            await asker.messenger.tell_user(notices.not_a_deployment_notice())
            return
        await self.redeploy(asker, row.external_deployment_id)

    async def new_deployment(self, asker: Asker) -> None:
        """The App Home's New deployment and the global shortcut: the modal, "same again"
        prefilled, asking where the message and thread go (else the user's DM)."""
        await self._deployments.open_deploy_modal(
            dataclasses.replace(asker, channel_id=None, response_url=None),
            Prefill(),
            ask_channel=True,
        )

    async def copy_as_curl(self, asker: Asker, any_id: str) -> None:
        """Copy as curl and `/deploy curl`: the start request deploybot sent, as a shell
        command with every secret a variable, only to the asker."""
        row = await self._find(asker, any_id)
        if row is None:
            return
        own = row.user_id == asker.user_id
        command = curl_command(row.request, base_url=self._hiveon_url, with_script=own)
        script = (row.request.get("container_config") or {}).get("startup_script")
        await asker.messenger.tell_user(
            curl_message(
                deployment=row.deployment_id or row.external_deployment_id,
                command=command.text,
                variables=command.variables,
                script_withheld_from=row.user_id if script and not own else None,
                sandbox=self._sandbox,
            )
        )

    async def history(self, asker: Asker) -> None:
        """`/deploy history`: the workspace's latest deployments, only to the asker."""
        rows = await self._store.recent(team_id=asker.team_id, limit=HISTORY_ROWS)
        await asker.messenger.tell_user(
            history_blocks.history_message(lines=cards.history_lines(rows), command=self._command)
        )

    async def publish_home(self, asker: Asker) -> None:
        """Publish the asker's App Home with fresh lists: theirs and the workspace's."""
        mine = await self._store.recent(
            team_id=asker.team_id, user_id=asker.user_id, limit=HOME_ROWS
        )
        team = await self._store.recent(team_id=asker.team_id, limit=HOME_ROWS)
        presets: list[dict[str, Any]] = []
        if self._presets is not None:
            page = await self._presets.find(asker.team_id, limit=preset_words.ON_HOME)
            presets = preset_words.home_presets(
                presets=[preset_facts(preset) for preset in page.presets],
                total=page.total,
                command=self._command,
            )
        freeze = (
            await self._freeze_for(asker.enterprise_id, asker.team_id)
            if self._freeze_for is not None
            else None
        )
        banner = (
            guardrail_blocks.freeze_banner(
                by=freeze.by,
                since=freeze.at,
                until=freeze.until,
                reason=freeze.reason,
                command=self._command,
            )
            if freeze is not None
            else []
        )
        view = history_blocks.home_view(
            mine=cards.history_lines(mine),
            team=cards.history_lines(team),
            presets=presets,
            banner=banner,
        )
        try:
            await asker.client.views_publish(user_id=asker.user_id, view=view)
        except SLACK_FAILURES:
            log.warning("views.publish failed for %s", asker.user_id, exc_info=True)

    async def _deployment_of(self, asker: Asker, message: Mapping[str, Any]) -> Deployment | None:
        """The workspace's deployment a message is about: the message it posted (or a reply in
        its thread); else one whose buttons the message carries (a response_url post)."""
        if asker.channel_id:
            for ts in dict.fromkeys((message.get("ts"), message.get("thread_ts"))):
                if isinstance(ts, str) and ts:
                    row = await self._store.find_by_message(
                        team_id=asker.team_id, channel_id=asker.channel_id, ts=ts
                    )
                    if row is not None:
                        return row
        for value in _button_values(message):
            row = await self._store.find(team_id=asker.team_id, external_deployment_id=value)
            if row is not None:
                return row
        return None

    async def _find(self, asker: Asker, any_id: str) -> Deployment | None:
        """The deployment in the asker's own workspace, or a notice that it is unknown."""
        row = await self._store.find_by_any_id(team_id=asker.team_id, any_id=any_id)
        if row is None:
            await asker.messenger.tell_user(notices.unknown_deployment_notice(any_id=any_id))
        return row

    async def _find_stoppable(self, asker: Asker, any_id: str) -> Deployment | None:
        """The deployment, if the asker may stop it; anyone else is told whom to ask."""
        row = await self._find(asker, any_id)
        if row is None:
            return None
        # Only whoever started it, workspace admins and owners, and `DEPLOYBOT_ADMINS`.
        if row.user_id != asker.user_id and not await is_admin(
            asker.client, asker.user_id, self._admins
        ):
            await asker.messenger.tell_user(
                notices.stop_refusal_notice(
                    requester=row.user_id,
                    deployment=row.deployment_id or row.external_deployment_id,
                )
            )
            return None
        return row


def _button_values(message: Mapping[str, Any]) -> list[str]:
    """What the deployment buttons in a message carry: the deployment's external ID."""
    elements = [
        element
        for block in message.get("blocks") or ()
        if isinstance(block, dict) and block.get("type") == "actions"
        for element in block.get("elements") or ()
        if isinstance(element, dict)
    ]
    values = [
        element["value"]
        for element in elements
        if element.get("action_id") in ids.ALL_DEPLOYMENT_BUTTONS
        and isinstance(element.get("value"), str)
    ]
    return list(dict.fromkeys(values))
