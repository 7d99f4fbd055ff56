"""End to end against a Hiveon whose TLS certificate no CA of the machine vouches for: the
real server process, fake Slack, and a TLS server on loopback that counts the connections it
gets and the requests that reach it."""

import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import BotProcess
from bot.testing.seed import form
from tests.e2e_support import channel
from tests.test_e2e_hostile_vendor import submit, thread_reply
from tests.test_http_transport import loopback_certificate

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and a TLS server on loopback


@dataclass
class Seen:
    """What the TLS server saw: connections, and the first bytes of each request that got
    through the handshake."""

    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def tls_server(certificate: Path, key: Path) -> Iterator[tuple[str, Seen]]:
    """A server on loopback speaking TLS with `certificate`; its origin and what it saw."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    seen = Seen()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with seen.lock:
                seen.connections += 1
            connection: socket.socket = self.request
            connection.settimeout(10)
            try:
                with context.wrap_socket(connection, server_side=True) as secured:
                    head = secured.recv(4096)
            except (ssl.SSLError, OSError):
                return  # the client refused the certificate
            with seen.lock:
                seen.requests.append(head)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_an_untrusted_certificate_is_tried_once_and_the_channel_told_who_can_fix_it(
    tmp_path: Path,
) -> None:
    """A start toward a Hiveon whose certificate fails verification sends nothing, is not
    tried a second time, and the thread says so and that retrying will not help."""
    certificate, key = loopback_certificate(tmp_path)
    channel_id, values = channel(), form()
    with FakeSlack() as slack, tls_server(certificate, key) as (origin, seen):
        settings = {"SLACK_API_URL": slack.url, "HIVEON_API_URL": origin}
        workdir = tmp_path / "bot"
        workdir.mkdir()
        with BotProcess(workdir, settings) as bot:
            submit(bot, slack, values, channel_id)
            reply = thread_reply(slack, channel_id, "❌")
            [update] = slack.wait_for(
                "chat.update", where=lambda call: call.params.get("channel") == channel_id
            )
            logs = bot.logs

    assert (seen.connections, seen.requests) == (1, [])
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
