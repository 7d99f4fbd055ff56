"""The slash command: open the deploy modal (prefilled), help, subcommands, helpful refusals."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import messages, notices
from bot.command_text import OpenModal, ShowHelp, Subcommand, Unusable, parse_command_text
from bot.form import Prefill
from bot.listeners import Deps, SubcommandCall, asker_of


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire the slash command and its follow-up subcommands."""

    async def deploy_command(
        ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        parsed = parse_command_text(command.get("text") or "", command=deps.command)
        if isinstance(parsed, ShowHelp):
            subcommands = [messages.SUBCOMMANDS[name] for name in deps.subcommands]
            await ack(**messages.help_message(command=deps.command, extra_subcommands=subcommands))
        elif isinstance(parsed, Unusable):
            await ack(**messages.notice(text=parsed.message))
        elif isinstance(parsed, Subcommand) and parsed.name in deps.subcommands:
            call = SubcommandCall(ack, command, context, client, parsed.args)
            await deps.subcommands[parsed.name](call)
        elif isinstance(parsed, Subcommand):
            await ack(
                **notices.unavailable_subcommand_notice(
                    command=deps.command, subcommand=parsed.name
                )
            )
        elif isinstance(parsed, OpenModal):
            # The ack goes first; the modal opens right after it, within trigger_id's 3 seconds.
            await ack()
            asker = asker_of(context, client, command)
            deps.tasks.spawn(
                deps.deployments.open_deploy_modal(
                    asker,
                    Prefill(fields=parsed.prefill),
                    # A bare word may name a preset; if the workspace has none by that name, it
                    # is the image.
                    preset=parsed.preset,
                    preset_or_image=True,
                ),
                name=f"open-modal-{asker.trigger_id}",
            )

    register_follow_up(deps)
    app.command(deps.command)(deploy_command)


def register_follow_up(deps: Deps) -> None:
    """`/deploy status|stop|history|curl`: the buttons' work from the keyboard."""

    async def show_status(call: SubcommandCall) -> None:
        if not call.args:
            await call.ack(**notices.which_one_notice(command=deps.command, subcommand="status"))
            return
        await call.ack()
        deps.tasks.spawn(
            deps.follow_up.status(call.asker, call.args[0]), name=f"status-{call.args[0]}"
        )

    async def ask_to_stop(call: SubcommandCall) -> None:
        if not call.args:
            await call.ack(**notices.which_one_notice(command=deps.command, subcommand="stop"))
            return
        await call.ack()
        deps.tasks.spawn(
            deps.follow_up.confirm_stop(call.asker, call.args[0]), name=f"stop-{call.args[0]}"
        )

    async def show_history(call: SubcommandCall) -> None:
        await call.ack()
        deps.tasks.spawn(deps.follow_up.history(call.asker), name="history")

    async def copy_as_curl(call: SubcommandCall) -> None:
        if not call.args:
            await call.ack(**notices.which_one_notice(command=deps.command, subcommand="curl"))
            return
        await call.ack()
        deps.tasks.spawn(
            deps.follow_up.copy_as_curl(call.asker, call.args[0]), name=f"curl-{call.args[0]}"
        )

    deps.add_subcommand("status", show_status)
    deps.add_subcommand("stop", ask_to_stop)
    deps.add_subcommand("history", show_history)
    deps.add_subcommand("curl", copy_as_curl)
