"""The deploy modal's submission: field errors in the ack, or close it and start the deployment."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.text import plain_quotes
from bot.form import parse_submission, read_stop_after
from bot.listeners import Deps
from bot.modal_context import ModalContext
from bot.service import Submission


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the modal submission."""

    async def submit_deployment(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        team_id = context.team_id or ""
        values = view.get("state", {}).get("values", {})
        stop_after = read_stop_after(values)
        parsed = await deps.deployments.check_submission(
            team_id,
            parse_submission(values),
            enterprise_id=context.enterprise_id,
            stop_after=stop_after,
        )
        if isinstance(parsed, dict):
            # Slack shows field errors as plain text: quote instead of code marks.
            errors = {block: plain_quotes(message) for block, message in parsed.items()}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        where = ModalContext.load(view.get("private_metadata"))
        user_id = context.user_id or ""
        submission = Submission(
            team_id=team_id,
            enterprise_id=context.enterprise_id,
            user_id=user_id,
            # Without a channel (a modal opened elsewhere) the conversation is the user's DM.
            channel_id=where.channel_id or user_id,
            request=parsed,
            response_url=where.response_url,
            stop_after=stop_after[0],
        )
        deps.tasks.spawn(
            deps.deployments.submit_if_allowed(submission, client),
            name=f"submit-{submission.external_id}",
        )

    app.view(ids.DEPLOY_MODAL)(submit_deployment)
