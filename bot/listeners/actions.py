"""Buttons on a deployment's message (Refresh, Redeploy, Stop) and on the App Home."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids, messages
from blocks.text import code, escape
from bot.administration import is_admin
from bot.form import Prefill, prefill_from
from bot.listeners import Deps
from bot.listeners.modal import open_deploy_modal
from bot.messenger import Messenger
from bot.store import Deployment

log = logging.getLogger(__name__)


Work = Callable[[Deps, "Asked"], Coroutine[Any, Any, None]]


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the buttons; each acks at once and does its work after, reporting in the thread."""

    def button(work: Work) -> Callable[..., Awaitable[None]]:
        async def listener(
            ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
        ) -> None:
            await ack()
            asked = Asked.of(body, context, client)
            deps.tasks.spawn(work(deps, asked), name=f"{work.__name__}-{asked.value}")

        return listener

    app.action(ids.REFRESH_DEPLOYMENT)(button(refresh))
    app.action(ids.STOP_DEPLOYMENT)(button(stop))
    app.action(ids.REDEPLOY)(button(open_redeploy_modal))
    app.action(ids.NEW_DEPLOYMENT)(button(open_new_deployment_modal))


class Asked:
    """Who asked about which deployment (a button or a subcommand), where; the team comes from
    Bolt's verified context, never from the payload."""

    def __init__(  # noqa: PLR0913 — the facts of one click
        self,
        *,
        client: AsyncWebClient,
        enterprise_id: str | None,
        team_id: str,
        user_id: str,
        value: str,
        trigger_id: str,
        channel_id: str | None,
        response_url: str | None,
    ) -> None:
        self.client = client
        self.enterprise_id = enterprise_id
        self.team_id = team_id
        self.user_id = user_id
        self.value = value
        self.trigger_id = trigger_id
        self.channel_id = channel_id
        self.response_url = response_url

    @classmethod
    def of(cls, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> Asked:
        actions = body.get("actions") or [{}]
        return cls(
            client=client,
            enterprise_id=context.enterprise_id,
            team_id=context.team_id or "",
            user_id=context.user_id or "",
            value=str(actions[0].get("value") or ""),
            trigger_id=str(body.get("trigger_id") or ""),
            channel_id=(body.get("channel") or {}).get("id"),
            response_url=body.get("response_url"),
        )

    @property
    def messenger(self) -> Messenger:
        """Ephemeral answers to the clicker go through the click's response_url."""
        return Messenger(self.client, user_id=self.user_id, response_url=self.response_url)


async def find(deps: Deps, asked: Asked) -> Deployment | None:
    """The asked deployment in the clicker's own workspace, or a notice that it is unknown."""
    row = await deps.store.find_by_any_id(team_id=asked.team_id, any_id=asked.value)
    if row is None:
        await asked.messenger.tell_user(
            messages.notice(
                text=f"deploybot has no deployment {code(asked.value)} in this workspace."
            )
        )
    return row


async def refresh(deps: Deps, asked: Asked) -> None:
    """Fetch the status now; the answer goes to the thread."""
    row = await find(deps, asked)
    if row is None:
        return
    if not row.deployment_id:
        await asked.messenger.tell_user(
            messages.notice(text="This deployment never started, so it has no status to fetch.")
        )
        return
    await deps.follower.refresh(row, by=asked.user_id)


async def stop(deps: Deps, asked: Asked) -> None:
    """Stop it, if the clicker started it or is an admin; others are told who may."""
    row = await find_stoppable(deps, asked)
    if row is not None:
        await deps.follower.stop(row, by=asked.user_id)


async def find_stoppable(deps: Deps, asked: Asked) -> Deployment | None:
    """The deployment, if the asker may stop it; anyone else is told whom to ask."""
    row = await find(deps, asked)
    if row is None:
        return None
    if not await may_stop(deps, asked.client, row, asked.user_id):
        await asked.messenger.tell_user(messages.notice(text=refusal(row)))
        return None
    return row


async def may_stop(deps: Deps, client: AsyncWebClient, row: Deployment, user_id: str) -> bool:
    """Only the requester, workspace admins/owners and `DEPLOYBOT_ADMINS` may stop it."""
    return row.user_id == user_id or await is_admin(client, user_id, deps.admins)


def refusal(row: Deployment) -> str:
    """Why someone else may not stop it, and whom to ask."""
    which = code(row.deployment_id or row.external_deployment_id)
    return (
        f"Only <@{escape(row.user_id)}>, who started {which}, or a workspace admin can stop it. "
        "Ask one of them."
    )


async def open_redeploy_modal(deps: Deps, asked: Asked) -> None:
    """The deploy modal again, prefilled from this deployment (new ID, secrets left empty)."""
    row = await find(deps, asked)
    if row is None:
        return
    await open_deploy_modal(
        deps,
        client=asked.client,
        enterprise_id=asked.enterprise_id,
        team_id=asked.team_id,
        user_id=asked.user_id,
        trigger_id=asked.trigger_id,
        channel_id=row.channel_id,
        response_url=asked.response_url,
        # Someone else's startup script is not shown: scripts hold tokens.
        prefill=prefill_from(row.request, requester=row.user_id, viewer=asked.user_id),
    )


async def open_new_deployment_modal(deps: Deps, asked: Asked) -> None:
    """The App Home's New deployment: the modal, "same again" prefilled; outcome to the DM."""
    await open_deploy_modal(
        deps,
        client=asked.client,
        enterprise_id=asked.enterprise_id,
        team_id=asked.team_id,
        user_id=asked.user_id,
        trigger_id=asked.trigger_id,
        channel_id=None,
        response_url=None,
        prefill=Prefill(),
    )
