"""Who may deploy where: a workspace's restrictions checked before a modal opens and on submit."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from blocks import admin
from blocks.messages import Message
from bot.slack_errors import SLACK_FAILURES
from bot.workspaces import Access, Workspaces

log = logging.getLogger(__name__)


class DeployGate:
    """Checks a deployment request against its workspace's settings (default: everyone may)."""

    def __init__(self, workspaces: Workspaces, *, command: str) -> None:
        self._workspaces = workspaces
        self._command = command

    async def refusal(
        self,
        client: AsyncWebClient,
        *,
        enterprise_id: str | None,
        team_id: str,
        user_id: str,
        channel_id: str | None,
    ) -> Message | None:
        """Why this user may not deploy in this channel, or None when they may."""
        access = await self._workspaces.access_for(enterprise_id, team_id)
        if access.channels and channel_id not in access.channels:
            return self._refusal(access, wrong_channel=True)
        if access.restricts_people and not await self._allowed_person(client, access, user_id):
            return self._refusal(access, wrong_channel=False)
        return None

    async def _allowed_person(self, client: AsyncWebClient, access: Access, user_id: str) -> bool:
        if user_id in access.users:
            return True
        for group in access.usergroups:
            try:
                response = await client.usergroups_users_list(usergroup=group)
            except SLACK_FAILURES:
                log.warning("usergroups.users.list failed for %s", group, exc_info=True)
                continue
            if user_id in (response.get("users") or ()):
                return True
        return False

    def _refusal(self, access: Access, *, wrong_channel: bool) -> Message:
        return admin.deploy_refusal(
            channels=access.channels,
            users=access.users,
            usergroups=access.usergroups,
            wrong_channel=wrong_channel,
            ask=access.set_by,
            command=self._command,
        )
