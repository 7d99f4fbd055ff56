"""Bolt listeners grouped by Slack surface; each module's `register` wires its listeners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import DeployGate
from bot.follow import Follower
from bot.service import DeploymentService
from bot.store import Store
from bot.tasks import BackgroundTasks


@dataclass(frozen=True)
class SubcommandCall:
    """One `/deploy <name> <args…>` request, as a subcommand handler receives it."""

    ack: AsyncAck
    command: dict[str, Any]
    context: AsyncBoltContext
    client: AsyncWebClient
    args: tuple[str, ...]


SubcommandHandler = Callable[[SubcommandCall], Awaitable[None]]


@dataclass(frozen=True)
class Deps:
    """What the listeners hand work to, and the subcommands the listener modules add."""

    service: DeploymentService
    tasks: BackgroundTasks
    command: str
    store: Store
    follower: Follower
    admins: frozenset[str] = frozenset()
    # Who may deploy where (the workspace's settings); None lets everyone deploy anywhere.
    gate: DeployGate | None = None
    # `/deploy <name>` -> its handler, which must ack first; the help lists them in this order.
    subcommands: dict[str, SubcommandHandler] = field(default_factory=dict)

    def add_subcommand(self, name: str, handler: SubcommandHandler) -> None:
        """Make `/deploy <name>` call `handler` (blocks.messages.SUBCOMMANDS has its help)."""
        self.subcommands[name] = handler
