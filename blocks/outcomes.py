"""What a user reads once a start has settled: the outcome, what to do next, and the IDs."""

from collections.abc import Mapping
from typing import Final

from blocks.messages import Message, notice, thread_reply
from blocks.text import code, escape, mention

NO_RESPONSE: Final = "no response"
RESTARTED: Final = "deploybot restarted before Hiveon answered"

# What happened (bot.outcome.Kind's values) -> the mark before the headline: started,
# nothing started, or unknown.
_MARKS: Final[Mapping[str, str]] = {
    "started": "✅",
    "found": "✅",
    "rejected": "❌",
    "not_found": "❌",
    "unreachable": "❌",
    "untrusted": "❌",
    "unknown": "⚠️",
    "taken": "⚠️",
}

# The kinds that started a deployment: their reply stays in the thread, naming nobody.
_STARTS: Final = frozenset({"started", "found"})

# HTTP status -> (headline, next step); any other 4xx reads like a 400.
_REJECTIONS: Final[Mapping[int, tuple[str, str]]] = {
    400: (
        "Hiveon rejected the request, nothing was started.",
        "Edit and retry: run {command} again with the fields corrected.",
    ),
    401: (
        "Hiveon refused this workspace's API key, nothing was started.",
        (
            "A workspace admin can set a valid key with {admin_command} (or whoever runs "
            "deploybot, the default `HIVEON_API_KEY`)."
        ),
    ),
    403: (
        "This workspace's API key lacks the role to deploy on machine {machine}; nothing started.",
        "Ask your Hiveon account owner for the role, or pick a machine this key may use.",
    ),
    404: (
        "Machine {machine} was not found, nothing was started.",
        "Check the machine ID (and its price ID) and run {command} again.",
    ),
    409: (
        "Hiveon reports a conflict with this deployment, nothing new was started.",
        "Look the deployment up in Hiveon by its external ID before deploying again.",
    ),
    429: (
        (
            "Hiveon is rate-limiting requests and still was after deploybot waited and retried, "
            "so nothing was started."
        ),
        "Wait a minute, then run {command} again.",
    ),
}

# Kind -> headline; {deployment} and {taken} are IDs, {cause} why Hiveon's answer settled nothing.
_HEADLINES: Final[Mapping[str, str]] = {
    "started": "Deployment started: {deployment}.",
    "found": (
        "Deployment started: {deployment}. Hiveon's first answer was unclear ({cause}), so "
        "deploybot looked it up by its external ID and found it."
    ),
    "not_found": (
        "Hiveon failed ({cause}) and a look-up by external ID found nothing, so nothing was "
        "started."
    ),
    "unreachable": "Hiveon could not be reached ({cause}), so nothing was started.",
    "untrusted": (
        "Hiveon's TLS certificate could not be verified, so nothing was sent and nothing was "
        "started."
    ),
    "unknown": (
        "The outcome is unknown: Hiveon's answer was unclear ({cause}) and looking the "
        "deployment up by its external ID failed too."
    ),
    "taken": (
        "The outcome is unknown: Hiveon answered with deployment {taken}, which another "
        "submission in this workspace already started, so deploybot did not take it as this "
        "one's."
    ),
}

# Kind -> what to do next; a start needs none.
_NEXT_STEPS: Final[Mapping[str, str]] = {
    "not_found": "It is safe to retry: run {command} again in a minute.",
    "unreachable": "It is safe to retry: run {command} again in a minute.",
    "untrusted": (
        "Retrying will not help until whoever runs deploybot makes the certificate trusted "
        "(the machine's CA certificates, or `SSL_CERT_FILE`): tell them."
    ),
    "unknown": (
        "Do not deploy again blindly: look up {external_id} in Hiveon first; if it is not "
        "there, run {command} again."
    ),
    "taken": (
        "Look up {external_id} in Hiveon before deploying again; if it is not there, run "
        "{command} again."
    ),
}

_NO_KEY_NEXT_STEP: Final = (
    "A workspace admin must set one with {admin_command} (or whoever runs deploybot, a default "
    "`HIVEON_API_KEY`)."
)


def outcome_reply(  # noqa: PLR0913 — one keyword per fact of the outcome, all keyword-only
    *,
    kind: str,
    external_deployment_id: str,
    command: str,
    http_status: int | None = None,
    deployment_id: str | None = None,
    reason: str | None = None,
    vendor_message: str | None = None,
    machine_id: str = "",
    taken_deployment_id: str | None = None,
    requester: str | None = None,
) -> Message:
    """The thread reply that reports how a start ended: what happened, the next step, the IDs.

    `kind` is what happened (bot.outcome.Kind). `reason` is Hiveon's error as its client
    describes it, None when deploybot restarted before Hiveon answered; `vendor_message` is what
    Hiveon said when it refused the request; `taken_deployment_id` is the ID Hiveon answered that
    another submission already holds. `requester` is mentioned when nothing (surely) started:
    that reply is also shown in the channel.
    """
    headline = _headline(
        kind,
        http_status=http_status,
        deployment_id=deployment_id,
        reason=reason,
        vendor_message=vendor_message,
        machine_id=machine_id,
        taken_deployment_id=taken_deployment_id,
    )
    if requester and kind not in _STARTS:
        headline = f"{mention(requester)} {headline}"
    facts = [("HTTP status", str(http_status) if http_status else NO_RESPONSE)]
    if deployment_id:
        facts.append(("deployment_id", code(deployment_id)))
    facts.append(("external_deployment_id", code(external_deployment_id)))
    return thread_reply(
        emoji=_MARKS[kind],
        headline=headline,
        next_step=_next_step(
            kind, http_status=http_status, external_id=external_deployment_id, command=command
        ),
        facts=facts,
    )


def outcome_headline(  # noqa: PLR0913 — one keyword per fact of the outcome, all keyword-only
    *,
    kind: str,
    http_status: int | None = None,
    deployment_id: str | None = None,
    reason: str | None = None,
    vendor_message: str | None = None,
    machine_id: str = "",
    taken_deployment_id: str | None = None,
) -> str:
    """The outcome in one line, after its mark: the detail line of the deployment's message."""
    headline = _headline(
        kind,
        http_status=http_status,
        deployment_id=deployment_id,
        reason=reason,
        vendor_message=vendor_message,
        machine_id=machine_id,
        taken_deployment_id=taken_deployment_id,
    )
    return f"{_MARKS[kind]} {headline}"


def no_api_key_notice(*, command: str) -> Message:
    """Why nothing was sent: the workspace has no Hiveon API key, and no default serves it."""
    next_step = _NO_KEY_NEXT_STEP.format(admin_command=f"`{command} api-key`")
    return notice(
        text=f"❌ This workspace has no Hiveon API key, so nothing was sent to Hiveon. {next_step}"
    )


def _headline(  # noqa: PLR0913 — the facts a headline may name
    kind: str,
    *,
    http_status: int | None,
    deployment_id: str | None,
    reason: str | None,
    vendor_message: str | None,
    machine_id: str,
    taken_deployment_id: str | None,
) -> str:
    if kind == "rejected":
        headline, _ = _REJECTIONS.get(http_status or 0, _REJECTIONS[400])
        quoted = f" Hiveon says: “{escape(vendor_message)}”" if vendor_message else ""
        return headline.format(machine=code(machine_id)) + quoted
    return _HEADLINES[kind].format(
        deployment=code(deployment_id or ""),
        cause=_cause(http_status, reason),
        taken=code(taken_deployment_id or ""),
    )


def _next_step(kind: str, *, http_status: int | None, external_id: str, command: str) -> str | None:
    if kind == "rejected":
        _, next_step = _REJECTIONS.get(http_status or 0, _REJECTIONS[400])
    elif kind in _NEXT_STEPS:
        next_step = _NEXT_STEPS[kind]
    else:
        return None
    return next_step.format(
        command=f"`{command}`", admin_command=f"`{command} api-key`", external_id=code(external_id)
    )


def _cause(http_status: int | None, reason: str | None) -> str:
    """Why Hiveon's answer settled nothing, escaped: its status and reason, or a restart."""
    if reason is None:
        return RESTARTED
    return escape(f"HTTP {http_status}, {reason}" if http_status is not None else reason)
