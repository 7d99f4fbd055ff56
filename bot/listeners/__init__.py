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
class Subcommand:
    """A `/deploy` subcommand: its handler (which must ack first) and its line in the help."""

    handler: SubcommandHandler
    usage: str
    description: str


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
    subcommands: dict[str, Subcommand] = field(default_factory=dict)

    def add_subcommand(
        self, name: str, handler: SubcommandHandler, *, usage: str, description: str
    ) -> None:
        """Make `/deploy <name>` call `handler`; `usage` follows the command in the help."""
        self.subcommands[name] = Subcommand(handler, usage, description)

    @property
    def help_lines(self) -> list[tuple[str, str]]:
        """(usage, description) of every subcommand, for the help message."""
        return [(sub.usage, sub.description) for sub in self.subcommands.values()]
