"""Events: the App Home tab shows the user's and the workspace's recent deployments."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners import Deps, asker_of


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the events."""

    async def publish_home(
        event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab") != "home":
            return
        deps.tasks.spawn(
            deps.follow_up.publish_home(asker_of(context, client, {})),
            name=f"home-{context.user_id}",
        )

    app.event("app_home_opened")(publish_home)
