"""End to end: Slack's shortcuts, "Deploy a container" (global) and "Redeploy this" (on a
message), as signed `shortcut` and `message_action` requests to the real server process, with a
fake Slack and a fake Hiveon on loopback; on SQLite and on PostgreSQL."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import API_KEY, BotProcess
from bot.testing.seed import form
from bot.testing.slack_requests import (
    global_shortcut,
    message_shortcut,
    settings_submission,
    view_submission,
)
from tests.databases import Databases
from tests.e2e_support import (
    channel,
    hiveon_on_loopback,
    initial_values,
    opened_modal,
    thread_replies,
    vendor_starts,
)

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback

REQUESTER = "U111"
ADMIN = "USHORTADMIN"  # users.info says is_admin
LOCKED = "TLOCKED"  # a workspace whose settings restrict who may deploy, and where
ALLOWED_CHANNEL = "CALLOWED01"
ALLOWED_PERSON = "UALLOWED1"


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack for each backend's run
    with FakeSlack() as slack:
        slack.users[ADMIN] = {"is_admin": True}
        yield slack


@pytest.fixture(name="vendor", scope="module")
def _vendor(backend: str) -> Iterator[tuple[SandboxVendor, str]]:
    del backend  # a fresh fake Hiveon for each backend's run
    with hiveon_on_loopback(api_keys={API_KEY}, pending_s=60) as vendor:
        yield vendor


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    settings = {"SLACK_API_URL": slack.url, "HIVEON_API_URL": vendor[1]}
    workdir = tmp_path_factory.mktemp("bot")
    with BotProcess(workdir, settings, database_url=databases.new()) as bot:
        # The locked workspace: only #allowed, and only one person.
        saved = bot.post(
            settings_submission(
                channels=[ALLOWED_CHANNEL], users=[ALLOWED_PERSON], team_id=LOCKED, user_id=ADMIN
            )
        )
        assert saved.status_code == 200
        slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == ADMIN)
        yield bot
        assert "Traceback" not in bot.logs


def deploy(bot: BotProcess, slack: FakeSlack, user_id: str = REQUESTER, **changes: str) -> str:
    """A deployment started from `/deploy` in a channel of its own; that channel."""
    channel_id, values = channel(), form(**changes)
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    bot.post(view_submission(values=values, private_metadata=where.dump(), user_id=user_id))
    thread_replies(slack, channel_id)
    return channel_id


def channel_select(view: dict[str, Any]) -> dict[str, Any]:
    """The form's channel input."""
    [block] = [b for b in view["blocks"] if b.get("block_id") == "channel"]
    assert block["type"] == "input"
    assert block["optional"] is True
    element: dict[str, Any] = block["element"]
    assert element["type"] == "conversations_select"
    assert element["response_url_enabled"] is True
    return element


def submit_with_channel(
    bot: BotProcess,
    slack: FakeSlack,
    view: dict[str, Any],
    values: dict[str, str],
    channel_id: str | None,
    *,
    user_id: str = REQUESTER,
    team_id: str = "T111",
) -> dict[str, Any]:
    """Submit a form opened by the shortcut with `channel_id` picked, as Slack sends it (the
    channel's response_url with it); the ack's JSON, if any."""
    state: dict[str, Any] = dict(values)
    state["channel"] = {"type": "conversations_select", "selected_conversation": channel_id}
    urls = []
    if channel_id is not None:
        url = slack.response_url(f"picked-{channel_id}")
        urls = [
            {
                "block_id": "channel",
                "action_id": "channel",
                "channel_id": channel_id,
                "response_url": url,
            }
        ]
    response = bot.post(
        view_submission(
            values=state,
            private_metadata=view["private_metadata"],
            user_id=user_id,
            team_id=team_id,
            response_urls=urls,
        )
    )
    assert response.status_code == 200
    return response.json() if response.text else {}


# --- "Deploy a container" ----------------------------------------------------------------------


def test_the_global_shortcut_opens_the_form_asking_where_the_last_channel_chosen(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """The global shortcut acks empty and opens the form "same again", with a channel input
    defaulting to the user's last deployment's channel; submitted with a channel picked, the
    message and thread go there."""
    last = deploy(bot, slack, user_id="USHORTCUT", image="redis:7")
    trigger = f"{uuid.uuid4().hex}.shortcut"
    response = bot.post(
        global_shortcut(callback_id="new_deployment", user_id="USHORTCUT", trigger_id=trigger)
    )
    assert response.status_code == 200
    assert response.text == ""
    view = opened_modal(slack, trigger)
    assert channel_select(view)["initial_conversation"] == last
    assert initial_values(view)["image"] == "redis:7"
    assert ModalContext.load(view["private_metadata"]) == ModalContext(
        minted_id=initial_values(view)["external_deployment_id"]
    )

    picked, values = channel(), form()
    assert submit_with_channel(bot, slack, view, values, picked, user_id="USHORTCUT") == {}
    [reply] = thread_replies(slack, picked)
    assert reply.params["text"].startswith("✅ Deployment started")
    assert len(vendor_starts(sandbox, values["external_deployment_id"])) == 1


def test_a_form_from_the_shortcut_without_a_channel_reports_in_the_users_dm(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """With no channel picked, the message and its thread go to the user's DM with the bot."""
    trigger = f"{uuid.uuid4().hex}.shortcut-dm"
    bot.post(global_shortcut(callback_id="new_deployment", user_id="UNEWBIE", trigger_id=trigger))
    view = opened_modal(slack, trigger)
    assert "initial_conversation" not in channel_select(view)
    assert submit_with_channel(bot, slack, view, form(), None, user_id="UNEWBIE") == {}
    [parent] = slack.wait_for(
        "chat.postMessage", timeout=20, where=lambda c: c.params["channel"] == "UNEWBIE"
    )
    assert parent.params["text"].startswith("⏳ <@UNEWBIE> is deploying")


def test_who_may_deploy_applies_to_the_global_shortcut_and_the_channel_it_picks(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """In a workspace limited to one person in one channel: anyone else's shortcut is refused
    privately and opens nothing; the allowed person's form refuses a channel the settings do
    not allow under the field, sending nothing, and deploys in the allowed one."""
    refused = f"{uuid.uuid4().hex}.refused"
    bot.post(
        global_shortcut(
            callback_id="new_deployment", team_id=LOCKED, user_id="USTRANGER", trigger_id=refused
        )
    )
    [told] = slack.wait_for(
        "chat.postMessage", timeout=20, where=lambda c: c.params["channel"] == "USTRANGER"
    )
    assert told.params["text"].startswith("🔒 Deploying from this workspace is limited to <@")
    assert not [c for c in slack.calls_to("views.open") if c.params["trigger_id"] == refused]

    trigger = f"{uuid.uuid4().hex}.allowed"
    bot.post(
        global_shortcut(
            callback_id="new_deployment", team_id=LOCKED, user_id=ALLOWED_PERSON, trigger_id=trigger
        )
    )
    view = opened_modal(slack, trigger)
    values = form()
    ack = submit_with_channel(
        bot, slack, view, values, "CNOTALLOWED", user_id=ALLOWED_PERSON, team_id=LOCKED
    )
    assert ack == {
        "response_action": "errors",
        "errors": {
            "channel": "This workspace's settings do not allow deploying in this channel: pick "
            "another one (an admin chooses which with “/deploy settings”)."
        },
    }
    assert vendor_starts(sandbox, values["external_deployment_id"]) == []
    assert (
        submit_with_channel(
            bot, slack, view, values, ALLOWED_CHANNEL, user_id=ALLOWED_PERSON, team_id=LOCKED
        )
        == {}
    )
    thread_replies(slack, ALLOWED_CHANNEL)
    assert len(vendor_starts(sandbox, values["external_deployment_id"])) == 1


# --- "Redeploy this" ---------------------------------------------------------------------------


def test_redeploy_this_on_a_deployment_message_or_its_thread_opens_its_redeploy_form(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """On deploybot's deployment message, or on a reply in its thread, the message shortcut
    opens the Redeploy form for that deployment and channel, with a fresh external ID."""
    channel_id = deploy(bot, slack, image="nginx:1.27")
    [parent] = slack.messages(channel_id)
    [reply] = slack.thread(channel_id, parent["ts"])
    for message in (parent, reply):
        trigger = f"{uuid.uuid4().hex}.redeploy-this"
        response = bot.post(
            message_shortcut(
                callback_id="redeploy_message",
                message=message,
                channel_id=channel_id,
                trigger_id=trigger,
            )
        )
        assert response.status_code == 200
        assert response.text == ""
        view = opened_modal(slack, trigger)
        assert initial_values(view)["image"] == "nginx:1.27"
        assert ModalContext.load(view["private_metadata"]).channel_id == channel_id


def test_redeploy_this_on_any_other_message_answers_privately_that_it_is_not_one(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """On someone's message the shortcut opens nothing and says privately what it works on."""
    typed = slack.post_as(REQUESTER, "CCHAT00001", "ship it")
    trigger = f"{uuid.uuid4().hex}.not-one"
    bot.post(
        message_shortcut(
            callback_id="redeploy_message",
            message=typed,
            channel_id="CCHAT00001",
            trigger_id=trigger,
            response_url=slack.response_url("not-one"),
        )
    )
    [answer] = slack.wait_for("response_url:not-one", timeout=20)
    assert answer.params["response_type"] == "ephemeral"
    assert answer.params["text"] == (
        "This is not a deploybot deployment message: *Redeploy this* works on the message "
        "deploybot posts for a deployment (or a reply in its thread)."
    )
    assert not [c for c in slack.calls_to("views.open") if c.params["trigger_id"] == trigger]


def test_who_may_deploy_applies_to_redeploy_this(bot: BotProcess, slack: FakeSlack) -> None:
    """In the locked workspace, "Redeploy this" by someone not allowed opens nothing and tells
    them why, privately."""
    values = form()
    where = ModalContext(channel_id=ALLOWED_CHANNEL, response_url=slack.response_url("locked"))
    bot.post(
        view_submission(
            values=values, private_metadata=where.dump(), user_id=ALLOWED_PERSON, team_id=LOCKED
        )
    )
    [post] = slack.wait_for(
        "chat.postMessage",
        timeout=20,
        where=lambda c: (
            c.params["channel"] == ALLOWED_CHANNEL
            and "thread_ts" not in c.params
            and values["external_deployment_id"] in str(c.params["blocks"])
        ),
    )
    [posted] = [
        m
        for m in slack.messages(ALLOWED_CHANNEL)
        if values["external_deployment_id"] in str(m["blocks"])
    ]
    message = slack.message(ALLOWED_CHANNEL, posted["ts"])
    assert message is not None
    assert post.params["text"].startswith("⏳")
    trigger = f"{uuid.uuid4().hex}.locked-redeploy"
    bot.post(
        message_shortcut(
            callback_id="redeploy_message",
            message=message,
            channel_id=ALLOWED_CHANNEL,
            team_id=LOCKED,
            user_id="USTRANGER2",
            trigger_id=trigger,
            response_url=slack.response_url("locked-redeploy"),
        )
    )
    [answer] = slack.wait_for("response_url:locked-redeploy", timeout=20)
    assert answer.params["text"].startswith("🔒 Deploying from this workspace is limited to")
    assert not [c for c in slack.calls_to("views.open") if c.params["trigger_id"] == trigger]
