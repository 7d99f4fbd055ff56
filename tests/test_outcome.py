"""The vendor error mapping of design §4: every outcome names its status, its ID and a next step."""

from __future__ import annotations

import pytest

from bot import outcome
from bot.outcome import Result


@pytest.mark.parametrize(
    ("status", "says", "next_step"),
    [
        (400, "Hiveon rejected the request", "Edit and retry: run `/deploy` again"),
        (401, "refused this workspace's API key", "`HIVEON_API_KEY`"),
        (403, "lacks the role to deploy on machine `m-1`", "Ask your Hiveon account owner"),
        (404, "Machine `m-1` was not found", "Check the machine ID"),
        (429, "rate-limiting", "Wait a minute, then run `/deploy` again."),
    ],
)
def test_rejections_say_what_happened_and_what_to_do(
    status: int, says: str, next_step: str
) -> None:
    """Each 4xx maps to its own sentence, its status and a next step; nothing was started."""
    result = outcome.rejected(
        status=status, vendor_message=None, machine_id="m-1", external_id="ext-1"
    )
    assert result.result is Result.FAILED
    assert says in result.headline
    assert result.next_step is not None
    assert next_step in result.next_step
    assert ("HTTP status", str(status)) in result.facts
    assert ("external_deployment_id", "`ext-1`") in result.facts


def test_the_vendor_message_is_quoted_escaped() -> None:
    """A short vendor message is quoted, with Slack markup escaped."""
    result = outcome.rejected(
        status=400, vendor_message="bad <!channel> price", machine_id="m", external_id="e"
    )
    assert "“bad &lt;!channel&gt; price”" in result.headline
    assert result.error == "HTTP 400: bad <!channel> price"


def test_the_command_name_follows_the_configuration() -> None:
    """Next steps name the configured slash command."""
    result = outcome.rejected(
        status=404, vendor_message=None, machine_id="m", external_id="e", command="/hive"
    )
    assert result.next_step == "Check the machine ID (and its price ID) and run `/hive` again."


def test_started_names_the_deployment_id() -> None:
    """A start reports the deployment ID and both IDs in the facts."""
    result = outcome.started(deployment_id="dep-1", external_id="ext-1")
    assert result.result is Result.STARTED
    assert result.emoji == "✅"
    assert result.headline == "Deployment started: `dep-1`."
    assert result.facts == [
        ("HTTP status", "200"),
        ("deployment_id", "`dep-1`"),
        ("external_deployment_id", "`ext-1`"),
    ]


def test_a_reconciled_start_explains_the_look_up() -> None:
    """A start found by look-up after an unclear answer says so."""
    result = outcome.started(deployment_id="dep-1", external_id="ext-1", after="HTTP 500")
    assert "looked it up by its external ID and found it" in result.headline
    assert "HTTP 500" in result.headline


def test_not_started_says_retry_is_safe() -> None:
    """A failure confirmed by look-up tells the user retrying is safe."""
    result = outcome.not_started(status=502, reason="HTTP 502, bad gateway", external_id="e")
    assert result.result is Result.FAILED
    assert result.headline == (
        "Hiveon failed (HTTP 502, bad gateway) and a look-up by external ID found nothing, "
        "so nothing was started."
    )
    assert result.next_step == "It is safe to retry: run `/deploy` again in a minute."
    unreachable = outcome.not_started(
        status=None, reason="connection refused", external_id="e", reached=False
    )
    assert unreachable.headline == (
        "Hiveon could not be reached (connection refused), so nothing was started."
    )
    assert ("HTTP status", "no response") in unreachable.facts


def test_unknown_warns_against_deploying_blindly() -> None:
    """An unknown outcome tells the user to look it up before deploying again."""
    result = outcome.unknown(status=None, reason="timed out after 15 s", external_id="ext-9")
    assert result.result is Result.UNKNOWN
    assert result.emoji == "⚠️"
    assert result.next_step is not None
    assert "look up `ext-9` in Hiveon first" in result.next_step
