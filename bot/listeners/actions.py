"""Buttons on a deployment's message (Refresh, Redeploy, Stop, Copy as curl) and on the App
Home."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from blocks import ids
from bot.asker import Asker
from bot.listeners import Deps, button


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the buttons; each acks at once and hands the click to the follow-up service."""

    async def new_deployment(asker: Asker, _value: str) -> None:
        await deps.follow_up.new_deployment(asker)

    follow_up = deps.follow_up
    app.action(ids.REFRESH_DEPLOYMENT)(button(deps, follow_up.refresh, "refresh"))
    app.action(ids.STOP_DEPLOYMENT)(button(deps, follow_up.stop, "stop"))
    app.action(ids.REDEPLOY)(button(deps, follow_up.redeploy, "redeploy"))
    app.action(ids.COPY_AS_CURL)(button(deps, follow_up.copy_as_curl, "curl"))
    app.action(ids.NEW_DEPLOYMENT)(button(deps, new_deployment, "new-deployment"))
