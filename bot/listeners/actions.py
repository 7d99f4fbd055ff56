"""Buttons on a deployment's message (Refresh, Redeploy, Stop, Copy as curl) and on the App
Home."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.asker import Asker
from bot.listeners import Deps, asker_of

# What a click asks of the follow-up service: the clicker, and the deployment the button names.
Work = Callable[[Asker, str], Coroutine[Any, Any, None]]


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the buttons; each acks at once and hands the click to the follow-up service."""

    def button(work: Work, name: str) -> Callable[..., Awaitable[None]]:
        async def listener(
            ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
        ) -> None:
            await ack()
            # The button carries the deployment's external ID; the team comes from the context.
            value = str(((body.get("actions") or [{}])[0]).get("value") or "")
            deps.tasks.spawn(work(asker_of(context, client, body), value), name=f"{name}-{value}")

        return listener

    async def new_deployment(asker: Asker, _value: str) -> None:
        await deps.follow_up.new_deployment(asker)

    follow_up = deps.follow_up
    app.action(ids.REFRESH_DEPLOYMENT)(button(follow_up.refresh, "refresh"))
    app.action(ids.STOP_DEPLOYMENT)(button(follow_up.stop, "stop"))
    app.action(ids.REDEPLOY)(button(follow_up.redeploy, "redeploy"))
    app.action(ids.COPY_AS_CURL)(button(follow_up.copy_as_curl, "curl"))
    app.action(ids.NEW_DEPLOYMENT)(button(new_deployment, "new-deployment"))
