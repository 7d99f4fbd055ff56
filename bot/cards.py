"""What a deployment's message, status replies and history lines show, from its stored row."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from blocks import guardrails, history, messages, replies
from bot.deployment import DOCKER_HUB_SERVER, PortMapping, format_ports
from bot.models import AWAITING_APPROVAL, EXPIRED, REJECTED, Deployment

# Hiveon's status enum → the word the card uses (blocks.messages.STATUSES keys).
VENDOR_STATES = {
    "STATUS_PENDING": "pending",
    "STATUS_RUNNING": "running",
    "STATUS_STOPPING": "stopping",
    "STATUS_STOPPED": "stopped",
    "STATUS_FAILED": "failed",
}
SETTLED = frozenset({"STATUS_STOPPED", "STATUS_FAILED"})


def card(  # noqa: PLR0913 — one keyword per fact on the card
    *,
    user_id: str,
    request: dict[str, Any],
    external_id: str,
    status: str,
    deployment_id: str | None = None,
    detail: str | None = None,
    buttons: Collection[str] = (),
    notes: Sequence[str] = (),
) -> messages.Message:
    """The parent message, from the stored (redacted) request; `notes` from `notes_of`."""
    config = request.get("container_config", {})
    return messages.deployment_message(
        user_id=user_id,
        image=str(config.get("image", "")),
        machine_id=str(request.get("machine_id", "")),
        machine_price_id=str(request.get("machine_price_id", "")),
        ports=_ports(config.get("ports", [])),
        external_deployment_id=external_id,
        status=status,
        deployment_id=deployment_id,
        detail=detail,
        buttons=buttons,
        notes=notes,
    )


def card_of(
    row: Deployment,
    *,
    status: str,
    detail: str | None = None,
    buttons: Collection[str] = (),
    settled: bool = False,
) -> messages.Message:
    """A recorded deployment's parent message: `card` with the row's facts and its notes
    (`notes_of`, `settled` as there)."""
    return card(
        user_id=row.user_id,
        request=row.request,
        external_id=row.external_deployment_id,
        status=status,
        deployment_id=row.deployment_id,
        detail=detail,
        buttons=buttons,
        notes=notes_of(row, settled=settled),
    )


def notes_of(row: Deployment, *, settled: bool = False) -> list[str]:
    """What the guardrails add to a deployment's message: who approved (or rejected, or that
    it expired), and when it stops automatically (or that it did, after how long); nothing is
    stopped any more once it `settled`."""
    notes = []
    if row.status == REJECTED and row.decided_by:
        notes.append(
            guardrails.rejected_note(
                by=row.decided_by, requester=row.user_id, reason=row.rejection_reason or ""
            )
        )
    elif row.status == EXPIRED:
        notes.append(guardrails.expired_note())
    elif row.decided_by and row.status != AWAITING_APPROVAL:
        notes.append(guardrails.approved_note(by=row.decided_by))
    if row.stopped_automatically_at and row.started_at:
        ran = (row.stopped_automatically_at - row.started_at).total_seconds()
        notes.append(guardrails.stopped_note(after_s=ran))
    elif row.stop_at and not settled:
        notes.append(guardrails.stops_at_note(stops_at=row.stop_at))
    elif row.stop_after_s and row.status == AWAITING_APPROVAL:
        notes.append(guardrails.stop_after_note(stop_after_s=row.stop_after_s))
    return notes


def approval_request(row: Deployment, *, approvers: Sequence[str]) -> messages.Message:
    """The message of a deployment that awaits approval: its whole (redacted) request."""
    request = row.request
    config = request.get("container_config") or {}
    auth = config.get("docker_auth") or {}
    registry = None
    if auth.get("login"):
        registry = (str(auth.get("server") or DOCKER_HUB_SERVER), str(auth["login"]))
    return guardrails.approval_request_message(
        user_id=row.user_id,
        image=str(config.get("image", "")),
        machine_id=str(request.get("machine_id", "")),
        machine_price_id=str(request.get("machine_price_id", "")),
        ports=_ports(config.get("ports", [])),
        external_deployment_id=row.external_deployment_id,
        environment=_pairs(config.get("environment_variables")),
        metadata=_pairs(request.get("metadata")),
        ssh_keys=[str(key) for key in request.get("ssh_pub_keys") or []],
        startup_script=config.get("startup_script") or None,
        registry=registry,
        stop_after_s=row.stop_after_s,
        approvers=approvers,
        expires_at=row.approval_expires_at or row.created_at,
    )


def _pairs(raw: object) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in raw.items()] if isinstance(raw, dict) else []


def current_state(row: Deployment) -> str:
    """The word for where a deployment is now: Hiveon's last status, else the start's outcome."""
    return state_word(row.vendor_status) if row.vendor_status else row.status


def state_word(vendor_status: str) -> str:
    """`STATUS_RUNNING` → `running`; unknown states keep their own name."""
    return VENDOR_STATES.get(vendor_status, vendor_status.removeprefix("STATUS_").lower())


def status_detail(vendor_status: str, moment: datetime, fail_reason: str | None) -> str:
    """The parent's detail line: the state and how long it has lasted."""
    return replies.status_detail(
        status_name=state_word(vendor_status), since=moment, fail_reason=fail_reason
    )


def status_reply(
    *,
    vendor_status: str,
    deployment_id: str,
    fail_reason: str | None,
    by: str | None = None,
    requester: str | None = None,
) -> messages.Message:
    """The thread reply that reports a state: Hiveon's status as one deploybot knows, or not;
    a failure mentions `requester`."""
    return replies.status_reply(
        state=VENDOR_STATES.get(vendor_status),
        status_name=state_word(vendor_status),
        deployment_id=deployment_id,
        fail_reason=fail_reason,
        by=by,
        requester=requester,
    )


def describe_fail_reason(code_value: int | None, message: str | None) -> str | None:
    """`fail_reason` as one line: `code 3: image pull failed`."""
    if code_value is None and not message:
        return None
    if code_value is None:
        return message
    return f"code {code_value}: {message}" if message else f"code {code_value}"


def history_lines(rows: list[Deployment]) -> list[str]:
    """Each deployment as a history line with a link to its thread."""
    return [
        history.deployment_line(
            created_at=int(row.created_at.timestamp()),
            user_id=row.user_id,
            image=str((row.request.get("container_config") or {}).get("image", "")),
            machine_id=str(row.request.get("machine_id", "")),
            status=current_state(row),
            link=thread_link(row),
        )
        for row in rows
    ]


def thread_link(row: Deployment) -> str | None:
    """A link to the deployment's message; Slack opens it in the right workspace."""
    if not (row.message_channel and row.message_ts):
        return None
    return f"https://slack.com/archives/{row.message_channel}/p{row.message_ts.replace('.', '')}"


def _ports(raw: object) -> list[str]:
    if not isinstance(raw, list):
        return []
    try:
        return format_ports([PortMapping.model_validate(item) for item in raw])
    except ValidationError:
        return []
