"""The follow-up service: a deployment after its start, as people ask about it.

Buttons on a deployment's message (Refresh, Stop, Redeploy), `/deploy status|stop|history` and
the App Home all come here. A deployment is named by its Hiveon ID or its external ID, and only
ever found in the asker's own workspace.
"""

from __future__ import annotations

import dataclasses
import logging

from blocks import guardrails as guardrail_blocks
from blocks import history as history_blocks
from blocks import ids, notices
from bot import cards
from bot.administration import is_admin
from bot.asker import Asker
from bot.follow import Follower
from bot.form import Prefill
from bot.lookups import FreezeLookup
from bot.models import Deployment
from bot.service import DeploymentService, prefill_of
from bot.slack_errors import SLACK_FAILURES
from bot.store import Store

log = logging.getLogger(__name__)

HISTORY_ROWS = 20
HOME_ROWS = 10


class FollowUpService:
    """Status, Refresh, Stop (confirmed first when asked from the keyboard), Redeploy, the
    workspace's history and the App Home. Answers go to the asker only; status changes go to
    the deployment's thread, through the follower."""

    def __init__(  # noqa: PLR0913 — the service's collaborators, keyword-only
        self,
        *,
        store: Store,
        follower: Follower,
        deployments: DeploymentService,
        admins: frozenset[str] = frozenset(),
        command: str = "/deploy",
        freeze_for: FreezeLookup | None = None,
    ) -> None:
        self._store = store
        self._follower = follower
        self._deployments = deployments
        self._admins = admins
        self._command = command
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
            cards.card(
                user_id=row.user_id,
                request=row.request,
                external_id=row.external_deployment_id,
                status=cards.current_state(row),
                deployment_id=row.deployment_id,
                detail=notices.STOP_PROMPT,
                buttons=(ids.STOP_DEPLOYMENT,),
                notes=cards.notes_of(row),
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

    async def new_deployment(self, asker: Asker) -> None:
        """The App Home's New deployment: the modal, "same again" prefilled; outcome to the DM."""
        await self._deployments.open_deploy_modal(
            dataclasses.replace(asker, channel_id=None, response_url=None), Prefill()
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
            mine=cards.history_lines(mine), team=cards.history_lines(team), banner=banner
        )
        try:
            await asker.client.views_publish(user_id=asker.user_id, view=view)
        except SLACK_FAILURES:
            log.warning("views.publish failed for %s", asker.user_id, exc_info=True)

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
