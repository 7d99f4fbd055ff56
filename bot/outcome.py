"""How a start ended, as facts: what is stored about it, and what `blocks.outcomes` words."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from blocks import outcomes
from blocks.messages import Message

# Stored as the error of a start a restart interrupted (the user reads blocks.outcomes' words).
RESTARTED = "deploybot restarted before Hiveon answered"


class Result(StrEnum):
    """The state a submission ends in; stored, and shown on the parent message."""

    STARTED = "started"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Kind(StrEnum):
    """What happened, in the detail the user is told about it."""

    STARTED = "started"  # Hiveon answered with the deployment's ID
    FOUND = "found"  # an unclear answer, then a look-up by external ID found the deployment
    REJECTED = "rejected"  # Hiveon refused the request (4xx)
    NOT_FOUND = "not_found"  # Hiveon failed, and a look-up by external ID found nothing
    UNREACHABLE = "unreachable"  # the request never reached Hiveon
    UNTRUSTED = "untrusted"  # never sent: Hiveon's TLS certificate could not be verified
    UNKNOWN = "unknown"  # an unclear answer, and the look-up failed too
    TAKEN = "taken"  # Hiveon answered with a deployment ID another submission holds


_RESULTS = {
    Kind.STARTED: Result.STARTED,
    Kind.FOUND: Result.STARTED,
    Kind.REJECTED: Result.FAILED,
    Kind.NOT_FOUND: Result.FAILED,
    Kind.UNREACHABLE: Result.FAILED,
    Kind.UNTRUSTED: Result.FAILED,
    Kind.UNKNOWN: Result.UNKNOWN,
    Kind.TAKEN: Result.UNKNOWN,
}


@dataclass(frozen=True)
class Outcome:
    """A settled start attempt: what happened, its IDs and status, and what is stored about it.

    `reason` is Hiveon's error as the vendor client describes it; for the kinds that have one
    (found, not found, unreachable, unknown) None means deploybot restarted before Hiveon
    answered. `error` is the line stored with a failure.
    """

    kind: Kind
    external_deployment_id: str
    http_status: int | None = None
    deployment_id: str | None = None
    error: str | None = None
    reason: str | None = None
    vendor_message: str | None = None
    machine_id: str = ""
    taken_deployment_id: str | None = None

    @property
    def result(self) -> Result:
        """Started, failed or unknown: what is stored, and the state the message shows."""
        return _RESULTS[self.kind]

    def reply(self, *, command: str, requester: str | None = None) -> Message:
        """The thread reply that reports it; next steps name `command`; a failure mentions
        `requester`."""
        return outcomes.outcome_reply(
            kind=self.kind.value,
            external_deployment_id=self.external_deployment_id,
            command=command,
            http_status=self.http_status,
            deployment_id=self.deployment_id,
            reason=self.reason,
            vendor_message=self.vendor_message,
            machine_id=self.machine_id,
            taken_deployment_id=self.taken_deployment_id,
            requester=requester,
        )

    def headline(self) -> str:
        """The outcome in one line, for the parent message."""
        return outcomes.outcome_headline(
            kind=self.kind.value,
            http_status=self.http_status,
            deployment_id=self.deployment_id,
            reason=self.reason,
            vendor_message=self.vendor_message,
            machine_id=self.machine_id,
            taken_deployment_id=self.taken_deployment_id,
        )


def started(*, deployment_id: str, external_id: str) -> Outcome:
    """Hiveon answered the start with its deployment ID."""
    return Outcome(Kind.STARTED, external_id, http_status=200, deployment_id=deployment_id)


def found(
    *, deployment_id: str, external_id: str, http_status: int | None, reason: str | None
) -> Outcome:
    """Hiveon's answer was unclear (or never came: `reason` None), and a look-up found it."""
    return Outcome(
        Kind.FOUND,
        external_id,
        http_status=http_status,
        deployment_id=deployment_id,
        reason=reason,
    )


def rejected(
    *, status: int, vendor_message: str | None, machine_id: str, external_id: str
) -> Outcome:
    """The vendor refused the request with a 4xx: nothing was started."""
    return Outcome(
        Kind.REJECTED,
        external_id,
        http_status=status,
        error=f"HTTP {status}" + (f": {vendor_message}" if vendor_message else ""),
        vendor_message=vendor_message,
        machine_id=machine_id,
    )


def not_started(
    *,
    status: int | None,
    reason: str | None,
    external_id: str,
    reached: bool = True,
    untrusted: bool = False,
) -> Outcome:
    """Hiveon failed (a look-up then found nothing) or was never reached (`untrusted`: its TLS
    certificate could not be verified): nothing was started."""
    unreached = Kind.UNTRUSTED if untrusted else Kind.UNREACHABLE
    return Outcome(
        Kind.NOT_FOUND if reached else unreached,
        external_id,
        http_status=status,
        error=_described(status, reason),
        reason=reason,
    )


def unknown(*, status: int | None, reason: str | None, external_id: str) -> Outcome:
    """Hiveon's answer was unclear and looking the deployment up failed too."""
    return Outcome(
        Kind.UNKNOWN,
        external_id,
        http_status=status,
        error=_described(status, reason),
        reason=reason,
    )


def taken(*, deployment_id: str, status: int | None, external_id: str) -> Outcome:
    """Hiveon answered with a deployment ID another submission of the workspace already has."""
    return Outcome(
        Kind.TAKEN,
        external_id,
        http_status=status,
        error=f"deployment ID {deployment_id} already held by another submission",
        taken_deployment_id=deployment_id,
    )


def _described(status: int | None, reason: str | None) -> str:
    """The stored error: Hiveon's status and reason, or the restart that left no answer."""
    if reason is None:
        return RESTARTED
    return f"HTTP {status}, {reason}" if status is not None else reason
