"""The guardrails' listeners: Approve and Reject (and its modal), Extend and Stop now, and
`/deploy extend`. Each acks and hands the request to the approval or automatic-stop service."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from blocks import guardrails as guardrail_blocks
from blocks import ids
from bot.approvals import ApprovalService, reason_problem
from bot.auto_stop import AutoStopService
from bot.command_text import read_extend
from bot.listeners import Deps, SubcommandCall, asker_of, button


def register(
    app: AsyncApp, deps: Deps, approvals: ApprovalService, auto_stop: AutoStopService
) -> None:
    """Wire the buttons, the reject modal and `/deploy extend`."""

    async def reject(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if (errors := reason_problem(view)) is not None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        deps.tasks.spawn(approvals.reject(asker_of(context, client, {}), view), name="reject")

    async def extend_command(call: SubcommandCall) -> None:
        order = read_extend(call.args)
        if order is None:
            await call.ack(**guardrail_blocks.extend_usage_notice(command=deps.command))
            return
        if isinstance(order, str):
            await call.ack(**guardrail_blocks.duration_notice(problem=order))
            return
        await call.ack()
        deps.tasks.spawn(
            auto_stop.extend(call.asker, order.deployment, order.by),
            name=f"extend-{order.deployment}",
        )

    app.action(ids.APPROVE_DEPLOYMENT)(button(deps, approvals.approve, "approve"))
    app.action(ids.REJECT_DEPLOYMENT)(button(deps, approvals.open_reject_modal, "reject"))
    app.action(ids.EXTEND_DEPLOYMENT)(button(deps, auto_stop.extend_clicked, "extend"))
    app.action(ids.STOP_NOW)(button(deps, auto_stop.stop_now, "stop-now"))
    app.view(ids.REJECT_MODAL)(reject)
    deps.add_subcommand("extend", extend_command)
