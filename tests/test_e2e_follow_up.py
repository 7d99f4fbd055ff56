"""End to end: following deployments in their threads, their buttons, subcommands, App Home and
recovery after a crash; the real server process, fake Slack and fake Hiveon on loopback. The
module runs twice: on SQLite, and on PostgreSQL.

The fake Hiveon runs on a clock that only moves when a test says so: a deployment stays
PENDING (or STOPPING) until the test advances it by `PENDING_S`, so every state is seen by the
bot's poll loop (first poll 2 s after the start, then every 2 s growing ×1.5, 1 s loop tick).
"""

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.modal_context import ModalContext
from bot.sandbox import RecordedRequest, SandboxVendor
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.loopback import LoopbackServer
from bot.testing.processes import API_KEY, BotProcess
from bot.testing.seed import MACHINE_ID as MACHINE
from bot.testing.seed import MACHINE_PRICE_ID as PRICE
from bot.testing.seed import form, ssh_key
from bot.testing.slack_requests import (
    app_home_opened,
    block_action,
    slash_command,
    view_action,
    view_submission,
)
from tests.databases import Databases, query
from tests.e2e_support import (
    channel,
    initial_values,
    opened_modal,
    parent_posts,
    thread_replies,
    wait_until,
)
from tests.vendor_controls import PENDING_S, ManualClock, StatusFaults

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback

DEPLOYMENTS = "/vendors/v1/machines/deployments"
REQUESTER = "U111"
STRANGER = "UOTHER"
WORKSPACE_ADMIN = "UWSADMIN"  # users.info says is_admin
WORKSPACE_OWNER = "UWSOWNER"  # users.info says is_owner
OPS_ADMIN = "UOPSADMIN"  # listed in DEPLOYBOT_ADMINS
ALL_BUTTONS = ["refresh_deployment", "redeploy", "stop_deployment", "copy_as_curl"]
SETTLED_BUTTONS = ["redeploy", "copy_as_curl"]
# The card's "since" detail: Slack's date token, with a UTC fallback for old clients.
SINCE = re.compile(
    r"(?P<word>\w+) <!date\^(?P<at>\d+)\^since \{time\}\|since (?P<hhmm>\d\d:\d\d) UTC>(?P<rest>.*)"
)
WHEN = re.compile(r"<!date\^(\d+)\^\{date_short_pretty\} \{time\}\|\1>")


@dataclass(frozen=True)
class Deployed:
    """A deployment the bot started: where its thread is and its IDs."""

    channel_id: str
    external_id: str
    deployment_id: str
    parent_ts: str

    @property
    def link(self) -> str:
        """The link to its thread that history lines carry."""
        return f"https://slack.com/archives/{self.channel_id}/p{self.parent_ts.replace('.', '')}"


@dataclass(frozen=True)
class Followed:
    """Deployments followed at once by one process, each for one test, seen PENDING and then a
    minute later RUNNING (or FAILED)."""

    running: Deployed
    failing: Deployed
    to_stop: Deployed
    refreshed: Deployed
    refreshed_twice: Deployed
    asked: Deployed
    stop_command: Deployed
    home: Deployed
    flaky: Deployed  # its first status poll gets a 503
    failed_at: float  # time.monotonic() when the FAILED reply arrived
    polls_when_failed: int


@dataclass(frozen=True)
class Restarted:
    """Three deployments interrupted by a SIGKILL, and the bot started again on its database."""

    answered: Deployed  # Hiveon started it but never answered (accept-then-timeout)
    unanswered: Deployed  # Hiveon neither started it nor answered (fail-timeout): no ID
    followed: Deployed  # started, PENDING, being followed
    killed_at: float  # time.time() just after the kill


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack, and so a fresh fake Hiveon, for each backend's run
    with FakeSlack() as slack:
        slack.users[WORKSPACE_ADMIN] = {"is_admin": True}
        slack.users[WORKSPACE_OWNER] = {"is_owner": True}
        yield slack


@pytest.fixture(name="clock", scope="module")
def _clock(backend: str) -> ManualClock:
    del backend  # the fake Hiveon's deployments start over for each backend's run
    return ManualClock()


@pytest.fixture(name="faults", scope="module")
def _faults(clock: ManualClock) -> StatusFaults:
    return StatusFaults(SandboxVendor(api_keys={API_KEY}, pending_s=PENDING_S, clock=clock))


@pytest.fixture(name="vendor", scope="module")
def _vendor(faults: StatusFaults) -> Iterator[tuple[SandboxVendor, str]]:
    with LoopbackServer(faults.app, name="fake-hiveon") as server:
        yield faults.sandbox, server.origin


def bot_settings(slack: FakeSlack, origin: str, *, timeout_s: float) -> dict[str, str]:
    """The bot's environment: fake Slack, fake Hiveon, one extra admin; leases short enough
    that a restart on PostgreSQL takes over a killed process's work in seconds."""
    return {
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": origin,
        "HIVEON_TIMEOUT_S": str(timeout_s),
        "DEPLOYBOT_ADMINS": OPS_ADMIN,
        "DEPLOYBOT_LEASE_S": "3",
    }


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    settings = bot_settings(slack, vendor[1], timeout_s=5)
    workdir = tmp_path_factory.mktemp("bot")
    with BotProcess(workdir, settings, database_url=databases.new()) as bot:
        yield bot


@pytest.fixture(name="followed", scope="module")
def _followed(
    bot: BotProcess,
    slack: FakeSlack,
    sandbox: SandboxVendor,
    clock: ManualClock,
    faults: StatusFaults,
) -> Followed:
    deployed = {
        name: deploy(bot, slack, sandbox, **changes)
        for name, changes in {
            "running": {},
            "failing": {"machine_id": "fail-later"},
            "to_stop": {},
            "refreshed": {},
            "refreshed_twice": {},
            "asked": {},
            "stop_command": {},
            "home": {"user_id": "UHOME", "image": "redis:7"},
            "flaky": {},
        }.items()
    }
    # The last one started: its first poll is 2 s away.
    faults.fail_next(deployed["flaky"].deployment_id)
    for each in deployed.values():
        thread_reply(slack, each, "🕓 Pending")
    clock.advance()
    for name, each in deployed.items():
        thread_reply(slack, each, "❌ <@U111> Failed" if name == "failing" else "🟢 Running")
    failing = deployed["failing"]
    return Followed(
        **deployed,
        failed_at=time.monotonic(),
        polls_when_failed=status_polls(sandbox, failing.deployment_id),
    )


@pytest.fixture(name="restarted", scope="module")
def _restarted(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Restarted]:
    sandbox, origin = vendor
    workdir = tmp_path_factory.mktemp("restart")
    database_url = databases.new()
    # Long enough that the killed process is still waiting for Hiveon when it dies.
    settings = bot_settings(slack, origin, timeout_s=60)
    answered = form(machine_id="accept-then-timeout")
    unanswered = form(machine_id="fail-timeout")
    answered_channel, unanswered_channel = channel(), channel()
    with BotProcess(workdir, settings, database_url=database_url) as first:
        followed = deploy(first, slack, sandbox)
        thread_reply(slack, followed, "🕓 Pending")
        submit(first, slack, answered, answered_channel)
        submit(first, slack, unanswered, unanswered_channel)

        def hanging() -> bool:
            # The bot records where its message is right after Slack answers; the kill must
            # come after that, or the restart could only post a new message.
            return all(
                sandbox.starts_for(values["external_deployment_id"]) == 1
                and message_recorded(database_url, values["external_deployment_id"])
                for values in (answered, unanswered)
            )

        wait_until(hanging, what="both starts sent to Hiveon and both parents recorded")
        first.kill()
        killed_at = time.time()
    [created] = [
        d
        for d in sandbox.deployments()
        if d.external_deployment_id == answered["external_deployment_id"]
    ]
    # On SQLite the restart clears the dead process's leases; on PostgreSQL, where it could be
    # a replica's, it waits for them to run out (DEPLOYBOT_LEASE_S).
    with BotProcess(workdir, settings, database_url=database_url) as second:
        restarted = Restarted(
            answered=Deployed(
                channel_id=answered_channel,
                external_id=answered["external_deployment_id"],
                deployment_id=created.deployment_id,
                parent_ts=slack.messages(answered_channel)[0]["ts"],
            ),
            unanswered=Deployed(
                channel_id=unanswered_channel,
                external_id=unanswered["external_deployment_id"],
                deployment_id="",
                parent_ts=slack.messages(unanswered_channel)[0]["ts"],
            ),
            followed=followed,
            killed_at=killed_at,
        )
        # Seen before any test advances the clock, so the recovered one is still PENDING.
        thread_reply(slack, restarted.answered, "🕓 Pending")
        yield restarted
        assert "Traceback" not in second.logs


# --- helpers -----------------------------------------------------------------------------------


def message_recorded(database_url: str, external_id: str) -> bool:
    """True once the bot has stored the ts of the deployment's parent message."""
    rows = query(
        database_url,
        "SELECT message_ts FROM deployments WHERE external_deployment_id = :external_id",
        external_id=external_id,
    )
    return bool(rows) and rows[0][0] is not None


def submit(
    bot: BotProcess, slack: FakeSlack, values: dict[str, str], channel_id: str, user_id: str = ""
) -> None:
    """Submit the deploy modal as opened by `/deploy` in `channel_id`; the ack closes it."""
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    request = view_submission(
        values=values, private_metadata=where.dump(), user_id=user_id or REQUESTER
    )
    response = bot.post(request)
    assert response.status_code == 200
    assert response.text == ""


def deploy(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, user_id: str = "", **changes: str
) -> Deployed:
    """Submit a valid form in a channel of its own and wait until the thread says it started."""
    channel_id, values = channel(), form(**changes)
    submit(bot, slack, values, channel_id, user_id)
    [started] = thread_replies(slack, channel_id)
    [parent] = slack.messages(channel_id)
    [post] = parent_posts(slack, channel_id)
    assert post.params["text"].startswith("⏳ ")
    assert started.params["thread_ts"] == parent["ts"]
    assert started.params["text"].startswith("✅ Deployment started")
    [created] = [
        d
        for d in sandbox.deployments()
        if d.external_deployment_id == values["external_deployment_id"]
    ]
    return Deployed(
        channel_id=channel_id,
        external_id=values["external_deployment_id"],
        deployment_id=created.deployment_id,
        parent_ts=parent["ts"],
    )


def thread_reply(slack: FakeSlack, deployed: Deployed, starts: str, after: float = 0) -> Call:
    """Wait for the one reply in the deployment's thread that starts with `starts`."""
    [call] = slack.wait_for(
        "chat.postMessage",
        timeout=20,
        where=lambda c: (
            c.params.get("channel") == deployed.channel_id
            and c.params.get("thread_ts") == deployed.parent_ts
            and c.params["text"].startswith(starts)
            and c.at > after
        ),
    )
    return call


def thread_texts(slack: FakeSlack, deployed: Deployed) -> list[str]:
    """The texts of every reply in the deployment's thread, oldest first."""
    return [message["text"] for message in slack.thread(deployed.channel_id, deployed.parent_ts)]


def parent_update(slack: FakeSlack, deployed: Deployed, starts: str, after: float = 0) -> Call:
    """Wait for the parent's chat.updates whose text starts with `starts`; the latest one."""
    calls = slack.wait_for(
        "chat.update",
        timeout=20,
        where=lambda c: (
            c.params["channel"] == deployed.channel_id
            and c.params["ts"] == deployed.parent_ts
            and c.params["text"].startswith(starts)
            and c.at > after
        ),
    )
    return calls[-1]


def parent_updates(slack: FakeSlack, deployed: Deployed) -> list[str]:
    """The texts the parent was updated to, oldest first."""
    return [
        call.params["text"]
        for call in slack.calls_to("chat.update")
        if call.params["channel"] == deployed.channel_id and call.params["ts"] == deployed.parent_ts
    ]


def ephemeral(slack: FakeSlack, name: str) -> Call:
    """Wait for the one post to `slack.response_url(name)`; it must be ephemeral."""
    [call] = slack.wait_for(f"response_url:{name}", timeout=20)
    assert call.params["response_type"] == "ephemeral"
    return call


def detail(message: dict[str, Any]) -> str:
    """The card's context line."""
    [context] = [block for block in message["blocks"] if block["type"] == "context"]
    [element] = context["elements"]
    return str(element["text"])


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's buttons, in order; none when it has no actions block."""
    actions = [block for block in message["blocks"] if block["type"] == "actions"]
    return [element for block in actions for element in block["elements"]]


def assert_buttons(
    message: dict[str, Any], external_id: str, action_ids: list[str], machine: str = "24d71100…"
) -> None:
    """Exactly these buttons, each carrying the external ID; Stop asks to confirm first."""
    shown = buttons(message)
    assert [button["action_id"] for button in shown] == action_ids
    assert {button["value"] for button in shown} == {external_id}
    for button in shown:
        if button["action_id"] == "stop_deployment":
            assert button["style"] == "danger"
            assert button["confirm"] == {
                "title": {"type": "plain_text", "text": "Stop this deployment?"},
                "text": {
                    "type": "plain_text",
                    "text": f"Hiveon stops nginx:latest on machine {machine}; "
                    "Redeploy can start it again.",
                },
                "confirm": {"type": "plain_text", "text": "Stop"},
                "deny": {"type": "plain_text", "text": "Keep running"},
                "style": "danger",
            }
        else:
            assert "confirm" not in button


def assert_since(line: str, word: str, at: float, rest: str = "") -> None:
    """`line` says `word` since a moment shortly before `at`, in Slack's date token."""
    match = SINCE.fullmatch(line)
    assert match is not None, line
    assert match["word"] == word
    moment = int(match["at"])
    assert at - 10 <= moment <= at
    assert match["hhmm"] == datetime.fromtimestamp(moment, UTC).strftime("%H:%M")
    assert match["rest"] == rest


def status_polls(sandbox: SandboxVendor, deployment_id: str) -> int:
    """How many times Hiveon was asked for this deployment's status."""
    path = f"{DEPLOYMENTS}/{deployment_id}"
    return sum(1 for r in list(sandbox.requests) if r.method == "GET" and r.path == path)


def stop_requests(sandbox: SandboxVendor, deployment_id: str) -> list[RecordedRequest]:
    """The stop requests Hiveon received for this deployment."""
    path = f"{DEPLOYMENTS}/{deployment_id}/stop"
    return [r for r in list(sandbox.requests) if r.method == "POST" and r.path == path]


def click(
    bot: BotProcess, slack: FakeSlack, deployed: Deployed, action_id: str, user_id: str
) -> str:
    """Click a button on the deployment's parent message; returns the response_url's name."""
    name = f"{deployed.channel_id}.{action_id}.{user_id}"
    response = bot.post(
        block_action(
            action_id=action_id,
            value=deployed.external_id,
            channel_id=deployed.channel_id,
            message_ts=deployed.parent_ts,
            user_id=user_id,
            response_url=slack.response_url(name),
        )
    )
    # Acked at once and with nothing: the outcome goes to the thread.
    assert response.status_code == 200
    assert response.text == ""
    return name


def command(bot: BotProcess, slack: FakeSlack, text: str, user_id: str) -> str:
    """Run `/deploy <text>` in a channel of its own; returns the response_url's name."""
    name = f"{channel()}.command"
    response = bot.post(
        slash_command(text=text, user_id=user_id, response_url=slack.response_url(name))
    )
    assert response.status_code == 200
    assert response.text == ""
    return name


def thread_link(slack: FakeSlack, channel_id: str) -> str:
    """The link to the thread of the one message the bot posted in a channel."""
    [parent, *_broadcast] = slack.messages(channel_id)
    return f"https://slack.com/archives/{channel_id}/p{parent['ts'].replace('.', '')}"


def history_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """The lines of sections, with each date token replaced by `<when>`; dates must be recent."""
    lines = [line for block in blocks for line in block["text"]["text"].split("\n")]
    for moment in (int(found) for line in lines for found in WHEN.findall(line)):
        assert time.time() - 300 <= moment <= time.time()
    return [WHEN.sub("<when>", line) for line in lines]


def full_form_prefill() -> dict[str, str | None]:
    """What Redeploy and "same again" show for `form()`: everything but the secrets."""
    return {
        "machine_id": MACHINE,
        "machine_price_id": PRICE,
        "image": "nginx:latest",
        "ports": "80/tcp, 443/https",
        # DB_PASSWORD is stored masked, so the user types it again.
        "environment_variables": "ENV_VAR1=value1",
        "ssh_pub_keys": ssh_key(),
        "startup_script": "echo 'Hello, World!' > /var/www/html/index.html",
        "docker_server": "docker.private.io",
        "docker_login": "username",
        "docker_password": None,
        # Names containing KEY are secrets too: additional_key is stored masked.
        "metadata": None,
        # It was to run until stopped.
        "stop_after": None,
        "preset_name": None,
    }


def assert_fresh_external_id(view: dict[str, Any], *used: str) -> None:
    """The modal's external ID is a new UUID, none of those already used."""
    prefilled = initial_values(view)["external_deployment_id"]
    assert prefilled is not None
    assert str(uuid.UUID(prefilled)) == prefilled
    assert prefilled not in used


# --- following ---------------------------------------------------------------------------------


def test_pending_then_running_updates_the_parent_and_replies_once_per_change(
    followed: Followed, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """The parent shows started, then pending, then running with since-when and the three
    buttons; each change is replied once in the thread, though polling goes on."""
    deployed = followed.running
    ident = deployed.deployment_id
    started = parent_update(slack, deployed, "✅")
    assert started.params["text"] == "✅ <@U111> started `nginx:latest` on machine `24d71100…`"
    assert detail(started.params) == f"✅ Deployment started: `{ident}`."
    assert_buttons(started.params, deployed.external_id, ALL_BUTTONS)

    pending = parent_update(slack, deployed, "🕓")
    assert pending.params["text"] == "🕓 <@U111>'s `nginx:latest` is pending on machine `24d71100…`"
    assert_since(detail(pending.params), "Pending", pending.at)
    assert_buttons(pending.params, deployed.external_id, ALL_BUTTONS)

    running = parent_update(slack, deployed, "🟢")
    assert running.params["text"] == "🟢 <@U111>'s `nginx:latest` is running on machine `24d71100…`"
    assert_since(detail(running.params), "Running", running.at)
    assert_buttons(running.params, deployed.external_id, ALL_BUTTONS)
    fields = [field["text"] for field in running.params["blocks"][0]["fields"]]
    assert f"*Deployment ID*\n`{ident}`" in fields
    assert f"*External ID*\n`{deployed.external_id}`" in fields

    polls = status_polls(sandbox, ident)
    # Two more polls: the first one's outcome has been handled when the second one is made.
    wait_until(lambda: status_polls(sandbox, ident) >= polls + 2, what="two more status polls")
    assert thread_texts(slack, deployed) == [
        f"✅ Deployment started: `{ident}`.",
        f"🕓 Pending: `{ident}` is pending.",
        f"🟢 Running: `{ident}` is up.",
    ]
    assert [text[0] for text in parent_updates(slack, deployed)] == ["✅", "🕓", "🟢"]


def test_a_failed_deployment_shows_its_fail_reason_and_is_no_longer_polled(
    followed: Followed, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """PENDING then FAILED: the thread and the parent give fail_reason's code and message, only
    Redeploy is left, and Hiveon is not asked again."""
    deployed = followed.failing
    ident = deployed.deployment_id
    failed = thread_reply(slack, deployed, "❌")
    assert failed.params["text"] == (
        f"❌ <@{REQUESTER}> Failed: `{ident}` did not run. code 3: image pull failed: manifest "
        "unknown"
    )
    assert failed.params["blocks"][1]["text"]["text"] == (
        "*Next:* Check the image, registry login and startup script, then *Redeploy*."
    )
    assert thread_texts(slack, deployed) == [
        f"✅ Deployment started: `{ident}`.",
        f"🕓 Pending: `{ident}` is pending.",
        failed.params["text"],
    ]
    parent = parent_update(slack, deployed, "❌")
    assert parent.params["text"] == "❌ <@U111>'s `nginx:latest` failed on machine `fail-lat…`"
    assert_since(
        detail(parent.params),
        "Failed",
        parent.at,
        rest=": code 3: image pull failed: manifest unknown",
    )
    assert_buttons(parent.params, deployed.external_id, SETTLED_BUTTONS)

    # A poll would come 2 s (plus a 1 s tick) after the last one, were it still followed.
    time.sleep(max(0.0, followed.failed_at + 4 - time.monotonic()))
    assert status_polls(sandbox, ident) == followed.polls_when_failed


def test_a_deployment_still_pending_when_following_ends_gets_a_last_word(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], databases: Databases, tmp_path: Path
) -> None:
    """With `DEPLOYBOT_FOLLOW_MINUTES` short, a deployment still PENDING when the time is up
    gets a last reply: deploybot stopped following it, Refresh or Stop it."""
    sandbox, origin = vendor
    settings = bot_settings(slack, origin, timeout_s=5) | {"DEPLOYBOT_FOLLOW_MINUTES": "0.05"}
    with BotProcess(tmp_path, settings, database_url=databases.new()) as bot:
        deployed = deploy(bot, slack, sandbox)
        last = thread_reply(slack, deployed, "🕓 Still pending")
    assert re.fullmatch(
        r"🕓 Still pending after 3 seconds; deploybot stopped following it\.",
        last.params["text"],
    )
    assert last.params["blocks"][1]["text"]["text"] == (
        "*Next:* Press *Refresh* to check again, or *Stop* it."
    )
    ident = deployed.deployment_id
    assert thread_texts(slack, deployed) == [
        f"✅ Deployment started: `{ident}`.",
        f"🕓 Pending: `{ident}` is pending.",
        last.params["text"],
    ]


def test_a_transient_vendor_error_while_polling_is_ridden_out(
    followed: Followed, slack: FakeSlack, faults: StatusFaults
) -> None:
    """A 503 to a status poll is not reported: the next poll carries on, and the thread reads
    as if nothing had happened."""
    deployed = followed.flaky
    ident = deployed.deployment_id
    assert faults.failed(ident) == 1
    assert thread_texts(slack, deployed) == [
        f"✅ Deployment started: `{ident}`.",
        f"🕓 Pending: `{ident}` is pending.",
        f"🟢 Running: `{ident}` is up.",
    ]
    assert [text[0] for text in parent_updates(slack, deployed)] == ["✅", "🕓", "🟢"]


# --- buttons -----------------------------------------------------------------------------------


def test_stop_by_the_requester_follows_it_through_stopping_to_stopped(
    bot: BotProcess,
    followed: Followed,
    slack: FakeSlack,
    sandbox: SandboxVendor,
    clock: ManualClock,
) -> None:
    """The requester's Stop reaches Hiveon; the thread and the parent follow RUNNING → STOPPING
    → STOPPED, after which only Redeploy is left."""
    deployed = followed.to_stop
    ident = deployed.deployment_id
    clicked_at = time.time()
    click(bot, slack, deployed, "stop_deployment", REQUESTER)
    asked = thread_reply(slack, deployed, "⏹️ <@U111> asked")
    assert asked.params["text"] == f"⏹️ <@U111> asked Hiveon to stop `{ident}`."
    [stop] = stop_requests(sandbox, ident)
    assert stop.headers["x-api-key"] == API_KEY

    stopping = thread_reply(slack, deployed, "🟠")
    assert stopping.params["text"] == f"🟠 Stopping: `{ident}` is stopping."
    parent = parent_update(slack, deployed, "🟠", after=clicked_at)
    assert parent.params["text"] == (
        "🟠 <@U111>'s `nginx:latest` is stopping on machine `24d71100…`"
    )
    assert_since(detail(parent.params), "Stopping", parent.at)
    assert_buttons(parent.params, deployed.external_id, ALL_BUTTONS)

    clock.advance()
    stopped = thread_reply(slack, deployed, "⏹️ Stopped")
    assert stopped.params["text"] == f"⏹️ Stopped: `{ident}` is stopped."
    parent = parent_update(slack, deployed, "⏹️", after=clicked_at)
    assert parent.params["text"] == "⏹️ <@U111>'s `nginx:latest` stopped on machine `24d71100…`"
    assert_since(detail(parent.params), "Stopped", parent.at)
    assert_buttons(parent.params, deployed.external_id, SETTLED_BUTTONS)
    assert thread_texts(slack, deployed) == [
        f"✅ Deployment started: `{ident}`.",
        f"🕓 Pending: `{ident}` is pending.",
        f"🟢 Running: `{ident}` is up.",
        asked.params["text"],
        stopping.params["text"],
        stopped.params["text"],
    ]


@pytest.mark.parametrize("admin", [WORKSPACE_ADMIN, WORKSPACE_OWNER, OPS_ADMIN])
def test_an_admin_may_stop_someone_elses_deployment(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, admin: str
) -> None:
    """A workspace admin or owner (users.info) or a `DEPLOYBOT_ADMINS` user stops the
    requester's deployment; the thread says who asked."""
    deployed = deploy(bot, slack, sandbox)
    click(bot, slack, deployed, "stop_deployment", admin)
    asked = thread_reply(slack, deployed, "⏹️")
    assert asked.params["text"] == f"⏹️ <@{admin}> asked Hiveon to stop `{deployed.deployment_id}`."
    assert len(stop_requests(sandbox, deployed.deployment_id)) == 1


def test_stop_by_anyone_else_is_refused_ephemerally(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Another user's Stop is refused only to them, naming the requester; nothing reaches
    Hiveon or the thread."""
    deployed = deploy(bot, slack, sandbox)
    name = click(bot, slack, deployed, "stop_deployment", STRANGER)
    refusal = ephemeral(slack, name)
    assert refusal.params["text"] == (
        f"Only <@U111>, who started `{deployed.deployment_id}`, or a workspace admin can stop "
        "it. Ask one of them."
    )
    assert refusal.params["replace_original"] is False
    assert [c.params["user"] for c in slack.calls_to("users.info")].count(STRANGER) >= 1
    assert stop_requests(sandbox, deployed.deployment_id) == []
    assert not [text for text in thread_texts(slack, deployed) if "stop" in text]


def test_redeploy_opens_the_modal_prefilled_with_a_new_external_id_and_no_secrets(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Redeploy opens the deploy modal with this deployment's request, a fresh external ID,
    no registry password and the original channel to report in."""
    deployed = deploy(bot, slack, sandbox)
    trigger = f"{uuid.uuid4().hex}.redeploy"
    response = bot.post(
        block_action(
            action_id="redeploy",
            value=deployed.external_id,
            channel_id=deployed.channel_id,
            message_ts=deployed.parent_ts,
            response_url=slack.response_url(f"{deployed.channel_id}.redeploy"),
            trigger_id=trigger,
        )
    )
    assert response.status_code == 200
    assert response.text == ""
    view = opened_modal(slack, trigger)
    initial = initial_values(view)
    assert_fresh_external_id(view, deployed.external_id)
    del initial["external_deployment_id"]
    assert initial == full_form_prefill()
    assert ModalContext.load(view["private_metadata"]).channel_id == deployed.channel_id


def test_redeploy_by_someone_else_leaves_the_startup_script_and_secrets_empty_and_says_why(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Redeploy pressed by anyone but the requester opens the form without the requester's
    startup script (scripts hold tokens) or any masked value, and a note at the top names
    whose script it was and which values to type again; the requester gets the script back."""
    deployed = deploy(
        bot,
        slack,
        sandbox,
        startup_script="export GH_TOKEN=ghp-script-token-do-not-leak; ./run.sh",
        environment_variables="DATABASE_URL=postgres://app:url-pw-do-not-leak@db/app\nMODE=prod",
    )
    views = {}
    for user in (STRANGER, REQUESTER):
        trigger = f"{uuid.uuid4().hex}.redeploy.{user}"
        bot.post(
            block_action(
                action_id="redeploy",
                value=deployed.external_id,
                channel_id=deployed.channel_id,
                message_ts=deployed.parent_ts,
                user_id=user,
                response_url=slack.response_url(f"{deployed.channel_id}.redeploy.{user}"),
                trigger_id=trigger,
            )
        )
        views[user] = opened_modal(slack, trigger)
    stranger, requester = views[STRANGER], views[REQUESTER]
    assert initial_values(stranger)["startup_script"] is None
    assert initial_values(stranger)["environment_variables"] == "MODE=prod"
    note = stranger["blocks"][0]
    assert note["type"] == "context"
    assert note["elements"][0]["text"] == (
        "🔒 Left empty: the startup script: only <@U111>, who started this deployment, gets it "
        "back, as scripts often hold tokens; the secret values of `DATABASE_URL`, "
        "`additional_key`: deploybot never keeps them; the registry password, which is sent "
        "once and never kept. Type them again if this deployment needs them."
    )
    assert "ghp-script-token-do-not-leak" not in json.dumps(stranger)
    assert initial_values(requester)["startup_script"] == (
        "export GH_TOKEN=ghp-script-token-do-not-leak; ./run.sh"
    )
    assert "startup script" not in requester["blocks"][0]["elements"][0]["text"]
    assert "url-pw-do-not-leak" not in json.dumps([stranger, requester])


def test_refresh_fetches_the_status_now_and_says_who_asked(
    bot: BotProcess, followed: Followed, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Refresh asks Hiveon at once and replies the unchanged state, naming who checked; the
    parent still counts the time in that state from when it began."""
    deployed = followed.refreshed
    polls = status_polls(sandbox, deployed.deployment_id)
    began = parent_update(slack, deployed, "🟢")
    clicked_at = time.time()
    click(bot, slack, deployed, "refresh_deployment", "UREFRESH")
    checked = thread_reply(slack, deployed, "🟢", after=clicked_at)
    assert checked.params["text"] == (
        f"🟢 Running: `{deployed.deployment_id}` is up. (checked by <@UREFRESH>)"
    )
    assert status_polls(sandbox, deployed.deployment_id) > polls
    parent = parent_update(slack, deployed, "🟢", after=clicked_at)
    assert detail(parent.params) == detail(began.params)
    assert_since(detail(parent.params), "Running", began.at)


def test_a_refresh_while_another_is_under_way_is_answered_too(
    bot: BotProcess, followed: Followed, slack: FakeSlack, faults: StatusFaults
) -> None:
    """Two people press Refresh while Hiveon is slow to answer the first: each gets the status
    in the thread, none is dropped."""
    deployed = followed.refreshed_twice
    holding = faults.slow_next(deployed.deployment_id, 2.0)
    click(bot, slack, deployed, "refresh_deployment", "UFIRST")
    assert holding.wait(10), "the first Refresh never reached Hiveon"
    click(bot, slack, deployed, "refresh_deployment", "USECOND")
    checked = slack.wait_for(
        "chat.postMessage",
        count=2,
        timeout=20,
        where=lambda c: (
            c.params.get("thread_ts") == deployed.parent_ts
            and c.params["channel"] == deployed.channel_id
            and "(checked by" in c.params["text"]
        ),
    )
    ident = deployed.deployment_id
    assert sorted(call.params["text"] for call in checked) == [
        f"🟢 Running: `{ident}` is up. (checked by <@UFIRST>)",
        f"🟢 Running: `{ident}` is up. (checked by <@USECOND>)",
    ]


# --- subcommands -------------------------------------------------------------------------------


def test_status_answers_ephemerally_and_in_the_thread(
    bot: BotProcess, followed: Followed, slack: FakeSlack
) -> None:
    """`/deploy status <deployment ID>` tells the user the state with a link to the thread,
    where the fresh status is replied; an unknown ID is said to be unknown."""
    deployed = followed.asked
    ident = deployed.deployment_id
    asked_at = time.time()
    answer = ephemeral(slack, command(bot, slack, f"status {ident}", "USTATUS"))
    assert answer.params["text"] == (
        f"`{ident}` is *running*. Details in <{deployed.link}|its thread>."
    )
    checked = thread_reply(slack, deployed, "🟢", after=asked_at)
    assert checked.params["text"] == f"🟢 Running: `{ident}` is up. (checked by <@USTATUS>)"

    unknown = ephemeral(slack, command(bot, slack, "status no-such-id", "USTATUS"))
    assert unknown.params["text"] == "deploybot has no deployment `no-such-id` in this workspace."


def test_stop_command_shows_only_a_confirmed_stop_button_to_those_who_may(
    bot: BotProcess, followed: Followed, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """`/deploy stop <external ID>` refuses others; to the requester it shows the deployment
    with only a Stop button that asks to confirm, and that button stops it."""
    deployed = followed.stop_command
    ident = deployed.deployment_id
    refusal = ephemeral(slack, command(bot, slack, f"stop {deployed.external_id}", STRANGER))
    assert refusal.params["text"] == (
        f"Only <@U111>, who started `{ident}`, or a workspace admin can stop it. Ask one of them."
    )

    card = ephemeral(slack, command(bot, slack, f"stop {deployed.external_id}", REQUESTER))
    assert card.params["text"] == "🟢 <@U111>'s `nginx:latest` is running on machine `24d71100…`"
    assert detail(card.params) == "Press *Stop* to stop it; you will be asked to confirm."
    assert_buttons(card.params, deployed.external_id, ["stop_deployment"])
    assert stop_requests(sandbox, ident) == []

    # The card's button is the message button: the same listener, the same rules.
    click(bot, slack, deployed, "stop_deployment", REQUESTER)
    asked = thread_reply(slack, deployed, "⏹️")
    assert asked.params["text"] == f"⏹️ <@U111> asked Hiveon to stop `{ident}`."
    assert len(stop_requests(sandbox, ident)) == 1

    which = bot.post(slash_command(text="stop", user_id=REQUESTER))
    assert which.json()["text"] == "Which one? `/deploy stop <ID>`"


def test_history_lists_the_workspaces_last_20_deployments(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """`/deploy history` shows, only to the user, the last 20 deployments newest first: when,
    who, image, machine, state and a link to each thread."""
    oldest_shown = deploy(bot, slack, sandbox, user_id="UHIST")
    failures = [channel() for _ in range(19)]
    for channel_id in failures:
        # One after the other, so the order they were recorded in is known.
        submit(bot, slack, form(machine_id="fail-400", image="redis:7"), channel_id, "UHIST2")
        thread_replies(slack, channel_id)
    thread_reply(slack, oldest_shown, "🕓 Pending")

    answer = ephemeral(slack, command(bot, slack, "history", "UHIST"))
    assert answer.params["text"] == "The workspace's last 20 deployments"
    [title, *sections] = answer.params["blocks"]
    assert title["text"]["text"] == "*The workspace's last 20 deployments*"
    lines = history_lines(sections)
    assert len(lines) == 20
    assert lines[:19] == [
        "❌ <when> · <@UHIST2> · `redis:7` on `fail-400` · failed · "
        f"<{thread_link(slack, channel_id)}|thread>"
        for channel_id in reversed(failures)
    ]
    assert lines[19] == (
        "🕓 <when> · <@UHIST> · `nginx:latest` on `24d71100…` · pending · "
        f"<{oldest_shown.link}|thread>"
    )


# --- App Home and "same again" -----------------------------------------------------------------


def test_the_app_home_lists_deployments_and_opens_the_modal_same_again(
    bot: BotProcess, followed: Followed, slack: FakeSlack
) -> None:
    """Opening the App Home publishes the user's and the workspace's deployments with a New
    deployment button, which opens the modal prefilled from their last deployment."""
    deployed = followed.home
    line = f"🟢 <when> · <@UHOME> · `redis:7` on `24d71100…` · running · <{deployed.link}|thread>"
    # Someone else's deployment, the workspace's newest: it heads the workspace's list.
    newest = channel()
    submit(bot, slack, form(machine_id="fail-404", image="alpine:3"), newest, "UTEAM")
    thread_replies(slack, newest)
    response = bot.post(app_home_opened(user_id="UHOME"))
    assert response.status_code == 200
    [published] = slack.wait_for(
        "views.publish", timeout=20, where=lambda c: c.params["user_id"] == "UHOME"
    )
    view = published.params["view"]
    assert view["type"] == "home"
    [header, actions, _, mine_title, *rest] = view["blocks"]
    assert header["text"]["text"] == "deploybot"
    [new] = actions["elements"]
    assert new["action_id"] == "new_deployment"
    assert new["text"]["text"] == "New deployment"
    assert mine_title["text"]["text"] == "*Your recent deployments*"
    divider = rest.index({"type": "divider"})
    assert history_lines(rest[:divider]) == [line]
    assert rest[divider + 1]["text"]["text"] == "*Recent deployments in this workspace*"
    team = history_lines(rest[divider + 2 :])
    assert len(team) == 10
    assert team[0] == (
        "❌ <when> · <@UTEAM> · `alpine:3` on `fail-404` · failed · "
        f"<{thread_link(slack, newest)}|thread>"
    )

    trigger = f"{uuid.uuid4().hex}.home"
    clicked = bot.post(
        view_action(action_id="new_deployment", value="new", user_id="UHOME", trigger_id=trigger)
    )
    assert clicked.status_code == 200
    assert clicked.text == ""
    modal = opened_modal(slack, trigger)
    assert initial_values(modal)["image"] == "redis:7"
    assert initial_values(modal)["machine_id"] == MACHINE
    assert_fresh_external_id(modal, deployed.external_id)
    # Opened outside any channel: the outcome goes to the user's DM.
    assert ModalContext.load(modal["private_metadata"]) == ModalContext(
        minted_id=initial_values(modal)["external_deployment_id"]
    )


def test_deploy_without_arguments_prefills_the_users_last_successful_deployment(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """`/deploy` alone repeats the user's last deployment that started (not a later failed
    one), secrets excepted, with a fresh external ID; a newcomer gets an empty form."""
    deployed = deploy(bot, slack, sandbox, user_id="USAME")
    failed_channel = channel()
    submit(bot, slack, form(machine_id="fail-400", image="broken:1"), failed_channel, "USAME")
    thread_replies(slack, failed_channel)

    trigger = f"{uuid.uuid4().hex}.same-again"
    bot.post(slash_command(user_id="USAME", trigger_id=trigger))
    view = opened_modal(slack, trigger)
    initial = initial_values(view)
    assert_fresh_external_id(view, deployed.external_id)
    del initial["external_deployment_id"]
    assert initial == full_form_prefill()

    trigger = f"{uuid.uuid4().hex}.newcomer"
    bot.post(slash_command(user_id="UNEWCOMER", trigger_id=trigger))
    view = opened_modal(slack, trigger)
    assert {k: v for k, v in initial_values(view).items() if v is not None}.keys() == {
        "external_deployment_id"
    }


# --- restarts ----------------------------------------------------------------------------------


def test_a_start_hiveon_never_answered_is_reconciled_in_its_thread_after_a_kill(
    restarted: Restarted, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Killed while waiting for Hiveon's answer: the restarted bot finds the deployment by its
    external ID, says so in the same thread, updates the parent and follows it."""
    deployed = restarted.answered
    ident = deployed.deployment_id
    assert len(parent_posts(slack, deployed.channel_id)) == 1
    recovered = thread_reply(slack, deployed, "✅")
    assert recovered.params["text"] == (
        f"✅ Deployment started: `{ident}`. Hiveon's first answer was unclear (deploybot "
        "restarted before Hiveon answered), so deploybot looked it up by its external ID and "
        "found it."
    )
    assert recovered.at > restarted.killed_at
    assert thread_texts(slack, deployed) == [
        recovered.params["text"],
        f"🕓 Pending: `{ident}` is pending.",
    ]
    parent = parent_update(slack, deployed, "✅")
    assert parent.params["text"] == "✅ <@U111> started `nginx:latest` on machine `accept-t…`"
    assert_buttons(parent.params, deployed.external_id, ALL_BUTTONS, machine="accept-t…")
    assert sandbox.starts_for(deployed.external_id) == 1


def test_a_start_hiveon_never_received_is_reported_as_not_started_after_a_kill(
    restarted: Restarted, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Killed while Hiveon hung without starting anything: the restarted bot looks it up,
    finds nothing and says in the same thread that nothing was started."""
    deployed = restarted.unanswered
    assert len(parent_posts(slack, deployed.channel_id)) == 1
    reply = thread_reply(slack, deployed, "❌")
    assert reply.params["text"] == (
        f"❌ <@{REQUESTER}> Hiveon failed (deploybot restarted before Hiveon answered) and a "
        "look-up by external ID found nothing, so nothing was started."
    )
    assert reply.at > restarted.killed_at
    shown = json.dumps(reply.params["blocks"], ensure_ascii=False)
    assert "*Next:* It is safe to retry: run `/deploy` again in a minute." in shown
    assert f"*external_deployment_id* `{deployed.external_id}`" in shown
    assert len(thread_texts(slack, deployed)) == 1
    updated = parent_update(slack, deployed, "❌")
    assert updated.params["text"] == "❌ <@U111>'s `nginx:latest` failed on machine `fail-tim…`"
    assert_buttons(updated.params, deployed.external_id, SETTLED_BUTTONS)
    assert not [
        d for d in sandbox.deployments() if d.external_deployment_id == deployed.external_id
    ]
    assert sandbox.starts_for(deployed.external_id) == 1


def test_a_followed_deployment_is_followed_again_after_a_kill(
    restarted: Restarted, slack: FakeSlack, clock: ManualClock
) -> None:
    """Killed while following a PENDING deployment: the restarted bot resumes polling and
    replies RUNNING in the same thread, with no second start message."""
    deployed = restarted.followed
    clock.advance()
    running = thread_reply(slack, deployed, "🟢")
    assert running.at > restarted.killed_at
    ident = deployed.deployment_id
    assert thread_texts(slack, deployed) == [
        f"✅ Deployment started: `{ident}`.",
        f"🕓 Pending: `{ident}` is pending.",
        f"🟢 Running: `{ident}` is up.",
    ]
    assert len(parent_posts(slack, deployed.channel_id)) == 1
    parent = parent_update(slack, deployed, "🟢", after=restarted.killed_at)
    assert_since(detail(parent.params), "Running", parent.at)
