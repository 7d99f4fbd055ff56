"""Events: the App Home tab shows the user's and the workspace's recent deployments."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import history
from bot import cards
from bot.listeners import Deps
from bot.slack_errors import SLACK_FAILURES

log = logging.getLogger(__name__)
HOME_ROWS = 10


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the events."""

    async def publish_home(
        event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab") != "home":
            return
        deps.tasks.spawn(
            publish_home_view(
                deps, client, team_id=context.team_id or "", user_id=context.user_id or ""
            ),
            name=f"home-{context.user_id}",
        )

    app.event("app_home_opened")(publish_home)


async def publish_home_view(
    deps: Deps, client: AsyncWebClient, *, team_id: str, user_id: str
) -> None:
    """Publish the user's App Home with fresh lists."""
    mine = await deps.store.recent(team_id=team_id, user_id=user_id, limit=HOME_ROWS)
    team = await deps.store.recent(team_id=team_id, limit=HOME_ROWS)
    view = history.home_view(mine=cards.history_lines(mine), team=cards.history_lines(team))
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SLACK_FAILURES:
        log.warning("views.publish failed for %s", user_id, exc_info=True)
