"""Presets: `/deploy presets` and `/deploy preset NAME`, the list's Deploy and Delete buttons,
and the deploy form's preset select (its options as you type, and the refill once picked)."""

from __future__ import annotations

import shlex
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids, messages, notices
from bot.command_text import OpenModal, parse_command_text
from bot.form import Prefill
from bot.listeners import Deps, SubcommandCall, asker_of, button
from bot.presets import PresetService


def register(app: AsyncApp, deps: Deps, presets: PresetService) -> None:
    """Wire the preset subcommands, buttons and select."""
    _register_commands(deps, presets)

    async def offer_presets(
        ack: AsyncAck, payload: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        # Slack waits for the options in the ack: one read of the workspace's presets.
        typed = str(payload.get("value") or "")
        await ack(**await presets.options(context.team_id or "", typed))

    async def refill_form(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        chosen = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value")
        if not isinstance(chosen, str) or not chosen:
            return
        asker = asker_of(context, client, body)
        deps.tasks.spawn(
            deps.deployments.refill_from_preset(asker, body.get("view") or {}, chosen),
            name=f"refill-{chosen}",
        )

    app.options(ids.PRESET)(offer_presets)
    app.action(ids.PRESET)(refill_form)
    # The buttons carry the preset's name; the workspace comes from the context.
    app.action(ids.DEPLOY_PRESET)(button(deps, presets.deploy, "preset-deploy"))
    app.action(ids.DELETE_PRESET)(button(deps, presets.delete, "preset-delete"))


def _register_commands(deps: Deps, presets: PresetService) -> None:
    async def list_presets(call: SubcommandCall) -> None:
        await call.ack()
        containing = " ".join(call.args)
        deps.tasks.spawn(presets.show(call.asker, containing), name="presets")

    async def open_preset(call: SubcommandCall) -> None:
        if not call.args:
            await call.ack(**notices.which_one_notice(command=deps.command, subcommand="preset"))
            return
        name, options = call.args[0], call.args[1:]
        parsed = parse_command_text(shlex.join(options), command=deps.command)
        if not isinstance(parsed, OpenModal) or parsed.preset is not None:
            # Only `key=value` options may follow the name: a second bare word is a mistake.
            await call.ack(**messages.help_message(command=deps.command))
            return
        await call.ack()
        asker = call.asker
        deps.tasks.spawn(
            deps.deployments.open_deploy_modal(asker, Prefill(fields=parsed.prefill), preset=name),
            name=f"open-preset-{name}",
        )

    deps.add_subcommand("presets", list_presets)
    deps.add_subcommand("preset", open_preset)
