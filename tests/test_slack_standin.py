"""The Slack stand-in, as the playground's workspace: Web API methods, response_urls, the feed."""

import asyncio
import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from bot.playground.workspace import (
    BOT_DM,
    BOT_USER_ID,
    DEPLOYS,
    GENERAL,
    PRIVATE,
    SCOPES,
    YOU,
    workspace,
)
from bot.testing import slack_limits
from bot.testing.slack_standin import SlackStandIn, read_params, with_ids

TOKEN = "xoxb-playground-test"
BEARER = f"Bearer {TOKEN}"
ORIGIN = "http://127.0.0.1:3000"
PAGE = "http://localhost:3000/"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def _clock() -> Clock:
    return Clock()


@pytest.fixture(name="slack")
def _slack(clock: Clock) -> SlackStandIn:
    return SlackStandIn(workspace(PAGE), api_origin=ORIGIN, bot_token=TOKEN, clock=clock)


def call(slack: SlackStandIn, method: str, **params: Any) -> dict[str, Any]:
    return slack.call(method, params, BEARER)


def modal(title: str = "Deploy", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {
                "type": "input",
                "block_id": "image",
                "label": {"type": "plain_text", "text": "Image"},
                "element": {"type": "plain_text_input", "action_id": "image"},
            }
        ],
        **extra,
    }


def hook_id(url: str) -> str:
    assert url.startswith(f"{ORIGIN}/slack-hooks/")
    return url.rsplit("/", 1)[1]


class TestAuth:
    def test_the_bot_token_is_required(self, slack: SlackStandIn) -> None:
        """Calls without the bot's token are refused as Slack refuses them."""
        assert slack.call("auth.test", {}, "") == {"ok": False, "error": "not_authed"}
        assert slack.call("auth.test", {}, "Bearer xoxb-other") == {
            "ok": False,
            "error": "invalid_auth",
        }
        assert slack.call("auth.test", {"token": TOKEN}, "")["ok"] is True

    def test_auth_test_names_the_workspace(self, slack: SlackStandIn) -> None:
        """auth.test answers the local team and the bot user."""
        answer = call(slack, "auth.test")
        assert answer["team"] == "deploybot playground"
        assert answer["user_id"] == BOT_USER_ID

    def test_unknown_methods_say_so(self, slack: SlackStandIn) -> None:
        """A method the playground does not implement is `unknown_method`, never a fake ok."""
        assert call(slack, "files.upload") == {"ok": False, "error": "unknown_method"}

    def test_tokens_of_the_wrong_kind_are_refused(self, slack: SlackStandIn) -> None:
        """apps.connections.open wants an app-level token: the bot's is the wrong kind."""
        assert call(slack, "apps.connections.open") == {
            "ok": False,
            "error": "not_allowed_token_type",
        }

    def test_made_up_tokens_are_the_bots_or_the_apps(self) -> None:
        """Without a bot token of its own, any `xoxb-` token is the bot's and any `xapp-` one
        the app's, each good only for its own methods."""
        slack = SlackStandIn(workspace(PAGE), api_origin=ORIGIN)
        opened = slack.call("apps.connections.open", {}, "Bearer xapp-1-A1-made-up")
        assert slack.call("auth.test", {}, "Bearer xoxb-made-up")["ok"] is True
        assert slack.call("auth.test", {}, "Bearer xapp-1-A1-made-up")["error"] == (
            "not_allowed_token_type"
        )
        assert slack.call("auth.test", {}, "Bearer made-up")["error"] == "invalid_auth"
        assert opened["url"].startswith("ws://127.0.0.1:3000/link/?ticket=")
        ticket = opened["url"].split("ticket=")[1].split("&")[0]
        assert slack.socket_accepts(ticket)
        assert not slack.socket_accepts("made-up")


class TestOAuth:
    @pytest.fixture(name="installable")
    def _installable(self) -> SlackStandIn:
        app = replace(workspace(PAGE), client_id="1.2", client_secret="app-secret")
        return SlackStandIn(app, api_origin=ORIGIN, bot_token=TOKEN)

    def test_a_code_is_exchanged_once_for_a_token_that_works(
        self, installable: SlackStandIn
    ) -> None:
        """oauth.v2.access takes the app's credentials and a code, once; the bot token it gives
        is then accepted like the workspace's own."""
        installable.add_oauth_code("code-1", team_id="T222", bot_token="xoxb-t222", installer="U1")
        basic = "Basic " + base64.b64encode(b"1.2:app-secret").decode()
        installed = installable.call("oauth.v2.access", {"code": "code-1"}, basic)
        again = installable.call("oauth.v2.access", {"code": "code-1"}, basic)
        assert (installed["access_token"], installed["team"]["id"]) == ("xoxb-t222", "T222")
        assert installed["authed_user"] == {"id": "U1"}
        assert again["error"] == "invalid_code"
        assert installable.call("auth.test", {}, "Bearer xoxb-t222")["ok"] is True

    def test_an_uninstall_revokes_the_token_it_came_with(self, installable: SlackStandIn) -> None:
        """apps.uninstall, with the app's credentials, leaves the workspace: its token stops
        working; without them it is refused and nothing changes."""
        bearer = f"Bearer {TOKEN}"
        wrong = installable.call(
            "apps.uninstall", {"client_id": "1.2", "client_secret": "another"}, bearer
        )
        still = installable.call("auth.test", {}, bearer)
        done = installable.call(
            "apps.uninstall", {"client_id": "1.2", "client_secret": "app-secret"}, bearer
        )
        assert wrong["error"] == "invalid_client_id"
        assert still["ok"] is True
        assert done == {"ok": True}
        assert installable.call("auth.test", {}, bearer)["error"] == "token_revoked"

    def test_wrong_credentials_are_refused(self, installable: SlackStandIn) -> None:
        """Another secret, or an app without OAuth credentials, gets `invalid_client_id`."""
        installable.add_oauth_code("code-1", team_id="T222", bot_token="xoxb-t222", installer="U1")
        wrong = "Basic " + base64.b64encode(b"1.2:another").decode()
        as_fields = {"code": "code-1", "client_id": "1.2", "client_secret": "app-secret"}
        assert installable.call("oauth.v2.access", {"code": "code-1"}, wrong)["error"] == (
            "invalid_client_id"
        )
        assert installable.call("oauth.v2.access", as_fields, "")["ok"] is True
        unconfigured = SlackStandIn(workspace(PAGE), api_origin=ORIGIN, bot_token=TOKEN)
        assert unconfigured.call("oauth.v2.access", as_fields, "")["error"] == ("invalid_client_id")


class TestMessages:
    def test_a_post_and_its_thread(
        self, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A thread reply is stored under its parent, which counts it, and both are published."""
        seen: list[dict[str, Any]] = []
        monkeypatch.setattr(slack.feed, "publish", seen.append)
        parent = call(slack, "chat.postMessage", channel=DEPLOYS, text="deploying")
        reply = call(
            slack, "chat.postMessage", channel=DEPLOYS, text="started", thread_ts=parent["ts"]
        )
        assert parent["ok"]
        assert reply["ok"]
        assert float(reply["ts"]) > float(parent["ts"])
        stored_parent, stored_reply = slack.messages(DEPLOYS)
        assert stored_parent["reply_count"] == 1
        assert stored_parent["latest_reply"] == reply["ts"]
        assert stored_reply["thread_ts"] == parent["ts"]
        assert stored_reply["bot_id"]
        assert [event["message"]["text"] for event in seen] == ["deploying", "started", "deploying"]

    def test_a_reply_broadcast_is_in_its_thread_and_in_the_channel(
        self, slack: SlackStandIn
    ) -> None:
        """`reply_broadcast` (a boolean in JSON, "true" in a form) keeps the reply in its thread
        and shows it in the channel too, as `thread_broadcast`; other replies stay in the
        thread."""
        parent = call(slack, "chat.postMessage", channel=DEPLOYS, text="deploying")
        quiet = call(
            slack, "chat.postMessage", channel=DEPLOYS, text="started", thread_ts=parent["ts"]
        )
        loud = call(
            slack,
            "chat.postMessage",
            channel=DEPLOYS,
            text="failed",
            thread_ts=parent["ts"],
            reply_broadcast=True,
        )
        form = call(
            slack,
            "chat.postMessage",
            channel=DEPLOYS,
            text="failed again",
            thread_ts=parent["ts"],
            reply_broadcast="true",
        )
        assert [m["text"] for m in slack.replies(DEPLOYS, parent["ts"])] == [
            "started",
            "failed",
            "failed again",
        ]
        shown = [(m["text"], m.get("subtype")) for m in slack.history(DEPLOYS)]
        assert shown == [
            ("deploying", None),
            ("failed", "thread_broadcast"),
            ("failed again", "thread_broadcast"),
        ]
        assert "reply_broadcast" not in quiet["message"]
        assert loud["message"]["subtype"] == form["message"]["subtype"] == "thread_broadcast"

    def test_a_reply_to_nothing_is_refused(self, slack: SlackStandIn) -> None:
        """A thread_ts no message has is refused."""
        answer = call(slack, "chat.postMessage", channel=DEPLOYS, text="x", thread_ts="1.000001")
        assert answer == {"ok": False, "error": "thread_not_found"}

    def test_public_channels_take_posts_without_joining(self, slack: SlackStandIn) -> None:
        """chat:write.public lets the bot post in a public channel it is not in."""
        assert call(slack, "chat.postMessage", channel=GENERAL, text="hi")["ok"] is True

    def test_without_chat_write_public_a_public_channel_needs_a_join(self) -> None:
        """A bot without chat:write.public gets `not_in_channel` where it is not a member,
        until it joins."""
        scopes = SCOPES - {"chat:write.public"}
        slack = SlackStandIn(
            replace(workspace(PAGE), scopes=scopes), api_origin=ORIGIN, bot_token=TOKEN
        )
        refused = call(slack, "chat.postMessage", channel=GENERAL, text="hi")
        call(slack, "conversations.join", channel=GENERAL)
        posted = call(slack, "chat.postMessage", channel=GENERAL, text="hi")
        assert refused == {"ok": False, "error": "not_in_channel"}
        assert posted["ok"] is True

    def test_a_private_channel_the_bot_is_not_in_is_not_found(self, slack: SlackStandIn) -> None:
        """Posting, joining or updating in the private channel fails as on Slack."""
        assert call(slack, "chat.postMessage", channel=PRIVATE, text="x")["error"] == (
            "channel_not_found"
        )
        assert call(slack, "conversations.join", channel=PRIVATE)["error"] == "channel_not_found"

    def test_joining(self, slack: SlackStandIn) -> None:
        """Joining a public channel once shows a join message; again, a warning."""
        first = call(slack, "conversations.join", channel=GENERAL)
        again = call(slack, "conversations.join", channel=GENERAL)
        assert first["ok"]
        assert "warning" not in first
        assert again["warning"] == "already_in_channel"
        assert [m.get("subtype") for m in slack.messages(GENERAL)] == ["channel_join"]

    def test_a_user_id_means_the_direct_messages(self, slack: SlackStandIn) -> None:
        """Posting to your user id, or opening a conversation with you, is the bot's DM."""
        posted = call(slack, "chat.postMessage", channel=YOU, text="only you")
        opened = call(slack, "conversations.open", users=YOU)
        assert posted["channel"] == BOT_DM
        assert opened["channel"]["id"] == BOT_DM

    def test_empty_messages_are_refused(self, slack: SlackStandIn) -> None:
        """A post with neither text nor blocks is `no_text`."""
        assert call(slack, "chat.postMessage", channel=DEPLOYS)["error"] == "no_text"

    def test_blocks_over_slack_limits_are_refused(self, slack: SlackStandIn) -> None:
        """Blocks Slack would refuse are `invalid_blocks`, with Slack-style explanations."""
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
        answer = call(slack, "chat.postMessage", channel=DEPLOYS, text="t", blocks=blocks)
        assert answer["error"] == "invalid_blocks"
        assert answer["response_metadata"]["messages"] == [
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
        ]

    def test_update_keeps_what_it_does_not_change(self, slack: SlackStandIn) -> None:
        """chat.update replaces the fields it carries and marks the message edited."""
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "card"}}]
        posted = call(slack, "chat.postMessage", channel=DEPLOYS, text="a", blocks=blocks)
        updated = call(slack, "chat.update", channel=DEPLOYS, ts=posted["ts"], text="b")
        assert updated["ok"]
        [message] = slack.messages(DEPLOYS)
        assert message["text"] == "b"
        assert message["blocks"][0]["text"]["text"] == "card"
        assert "edited" in message

    def test_only_the_bots_own_messages_can_be_updated(self, slack: SlackStandIn) -> None:
        """Your messages are yours: the bot gets `cant_update_message`."""
        mine = slack.post_as(YOU, DEPLOYS, "hello <world> & co")
        assert mine["text"] == "hello &lt;world&gt; &amp; co"
        answer = call(slack, "chat.update", channel=DEPLOYS, ts=mine["ts"], text="x")
        assert answer["error"] == "cant_update_message"
        assert call(slack, "chat.update", channel=DEPLOYS, ts="1.0", text="x")["error"] == (
            "message_not_found"
        )

    def test_ephemeral_messages(self, slack: SlackStandIn) -> None:
        """chat.postEphemeral shows a message only you see, which you can dismiss."""
        answer = call(slack, "chat.postEphemeral", channel=DEPLOYS, user=YOU, text="psst")
        [shown] = slack.snapshot()["ephemerals"][DEPLOYS]
        assert shown["ts"] == answer["message_ts"]
        assert shown["subtype"] == "ephemeral"
        slack.dismiss_ephemeral(DEPLOYS, shown["ts"])
        assert slack.snapshot()["ephemerals"][DEPLOYS] == []
        assert call(slack, "chat.postEphemeral", channel=DEPLOYS, user="U404", text="x")[
            "error"
        ] == ("user_not_found")

    def test_permalinks_open_the_page(self, slack: SlackStandIn) -> None:
        """chat.getPermalink points at the message on the page."""
        posted = call(slack, "chat.postMessage", channel=DEPLOYS, text="x")
        answer = call(slack, "chat.getPermalink", channel=DEPLOYS, message_ts=posted["ts"])
        assert answer["permalink"] == f"http://localhost:3000/#{DEPLOYS}/{posted['ts']}"

    def test_users(self, slack: SlackStandIn) -> None:
        """You are a workspace admin; unknown users are not found."""
        assert call(slack, "users.info", user=YOU)["user"]["is_admin"] is True
        assert call(slack, "users.info", user="U404")["error"] == "user_not_found"

    def test_user_groups(self, slack: SlackStandIn) -> None:
        """One user group, @oncall, with you in it, for "who may deploy"."""
        [group] = call(slack, "usergroups.list")["usergroups"]
        members = call(slack, "usergroups.users.list", usergroup=group["id"])["users"]
        assert group["handle"] == "oncall"
        assert YOU in members
        assert call(slack, "usergroups.users.list", usergroup="S404")["error"] == (
            "no_such_subteam"
        )


class TestMadeUpIds:
    @pytest.fixture(name="lenient")
    def _lenient(self) -> SlackStandIn:
        return SlackStandIn(workspace(PAGE), api_origin=ORIGIN, bot_token=TOKEN, made_up_ids=True)

    def test_made_up_people_and_channels_exist(self, lenient: SlackStandIn) -> None:
        """Any user ID is a person and any channel ID a public channel the bot is in; a user ID
        as a channel, or a conversation opened with users, is the bot's direct messages."""
        user = call(lenient, "users.info", user="U404")["user"]
        posted = call(lenient, "chat.postMessage", channel="C404", text="hi")
        direct = call(lenient, "chat.postMessage", channel="U404", text="psst")
        opened = call(lenient, "conversations.open", users="U404")["channel"]
        group = call(lenient, "conversations.open", users="U404,U405")["channel"]
        assert (user["id"], user["name"], user["is_admin"]) == ("U404", "u404", False)
        assert posted["channel"] == "C404"
        assert opened["id"] == direct["channel"]
        assert opened["is_im"] is True
        assert group["id"].startswith("G")
        assert group["id"] != opened["id"]
        assert [m["text"] for m in lenient.history(direct["channel"])] == ["psst"]

    def test_made_up_triggers_views_and_response_urls_work(self, lenient: SlackStandIn) -> None:
        """A trigger_id, a view ID or a response_url nobody issued is taken as real (tests make
        them up), with Slack's rules for the rest."""
        first = call(lenient, "views.open", trigger_id="1.2.made-up", view=modal())
        again = call(lenient, "views.open", trigger_id="1.2.made-up", view=modal())
        updated = call(lenient, "views.update", view_id="V404", view=modal("Again"))
        hooked = [lenient.post_to_hook("made-up", b'{"text": "x"}') for _ in range(6)]
        assert first["ok"]
        assert again["ok"]
        assert (updated["view"]["id"], updated["view"]["root_view_id"]) == ("V404", "V404")
        assert hooked == [(200, "ok")] * 5 + [(404, "used_url")]
        assert call(lenient, "views.open", trigger_id="", view=modal())["error"] == (
            "invalid_trigger_id"
        )


class TestViews:
    def test_a_trigger_opens_one_modal_within_3_seconds(
        self, slack: SlackStandIn, clock: Clock
    ) -> None:
        """A trigger_id serves once, and not after 3 s; a made-up one never."""
        fresh, late = slack.issue_trigger(YOU), slack.issue_trigger(YOU)
        opened = call(slack, "views.open", trigger_id=fresh, view=modal())
        again = call(slack, "views.open", trigger_id=fresh, view=modal())
        clock.now += 3.1
        expired = call(slack, "views.open", trigger_id=late, view=modal())
        invented = call(slack, "views.open", trigger_id="1.2.3", view=modal())
        assert opened["ok"]
        assert opened["view"]["id"].startswith("V")
        assert (again["error"], expired["error"], invented["error"]) == (
            "exchanged_trigger_id",
            "expired_trigger_id",
            "invalid_trigger_id",
        )
        assert [view["id"] for view in slack.stack(YOU)] == [opened["view"]["id"]]

    def test_views_are_checked_like_slack_checks_them(self, slack: SlackStandIn) -> None:
        """A title over 24 characters, or inputs without a submit button, are refused."""
        long_title = call(
            slack, "views.open", trigger_id=slack.issue_trigger(YOU), view=modal("x" * 25)
        )
        no_submit = modal()
        del no_submit["submit"]
        missing = call(slack, "views.open", trigger_id=slack.issue_trigger(YOU), view=no_submit)
        assert long_title["error"] == "invalid_arguments"
        assert "/view/title/text" in long_title["response_metadata"]["messages"][0]
        assert "needs a submit button" in missing["response_metadata"]["messages"][0]

    def test_push_update_and_hash(self, slack: SlackStandIn) -> None:
        """Views stack up to 3; an update with a stale hash is a conflict."""
        root = call(slack, "views.open", trigger_id=slack.issue_trigger(YOU), view=modal())["view"]
        pushed = [
            call(slack, "views.push", trigger_id=slack.issue_trigger(YOU), view=modal(f"P{n}"))
            for n in (1, 2, 3)
        ]
        assert [answer.get("error") for answer in pushed] == [None, None, "push_limit_reached"]
        assert pushed[0]["view"]["previous_view_id"] == root["id"]
        assert pushed[1]["view"]["root_view_id"] == root["id"]
        updated = call(
            slack, "views.update", view_id=root["id"], hash=root["hash"], view=modal("New")
        )
        stale = call(slack, "views.update", view_id=root["id"], hash=root["hash"], view=modal())
        assert updated["view"]["id"] == root["id"]
        assert updated["view"]["title"]["text"] == "New"
        assert stale["error"] == "hash_conflict"
        assert call(slack, "views.update", view_id="V404", view=modal())["error"] == "not_found"

    def test_update_by_external_id(self, slack: SlackStandIn) -> None:
        """views.update finds a view by its external_id too."""
        trigger = slack.issue_trigger(YOU)
        opened = call(slack, "views.open", trigger_id=trigger, view=modal(external_id="ext-1"))
        updated = call(slack, "views.update", external_id="ext-1", view=modal("Again"))
        assert updated["view"]["id"] == opened["view"]["id"]

    def test_publish_home(self, slack: SlackStandIn) -> None:
        """views.publish keeps one Home tab per user, with the same id across publishes."""
        home = {"type": "home", "blocks": [{"type": "divider"}]}
        first = call(slack, "views.publish", user_id=YOU, view=home)
        second = call(slack, "views.publish", user_id=YOU, view=home)
        assert first["view"]["id"] == second["view"]["id"]
        assert second["view"]["blocks"] == [{"type": "divider", "block_id": "b0"}]
        assert slack.home(YOU) == second["view"]
        assert call(slack, "views.publish", user_id=YOU, view=modal())["error"] == (
            "invalid_arguments"
        )

    def test_submission_acks(self, slack: SlackStandIn) -> None:
        """Errors keep the modal; update replaces it; push stacks; clear and empty close."""
        view = call(slack, "views.open", trigger_id=slack.issue_trigger(YOU), view=modal())["view"]
        errors = slack.settle_submission(
            view["id"], {"response_action": "errors", "errors": {"image": "Say which image."}}
        )
        assert errors == {"image": "Say which image."}
        assert len(slack.stack(YOU)) == 1
        slack.settle_submission(view["id"], {"response_action": "update", "view": modal("Two")})
        assert slack.stack(YOU)[0]["title"]["text"] == "Two"
        slack.settle_submission(view["id"], {"response_action": "push", "view": modal("Three")})
        assert len(slack.stack(YOU)) == 2
        slack.settle_submission(slack.stack(YOU)[-1]["id"], None)
        assert len(slack.stack(YOU)) == 1
        slack.settle_submission(view["id"], {"response_action": "clear"})
        assert slack.stack(YOU) == []

    def test_typed_state_travels_with_the_view(self, slack: SlackStandIn) -> None:
        """What you typed becomes the view's `state.values`, as the bot receives it."""
        view = call(slack, "views.open", trigger_id=slack.issue_trigger(YOU), view=modal())["view"]
        values = {"image": {"image": {"type": "plain_text_input", "value": "nginx"}}}
        assert slack.remember_state(view["id"], values)["state"] == {"values": values}


class TestResponseUrls:
    def test_in_channel_and_ephemeral_answers(self, slack: SlackStandIn) -> None:
        """A response_url posts in the channel or only to you, even where the bot is not."""
        url = slack.issue_hook(PRIVATE, YOU)
        seen = slack.post_to_hook(
            hook_id(url), json.dumps({"response_type": "in_channel", "text": "deploying"}).encode()
        )
        quiet = slack.post_to_hook(hook_id(url), json.dumps({"text": "just you"}).encode())
        assert seen == (200, "ok")
        assert quiet == (200, "ok")
        assert [m["text"] for m in slack.messages(PRIVATE)] == ["deploying"]
        assert [m["text"] for m in slack.snapshot()["ephemerals"][PRIVATE]] == ["just you"]

    def test_replace_and_delete_the_original(self, slack: SlackStandIn) -> None:
        """A button's response_url can replace or delete the message the button was on."""
        posted = call(slack, "chat.postMessage", channel=DEPLOYS, text="card")
        url = slack.issue_hook(DEPLOYS, YOU, message_ts=posted["ts"])
        slack.post_to_hook(hook_id(url), b'{"replace_original": true, "text": "new card"}')
        assert [m["text"] for m in slack.messages(DEPLOYS)] == ["new card"]
        slack.post_to_hook(hook_id(url), b'{"delete_original": "true"}')
        assert slack.messages(DEPLOYS) == []

    def test_five_uses_within_thirty_minutes(self, slack: SlackStandIn, clock: Clock) -> None:
        """A response_url takes 5 posts, and none after 30 minutes; others are unknown."""
        url, later = slack.issue_hook(DEPLOYS, YOU), slack.issue_hook(DEPLOYS, YOU)
        answers = [slack.post_to_hook(hook_id(url), b'{"text": "x"}') for _ in range(6)]
        clock.now += 30 * 60 + 1
        assert answers == [(200, "ok")] * 5 + [(404, "used_url")]
        assert slack.post_to_hook(hook_id(later), b'{"text": "x"}') == (404, "expired_url")
        assert slack.post_to_hook("nope", b'{"text": "x"}') == (404, "no_active_hooks")
        assert slack.post_to_hook(hook_id(slack.issue_hook(DEPLOYS, YOU)), b"[1]") == (
            400,
            "invalid_payload",
        )


class TestWireFormat:
    def test_form_and_json_bodies(self) -> None:
        """Arguments come from the query, a form or JSON; JSON-valued fields are decoded."""
        form = read_params({"a": "1"}, "application/x-www-form-urlencoded", b"blocks=%5B%5D&b=2")
        body = read_params({}, "application/json; charset=utf-8", b'{"view": "{\\"x\\": 1}"}')
        assert form == {"a": "1", "b": "2", "blocks": []}
        assert body == {"view": {"x": 1}}

    def test_ids_are_filled_in(self) -> None:
        """Blocks and interactive elements without ids get stable ones, as Slack gives them."""
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": "x"}},
            {"type": "actions", "block_id": "mine", "elements": [{"type": "button"}]},
        ]
        named = with_ids(blocks)
        assert [block["block_id"] for block in named] == ["b0", "mine"]
        assert named[1]["elements"][0]["action_id"] == "mine-0"
        assert "block_id" not in blocks[0]

    def test_documented_limits(self) -> None:
        """Slack's documented limits: 50 blocks a message, 25 elements, confirm text 300."""
        assert slack_limits.message_problems([{"type": "divider"}] * 51) == [
            "[ERROR] must contain at most 50 items [json-pointer:/blocks]"
        ]
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Stop"},
            "confirm": {"text": {"type": "plain_text", "text": "x" * 301}},
        }
        pointer = "/blocks/0/elements/0/confirm/text/text"
        assert slack_limits.message_problems([{"type": "actions", "elements": [button]}]) == [
            f"[ERROR] must be less than 301 characters [json-pointer:{pointer}]"
        ]
        duplicate = [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]
        assert slack_limits.message_problems(duplicate) == [
            "[ERROR] duplicate block_id `a` [json-pointer:/blocks/1/block_id]"
        ]


class TestFeed:
    async def test_a_subscriber_gets_the_snapshot_then_changes(self, slack: SlackStandIn) -> None:
        """The first event is the state at subscription; changes follow; closing ends it."""
        stream = slack.feed.events(slack.snapshot, heartbeat_s=0.05)
        first = await anext(stream)
        assert first is not None
        call(slack, "chat.postMessage", channel=DEPLOYS, text="hello")
        change = await anext(stream)
        quiet = await anext(stream)
        slack.feed.close()
        rest = [event async for event in stream]
        assert first["type"] == "snapshot"
        assert change is not None
        assert change["message"]["text"] == "hello"
        assert quiet is None
        assert rest == []

    async def test_snapshot_and_changes_do_not_miss_each_other(self, slack: SlackStandIn) -> None:
        """A change made while a subscriber connects is in its snapshot or after it, never lost."""
        stream = slack.feed.events(slack.snapshot, heartbeat_s=1)
        pending = asyncio.ensure_future(anext(stream))
        call(slack, "chat.postMessage", channel=DEPLOYS, text="meanwhile")
        first = await pending
        assert first is not None
        texts = [m["text"] for m in first["messages"][DEPLOYS]]
        if not texts:
            change = await anext(stream)
            assert change is not None
            texts = [change["message"]["text"]]
        await stream.aclose()
        assert texts == ["meanwhile"]


def test_a_step_runs_token_completes_its_run_and_the_page_hears_how() -> None:
    """A token issued for a step run may call what the bot may and completes the run with
    outputs or an error, which the model keeps and publishes; a made-up one is refused."""
    slack = SlackStandIn(workspace(PAGE), api_origin=ORIGIN, bot_token=TOKEN)
    run = slack.issue_workflow_token()
    assert run.startswith("xwfp-")
    done = slack.call(
        "functions.completeSuccess",
        {"function_execution_id": "Fx1", "outputs": {"outcome": "started"}},
        f"Bearer {run}",
    )
    assert done == {"ok": True}
    failed = slack.call(
        "functions.completeError",
        {"function_execution_id": "Fx2", "error": "Nothing was started."},
        f"Bearer {run}",
    )
    assert failed == {"ok": True}
    assert slack.completions == {
        "Fx1": {"outputs": {"outcome": "started"}},
        "Fx2": {"error": "Nothing was started."},
    }
    posted = slack.call("chat.postMessage", {"channel": DEPLOYS, "text": "hi"}, f"Bearer {run}")
    assert posted["ok"] is True
    assert slack.call("functions.completeError", {"error": "x"}, "Bearer xwfp-made-up") == {
        "ok": False,
        "error": "invalid_auth",
    }
    assert call(slack, "functions.completeError", function_execution_id="Fx3")["error"] == (
        "invalid_arguments"
    )


def test_outputs_sent_as_a_form_field_are_read_as_json() -> None:
    """slack_sdk sends a step's outputs as JSON text in a form field, as Slack reads it."""
    params = read_params({}, "application/x-www-form-urlencoded", b"outputs=%7B%22a%22%3A1%7D")
    assert params == {"outputs": {"a": 1}}
