"""The playground as Slack's side: what you do reaches a real Bolt app as Slack's requests do."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.playground.actions import AppConfig, AppHome, Playground, Post, SlashCommand
from bot.playground.workspace import BOT_DM, DEPLOYS, SLACKBOT, TEAM_ID, YOU, workspace
from bot.testing.slack_standin import SlackError, SlackStandIn
from tests.e2e_support import until

ROOT = Path(__file__).resolve().parent.parent
ALICE = "ULOCAL0002"  # a colleague of the playground's workspace, not an admin
SECRET = "playground-test-signing-secret"
TOKEN = "xoxb-playground-test"
ORIGIN = "http://127.0.0.1:3000"
APP = AppConfig(SlashCommand("/deploy"))
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


class FakeBot:
    """A real Bolt app that records what it receives and acks as each test needs."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        # Bolt passes listeners their arguments by name, so these are plain functions.
        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN)

        async def command(ack: AsyncAck, command: dict[str, Any]) -> None:
            received.append(command)
            if command["text"] == "slow":
                await asyncio.sleep(0.5)
            await ack(**COMMAND_ACKS.get(command["text"], {}))

        async def submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
            received.append(body)
            image = view["state"]["values"]["image"]["image"]["value"]
            await ack(**SUBMISSION_ACKS.get(image, {}))

        async def record(ack: AsyncAck, body: dict[str, Any]) -> None:
            received.append(body)
            await ack()

        async def home_opened(event: dict[str, Any]) -> None:
            received.append(event)

        async def options(ack: AsyncAck, body: dict[str, Any]) -> None:
            received.append(body)
            await ack(options=[{"text": {"type": "plain_text", "text": "web"}, "value": "web"}])

        async def step(body: dict[str, Any]) -> None:
            received.append(body)

        self.app = AsyncApp(
            signing_secret=SECRET, authorize=authorize, process_before_response=True
        )
        self.app.command("/deploy")(command)
        self.app.view("deploy_modal")(submission)
        self.app.view_closed("deploy_modal")(record)
        self.app.action("stop_deployment")(record)
        self.app.action("machine")(record)
        self.app.event("app_home_opened")(home_opened)
        self.app.shortcut("new_deployment")(record)
        self.app.shortcut("redeploy_message")(record)
        self.app.options("preset")(options)
        self.app.function("start_deployment")(step)


def modal(title: str = "Deploy", *, notify_on_close: bool = False) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "deploy_modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Deploy"},
        "notify_on_close": notify_on_close,
        "blocks": [
            {
                "type": "input",
                "block_id": "image",
                "label": {"type": "plain_text", "text": "Image"},
                "element": {"type": "plain_text_input", "action_id": "image"},
            },
            {
                "type": "actions",
                "block_id": "picks",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "machine",
                        "options": [
                            {"text": {"type": "plain_text", "text": "A"}, "value": "m-a"},
                        ],
                    }
                ],
            },
        ],
    }


# The acks the fake bot gives, by the command's text or the image typed in the modal.
COMMAND_ACKS: dict[str, dict[str, Any]] = {
    "help": {"text": "How to use /deploy"},
    "public": {"response_type": "in_channel", "text": "Everyone sees this"},
}
SUBMISSION_ACKS: dict[str, dict[str, Any]] = {
    "bad": {"response_action": "errors", "errors": {"image": "Say which image."}},
    "again": {"response_action": "update", "view": modal("Updated")},
}


def card() -> dict[str, Any]:
    """A message with a confirmed Stop button, as the bot posts one."""
    stop = {
        "type": "button",
        "action_id": "stop_deployment",
        "text": {"type": "plain_text", "text": "Stop"},
        "value": "ext-1",
        "style": "danger",
        "confirm": {
            "title": {"type": "plain_text", "text": "Stop this deployment?"},
            "text": {"type": "plain_text", "text": "Sure?"},
            "confirm": {"type": "plain_text", "text": "Stop"},
            "deny": {"type": "plain_text", "text": "Keep running"},
        },
    }
    return {
        "text": "running",
        "blocks": [{"type": "actions", "block_id": "buttons", "elements": [stop]}],
    }


@pytest.fixture(name="bot")
def _bot() -> FakeBot:
    return FakeBot()


@pytest.fixture(name="slack")
def _slack() -> SlackStandIn:
    return SlackStandIn(workspace("http://localhost:3000/"), api_origin=ORIGIN, bot_token=TOKEN)


def served(bot: FakeBot) -> httpx.AsyncClient:
    handler = AsyncSlackRequestHandler(bot.app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")


def posting(http: httpx.AsyncClient) -> Post:
    """The playground's delivery over an in-process client: the bot's answer, or
    ConnectionError as the playground's own poster raises it."""

    async def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, str]:
        try:
            response = await http.post(url, content=body, headers=dict(headers))
        except httpx.TransportError as exc:
            raise ConnectionError(type(exc).__name__) from exc
        content_type = response.headers.get("content-type", "").partition(";")[0]
        return response.status_code, response.content, content_type

    return post


@pytest.fixture(name="playground")
async def _playground(bot: FakeBot, slack: SlackStandIn) -> AsyncIterator[Playground]:
    async with served(bot) as http:
        playground = Playground(
            standin=slack,
            signing_secret=SECRET,
            app=APP,
            post=posting(http),
            events_url="http://bot/slack/events",
            ack_timeout_s=0.2,
        )
        playground.bot_started()
        yield playground


def ephemerals(slack: SlackStandIn, channel: str = DEPLOYS) -> list[dict[str, Any]]:
    return list(slack.snapshot()["ephemerals"][channel])


def open_modal(slack: SlackStandIn, view: dict[str, Any]) -> dict[str, Any]:
    answer = slack.call(
        "views.open", {"trigger_id": slack.issue_trigger(YOU), "view": view}, f"Bearer {TOKEN}"
    )
    assert answer["ok"], answer
    opened: dict[str, Any] = answer["view"]
    return opened


def text_state(value: str) -> dict[str, Any]:
    return {"image": {"image": {"type": "plain_text_input", "value": value}}}


class TestCommands:
    async def test_a_command_reaches_the_bot_signed_with_every_field(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """`/deploy …` typed in a channel is a signed slash command Bolt accepts, with a
        trigger_id the bot can open a modal with and a response_url on the stand-in."""
        answer = await playground.send_message(DEPLOYS, "/deploy nginx:latest machine=m-1")
        assert answer == {"ok": True}
        [command] = bot.received
        assert command["command"] == "/deploy"
        assert command["text"] == "nginx:latest machine=m-1"
        assert (command["channel_id"], command["channel_name"]) == (DEPLOYS, "deploys")
        assert (command["user_id"], command["team_id"]) == (YOU, TEAM_ID)
        assert command["response_url"].startswith(f"{ORIGIN}/slack-hooks/")
        opened = slack.call(
            "views.open",
            {"trigger_id": command["trigger_id"], "view": modal()},
            f"Bearer {TOKEN}",
        )
        assert opened["ok"]

    async def test_an_ephemeral_ack_is_shown_only_to_you(
        self, playground: Playground, slack: SlackStandIn
    ) -> None:
        """Text in the ack is shown to you alone, from the bot."""
        await playground.send_message(DEPLOYS, "/deploy help")
        [shown] = ephemerals(slack)
        assert shown["text"] == "How to use /deploy"
        assert shown["bot_id"]
        assert slack.messages(DEPLOYS) == []

    async def test_an_in_channel_ack_shows_the_command_and_the_answer(
        self, playground: Playground, slack: SlackStandIn
    ) -> None:
        """An `in_channel` ack is posted for everyone, under the command you typed."""
        await playground.send_message(DEPLOYS, "/deploy public")
        assert [(m["user"], m["text"]) for m in slack.messages(DEPLOYS)] == [
            (YOU, "/deploy public"),
            ("ULOCALBOT1", "Everyone sees this"),
        ]

    async def test_a_late_ack_is_a_timeout(
        self, playground: Playground, slack: SlackStandIn
    ) -> None:
        """An ack later than Slack waits is reported as Slack reports it."""
        answer = await playground.send_message(DEPLOYS, "/deploy slow")
        assert answer == {"ok": False, "error": "operation_timeout"}
        [shown] = ephemerals(slack)
        assert shown["user"] == SLACKBOT
        assert shown["text"] == '`/deploy` failed with the error "operation_timeout"'

    async def test_a_wrong_signing_secret_is_refused_by_the_bot(
        self, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """Signatures are real: with another secret Bolt refuses the request, nothing runs."""
        async with served(bot) as http:
            playground = Playground(
                standin=slack,
                signing_secret="another-secret",
                app=APP,
                post=posting(http),
                events_url="http://bot/slack/events",
            )
            playground.bot_started()
            answer = await playground.send_message(DEPLOYS, "/deploy")
        assert answer == {"ok": False, "error": "dispatch_failed"}
        assert bot.received == []

    async def test_what_slack_itself_refuses(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """Unknown commands and commands in threads are answered by Slackbot, not sent."""
        parent = slack.post_as(YOU, DEPLOYS, "hello")
        unknown = await playground.send_message(DEPLOYS, "/deplyo")
        threaded = await playground.send_message(DEPLOYS, "/deploy", thread_ts=parent["ts"])
        assert unknown["error"] == "unknown_command"
        assert threaded["error"] == "not_in_thread"
        assert bot.received == []
        texts = [shown["text"] for shown in ephemerals(slack)]
        assert texts[0].startswith("`/deplyo` is not a valid command.")
        assert texts[1] == "`/deploy` is not supported in threads. Sorry!"

    async def test_plain_text_is_your_message(
        self, playground: Playground, slack: SlackStandIn
    ) -> None:
        """Text that is not a command is posted as yours, escaped like Slack escapes it."""
        await playground.send_message(DEPLOYS, "ship it <now>")
        [message] = slack.messages(DEPLOYS)
        assert (message["user"], message["text"]) == (YOU, "ship it &lt;now&gt;")

    async def test_a_read_only_messages_tab(self, bot: FakeBot, slack: SlackStandIn) -> None:
        """When the manifest makes the app's Messages tab read-only, nothing can be sent there."""
        app = AppConfig(SlashCommand("/deploy"), AppHome(messages_tab_read_only_enabled=True))
        async with served(bot) as http:
            playground = Playground(
                standin=slack,
                signing_secret=SECRET,
                app=app,
                post=posting(http),
                events_url="http://bot/slack/events",
            )
            playground.bot_started()
            answer = await playground.send_message(BOT_DM, "/deploy")
        assert answer["ok"] is False
        assert bot.received == []


class TestModals:
    async def test_field_errors_keep_the_modal_open(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """The submission carries what you typed; an `errors` ack comes back for the page."""
        view = open_modal(slack, modal())
        answer = await playground.submit_view(view["id"], text_state("bad"))
        assert answer == {"ok": True, "errors": {"image": "Say which image."}}
        [body] = bot.received
        assert body["type"] == "view_submission"
        assert body["user"]["id"] == YOU
        assert body["view"]["id"] == view["id"]
        assert body["view"]["state"]["values"] == text_state("bad")
        assert [shown["id"] for shown in slack.stack(YOU)] == [view["id"]]

    async def test_an_empty_ack_closes_and_an_update_replaces(
        self, playground: Playground, slack: SlackStandIn
    ) -> None:
        """An update ack replaces the modal in place; an empty ack closes it."""
        view = open_modal(slack, modal())
        await playground.submit_view(view["id"], text_state("again"))
        [updated] = slack.stack(YOU)
        assert (updated["id"], updated["title"]["text"]) == (view["id"], "Updated")
        assert await playground.submit_view(view["id"], text_state("nginx")) == {
            "ok": True,
            "errors": {},
        }
        assert slack.stack(YOU) == []

    async def test_closing_tells_the_bot_only_when_asked(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """`view_closed` is sent for views with notify_on_close, and only for those."""
        quiet = open_modal(slack, modal())
        await playground.close_view(quiet["id"])
        told = open_modal(slack, modal(notify_on_close=True))
        await playground.close_view(told["id"])
        # The listener records before it acks, so the told close is in; the quiet one is not.
        [closed] = bot.received
        assert (closed["type"], closed["view"]["id"]) == ("view_closed", told["id"])
        assert slack.stack(YOU) == []

    async def test_a_view_that_is_not_open_cannot_be_submitted(
        self, playground: Playground
    ) -> None:
        """Submitting an unknown view is refused before anything is sent."""
        with pytest.raises(SlackError, match="not_found"):
            await playground.submit_view("V404", {})

    async def test_picking_in_a_modal_sends_its_state(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """An element used in a modal sends block_actions with the view and what is typed."""
        view = open_modal(slack, modal())
        option = {"text": {"type": "plain_text", "text": "A"}, "value": "m-a"}
        await playground.use_element(
            {"type": "view", "view_id": view["id"], "values": text_state("nginx")},
            {"block_id": "picks", "action_id": "machine", "selected_option": option},
        )
        [body] = bot.received
        assert body["container"] == {"type": "view", "view_id": view["id"]}
        assert body["view"]["state"]["values"] == text_state("nginx")
        assert body["actions"][0]["selected_option"] == option
        assert body["actions"][0]["type"] == "static_select"


class TestButtons:
    async def test_a_click_is_built_from_the_button_the_bot_drew(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """The action carries the button's own value and the message it is on; what the page
        claims about the button is ignored."""
        posted = slack.call("chat.postMessage", {"channel": DEPLOYS, **card()}, f"Bearer {TOKEN}")
        before = time.time()
        await playground.use_element(
            {"type": "message", "channel": DEPLOYS, "ts": posted["ts"]},
            {"block_id": "buttons", "action_id": "stop_deployment", "value": "someone-elses"},
        )
        [body] = bot.received
        [action] = body["actions"]
        assert action["value"] == "ext-1"
        assert action["text"]["text"] == "Stop"
        assert float(action["action_ts"]) >= before - 1
        assert body["container"]["message_ts"] == posted["ts"]
        assert body["channel"]["id"] == DEPLOYS
        assert body["message"]["blocks"] == posted["message"]["blocks"]
        assert body["response_url"].startswith(f"{ORIGIN}/slack-hooks/")

    async def test_a_button_that_is_not_there_is_refused(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """An action no element of the message has is refused, and the bot hears nothing."""
        posted = slack.call("chat.postMessage", {"channel": DEPLOYS, **card()}, f"Bearer {TOKEN}")
        with pytest.raises(SlackError, match="invalid_action"):
            await playground.use_element(
                {"type": "message", "channel": DEPLOYS, "ts": posted["ts"]},
                {"block_id": "buttons", "action_id": "delete_everything"},
            )
        assert bot.received == []


class TestActingAs:
    async def test_a_colleague_types_and_clicks_as_themselves(
        self,
        playground: Playground,
        bot: FakeBot,
        slack: SlackStandIn,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Chosen as the person at the page, a colleague's commands and clicks reach the bot
        signed as theirs; their private answers are marked for them; switching back makes you
        the one again. The page is told who is there, with their modals and Home tab."""
        seen: list[dict[str, Any]] = []
        monkeypatch.setattr(slack.feed, "publish", seen.append)
        assert playground.act_as(ALICE) == {"ok": True}
        assert seen == [{"type": "identity", "you": ALICE, "views": [], "home": None}]
        await playground.send_message(DEPLOYS, "/deploy help")
        posted = slack.call("chat.postMessage", {"channel": DEPLOYS, **card()}, f"Bearer {TOKEN}")
        await playground.use_element(
            {"type": "message", "channel": DEPLOYS, "ts": posted["ts"]},
            {"block_id": "buttons", "action_id": "stop_deployment"},
        )
        command, click = bot.received
        assert (command["user_id"], command["user_name"]) == (ALICE, "alice")
        assert click["user"]["id"] == ALICE
        [answer] = ephemerals(slack)
        assert answer["reader"] == ALICE
        playground.act_as(YOU)
        await playground.send_message(DEPLOYS, "/deploy help")
        assert bot.received[-1]["user_id"] == YOU

    def test_only_people_of_the_workspace_can_be_chosen(
        self, playground: Playground, slack: SlackStandIn
    ) -> None:
        """The bot and made-up IDs cannot be at the page: nothing changes."""
        for somebody in ("ULOCALBOT1", "UNOBODY"):
            with pytest.raises(SlackError, match="user_not_found"):
                playground.act_as(somebody)
        assert slack.workspace.you == YOU


class TestHome:
    async def test_opening_home_sends_the_event(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """Opening the Home tab sends `app_home_opened`, with the published view if any."""
        home = {"type": "home", "blocks": [{"type": "divider"}]}
        published = slack.call("views.publish", {"user_id": YOU, "view": home}, f"Bearer {TOKEN}")
        await playground.open_home()
        # Bolt acks events before running their listeners.
        await until(lambda: bot.received, what="app_home_opened")
        [event] = bot.received
        assert (event["type"], event["user"], event["tab"]) == ("app_home_opened", YOU, "home")
        assert event["view"]["id"] == published["view"]["id"]

    async def test_no_event_the_app_did_not_subscribe_to(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """Slack sends only the events in the manifest: opening the Home tab of an app that
        does not subscribe sends nothing, while one that does is told."""
        app = AppConfig(SlashCommand("/deploy"), bot_events=frozenset())
        async with served(bot) as http:
            unsubscribed = Playground(
                standin=slack,
                signing_secret=SECRET,
                app=app,
                post=posting(http),
                events_url="http://bot/slack/events",
            )
            unsubscribed.bot_started()
            await unsubscribed.open_home()
        # The subscribed app's event, sent after, is the barrier: once it is in, an event the
        # first opening had sent would be in too.
        await playground.open_home()
        await until(lambda: bot.received, what="the subscribed app's app_home_opened")
        [event] = bot.received
        assert event["type"] == "app_home_opened"


def test_the_manifest_is_read_as_slack_reads_it() -> None:
    """The repository's manifest gives the command, its hint, the tabs and the events."""
    manifest = json.loads((ROOT / "manifest.json").read_text())
    app = AppConfig.from_manifest(manifest, command="/deploy")
    assert app.command.name == "/deploy"
    assert app.command.usage_hint.startswith("[image]")
    assert app.app_home.home_tab_enabled
    assert "app_home_opened" in app.bot_events
    renamed = AppConfig.from_manifest(manifest, command="/ship")
    assert (renamed.command.name, renamed.command.description) == ("/ship", "")


class TestShortcutsStepsAndOptions:
    @pytest.fixture(name="playground")
    async def _playground(self, bot: FakeBot, slack: SlackStandIn) -> AsyncIterator[Playground]:
        async with served(bot) as http:
            playground = Playground(
                standin=slack,
                signing_secret=SECRET,
                app=AppConfig.from_manifest(MANIFEST, command="/deploy"),
                post=posting(http),
                events_url="http://bot/slack/events",
            )
            playground.bot_started()
            yield playground

    async def test_a_global_shortcut_reaches_the_bot_with_a_trigger_to_open_a_modal(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """The shortcuts menu sends Slack's `shortcut`: you, no channel, a live trigger_id."""
        assert await playground.use_shortcut("new_deployment", None) == {"ok": True}
        [body] = bot.received
        assert (body["type"], body["callback_id"], body["user"]["id"]) == (
            "shortcut",
            "new_deployment",
            YOU,
        )
        assert "channel" not in body
        opened = slack.call(
            "views.open", {"trigger_id": body["trigger_id"], "view": modal()}, f"Bearer {TOKEN}"
        )
        assert opened["ok"]

    async def test_a_message_shortcut_carries_the_message_and_a_response_url(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """A message's "More actions" sends `message_action` with the message as stored, its
        channel and a response_url there; an unknown shortcut reaches nothing."""
        typed = slack.post_as(YOU, DEPLOYS, "ship it")
        answer = await playground.use_shortcut(
            "redeploy_message", {"channel": DEPLOYS, "ts": typed["ts"]}
        )
        assert answer == {"ok": True}
        [body] = bot.received
        assert body["type"] == "message_action"
        assert (body["channel"]["id"], body["message"]["ts"]) == (DEPLOYS, typed["ts"])
        assert body["message"]["text"] == "ship it"
        assert body["response_url"].startswith(f"{ORIGIN}/slack-hooks/")
        assert (await playground.use_shortcut("nope", None))["ok"] is False

    async def test_an_external_select_shows_the_options_the_app_acks(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """Typing in an external select sends `block_suggestion` for your modal; the ack's
        options come back to the page."""
        view = open_modal(slack, modal())
        answer = await playground.suggest(view["id"], "preset", "preset", "we")
        assert answer == {
            "ok": True,
            "options": [{"text": {"type": "plain_text", "text": "web"}, "value": "web"}],
        }
        [body] = bot.received
        assert (body["type"], body["action_id"], body["value"]) == (
            "block_suggestion",
            "preset",
            "we",
        )
        assert body["view"]["id"] == view["id"]

    async def test_a_workflow_run_sends_function_executed_with_a_token_that_completes_it(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """ "Run workflow" sends the step's `function_executed` with the inputs given (empty ones
        left out) and a run token; that token completes the run, which the feed reports."""
        answer = await playground.run_workflow(
            "start_deployment", {"image": "nginx", "ports": "", "channel_id": DEPLOYS}
        )
        assert answer["ok"] is True
        await until(lambda: bot.received, what="function_executed")
        [body] = bot.received
        event = body["event"]
        assert event["type"] == "function_executed"
        assert event["function"]["callback_id"] == "start_deployment"
        assert event["inputs"] == {"image": "nginx", "channel_id": DEPLOYS}
        assert event["function_execution_id"] == answer["execution"]
        done = slack.call(
            "functions.completeSuccess",
            {"function_execution_id": answer["execution"], "outputs": {"outcome": "started"}},
            f"Bearer {event['bot_access_token']}",
        )
        assert done == {"ok": True}
        assert slack.completions == {answer["execution"]: {"outputs": {"outcome": "started"}}}
        assert (await playground.run_workflow("nope", {}))["ok"] is False

    async def test_a_channel_picked_in_a_modal_comes_with_its_response_url(
        self, playground: Playground, bot: FakeBot, slack: SlackStandIn
    ) -> None:
        """A conversations select with `response_url_enabled` adds the picked channel's
        response_url to the submission, as Slack does."""
        view = modal()
        view["blocks"].append(
            {
                "type": "input",
                "block_id": "channel",
                "optional": True,
                "label": {"type": "plain_text", "text": "Channel"},
                "element": {
                    "type": "conversations_select",
                    "action_id": "channel",
                    "response_url_enabled": True,
                },
            }
        )
        opened = open_modal(slack, view)
        values = text_state("nginx") | {
            "channel": {
                "channel": {"type": "conversations_select", "selected_conversation": DEPLOYS}
            }
        }
        assert (await playground.submit_view(opened["id"], values))["ok"] is True
        [body] = bot.received
        [url] = body["response_urls"]
        assert (url["block_id"], url["action_id"], url["channel_id"]) == (
            "channel",
            "channel",
            DEPLOYS,
        )
        assert url["response_url"].startswith(f"{ORIGIN}/slack-hooks/")


def test_the_manifest_gives_the_shortcuts_and_the_workflow_step() -> None:
    """The manifest's two shortcuts and its custom step with its inputs, as Slack offers them."""
    app = AppConfig.from_manifest(MANIFEST, command="/deploy")
    assert [(s.callback_id, s.type, s.name) for s in app.shortcuts] == [
        ("new_deployment", "global", "Deploy a container"),
        ("redeploy_message", "message", "Redeploy this"),
    ]
    [step] = app.steps
    assert (step.callback_id, step.title) == ("start_deployment", "Start a deployment")
    assert [(i.name, i.type, i.required) for i in step.inputs][-2:] == [
        ("channel_id", "slack#/types/channel_id", True),
        ("user_id", "slack#/types/user_id", True),
    ]
