"""Asking Hiveon whether an API key works, without starting anything."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from enum import StrEnum

from blocks import admin
from bot.vendor import (
    HiveonClient,
    HiveonError,
    HiveonRejectedError,
    HiveonUncertainError,
    HiveonUnreachableError,
)

KEY_CHECK_TIMEOUT_S = 5.0
_REFUSING_STATUSES = frozenset({401, 403})


class Verdict(StrEnum):
    """What Hiveon said about a key."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of checking a key with Hiveon, and why."""

    verdict: Verdict
    status: int | None = None
    reason: str | None = None


async def check_api_key(
    vendor: HiveonClient, api_key: str, *, timeout_s: float = KEY_CHECK_TIMEOUT_S
) -> KeyCheck:
    """Ask Hiveon about a key without starting anything: look up a deployment that cannot exist.

    The vendor API has no key-check endpoint; a status look-up of a random ID answers 404 to a
    valid key and 401/403 to a refused one, and changes nothing either way.
    """
    try:
        async with asyncio.timeout(timeout_s):
            found = await vendor.get_deployment(
                f"deploybot-key-check-{uuid.uuid4()}", api_key=api_key
            )
    except HiveonRejectedError as exc:
        if exc.status_code in _REFUSING_STATUSES:
            return KeyCheck(Verdict.REFUSED, exc.status_code)
        reason = admin.key_check_reason(admin.KeyCheckProblem.ANSWERED, status=exc.status_code)
        return KeyCheck(Verdict.UNCHECKED, exc.status_code, reason)
    except HiveonError as exc:
        return KeyCheck(Verdict.UNCHECKED, None, _reason(exc))
    except TimeoutError:
        reason = admin.key_check_reason(admin.KeyCheckProblem.NO_ANSWER, timeout_s=timeout_s)
        return KeyCheck(Verdict.UNCHECKED, None, reason)
    return KeyCheck(Verdict.ACCEPTED, 404 if found is None else 200)


def _reason(exc: HiveonError) -> str:
    """Why the key could not be checked, in words; the client's errors never carry the key."""
    problem = admin.KeyCheckProblem
    if isinstance(exc, HiveonUnreachableError):
        return admin.key_check_reason(problem.UNREACHABLE, detail=exc.reason)
    if isinstance(exc, HiveonUncertainError) and exc.status_code is not None:
        return admin.key_check_reason(problem.ANSWERED, status=exc.status_code, detail=exc.reason)
    if isinstance(exc, HiveonUncertainError):
        return admin.key_check_reason(problem.UNCLEAR, detail=exc.reason)
    return admin.key_check_reason(problem.NOT_ASKED)
