"""What the user reads after a start: each vendor outcome mapped to a sentence and a next step."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from blocks.text import code, escape

NO_RESPONSE = "no response"


class Result(StrEnum):
    """The state a submission ends in; stored, and shown on the parent message."""

    STARTED = "started"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Outcome:
    """A settled start attempt, ready to render: design §4's error mapping lives here."""

    result: Result
    headline: str
    next_step: str | None
    external_deployment_id: str
    http_status: int | None = None
    deployment_id: str | None = None
    error: str | None = None

    @property
    def emoji(self) -> str:
        """The mark shown before the headline."""
        return {Result.STARTED: "✅", Result.FAILED: "❌", Result.UNKNOWN: "⚠️"}[self.result]

    @property
    def facts(self) -> list[tuple[str, str]]:
        """The context line under a reply: status, IDs."""
        facts = [("HTTP status", str(self.http_status) if self.http_status else NO_RESPONSE)]
        if self.deployment_id:
            facts.append(("deployment_id", code(self.deployment_id)))
        facts.append(("external_deployment_id", code(self.external_deployment_id)))
        return facts


def started(
    *, deployment_id: str, external_id: str, http_status: int | None = 200, after: str | None = None
) -> Outcome:
    """The vendor answered with a deployment ID, or a look-up found one after an unclear answer."""
    headline = f"Deployment started: {code(deployment_id)}."
    if after:
        headline = (
            f"Deployment started: {code(deployment_id)}. Hiveon's first answer was unclear "
            f"({escape(after)}), so deploybot looked it up by its external ID and found it."
        )
    return Outcome(
        Result.STARTED,
        headline,
        None,
        external_id,
        http_status=http_status,
        deployment_id=deployment_id,
    )


def rejected(
    *,
    status: int,
    vendor_message: str | None,
    machine_id: str,
    external_id: str,
    command: str = "/deploy",
) -> Outcome:
    """The vendor refused the request with a 4xx: nothing was started."""
    quoted = f" Hiveon says: “{escape(vendor_message)}”" if vendor_message else ""
    headline, next_step = _REJECTIONS.get(status, _REJECTIONS[400])
    headline = headline.format(machine=code(machine_id))
    return Outcome(
        Result.FAILED,
        f"{headline}{quoted}",
        next_step.format(command=f"`{command}`", admin_command=f"`{command} api-key`"),
        external_id,
        http_status=status,
        error=f"HTTP {status}" + (f": {vendor_message}" if vendor_message else ""),
    )


_REJECTIONS: dict[int, tuple[str, str]] = {
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


def not_started(
    *,
    status: int | None,
    reason: str,
    external_id: str,
    command: str = "/deploy",
    reached: bool = True,
) -> Outcome:
    """Hiveon failed (a look-up then found nothing) or was never reached: nothing was started."""
    if reached:
        what = f"Hiveon failed ({escape(reason)}) and a look-up by external ID found nothing"
    else:
        what = f"Hiveon could not be reached ({escape(reason)})"
    return Outcome(
        Result.FAILED,
        f"{what}, so nothing was started.",
        f"It is safe to retry: run `{command}` again in a minute.",
        external_id,
        http_status=status,
        error=reason,
    )


def unknown(
    *, status: int | None, reason: str, external_id: str, command: str = "/deploy"
) -> Outcome:
    """Hiveon's answer was unclear and looking the deployment up failed too."""
    return Outcome(
        Result.UNKNOWN,
        f"The outcome is unknown: Hiveon's answer was unclear ({escape(reason)}) and looking "
        "the deployment up by its external ID failed too.",
        f"Do not deploy again blindly: look up {code(external_id)} in Hiveon first; "
        f"if it is not there, run `{command}` again.",
        external_id,
        http_status=status,
        error=reason,
    )


def taken(
    *, deployment_id: str, status: int | None, external_id: str, command: str = "/deploy"
) -> Outcome:
    """Hiveon answered with a deployment ID another submission of the workspace already has."""
    return Outcome(
        Result.UNKNOWN,
        f"The outcome is unknown: Hiveon answered with deployment {code(deployment_id)}, which "
        "another submission in this workspace already started, so deploybot did not take it as "
        "this one's.",
        f"Look up {code(external_id)} in Hiveon before deploying again; if it is not there, run "
        f"`{command}` again.",
        external_id,
        http_status=status,
        error=f"deployment ID {deployment_id} already held by another submission",
    )


def no_api_key(*, external_id: str, command: str = "/deploy") -> Outcome:
    """The workspace has no API key of its own and there is no default: nothing was sent."""
    return Outcome(
        Result.FAILED,
        "This workspace has no Hiveon API key, so nothing was sent to Hiveon.",
        NO_KEY_NEXT_STEP.format(admin_command=f"`{command} api-key`"),
        external_id,
        error="no API key",
    )


NO_KEY_NEXT_STEP = (
    "A workspace admin must set one with {admin_command} (or whoever runs deploybot, a default "
    "`HIVEON_API_KEY`)."
)
