"""End to end against a Hiveon whose TLS certificate no CA of the machine vouches for: the
real server process, fake Slack, and the transport tests' TLS server on loopback, which counts
the connections it gets and the requests that reach it."""

import ssl
from pathlib import Path

import pytest

from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.processes import BotProcess
from bot.testing.seed import form
from tests.e2e_support import channel
from tests.test_e2e_hostile_vendor import submit
from tests.test_http_transport import answers_ok, loopback, loopback_certificate

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and a TLS server on loopback


async def test_an_untrusted_certificate_is_tried_once_and_the_channel_told_who_can_fix_it(
    tmp_path: Path,
) -> None:
    """A start toward a Hiveon whose certificate fails verification sends nothing, is not
    tried a second time, and the thread says so and that retrying will not help."""
    certificate, key = loopback_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate, key)
    channel_id, values = channel(), form()
    workdir = tmp_path / "bot"
    workdir.mkdir()

    def in_channel(call: Call) -> bool:
        return bool(call.params.get("channel") == channel_id)

    # The bot starts and acks without calling Hiveon; its start call waits for this event loop,
    # which serves the TLS server while the test awaits Slack's calls.
    with FakeSlack() as slack:
        async with loopback(answers_ok, tls=tls) as (origin, wire):
            settings = {"SLACK_API_URL": slack.url, "HIVEON_API_URL": origin}
            with BotProcess(workdir, settings) as bot:
                submit(bot, slack, values, channel_id)
                [update] = await slack.async_wait_for("chat.update", timeout=20, where=in_channel)
                [reply] = [
                    call
                    for call in await slack.async_wait_for("chat.postMessage", 2, where=in_channel)
                    if "thread_ts" in call.params
                ]
                logs = bot.logs

    assert (wire.connections, wire.heads) == (1, [])
    assert reply.params["text"] == (
        "❌ <@U111> Hiveon's TLS certificate could not be verified, so nothing was sent and "
        "nothing was started."
    )
    assert reply.params["reply_broadcast"] is True
    blocks = str(reply.params["blocks"])
    assert "Retrying will not help until whoever runs deploybot" in blocks
    assert "`SSL_CERT_FILE`" in blocks
    assert values["external_deployment_id"] in blocks
    assert update.params["text"].startswith("❌ <@U111>'s ")
    assert "retrying once" not in logs
    assert "Traceback" not in logs
