"""The fake Slack speaks Slack's wire format to slack_sdk's real clients and to Bolt."""

import asyncio
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.testing import slack_requests
from bot.testing.fake_slack import FakeSlack
from bot.testing.slack_standin import with_ids

pytestmark = pytest.mark.e2e  # the fake Slack on loopback

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Deploying* `web`"}}]
VIEW = {
    "type": "modal",
    "callback_id": "deploy_modal",
    "title": {"type": "plain_text", "text": "Deploy"},
    "blocks": BLOCKS,
    "private_metadata": '{"channel_id": "C111"}',
}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.url)


async def test_chat_post_message_is_recorded_field_by_field(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """A threaded reply with blocks arrives as JSON with a bearer token and lands in the thread."""
    parent = await client.chat_postMessage(channel="C111", text="Deploying web")
    reply = await client.chat_postMessage(
        channel="C111", text="Started", blocks=BLOCKS, thread_ts=parent["ts"]
    )

    first, second = slack.calls_to("chat.postMessage")
    assert first.params == {"channel": "C111", "text": "Deploying web"}
    assert second.params == {
        "channel": "C111",
        "text": "Started",
        "blocks": BLOCKS,
        "thread_ts": "1700000000.000100",
    }
    assert second.headers["authorization"] == "Bearer xoxb-test"
    assert second.headers["content-type"].startswith("application/json")
    assert (parent["ts"], reply["ts"]) == ("1700000000.000100", "1700000000.000200")
    assert reply["message"]["thread_ts"] == parent["ts"]
    [shown] = slack.messages("C111")
    assert (shown["text"], shown["reply_count"]) == ("Deploying web", 1)
    [threaded] = slack.thread("C111", parent["ts"])
    # Slack stores blocks with a block_id each, made up where the app gave none.
    assert (threaded["text"], threaded["blocks"]) == ("Started", with_ids(BLOCKS))


async def test_chat_update_changes_the_stored_message(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """chat.update rewrites the stored message and fails for a message that was never posted."""
    posted = await client.chat_postMessage(channel="C111", text="Deploying web")

    await client.chat_update(channel="C111", ts=posted["ts"], text="Stopped", blocks=[])

    [message] = slack.messages("C111")
    assert (message["text"], message["blocks"]) == ("Stopped", [])
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C111", ts="1.000000", text="Stopped")
    assert raised.value.response["error"] == "message_not_found"


async def test_views_open_answers_the_view_slack_would_show(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """views.open records the trigger and view and answers the view with an id and hash."""
    response = await client.views_open(trigger_id="1.2.abc", view=VIEW)

    [call] = slack.calls_to("views.open")
    assert call.params == {"trigger_id": "1.2.abc", "view": VIEW}
    view = response["view"]
    assert view["id"].startswith("V")
    assert view["hash"]
    assert (view["callback_id"], view["private_metadata"]) == (
        "deploy_modal",
        VIEW["private_metadata"],
    )


async def test_injected_failure_surfaces_as_slack_api_error(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """A programmed error answers the next matching call only, as HTTP 200 with ok false."""
    slack.fail("chat.postMessage", error="is_archived", where=lambda p: p["channel"] == "C222")

    await client.chat_postMessage(channel="C111", text="unaffected")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C222", text="hi")
    await client.chat_postMessage(channel="C222", text="hi again")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "is_archived"
    assert [m["text"] for m in slack.messages("C222")] == ["hi again"]


async def test_channel_membership_is_simulated(slack: FakeSlack, client: AsyncWebClient) -> None:
    """Posting needs a join in a public channel (the tests' bot lacks chat:write.public); a
    private channel the bot is not in is not found, to post to or to join."""
    slack.not_joined.add("C111")
    slack.private_channels.add("G111")

    with pytest.raises(SlackApiError) as not_joined:
        await client.chat_postMessage(channel="C111", text="hi")
    with pytest.raises(SlackApiError) as private:
        await client.chat_postMessage(channel="G111", text="hi")
    with pytest.raises(SlackApiError) as private_join:
        await client.conversations_join(channel="G111")
    await client.conversations_join(channel="C111")
    await client.chat_postMessage(channel="C111", text="hi")

    assert not_joined.value.response["error"] == "not_in_channel"
    assert private.value.response["error"] == "channel_not_found"
    assert private_join.value.response["error"] == "channel_not_found"
    assert [(m.get("subtype"), m["text"]) for m in slack.messages("C111")] == [
        ("channel_join", "joined the channel"),
        (None, "hi"),
    ]
    assert "C111" not in slack.not_joined
    assert "G111" in slack.private_channels


async def test_rate_limit_answers_429_with_retry_after(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """A rate-limited call gets HTTP 429, a Retry-After header and error ratelimited."""
    slack.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C111", text="hi")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


async def test_rate_limit_is_retried_by_slack_sdk(slack: FakeSlack) -> None:
    """slack_sdk's rate-limit retry handler waits out the 429 and the retry goes through."""
    slack.rate_limit("chat.postMessage", retry_after=0)
    client = AsyncWebClient(
        token="xoxb-test",
        base_url=slack.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )

    response = await client.chat_postMessage(channel="C111", text="hi")

    assert response["ok"]
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert [m["text"] for m in slack.messages("C111")] == ["hi"]


async def test_a_delay_holds_the_answer_back(slack: FakeSlack, client: AsyncWebClient) -> None:
    """A delayed call is recorded and carried out at once, but answered late."""
    slack.delay("chat.postMessage", 1.0)
    posting = asyncio.create_task(client.chat_postMessage(channel="C111", text="late"))

    await slack.async_wait_for("chat.postMessage")
    [stored] = slack.messages("C111")
    assert not posting.done()
    answer = await posting

    assert answer["ts"] == stored["ts"]


async def test_the_fake_answers_only_what_the_stand_in_knows(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """A method the stand-in does not implement is recorded and answered `unknown_method`."""
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("files.upload")

    assert raised.value.response["error"] == "unknown_method"
    [call] = slack.calls_to("files.upload")
    assert call.headers["authorization"] == "Bearer xoxb-test"


async def test_missing_token_is_not_authed(slack: FakeSlack) -> None:
    """A call without an Authorization header is answered not_authed, like Slack."""
    client = AsyncWebClient(base_url=slack.url)

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C111", text="hi")

    assert raised.value.response["error"] == "not_authed"
    assert slack.messages("C111") == []


async def test_response_url_post_is_recorded(slack: FakeSlack) -> None:
    """A webhook post to a response_url is recorded with its JSON body and answered "ok"."""
    webhook = AsyncWebhookClient(slack.response_url("cmd"))

    response = await webhook.send(text="Deploying…", response_type="ephemeral")
    slack.fail_response_url("cmd", status=404)
    failed = await webhook.send(text="again")

    assert (response.status_code, response.body) == (200, "ok")
    assert failed.status_code == 404
    first, _ = slack.wait_for("response_url:cmd", count=2)
    assert first.params == {"text": "Deploying…", "response_type": "ephemeral"}


def test_sync_client_form_and_get_calls_are_decoded(slack: FakeSlack) -> None:
    """The sync client's form and GET calls decode too, and users.info takes overrides."""
    slack.users["U222"] = {"is_admin": True}
    client = WebClient(token="xoxb-test", base_url=slack.url)

    user = client.users_info(user="U222")["user"]
    dm = client.conversations_open(users="U222")["channel"]["id"]
    client.chat_postMessage(channel=dm, text="hi", blocks=BLOCKS)

    assert (user["id"], user["team_id"], user["is_admin"], user["is_owner"]) == (
        "U222",
        "T111",
        True,
        False,
    )
    assert slack.calls_to("users.info")[0].params == {"user": "U222"}
    assert slack.calls_to("chat.postMessage")[0].params["blocks"] == BLOCKS
    assert [m["text"] for m in slack.messages(dm)] == ["hi"]


def test_wait_for_sees_calls_from_another_thread(slack: FakeSlack) -> None:
    """wait_for returns once the calls arrive and names what arrived when they do not."""
    client = WebClient(token="xoxb-test", base_url=slack.url)
    poster = threading.Thread(target=lambda: client.chat_postMessage(channel="C111", text="hi"))
    poster.start()

    [call] = slack.wait_for("chat.postMessage", where=lambda c: c.params["text"] == "hi")
    poster.join()

    assert call.params["channel"] == "C111"
    with pytest.raises(AssertionError, match=r"views\.open.*chat\.postMessage"):
        slack.wait_for("views.open", timeout=0.05)


def test_sign_verifies_with_slack_sdk() -> None:
    """A built request passes slack_sdk's signature check and fails it with another secret."""
    request = slack_requests.slash_command(text="deploy web")

    assert SignatureVerifier(slack_requests.SIGNING_SECRET).is_valid_request(
        request.body, request.headers
    )
    assert not SignatureVerifier("another-secret").is_valid_request(request.body, request.headers)
    fields = dict(parse_qsl(request.text))
    assert (fields["command"], fields["text"], fields["channel_id"]) == (
        "/deploy",
        "deploy web",
        "C111",
    )


async def test_bolt_parses_the_built_requests(slack: FakeSlack, client: AsyncWebClient) -> None:
    """Bolt verifies and routes each built request to the listener for its command or id."""
    app = AsyncApp(client=client, signing_secret=slack_requests.SIGNING_SECRET)
    seen: dict[str, Any] = {}

    @app.command("/deploy")
    async def command(ack: Any, command: dict[str, Any]) -> None:
        await ack()
        seen["command"] = command

    @app.view("deploy_modal")
    async def submission(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        seen["view"] = view

    @app.action("stop_deployment")
    async def action(ack: Any, action: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        seen["action"], seen["container"] = action, body["container"]

    requests = [
        slack_requests.slash_command(text="web", response_url=slack.response_url()),
        slack_requests.view_submission(
            values={"machine": "m-1", "image": ""}, private_metadata='{"channel_id": "C111"}'
        ),
        slack_requests.block_action(action_id="stop_deployment", value="dep-1"),
    ]
    for request in requests:
        response = await app.async_dispatch(
            AsyncBoltRequest(body=request.text, headers=dict(request.headers))
        )
        assert response.status == 200, response.body

    assert seen["command"]["text"] == "web"
    assert seen["command"]["response_url"] == slack.response_url()
    assert seen["view"]["state"]["values"] == {
        "machine": {"machine": {"type": "plain_text_input", "value": "m-1"}},
        "image": {"image": {"type": "plain_text_input", "value": None}},
    }
    assert seen["view"]["private_metadata"] == '{"channel_id": "C111"}'
    assert (seen["action"]["value"], seen["container"]["message_ts"]) == (
        "dep-1",
        "1700000000.000100",
    )
    assert len(slack.calls_to("auth.test")) == 1
