"""Admin listeners: `/deploy api-key` and `/deploy settings`, their modals, and uninstalls.

Each acks (with a field error or the "checking" view when Slack must read one in the ack) and
hands the request to the admin service (bot.administration) in a background task.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import admin as admin_blocks
from blocks import guardrails as guardrail_blocks
from blocks import ids
from blocks.text import plain_quotes
from bot.administration import (
    AdminRequest,
    AdminService,
    KeyProblem,
    chosen_access,
    chosen_guardrails,
    typed_key,
)
from bot.command_text import read_freeze
from bot.listeners import Deps, SubcommandCall
from bot.modal_context import ModalContext

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps, admin: AdminService) -> None:
    """Wire `/deploy api-key`, `/deploy settings`, their modals and the uninstall events."""
    _register_commands(deps, admin)
    _register_modals(app, deps, admin)

    async def forget_workspace(event: dict[str, Any], context: AsyncBoltContext) -> None:
        deps.tasks.spawn(
            admin.forget(
                event,
                enterprise_id=context.enterprise_id,
                team_id=context.team_id,
                is_enterprise_install=bool(context.is_enterprise_install),
            ),
            name=f"forget-{context.team_id or context.enterprise_id}",
        )

    app.event("app_uninstalled")(forget_workspace)
    app.event("tokens_revoked")(forget_workspace)


def _register_commands(deps: Deps, admin: AdminService) -> None:
    async def api_key_command(call: SubcommandCall) -> None:
        request = _command_request(call)
        if request is None:
            await call.ack(**admin_blocks.no_workspace_notice())
            return
        await call.ack()
        deps.tasks.spawn(
            admin.open_api_key_modal(request, trigger_id=call.command["trigger_id"]),
            name=f"api-key-open-{request.user_id}",
        )

    async def settings_command(call: SubcommandCall) -> None:
        request = _command_request(call)
        if request is None:
            await call.ack(**admin_blocks.no_workspace_notice())
            return
        await call.ack()
        deps.tasks.spawn(
            admin.open_settings_modal(request, trigger_id=call.command["trigger_id"]),
            name=f"settings-open-{request.user_id}",
        )

    async def freeze_command(call: SubcommandCall) -> None:
        request = _command_request(call)
        order = read_freeze(call.args)
        if request is None:
            await call.ack(**admin_blocks.no_workspace_notice())
            return
        if order is None:
            await call.ack(**guardrail_blocks.freeze_usage_notice(command=deps.command))
            return
        await call.ack()
        deps.tasks.spawn(
            admin.freeze(request, reason=order.reason, lasting=order.lasting),
            name=f"freeze-{request.user_id}",
        )

    async def unfreeze_command(call: SubcommandCall) -> None:
        request = _command_request(call)
        if request is None:
            await call.ack(**admin_blocks.no_workspace_notice())
            return
        await call.ack()
        deps.tasks.spawn(admin.unfreeze(request), name=f"unfreeze-{request.user_id}")

    deps.add_subcommand("api-key", api_key_command)
    deps.add_subcommand("settings", settings_command)
    deps.add_subcommand("freeze", freeze_command)
    deps.add_subcommand("unfreeze", unfreeze_command)


def _register_modals(app: AsyncApp, deps: Deps, admin: AdminService) -> None:
    async def save_api_key(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        request = _view_request(view, context, client)
        api_key = typed_key(view)
        problem = admin.key_problem(api_key, request)
        if request is None or problem is not None:
            problem = problem or KeyProblem.NO_WORKSPACE
            errors = {ids.API_KEY: admin_blocks.key_problem(problem=problem.value)}
            await ack(response_action="errors", errors=errors)
            return
        # Hiveon's answer may take seconds: the modal says so at once and shows the result later.
        await ack(response_action="update", view=admin_blocks.checking_view())
        deps.tasks.spawn(
            admin.store_api_key(request, api_key, view_id=str(view.get("id") or "")),
            name=f"api-key-save-{request.user_id}",
        )

    async def remove_api_key(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        view = body.get("view") or {}
        request = _view_request(view, context, client)
        if request is None:
            log.warning("a key removal came without a workspace; ignored")
            return
        deps.tasks.spawn(
            admin.remove_key(request, view_id=str(view.get("id") or "")),
            name=f"api-key-remove-{request.user_id}",
        )

    async def save_settings(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        request = _view_request(view, context, client)
        if request is None:
            await ack(
                response_action="errors", errors={ids.ALLOWED_CHANNELS: admin_blocks.NO_WORKSPACE}
            )
            return
        guardrails = chosen_guardrails(view)
        if isinstance(guardrails, dict):
            # Slack shows field errors as plain text: quote instead of code marks.
            errors = {block: plain_quotes(message) for block, message in guardrails.items()}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        deps.tasks.spawn(
            admin.store_settings(request, chosen_access(view), guardrails),
            name=f"settings-save-{request.user_id}",
        )

    app.view(ids.API_KEY_MODAL)(save_api_key)
    app.view(ids.SETTINGS_MODAL)(save_settings)
    app.action(ids.REMOVE_API_KEY)(remove_api_key)


def _request(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    *,
    response_url: str | None,
    channel_id: str | None,
) -> AdminRequest | None:
    """Who asks, for the workspace Bolt verified; None when Slack named none."""
    return AdminRequest.of(
        client,
        enterprise_id=context.enterprise_id,
        team_id=context.team_id,
        is_enterprise_install=bool(context.is_enterprise_install),
        user_id=context.user_id or "",
        response_url=response_url,
        channel_id=channel_id,
    )


def _command_request(call: SubcommandCall) -> AdminRequest | None:
    command = call.command
    return _request(
        call.context,
        call.client,
        response_url=command.get("response_url"),
        channel_id=command.get("channel_id"),
    )


def _view_request(
    view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> AdminRequest | None:
    # Where the modal's command ran comes back in its metadata.
    where = ModalContext.load(view.get("private_metadata"))
    return _request(context, client, response_url=where.response_url, channel_id=where.channel_id)
