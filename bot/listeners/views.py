"""The deploy modal's submission: field errors in the ack, or close it and start the deployment."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.text import plain_quotes
from bot.form import EXTERNAL_ID_IS_A_DEPLOYMENT_ID, parse_submission
from bot.listeners import Deps
from bot.messenger import Messenger
from bot.modal_context import ModalContext
from bot.service import Submission


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the modal submission."""

    async def submit_deployment(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        parsed = parse_submission(view.get("state", {}).get("values", {}))
        if not isinstance(parsed, dict) and await deps.store.holds_deployment_id(
            team_id=context.team_id or "", deployment_id=parsed.external_deployment_id or ""
        ):
            # Looked up by it, a deployment ID would find that deployment, not this submission.
            parsed = {ids.EXTERNAL_DEPLOYMENT_ID: EXTERNAL_ID_IS_A_DEPLOYMENT_ID}
        if isinstance(parsed, dict):
            # Slack shows field errors as plain text: quote instead of code marks.
            errors = {block: plain_quotes(message) for block, message in parsed.items()}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        where = ModalContext.load(view.get("private_metadata"))
        user_id = context.user_id or ""
        submission = Submission(
            team_id=context.team_id or "",
            enterprise_id=context.enterprise_id,
            user_id=user_id,
            # Without a channel (a modal opened elsewhere) the conversation is the user's DM.
            channel_id=where.channel_id or user_id,
            request=parsed,
            response_url=where.response_url,
        )
        messenger = Messenger(client, user_id=user_id, response_url=where.response_url)
        deps.tasks.spawn(
            submit_if_allowed(deps, client, submission, messenger),
            name=f"submit-{submission.external_id}",
        )

    app.view(ids.DEPLOY_MODAL)(submit_deployment)


async def submit_if_allowed(
    deps: Deps, client: AsyncWebClient, submission: Submission, messenger: Messenger
) -> None:
    """Start the deployment, unless the workspace's settings refuse this user or channel."""
    if deps.gate is not None:
        refused = await deps.gate.refusal(
            client,
            enterprise_id=submission.enterprise_id,
            team_id=submission.team_id,
            user_id=submission.user_id,
            channel_id=submission.channel_id,
        )
        if refused is not None:
            await messenger.tell_user(refused)
            return
    await deps.service.submit(submission, messenger)
