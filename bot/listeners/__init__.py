"""Bolt listeners grouped by Slack surface; each module's `register` wires its listeners."""

from __future__ import annotations

from dataclasses import dataclass

from bot.service import DeploymentService
from bot.tasks import BackgroundTasks


@dataclass(frozen=True)
class Deps:
    """What the listeners hand work to."""

    service: DeploymentService
    tasks: BackgroundTasks
    command: str
