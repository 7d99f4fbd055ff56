"""The slash command: open the deploy modal (prefilled), help, and helpful refusals."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import history as blocks_history
from blocks import ids, messages
from blocks.text import code, escape
from bot import cards
from bot.form import (
    OpenModal,
    Prefill,
    ShowHelp,
    Subcommand,
    Unusable,
    parse_command_text,
)
from bot.listeners import Deps, SubcommandCall
from bot.listeners.actions import Asked, find, find_stoppable
from bot.listeners.modal import open_deploy_modal

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the slash command."""

    async def deploy_command(
        ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        parsed = parse_command_text(command.get("text") or "", command=deps.command)
        if isinstance(parsed, ShowHelp):
            help_text = messages.help_message(
                command=deps.command,
                extra_subcommands=[messages.SUBCOMMANDS[name] for name in deps.subcommands],
            )
            await ack(**help_text)
        elif isinstance(parsed, Unusable):
            await ack(**messages.notice(text=parsed.message))
        elif isinstance(parsed, Subcommand) and parsed.name in deps.subcommands:
            call = SubcommandCall(ack, command, context, client, parsed.args)
            await deps.subcommands[parsed.name](call)
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
                    prefill=Prefill(fields=parsed.prefill),
                ),
                name=f"open-modal-{command['trigger_id']}",
            )

    register_follow_up(deps)
    app.command(deps.command)(deploy_command)


def register_follow_up(deps: Deps) -> None:
    """`/deploy status|stop|history`: the buttons' work from the keyboard."""

    def asked(call: SubcommandCall) -> Asked:
        return Asked(
            client=call.client,
            enterprise_id=call.context.enterprise_id,
            team_id=call.context.team_id or "",
            user_id=call.context.user_id or "",
            value=call.args[0] if call.args else "",
            trigger_id=str(call.command.get("trigger_id") or ""),
            channel_id=call.command.get("channel_id"),
            response_url=call.command.get("response_url"),
        )

    async def show_status(call: SubcommandCall) -> None:
        if not call.args:
            await call.ack(**messages.notice(text=f"Which one? `{deps.command} status <ID>`"))
            return
        await call.ack()
        deps.tasks.spawn(status(deps, asked(call)), name=f"status-{call.args[0]}")

    async def ask_to_stop(call: SubcommandCall) -> None:
        if not call.args:
            await call.ack(**messages.notice(text=f"Which one? `{deps.command} stop <ID>`"))
            return
        await call.ack()
        deps.tasks.spawn(confirm_stop(deps, asked(call)), name=f"stop-{call.args[0]}")

    async def show_history(call: SubcommandCall) -> None:
        await call.ack()
        deps.tasks.spawn(history(deps, asked(call)), name="history")

    deps.add_subcommand("status", show_status)
    deps.add_subcommand("stop", ask_to_stop)
    deps.add_subcommand("history", show_history)


async def status(deps: Deps, asked: Asked) -> None:
    """Fetch the status now (posted in the thread) and tell the user where it is."""
    row = await find(deps, asked)
    if row is None:
        return
    if row.deployment_id:
        await deps.follower.refresh(row, by=asked.user_id)
        row = await deps.store.get(row.id) or row
    state = cards.current_state(row)
    link = cards.thread_link(row)
    where = f" Details in <{link}|its thread>." if link else ""
    which = code(row.deployment_id or row.external_deployment_id)
    await asked.messenger.tell_user(messages.notice(text=f"{which} is *{escape(state)}*.{where}"))


async def confirm_stop(deps: Deps, asked: Asked) -> None:
    """Show the deployment with a Stop button and its confirm dialog, to those who may stop it."""
    row = await find_stoppable(deps, asked)
    if row is None:
        return
    await asked.messenger.tell_user(
        cards.card(
            user_id=row.user_id,
            request=row.request,
            external_id=row.external_deployment_id,
            status=cards.current_state(row),
            deployment_id=row.deployment_id,
            detail="Press *Stop* to stop it; you will be asked to confirm.",
            buttons=(ids.STOP_DEPLOYMENT,),
        )
    )


async def history(deps: Deps, asked: Asked) -> None:
    """The workspace's last 20 deployments, only to the user."""
    rows = await deps.store.recent(team_id=asked.team_id, limit=20)
    await asked.messenger.tell_user(
        blocks_history.history_message(lines=cards.history_lines(rows), command=deps.command)
    )
