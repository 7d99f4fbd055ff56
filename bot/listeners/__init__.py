"""Bolt listeners grouped by Slack surface; each module's `register` wires its listeners.

A listener acks (with what Slack must read in the ack, if anything), parses the request and
hands it to one service method in a background task: the deployment service (bot.service),
the follow-up service (bot.follow_up), the preset service (bot.presets), the admin service
(bot.administration), approvals (bot.approvals) or automatic stops (bot.auto_stop).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.asker import Asker
from bot.follow_up import FollowUpService
from bot.presets import PresetService
from bot.service import DeploymentService
from bot.tasks import BackgroundTasks


@dataclass(frozen=True)
class SubcommandCall:
    """One `/deploy <name> <args…>` request, as a subcommand handler receives it."""

    ack: AsyncAck
    command: dict[str, Any]
    context: AsyncBoltContext
    client: AsyncWebClient
    args: tuple[str, ...]

    @property
    def asker(self) -> Asker:
        """Who ran the command, where, and where its answers go."""
        return asker_of(self.context, self.client, self.command)


SubcommandHandler = Callable[[SubcommandCall], Awaitable[None]]


@dataclass(frozen=True)
class Deps:
    """What the listeners hand work to, and the subcommands the listener modules add."""

    deployments: DeploymentService
    follow_up: FollowUpService
    tasks: BackgroundTasks
    command: str
    presets: PresetService | None = None
    # `/deploy <name>` -> its handler, which must ack first; the help lists them in this order.
    subcommands: dict[str, SubcommandHandler] = field(default_factory=dict)

    def add_subcommand(self, name: str, handler: SubcommandHandler) -> None:
        """Make `/deploy <name>` call `handler` (blocks.messages.SUBCOMMANDS has its help)."""
        self.subcommands[name] = handler


def asker_of(
    context: AsyncBoltContext, client: AsyncWebClient, request: Mapping[str, Any]
) -> Asker:
    """Who sent a command or clicked a button: the workspace and user from Bolt's verified
    context; the trigger, channel and response_url from the request."""
    return Asker(
        client=client,
        enterprise_id=context.enterprise_id,
        team_id=context.team_id or "",
        user_id=context.user_id or "",
        trigger_id=str(request.get("trigger_id") or ""),
        channel_id=request.get("channel_id") or (request.get("channel") or {}).get("id"),
        response_url=request.get("response_url"),
    )


# What a button asks of a service: the clicker, and what the button carries.
Work = Callable[[Asker, str], Coroutine[Any, Any, None]]


def button(deps: Deps, work: Work, name: str) -> Callable[..., Awaitable[None]]:
    """A button's listener: ack at once, then `work(clicker, the button's value)` in a
    background task named `name-value`. The button carries what it acts on (a deployment, a
    preset's name); the team always comes from Bolt's verified context, never from the button."""

    async def listener(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")
        deps.tasks.spawn(work(asker_of(context, client, body), value), name=f"{name}-{value}")

    return listener
