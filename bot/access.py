"""Who may deploy where, and whether anyone may now: a workspace's restrictions and its deploy
freeze, checked before a modal opens and on submit."""

from __future__ import annotations

import functools
import logging

from slack_sdk.web.async_client import AsyncWebClient

from blocks import admin, guardrails
from blocks.messages import Message
from bot.cache import SharedCache
from bot.domain import Access
from bot.slack_errors import SLACK_FAILURES
from bot.workspaces import Workspaces

log = logging.getLogger(__name__)


# How long a user group's members are trusted as read: `usergroups.users.list` is a Tier-2
# method (about 20 calls a minute), and a form opening must not wait on its rate limit.
MEMBERS_TTL_S = 60.0


class DeployGate:
    """Checks a deployment request against its workspace's settings (default: everyone may)."""

    def __init__(
        self, workspaces: Workspaces, *, command: str, members_ttl_s: float = MEMBERS_TTL_S
    ) -> None:
        self._workspaces = workspaces
        self._command = command
        # A group's members by (team, group), read at most once a minute.
        self._members: SharedCache[tuple[str, str], frozenset[str]] = SharedCache(
            ttl_s=members_ttl_s
        )

    async def refusal(  # noqa: PLR0913 — the request's facts, keyword-only
        self,
        client: AsyncWebClient,
        *,
        enterprise_id: str | None,
        team_id: str,
        user_id: str,
        channel_id: str | None,
        check_channel: bool = True,
    ) -> Message | None:
        """Why this user may not deploy in this channel (or nobody may now), or None when they
        may.

        Without `check_channel` (a form that asks where to deploy, opened outside a channel)
        only the person is checked; `channel_allowed` checks the channel they pick.
        """
        freeze = await self._workspaces.freeze_for(enterprise_id, team_id)
        if freeze is not None:
            return guardrails.freeze_refusal(
                by=freeze.by,
                since=freeze.at,
                until=freeze.until,
                reason=freeze.reason,
                command=self._command,
            )
        access = await self._workspaces.access_for(enterprise_id, team_id)
        if check_channel and access.channels and channel_id not in access.channels:
            return self._refusal(access, wrong_channel=True)
        if access.restricts_people and not await self._allowed_person(
            client, access, team_id=team_id, user_id=user_id
        ):
            return self._refusal(access, wrong_channel=False)
        return None

    async def channel_allowed(
        self, *, enterprise_id: str | None, team_id: str, channel_id: str | None
    ) -> bool:
        """True when the workspace's settings let anyone deploy in this channel (one database
        read, cached: quick enough for a submission's ack)."""
        access = await self._workspaces.access_for(enterprise_id, team_id)
        return not access.channels or channel_id in access.channels

    async def _allowed_person(
        self, client: AsyncWebClient, access: Access, *, team_id: str, user_id: str
    ) -> bool:
        if user_id in access.users:
            return True
        for group in access.usergroups:
            try:
                members = await self._members.get(
                    (team_id, group), functools.partial(_members, client, group)
                )
            except SLACK_FAILURES:
                log.warning("usergroups.users.list failed for %s", group, exc_info=True)
                continue
            if user_id in members:
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


async def _members(client: AsyncWebClient, group: str) -> frozenset[str]:
    """The user IDs in a user group, as Slack lists them."""
    response = await client.usergroups_users_list(usergroup=group)
    return frozenset(response.get("users") or ())
