"""The Workflow Builder step "Start a deployment" (`function_executed`): Bolt acks the event;
the deployment service runs the step and completes it once the outcome is known."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.listeners import Deps
from bot.service import StepRun


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the custom step."""

    async def start_deployment(
        inputs: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        # `client` holds the run's own token (Bolt attaches it): the step completes with it.
        run = StepRun(
            functions=client,
            team_id=context.team_id or "",
            enterprise_id=context.enterprise_id,
            execution_id=context.function_execution_id or "",
            inputs=inputs or {},
        )
        deps.tasks.spawn(deps.deployments.run_step(run), name=f"step-{run.execution_id}")

    app.function(ids.START_DEPLOYMENT_STEP)(start_deployment)
