"""The slash command: open the deploy modal (prefilled), help, and helpful refusals."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids, messages
from blocks.modal import deploy_modal
from bot.form import OpenModal, ShowHelp, Subcommand, Unusable, parse_command_text
from bot.listeners import Deps, SubcommandCall
from bot.messenger import SLACK_FAILURES, Messenger
from bot.modal_context import ModalContext

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the slash command."""

    async def deploy_command(
        ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        parsed = parse_command_text(command.get("text") or "", command=deps.command)
        if isinstance(parsed, ShowHelp):
            help_text = messages.help_message(
                command=deps.command, extra_subcommands=deps.help_lines
            )
            await ack(**help_text)
        elif isinstance(parsed, Unusable):
            await ack(**messages.notice(text=parsed.message))
        elif isinstance(parsed, Subcommand) and parsed.name in deps.subcommands:
            call = SubcommandCall(ack, command, context, client, parsed.args)
            await deps.subcommands[parsed.name].handler(call)
        elif isinstance(parsed, Subcommand):
            await ack(
                **messages.notice(
                    text=f"`{deps.command} {parsed.name}` is not available in this version. "
                    f"`{deps.command} help` lists what is."
                )
            )
        elif isinstance(parsed, OpenModal):
            # The ack goes first; the modal opens right after it, within trigger_id's 3 seconds.
            await ack()
            deps.tasks.spawn(
                open_deploy_modal(
                    deps,
                    client=client,
                    enterprise_id=context.enterprise_id,
                    team_id=context.team_id or "",
                    user_id=context.user_id or "",
                    trigger_id=command["trigger_id"],
                    channel_id=command.get("channel_id"),
                    response_url=command.get("response_url"),
                    prefill=parsed.prefill,
                ),
                name=f"open-modal-{command['trigger_id']}",
            )

    app.command(deps.command)(deploy_command)


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
    prefill: dict[str, str],
) -> None:
    """Open the deploy modal, or tell the user why it cannot be used."""
    messenger = Messenger(client, user_id=user_id, response_url=response_url)
    if not await deps.service.has_api_key(enterprise_id, team_id):
        await messenger.tell_user(messages.notice(text=deps.service.no_api_key_text))
        return
    view = deploy_modal(
        # A fresh idempotency key per modal, unless the user named their own in the command.
        external_deployment_id=prefill.get(ids.EXTERNAL_DEPLOYMENT_ID) or str(uuid.uuid4()),
        private_metadata=ModalContext(channel_id=channel_id, response_url=response_url).dump(),
        prefill=prefill,
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
