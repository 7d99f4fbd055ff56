"""Opening the deploy modal: from the command, Redeploy and the App Home."""

from __future__ import annotations

import logging
import uuid

from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids, messages, outcomes
from blocks.modal import deploy_modal
from bot.form import Prefill, prefill_from
from bot.listeners import Deps
from bot.messenger import Messenger
from bot.modal_context import ModalContext
from bot.slack_errors import SLACK_FAILURES

log = logging.getLogger(__name__)


async def open_deploy_modal(  # noqa: PLR0913 — everything the modal needs from the command
    deps: Deps,
    *,
    client: AsyncWebClient,
    enterprise_id: str | None,
    team_id: str,
    user_id: str,
    trigger_id: str,
    channel_id: str | None,
    response_url: str | None,
    prefill: Prefill,
) -> None:
    """Open the deploy modal, or tell the user why it cannot be used.

    Without a prefill the modal repeats the user's last deployment that started in this
    workspace ("same again"), secrets excepted.
    """
    messenger = Messenger(client, user_id=user_id, response_url=response_url)
    if deps.gate is not None and (
        refused := await deps.gate.refusal(
            client,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
        )
    ):
        await messenger.tell_user(refused)
        return
    if not await deps.service.has_api_key(enterprise_id, team_id):
        await messenger.tell_user(outcomes.no_api_key_notice(command=deps.command))
        return
    if not prefill.fields:
        last = await deps.store.last_started(team_id=team_id, user_id=user_id)
        if last is not None:
            prefill = prefill_from(last.request, requester=last.user_id, viewer=user_id)
    view = deploy_modal(
        # A fresh idempotency key per modal, unless the user named their own in the command.
        external_deployment_id=prefill.fields.get(ids.EXTERNAL_DEPLOYMENT_ID) or str(uuid.uuid4()),
        private_metadata=ModalContext(channel_id=channel_id, response_url=response_url).dump(),
        prefill=prefill.fields,
        masked=prefill.masked,
        script_withheld_from=prefill.script_withheld_from,
    )
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES:
        log.warning("views.open failed", exc_info=True)
        await messenger.tell_user(
            messages.notice(
                text="Slack did not let deploybot open the form in time. "
                f"Run `{deps.command}` again."
            )
        )
