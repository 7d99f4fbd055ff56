"""How a start ended, as facts: the result stored, the error kept, what the reply is told."""

from __future__ import annotations

import pytest

from bot import outcome
from bot.outcome import Kind, Result


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429])
def test_a_rejection_failed_and_keeps_hiveons_message(status: int) -> None:
    """Every 4xx failed; the stored error has the status and Hiveon's message as it said it."""
    result = outcome.rejected(
        status=status, vendor_message="bad <!channel> price", machine_id="m", external_id="e"
    )
    assert result.result is Result.FAILED
    assert result.kind is Kind.REJECTED
    assert (result.http_status, result.vendor_message) == (status, "bad <!channel> price")
    assert result.error == f"HTTP {status}: bad <!channel> price"


def test_started_holds_the_deployment_id() -> None:
    """A start stores its deployment ID and Hiveon's 200."""
    result = outcome.started(deployment_id="dep-1", external_id="ext-1")
    assert result.result is Result.STARTED
    assert (result.deployment_id, result.http_status, result.error) == ("dep-1", 200, None)


def test_a_start_found_by_look_up_is_started() -> None:
    """A deployment found after an unclear answer counts as started, with that answer's facts."""
    result = outcome.found(
        deployment_id="dep-1", external_id="ext-1", http_status=500, reason="server error"
    )
    assert result.result is Result.STARTED
    assert (result.http_status, result.reason, result.error) == (500, "server error", None)


def test_not_started_failed_with_the_reason_stored() -> None:
    """A failure confirmed by look-up, or Hiveon never reached, failed; its reason is stored."""
    result = outcome.not_started(status=502, reason="bad gateway", external_id="e")
    assert (result.result, result.kind) == (Result.FAILED, Kind.NOT_FOUND)
    assert result.error == "HTTP 502, bad gateway"
    unreachable = outcome.not_started(
        status=None, reason="connection refused", external_id="e", reached=False
    )
    assert (unreachable.result, unreachable.kind) == (Result.FAILED, Kind.UNREACHABLE)
    assert unreachable.error == "connection refused"
    untrusted = outcome.not_started(
        status=None,
        reason="its TLS certificate could not be verified",
        external_id="e",
        reached=False,
        untrusted=True,
    )
    assert (untrusted.result, untrusted.kind) == (Result.FAILED, Kind.UNTRUSTED)
    assert untrusted.error == "its TLS certificate could not be verified"


def test_unknown_is_neither_started_nor_failed() -> None:
    """An unclear answer whose look-up failed is unknown, and a restart is stored as such."""
    result = outcome.unknown(status=None, reason="timed out after 15 s", external_id="ext-9")
    assert result.result is Result.UNKNOWN
    assert result.error == "timed out after 15 s"
    restarted = outcome.unknown(status=None, reason=None, external_id="ext-9")
    assert restarted.error == "deploybot restarted before Hiveon answered"


def test_a_taken_deployment_id_is_not_this_submissions() -> None:
    """A deployment ID another submission holds is unknown and not kept as this one's ID."""
    result = outcome.taken(deployment_id="dep-other", status=200, external_id="ext-1")
    assert result.result is Result.UNKNOWN
    assert result.deployment_id is None
    assert result.taken_deployment_id == "dep-other"
    assert result.error == "deployment ID dep-other already held by another submission"


def test_the_reply_tells_what_the_facts_say() -> None:
    """The reply and the headline are blocks' words for these facts and the command."""
    result = outcome.rejected(status=404, vendor_message=None, machine_id="m-1", external_id="e")
    reply = result.reply(command="/hive")
    assert reply["text"] == result.headline()
    assert reply["text"] == "❌ Machine `m-1` was not found, nothing was started."
    assert "`/hive`" in str(reply["blocks"])
