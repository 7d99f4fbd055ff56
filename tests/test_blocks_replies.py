"""Thread replies after the start: status changes, answers to Stop, the end of following."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from blocks import replies

MOMENT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
TOKEN = f"<!date^{int(MOMENT.timestamp())}^since {{time}}|since 09:30 UTC>"


def test_status_replies_name_the_deployment_and_the_next_step_on_failure() -> None:
    """A failure reply quotes the reason and says what to do next."""
    reply = replies.status_reply(
        state="failed",
        status_name="failed",
        deployment_id="dep-1",
        fail_reason="code 3: pull failed",
    )
    assert reply["text"] == "❌ Failed: `dep-1` did not run. code 3: pull failed"
    assert "*Redeploy*" in str(reply["blocks"])


def test_a_stop_with_a_reason_shows_it() -> None:
    """A stopped deployment carries Hiveon's fail_reason when it gives one, like a failure."""
    reply = replies.status_reply(
        state="stopped", status_name="stopped", deployment_id="dep-1", fail_reason="code 9: x"
    )
    assert reply["text"] == "⏹️ Stopped: `dep-1` is stopped. code 9: x"


def test_running_reads_as_up_and_says_who_asked() -> None:
    """A running deployment is up; a Refresh names whoever asked."""
    reply = replies.status_reply(
        state="running", status_name="running", deployment_id="dep-1", fail_reason=None, by="U2"
    )
    assert reply["text"] == "🟢 Running: `dep-1` is up. (checked by <@U2>)"


def test_a_status_deploybot_does_not_know_is_named_escaped() -> None:
    """An unknown status gets the warning mark and reads only as its escaped name."""
    reply = replies.status_reply(
        state=None, status_name="<!channel>", deployment_id="dep-1", fail_reason="<x>"
    )
    assert reply["text"] == "⚠️ &lt;!channel&gt;: `dep-1` is &lt;!channel&gt;."


def test_the_detail_line_has_slacks_date_token_and_the_reason() -> None:
    """The state, since when (each reader's time zone), and the reason escaped."""
    detail = replies.status_detail(status_name="failed", since=MOMENT, fail_reason="code 3: <b>")
    assert detail == f"Failed {TOKEN}: code 3: &lt;b&gt;"
    assert replies.since_token(MOMENT) == TOKEN


def test_stop_answers_say_who_asked_what_hiveon_said_and_what_next() -> None:
    """Each answer to Stop names the deployment and the asker; refusals quote Hiveon escaped."""
    assert replies.stop_impossible_reply()["text"] == (
        "❌ There is no Hiveon ID or API key to stop it with."
    )
    assert replies.stop_asked_reply(deployment_id="dep-1", by="U2")["text"] == (
        "⏹️ <@U2> asked Hiveon to stop `dep-1`."
    )
    refused = replies.stop_refused_reply(
        deployment_id="dep-1", by="U2", http_status=403, vendor_message="<!here> no"
    )
    assert refused["text"] == (
        "❌ Hiveon refused to stop `dep-1` for <@U2> (HTTP 403). Hiveon says: “&lt;!here&gt; no”"
    )
    assert "an admin or the requester can try again" in str(refused["blocks"])
    unclear = replies.stop_unclear_reply(deployment_id="dep-1", by="U2", reason="timed out")
    assert unclear["text"] == (
        "⚠️ The stop request for `dep-1` by <@U2> got no clear answer (timed out); deploybot "
        "keeps following it."
    )
    assert "press *Stop* again" in str(unclear["blocks"])


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(seconds=45), "45 seconds"),
        (timedelta(seconds=90), "90 seconds"),
    ],
)
def test_how_long_following_lasted_reads_in_words(span: timedelta, words: str) -> None:
    """Whole minutes read as minutes, anything else as seconds, singular for one."""
    assert replies.duration(span) == words


def test_giving_up_says_for_how_long_and_what_still_works() -> None:
    """The reply says how long it was followed and that Refresh and Stop still work."""
    reply = replies.gave_up_reply(followed_for=timedelta(minutes=30))
    assert reply["text"] == "🕓 Still pending after 30 minutes; deploybot stopped following it."
    assert "Press *Refresh* to check again, or *Stop* it." in str(reply["blocks"])
