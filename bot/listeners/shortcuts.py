"""Slack's shortcuts: "Deploy a container" (global, from anywhere) and "Redeploy this" (on a
message); each acks and hands the request to the follow-up service."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.listeners import Deps, asker_of


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the global and the message shortcut."""

    async def new_deployment(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        # A global shortcut comes from no channel: the form asks where to deploy.
        asker = asker_of(context, client, body)
        deps.tasks.spawn(deps.follow_up.new_deployment(asker), name=f"shortcut-{asker.trigger_id}")

    async def redeploy_message(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        message = body.get("message")
        asker = asker_of(context, client, body)
        deps.tasks.spawn(
            deps.follow_up.redeploy_message(asker, message if isinstance(message, dict) else {}),
            name=f"redeploy-message-{asker.trigger_id}",
        )

    app.shortcut(ids.NEW_DEPLOYMENT_SHORTCUT)(new_deployment)
    app.shortcut(ids.REDEPLOY_MESSAGE_SHORTCUT)(redeploy_message)
