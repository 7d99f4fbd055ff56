"""The deploy modal's submission: field errors in the ack, or close it and start the deployment."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.text import plain_quotes
from bot.listeners import Deps
from bot.service import FormSubmission


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the modal submission."""

    async def submit_deployment(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        submission = await deps.deployments.check_form(
            FormSubmission(
                client=client,
                team_id=context.team_id or "",
                enterprise_id=context.enterprise_id,
                user_id=context.user_id or "",
                values=view.get("state", {}).get("values", {}),
                private_metadata=view.get("private_metadata"),
                # Slack's `response_urls` of the form's channel select, when it had one.
                response_url=context.response_url,
            )
        )
        if isinstance(submission, dict):
            # Slack shows field errors as plain text: quote instead of code marks.
            errors = {block: plain_quotes(message) for block, message in submission.items()}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        deps.tasks.spawn(
            deps.deployments.submit_if_allowed(submission, client),
            name=f"submit-{submission.external_id}",
        )

    app.view(ids.DEPLOY_MODAL)(submit_deployment)
