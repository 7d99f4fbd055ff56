"""What a deployment's message and replies show, taken from its stored row."""

from datetime import UTC, datetime

from blocks import ids
from bot import cards


def test_the_card_is_built_from_the_stored_request() -> None:
    """Image, machine, price and ports come from the redacted request as stored."""
    message = cards.card(
        user_id="U1",
        request={
            "machine_id": "m-1",
            "machine_price_id": "p-1",
            "container_config": {
                "image": "nginx:latest",
                "ports": [
                    {"host_port": 80, "protocol": "PORT_PROTOCOL_TCP"},
                    {"host_port": 443, "protocol": "PORT_PROTOCOL_HTTPS"},
                ],
            },
        },
        external_id="ext-1",
        status="running",
        deployment_id="dep-1",
        buttons=ids.ALL_DEPLOYMENT_BUTTONS,
    )
    assert message["text"] == "🟢 <@U1>'s `nginx:latest` is running on machine `m-1`"
    fields = {f["text"].split("\n")[0]: f["text"] for f in message["blocks"][0]["fields"]}
    assert "80/tcp, 443/https" in fields["*Ports*"]


def test_a_damaged_stored_request_still_renders() -> None:
    """Unreadable ports show as none rather than failing the whole update."""
    message = cards.card(
        user_id="U1",
        request={"container_config": {"ports": [{"host_port": "x"}]}},
        external_id="ext-1",
        status="pending",
    )
    assert any("none" in f["text"] for f in message["blocks"][0]["fields"])


def test_status_words_and_details() -> None:
    """Vendor states read as words; the detail line carries Slack's date token and the reason."""
    assert cards.state_word("STATUS_RUNNING") == "running"
    assert cards.state_word("STATUS_SOMETHING_NEW") == "something_new"
    moment = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    token = f"<!date^{int(moment.timestamp())}^since {{time}}|since 09:30 UTC>"
    assert cards.status_detail("STATUS_FAILED", moment, "code 3: <bad>") == (
        f"Failed {token}: code 3: &lt;bad&gt;"
    )


def test_fail_reasons_read_as_one_line() -> None:
    """Code and message join; either alone is enough; nothing gives None."""
    assert cards.describe_fail_reason(3, "image pull failed") == "code 3: image pull failed"
    assert cards.describe_fail_reason(None, "oops") == "oops"
    assert cards.describe_fail_reason(7, None) == "code 7"
    assert cards.describe_fail_reason(None, None) is None


def test_hiveons_known_statuses_reach_the_reply_as_states_others_by_name_only() -> None:
    """STATUS_FAILED is the failed state (its mark, its next step); a status deploybot does not
    know is only named, even when its name reads like a known one."""
    failed = cards.status_reply(
        vendor_status="STATUS_FAILED", deployment_id="dep-1", fail_reason="code 3: pull failed"
    )
    assert failed["text"] == "❌ Failed: `dep-1` did not run. code 3: pull failed"
    odd = cards.status_reply(vendor_status="FAILED", deployment_id="dep-1", fail_reason="x")
    assert odd["text"] == "⚠️ Failed: `dep-1` is failed."


def test_a_state_word_of_slack_markup_is_escaped() -> None:
    """A status that is Slack markup (stored before the vendor client refused such statuses)
    reaches the reply and the detail line only escaped: no channel ping."""
    reply = cards.status_reply(vendor_status="<!channel>", deployment_id="dep-1", fail_reason=None)
    assert reply["text"] == "⚠️ &lt;!channel&gt;: `dep-1` is &lt;!channel&gt;."
    assert "<!channel>" not in str(reply)
    moment = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    detail = cards.status_detail("<!here|x>", moment, "<https://evil.example|click here>")
    assert detail.startswith("&lt;!here|x&gt; <!date^")
    assert detail.endswith(": &lt;https://evil.example|click here&gt;")
