"""How a start's outcome reads: each kind's headline, its next step and the IDs under it."""

from __future__ import annotations

from typing import Any

import pytest

from blocks.outcomes import no_api_key_notice, outcome_headline, outcome_reply


def reply(**facts: Any) -> dict[str, Any]:
    """The thread reply for these facts, with an external ID and the default command."""
    arguments: dict[str, Any] = {"external_deployment_id": "ext-1", "command": "/deploy"}
    return outcome_reply(**arguments | facts)


def headline(message: dict[str, Any]) -> str:
    return str(message["text"])


def next_step(message: dict[str, Any]) -> str | None:
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    steps = [text.removeprefix("*Next:* ") for text in texts if text.startswith("*Next:* ")]
    return steps[0] if steps else None


def facts(message: dict[str, Any]) -> str:
    [context] = [b for b in message["blocks"] if b["type"] == "context"]
    return str(context["elements"][0]["text"])


@pytest.mark.parametrize(
    ("status", "says", "step"),
    [
        (400, "Hiveon rejected the request", "Edit and retry: run `/deploy` again"),
        (401, "refused this workspace's API key", "`HIVEON_API_KEY`"),
        (403, "lacks the role to deploy on machine `m-1`", "Ask your Hiveon account owner"),
        (404, "Machine `m-1` was not found", "Check the machine ID"),
        (429, "rate-limiting", "Wait a minute, then run `/deploy` again."),
    ],
)
def test_rejections_say_what_happened_and_what_to_do(status: int, says: str, step: str) -> None:
    """Each 4xx reads as its own sentence with a next step, its status and the external ID."""
    message = reply(kind="rejected", http_status=status, machine_id="m-1")
    assert headline(message).startswith("❌ ")
    assert says in headline(message)
    said_next = next_step(message)
    assert said_next is not None
    assert step in said_next
    assert facts(message) == f"*HTTP status* {status} · *external_deployment_id* `ext-1`"


def test_the_vendor_message_is_quoted_escaped() -> None:
    """A short vendor message is quoted, with Slack markup escaped."""
    message = reply(kind="rejected", http_status=400, vendor_message="bad <!channel> price")
    assert "“bad &lt;!channel&gt; price”" in headline(message)


def test_the_command_name_follows_the_configuration() -> None:
    """Next steps name the configured slash command."""
    message = reply(kind="rejected", http_status=404, machine_id="m", command="/hive")
    assert next_step(message) == "Check the machine ID (and its price ID) and run `/hive` again."


def test_started_names_the_deployment_id() -> None:
    """A start reports the deployment ID, and both IDs in the facts."""
    message = reply(kind="started", http_status=200, deployment_id="dep-1")
    assert headline(message) == "✅ Deployment started: `dep-1`."
    assert next_step(message) is None
    assert facts(message) == (
        "*HTTP status* 200 · *deployment_id* `dep-1` · *external_deployment_id* `ext-1`"
    )


def test_a_reconciled_start_explains_the_look_up() -> None:
    """A start found by look-up after an unclear answer says so, with the answer's status."""
    message = reply(kind="found", http_status=500, reason="server error", deployment_id="dep-1")
    assert "looked it up by its external ID and found it" in headline(message)
    assert "(HTTP 500, server error)" in headline(message)


def test_not_started_says_retry_is_safe() -> None:
    """A failure confirmed by look-up, or a request that never left, says retrying is safe."""
    message = reply(kind="not_found", http_status=502, reason="bad gateway")
    assert headline(message) == (
        "❌ Hiveon failed (HTTP 502, bad gateway) and a look-up by external ID found nothing, "
        "so nothing was started."
    )
    assert next_step(message) == "It is safe to retry: run `/deploy` again in a minute."
    unreachable = reply(kind="unreachable", reason="connection refused")
    assert headline(unreachable) == (
        "❌ Hiveon could not be reached (connection refused), so nothing was started."
    )
    assert facts(unreachable).startswith("*HTTP status* no response · ")


def test_an_untrusted_certificate_says_retrying_will_not_help() -> None:
    """A certificate that could not be verified: nothing was sent, and the next step is the
    operator's trust store, not another try."""
    message = reply(kind="untrusted", reason="its TLS certificate could not be verified")
    assert headline(message) == (
        "❌ Hiveon's TLS certificate could not be verified, so nothing was sent and nothing was "
        "started."
    )
    assert next_step(message) == (
        "Retrying will not help until whoever runs deploybot makes the certificate trusted "
        "(the machine's CA certificates, or `SSL_CERT_FILE`): tell them."
    )
    assert facts(message).startswith("*HTTP status* no response · ")


def test_unknown_warns_against_deploying_blindly() -> None:
    """An unknown outcome tells the user to look it up before deploying again."""
    message = reply(kind="unknown", reason="timed out after 15 s", external_deployment_id="ext-9")
    assert headline(message).startswith("⚠️ The outcome is unknown: ")
    said_next = next_step(message)
    assert said_next is not None
    assert "look up `ext-9` in Hiveon first" in said_next


def test_a_start_a_restart_interrupted_says_so() -> None:
    """Without a reason of Hiveon's, the cause is deploybot's restart."""
    message = reply(kind="not_found")
    assert headline(message) == (
        "❌ Hiveon failed (deploybot restarted before Hiveon answered) and a look-up by external "
        "ID found nothing, so nothing was started."
    )


def test_a_deployment_id_another_submission_holds_is_named_but_not_claimed() -> None:
    """The taken ID is in the headline, not in the facts, and the user is told to look it up."""
    message = reply(kind="taken", http_status=200, taken_deployment_id="dep-other")
    assert "Hiveon answered with deployment `dep-other`" in headline(message)
    assert "deployment_id*" not in facts(message).replace("external_deployment_id", "")
    assert next_step(message) == (
        "Look up `ext-1` in Hiveon before deploying again; if it is not there, run `/deploy` again."
    )


def test_the_parent_message_shows_the_headline_with_its_mark() -> None:
    """The parent's detail line is the reply's first line."""
    assert outcome_headline(kind="started", deployment_id="dep-1") == (
        "✅ Deployment started: `dep-1`."
    )
    assert outcome_headline(kind="unknown", reason="boom") == headline(
        reply(kind="unknown", reason="boom")
    )


def test_without_a_key_nothing_is_sent_and_an_admin_can_set_one() -> None:
    """The notice says nothing was sent and names the admin subcommand of the command."""
    assert no_api_key_notice(command="/hive")["text"] == (
        "❌ This workspace has no Hiveon API key, so nothing was sent to Hiveon. A workspace "
        "admin must set one with `/hive api-key` (or whoever runs deploybot, a default "
        "`HIVEON_API_KEY`)."
    )
