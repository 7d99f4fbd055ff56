"""End to end in Socket Mode: the real process, fed envelopes over the fake Slack's WebSocket."""

import json
import uuid
from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY
from urllib.parse import parse_qsl

import pytest

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import API_KEY, BOT_TOKEN, BotProcess
from bot.testing.seed import form
from bot.testing.slack_requests import SlackRequest, slash_command, view_submission
from tests.e2e_support import channel, hiveon_on_loopback, thread_replies, vendor_starts

pytestmark = pytest.mark.e2e  # the bot's process in Socket Mode, fakes on loopback

APP_TOKEN = "xapp-1-A111-1234567890-0123456789abcdef"


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="vendor", scope="module")
def _vendor() -> Iterator[tuple[SandboxVendor, str]]:
    with hiveon_on_loopback(api_keys={API_KEY}, pending_s=60) as vendor:
        yield vendor


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    settings = {
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_SIGNING_SECRET": "",  # empty is unset: Socket Mode needs no signing secret
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": vendor[1],
    }
    # BotProcess returns once /healthz answers 200, which in Socket Mode means connected.
    with BotProcess(tmp_path_factory.mktemp("bot"), settings) as bot:
        yield bot


def envelope(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A Socket Mode envelope as Slack sends it, with a fresh envelope_id."""
    return {
        "envelope_id": str(uuid.uuid4()),
        "type": kind,
        "payload": payload,
        "accepts_response_payload": True,
    }


def command_envelope(request: SlackRequest) -> dict[str, Any]:
    """A slash command over Socket Mode: the HTTP form's fields as one JSON object."""
    return envelope("slash_commands", dict(parse_qsl(request.text, keep_blank_values=True)))


def interactive_envelope(request: SlackRequest) -> dict[str, Any]:
    """An interaction over Socket Mode: the HTTP form's `payload` field, parsed."""
    [(name, payload)] = parse_qsl(request.text)
    assert name == "payload"
    return envelope("interactive", json.loads(payload))


def deliver(slack: FakeSlack, sent: dict[str, Any]) -> dict[str, Any]:
    """Push an envelope to the bot and return its ack."""
    slack.socket_send(sent)
    return slack.socket_wait_ack(sent["envelope_id"], timeout=3.0)  # Slack's ack deadline


def submission(slack: FakeSlack, values: dict[str, str], channel_id: str) -> dict[str, Any]:
    """The deploy modal's submission, as if `/deploy` had opened it in `channel_id`."""
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    return interactive_envelope(view_submission(values=values, private_metadata=where.dump()))


def test_the_bot_connects_with_the_app_token_and_no_signing_secret(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """`python -m bot` with a bot and an app token opens Socket Mode with the app token, calls
    the Web API with the bot token, reports the connection on /healthz and takes no HTTP events."""
    opened = slack.calls_to("apps.connections.open")
    assert opened
    assert {call.headers["authorization"] for call in opened} == {f"Bearer {APP_TOKEN}"}
    [auth] = slack.calls_to("auth.test")
    assert auth.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    health = bot.http.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"ok": True})
    ready = bot.http.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        200,
        {"ok": True, "database": "ok", "slack_socket": "ok"},
    )
    assert bot.http.post("/slack/events", content=b"{}").status_code == 404


@pytest.mark.usefixtures("bot")
def test_deploy_is_acked_and_opens_the_modal_with_its_trigger_id(slack: FakeSlack) -> None:
    """A `/deploy` envelope gets an ack without payload and opens the modal with the envelope's
    trigger_id, bound to the channel and response_url."""
    channel_id = channel()
    response_url = slack.response_url(channel_id)
    sent = command_envelope(slash_command(channel_id=channel_id, response_url=response_url))
    assert deliver(slack, sent) == {"envelope_id": sent["envelope_id"]}
    trigger_id = sent["payload"]["trigger_id"]
    [call] = slack.wait_for("views.open", where=lambda c: c.params["trigger_id"] == trigger_id)
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    view = call.params["view"]
    assert (view["type"], view["callback_id"]) == ("modal", "deploy_modal")
    where = ModalContext.load(view["private_metadata"])
    [external] = [b for b in view["blocks"] if b.get("block_id") == "external_deployment_id"]
    minted = external["element"]["initial_value"]
    assert where == ModalContext(channel_id=channel_id, response_url=response_url, minted_id=minted)


@pytest.mark.usefixtures("bot")
def test_a_valid_submission_is_acked_started_and_replied_in_the_thread(
    slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """A valid modal gets an ack without payload (the modal closes), Hiveon gets the start
    request, and the thread under the bot's message gets the deployment ID."""
    channel_id = channel()
    values = form()
    external_id = values["external_deployment_id"]
    sent = submission(slack, values, channel_id)
    assert deliver(slack, sent) == {"envelope_id": sent["envelope_id"]}

    [reply] = thread_replies(slack, channel_id)
    [start] = vendor_starts(sandbox, external_id)
    assert start["machine_id"] == values["machine_id"]
    assert start["machine_price_id"] == values["machine_price_id"]
    assert start["container_config"]["image"] == "nginx:latest"
    assert start["container_config"]["ports"] == [
        {"host_port": 80, "protocol": "PORT_PROTOCOL_TCP"},
        {"host_port": 443, "protocol": "PORT_PROTOCOL_HTTPS"},
    ]
    [received] = [r for r in sandbox.requests if r.json is start]
    assert received.headers["x-api-key"] == API_KEY

    [parent] = slack.messages(channel_id)
    assert reply.params["thread_ts"] == parent["ts"]
    [deployment] = [d for d in sandbox.deployments() if d.external_deployment_id == external_id]
    assert deployment.deployment_id in reply.params["text"]


@pytest.mark.usefixtures("bot")
def test_a_bad_port_comes_back_as_field_errors_in_the_ack(
    slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """A port out of range is answered in the ack's payload under `ports`; Hiveon gets nothing."""
    channel_id = channel()
    values = form(ports="80, 70000")
    sent = submission(slack, values, channel_id)
    ack = deliver(slack, sent)
    assert ack == {
        "envelope_id": sent["envelope_id"],
        "payload": {"response_action": "errors", "errors": {"ports": ANY}},
    }
    assert "70000" in ack["payload"]["errors"]["ports"]
    assert vendor_starts(sandbox, values["external_deployment_id"]) == []
    assert slack.messages(channel_id) == []


def test_a_disconnect_request_makes_the_bot_reconnect_and_keep_serving(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """When Slack asks for a reconnection, the bot opens a new connection with the app token and
    acks the next envelope there."""
    first = slack.socket_connected()
    opened = len(slack.calls_to("apps.connections.open"))
    slack.socket_disconnect()
    slack.socket_connected(after=first)
    again = slack.calls_to("apps.connections.open")[opened:]
    assert [call.headers["authorization"] for call in again] == [f"Bearer {APP_TOKEN}"]
    sent = command_envelope(slash_command(text="help"))
    ack = deliver(slack, sent)
    assert "deploybot help" in json.dumps(ack["payload"]["blocks"])
    assert bot.http.get("/healthz").status_code == 200
