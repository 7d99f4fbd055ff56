"""End to end: the guardrails through the real server process, a fake Slack and a fake Hiveon on
loopback, on SQLite and on PostgreSQL: two-person approval, automatic stops with their reminder,
Extend and Stop now, deploy freezes, and failures the channel sees.

Each test has a workspace (team ID) of its own, so its settings and freezes touch no other.
Hours pass on the bot's guardrail clock (`SharedClock`), which the tests move; the fake
Hiveon's deployments stay PENDING (or STOPPING) until its own clock moves.
"""

import concurrent.futures
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing.clock import SharedClock
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.processes import API_KEY, BotProcess
from bot.testing.seed import DB_PASSWORD, REGISTRY_PASSWORD, form, form_request
from bot.testing.slack_requests import (
    app_home_opened,
    block_action,
    reject_submission,
    settings_submission,
    slash_command,
    view_submission,
    where,
)
from tests.databases import Databases, everything_stored, query
from tests.e2e_support import channel, hiveon_on_loopback, vendor_starts, wait_until
from tests.vendor_controls import PENDING_S, ManualClock

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback

REQUESTER = "U111"
ADMIN = "UWSADMIN"  # users.info says is_admin
OPS = "UOPS"  # in DEPLOYBOT_ADMINS
APPROVER = "UAPPROVER"
STRANGER = "USTRANGER"
FERNET = Fernet.generate_key().decode()
DEPLOYMENTS = "/vendors/v1/machines/deployments"


@dataclass(frozen=True)
class Request:
    """A submission the bot posted: its workspace, channel, message and external ID."""

    team: str
    channel_id: str
    parent_ts: str
    external_id: str

    def thread(self, slack: FakeSlack) -> list[str]:
        """Every reply in its thread, oldest first."""
        return [m["text"] for m in slack.thread(self.channel_id, self.parent_ts)]


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack for each backend's run
    with FakeSlack() as slack:
        slack.users[ADMIN] = {"is_admin": True}
        yield slack


@pytest.fixture(name="hiveon_clock", scope="module")
def _hiveon_clock(backend: str) -> ManualClock:
    del backend  # the fake Hiveon's deployments start over for each backend's run
    return ManualClock()


@pytest.fixture(name="vendor", scope="module")
def _vendor(hiveon_clock: ManualClock) -> Iterator[tuple[SandboxVendor, str]]:
    with hiveon_on_loopback(api_keys={API_KEY}, pending_s=PENDING_S, clock=hiveon_clock) as vendor:
        yield vendor


@pytest.fixture(name="clock", scope="module")
def _clock(backend: str, tmp_path_factory: pytest.TempPathFactory) -> SharedClock:
    """The bot's guardrail clock: the real time, plus what the tests let pass."""
    return SharedClock(tmp_path_factory.mktemp(f"clock-{backend}") / "offset")


def bot_settings(slack: FakeSlack, origin: str, **more: str) -> dict[str, str]:
    """The bot's environment: fake Slack and Hiveon, an ops admin, an encryption key."""
    return {
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": origin,
        "HIVEON_TIMEOUT_S": "5",
        "DEPLOYBOT_ADMINS": OPS,
        "DEPLOYBOT_ENCRYPTION_KEY": FERNET,
        "DEPLOYBOT_LEASE_S": "3",
        **more,
    }


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    clock: SharedClock,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    workdir = tmp_path_factory.mktemp("bot")
    settings = bot_settings(slack, vendor[1])
    with BotProcess(workdir, settings, database_url=databases.new(), clock=clock) as bot:
        yield bot
        assert "Traceback" not in bot.logs


# --- helpers -----------------------------------------------------------------------------------


def team() -> str:
    """A workspace of its own for one test."""
    return f"T{uuid.uuid4().hex[:9].upper()}"


def configure(
    bot: BotProcess,
    slack: FakeSlack,
    team_id: str,
    *,
    approval: bool = False,
    approvers: tuple[str, ...] = (),
    default: str = "",
    longest: str = "",
) -> None:
    """An admin saves the workspace's settings, guardrails included, and is told what changed."""
    name = f"settings-{uuid.uuid4().hex[:8]}"
    response = bot.post(
        settings_submission(
            team_id=team_id,
            user_id=ADMIN,
            private_metadata=where("C1", slack.response_url(name)),
            require_approval=approval,
            approvers=approvers,
            default_stop_after=default,
            max_stop_after=longest,
        )
    )
    assert (response.status_code, response.text) == (200, "")
    slack.wait_for(f"response_url:{name}", timeout=20)


def submit(
    bot: BotProcess,
    slack: FakeSlack,
    values: dict[str, str],
    *,
    team_id: str,
    channel_id: str,
    user_id: str = REQUESTER,
) -> httpx.Response:
    """Submit the deploy form as opened by `/deploy` in `channel_id` of `team_id`."""
    context = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    return bot.post(
        view_submission(
            values=values, private_metadata=context.dump(), user_id=user_id, team_id=team_id
        )
    )


def ask(
    bot: BotProcess, slack: FakeSlack, team_id: str, user_id: str = REQUESTER, **changes: str
) -> tuple[Request, dict[str, str]]:
    """Submit a form (the seed's, with a registry password and a secret value) in a channel of
    its own and wait for its message."""
    values, channel_id = form(**changes), channel()
    response = submit(bot, slack, values, team_id=team_id, channel_id=channel_id, user_id=user_id)
    assert (response.status_code, response.text) == (200, "")
    slack.wait_for(
        "chat.postMessage",
        timeout=20,
        where=lambda c: c.params.get("channel") == channel_id and "thread_ts" not in c.params,
    )
    parent = slack.messages(channel_id)[0]
    return Request(team_id, channel_id, parent["ts"], values["external_deployment_id"]), values


def reply(slack: FakeSlack, request: Request, starts: str, *, after: float = 0) -> Call:
    """Wait for the one reply in the request's thread that starts with `starts`."""
    [call] = slack.wait_for(
        "chat.postMessage",
        timeout=20,
        where=lambda c: (
            c.params.get("channel") == request.channel_id
            and c.params.get("thread_ts") == request.parent_ts
            and c.params["text"].startswith(starts)
            and c.at > after
        ),
    )
    return call


def click(
    bot: BotProcess,
    slack: FakeSlack,
    request: Request,
    action_id: str,
    *,
    user_id: str,
    value: str | None = None,
    answer_to: str | None = None,
    trigger_id: str | None = None,
) -> str:
    """Click a button of the request's message as `user_id`; the response_url's name."""
    name = answer_to or f"{action_id}-{uuid.uuid4().hex[:8]}"
    response = bot.post(
        block_action(
            action_id=action_id,
            value=value if value is not None else request.external_id,
            channel_id=request.channel_id,
            message_ts=request.parent_ts,
            user_id=user_id,
            team_id=request.team,
            response_url=slack.response_url(name),
            trigger_id=trigger_id,
        )
    )
    assert (response.status_code, response.text) == (200, "")
    return name


def told(slack: FakeSlack, name: str) -> str:
    """The one private answer posted to a response_url."""
    [call] = slack.wait_for(f"response_url:{name}", timeout=20)
    assert call.params["response_type"] == "ephemeral"
    return str(call.params["text"])


def row_of(bot: BotProcess, external_id: str, *columns: str) -> tuple[Any, ...]:
    """Columns of the stored row of a submission."""
    [row] = query(
        bot.database_url,
        f"SELECT {', '.join(columns)} FROM deployments WHERE external_deployment_id = :e",  # noqa: S608 — column names from the test itself
        e=external_id,
    )
    return row


def updates(slack: FakeSlack, request: Request) -> list[Call]:
    """Every chat.update of the request's message, oldest first."""
    return [
        c
        for c in slack.calls_to("chat.update")
        if c.params["channel"] == request.channel_id and c.params["ts"] == request.parent_ts
    ]


def update_saying(slack: FakeSlack, request: Request, words: str) -> Call:
    """Wait for an update of the request's message that says `words`; the latest such."""
    wait_until(
        lambda: any(words in shown(c) for c in updates(slack, request)),
        what=f"the message saying {words!r}",
    )
    return [c for c in updates(slack, request) if words in shown(c)][-1]


def shown(call: Call) -> str:
    """A message's text and blocks as one text."""
    return str(call.params.get("text")) + json.dumps(call.params.get("blocks"), ensure_ascii=False)


def action_ids(message: dict[str, Any]) -> list[str]:
    """The action IDs of a message's buttons."""
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def at_once(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs at the same instant, each from a thread of its own."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> object:
        barrier.wait()
        return job()

    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def stops_sent(sandbox: SandboxVendor, deployment_id: str) -> int:
    """How many times Hiveon was asked to stop this deployment."""
    path = f"{DEPLOYMENTS}/{deployment_id}/stop"
    return sum(1 for r in list(sandbox.requests) if r.method == "POST" and r.path == path)


def deployment_id_of(sandbox: SandboxVendor, external_id: str) -> str:
    """The ID Hiveon gave the deployment started under `external_id`."""
    [created] = [d for d in sandbox.deployments() if d.external_deployment_id == external_id]
    return created.deployment_id


def stamp(moment: datetime) -> str:
    """How Slack's date token names a moment."""
    return f"<!date^{int(moment.timestamp())}^"


# --- two-person approval -----------------------------------------------------------------------


def test_a_request_awaiting_approval_shows_everything_and_sends_nothing(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, clock: SharedClock
) -> None:
    """With approval required, a valid submission is recorded as awaiting approval, its message
    shows the whole request with secrets masked and Approve and Reject, nothing reaches Hiveon,
    and the registry password and secret values are kept only encrypted."""
    team_id = team()
    configure(bot, slack, team_id, approval=True)
    request, _ = ask(bot, slack, team_id, stop_after="4h")

    [parent] = slack.messages(request.channel_id)
    assert parent["text"].startswith(
        f"🙋 <@{REQUESTER}> asks to deploy `nginx:latest` on machine `24d71100…`"
    )
    assert parent["text"].endswith("approvers: a workspace admin")
    text = shown_message(parent)
    for fact in (
        "*Registry*\\n`username` at `docker.private.io`, password ••••",
        "*Stop after*\\n4 hours",
        "ENV_VAR1=value1\\nDB_PASSWORD=••••",
        "*Startup script*",
        "`ssh-ed25519 … alice@laptop`",
        "(not <@U111>, who asked)",
    ):
        assert fact in text, fact
    assert action_ids(parent) == ["approve_deployment", "reject_deployment"]
    buttons = [e for b in parent["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [request.external_id] * 2
    assert vendor_starts(sandbox, request.external_id) == []

    status, sealed, expires, created = row_of(
        bot, request.external_id, "status", "sealed_request", "approval_expires_at", "created_at"
    )
    assert status == "awaiting_approval"
    assert sealed
    assert REGISTRY_PASSWORD not in sealed
    ahead = clock() - datetime.now(UTC)  # the guardrails' clock, which earlier tests moved
    waits = _aware(expires) - _aware(created) - ahead
    assert abs(waits - timedelta(minutes=60)) < timedelta(minutes=1)
    stored = everything_stored(bot.database_url)
    assert REGISTRY_PASSWORD.encode() not in stored
    assert DB_PASSWORD.encode() not in stored
    assert REGISTRY_PASSWORD not in json.dumps([c.params for c in slack.calls])
    assert REGISTRY_PASSWORD not in bot.logs


def test_only_a_second_person_may_approve_and_an_approval_starts_it_once(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """The requester's Approve is refused privately, and so is that of someone who is not an
    approver; an admin's double click starts the deployment once, with every secret as typed;
    the thread and the message say who approved; the sealed request is gone."""
    team_id = team()
    configure(bot, slack, team_id, approval=True)
    request, _ = ask(bot, slack, team_id)

    own = told(slack, click(bot, slack, request, "approve_deployment", user_id=REQUESTER))
    assert own.startswith("🙅 You asked for this deployment, so you cannot approve it")
    stranger = told(slack, click(bot, slack, request, "approve_deployment", user_id=STRANGER))
    assert stranger.startswith("🔒 Only a workspace admin may approve or reject deployments")
    assert row_of(bot, request.external_id, "status") == ("awaiting_approval",)

    first, second = f"approve-{uuid.uuid4().hex[:6]}", f"approve-{uuid.uuid4().hex[:6]}"
    at_once(
        lambda: click(bot, slack, request, "approve_deployment", user_id=ADMIN, answer_to=first),
        lambda: click(bot, slack, request, "approve_deployment", user_id=ADMIN, answer_to=second),
    )
    started = reply(slack, request, "✅ Deployment started")
    approved = reply(slack, request, "👍")
    assert approved.params["text"] == f"👍 Approved by <@{ADMIN}>: deploybot starts it now."
    assert approved.at <= started.at
    assert [r.json for r in sandbox.requests if r.path.endswith("/start")].count(
        form_request(request.external_id)
    ) == 1
    assert len(vendor_starts(sandbox, request.external_id)) == 1

    def late() -> list[Call]:
        return [c for name in (first, second) for c in slack.calls_to(f"response_url:{name}")]

    wait_until(late, what="the second click's answer")
    assert [c.params["text"] for c in late()] == [
        f"This deployment request was already approved by <@{ADMIN}>; nothing changed."
    ]
    update = update_saying(slack, request, f"✅ <@{REQUESTER}> started `nginx:latest`")
    assert f"👍 Approved by <@{ADMIN}>" in shown(update)
    assert row_of(bot, request.external_id, "status", "decided_by", "sealed_request") == (
        "started",
        ADMIN,
        None,
    )


def test_chosen_approvers_alone_decide_and_a_rejection_says_why(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """With approvers chosen, an admin outside the list may not approve; an approver's Reject
    asks why (a blank reason is refused in the form), replies the reason in the thread naming
    the requester, leaves only Redeploy and forgets the sealed request; nothing is sent."""
    team_id = team()
    configure(bot, slack, team_id, approval=True, approvers=(APPROVER,))
    request, _ = ask(bot, slack, team_id)
    [parent] = slack.messages(request.channel_id)
    assert parent["text"].endswith(f"approvers: <@{APPROVER}>")

    refused = told(slack, click(bot, slack, request, "approve_deployment", user_id=ADMIN))
    assert refused.startswith(f"🔒 Only <@{APPROVER}> may approve or reject deployments here")

    trigger = f"{uuid.uuid4().hex}.reject"
    answers = click(bot, slack, request, "reject_deployment", user_id=APPROVER, trigger_id=trigger)
    [opened] = slack.wait_for(
        "views.open", timeout=20, where=lambda c: c.params["trigger_id"] == trigger
    )
    assert opened.params["view"]["callback_id"] == "reject_deployment_modal"
    blank = bot.post(
        reject_submission("  ", external_id=request.external_id, team_id=team_id, user_id=APPROVER)
    )
    assert blank.json() == {
        "response_action": "errors",
        "errors": {"reject_reason": "Say why, so that the requester knows what to change."},
    }
    context = json.loads(opened.params["view"]["private_metadata"])
    assert context == {
        "external_id": request.external_id,
        "response_url": slack.response_url(answers),
    }
    response = bot.post(
        reject_submission(
            "Not during the incident <!channel>",
            external_id=request.external_id,
            response_url=context["response_url"],
            team_id=team_id,
            user_id=APPROVER,
        )
    )
    assert (response.status_code, response.text) == (200, "")
    rejected = reply(slack, request, "🚫")
    assert rejected.params["text"] == (
        f"🚫 <@{REQUESTER}>, <@{APPROVER}> rejected this deployment: “Not during the incident "
        "&lt;!channel&gt;” Nothing was sent to Hiveon."
    )
    update = update_saying(slack, request, "🚫 Rejected by <@UAPPROVER>")
    assert update.params["text"].startswith(f"🚫 <@{REQUESTER}>'s `nginx:latest`")
    assert action_ids(update.params) == ["redeploy"]
    assert row_of(bot, request.external_id, "status", "decided_by", "rejection_reason") == (
        "rejected",
        APPROVER,
        "Not during the incident <!channel>",
    )
    assert row_of(bot, request.external_id, "sealed_request") == (None,)
    again = told(slack, click(bot, slack, request, "approve_deployment", user_id=APPROVER))
    assert again == (
        f"This deployment request was already rejected by <@{APPROVER}>; nothing changed."
    )
    assert vendor_starts(sandbox, request.external_id) == []


def test_an_unanswered_request_expires_and_says_so(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, clock: SharedClock
) -> None:
    """Nobody answers within DEPLOYBOT_APPROVAL_MINUTES: the request expires once, its thread
    says so to the requester, Approve and Reject give way to Redeploy, its secrets are
    forgotten, and a late Approve is refused."""
    team_id = team()
    configure(bot, slack, team_id, approval=True)
    request, _ = ask(bot, slack, team_id)
    clock.advance(timedelta(minutes=61))
    expired = reply(slack, request, "⌛")
    assert expired.params["text"] == (
        f"⌛ <@{REQUESTER}>, nobody approved this within 1 hour, so it expired: nothing was sent "
        "to Hiveon."
    )
    assert "Run `/deploy` again to ask anew." in shown(expired)
    closed = update_saying(slack, request, "⌛ Nobody approved it in time")
    assert action_ids(closed.params) == ["redeploy"]
    assert row_of(bot, request.external_id, "status", "sealed_request") == ("expired", None)
    late = told(slack, click(bot, slack, request, "approve_deployment", user_id=ADMIN))
    assert late == "This deployment request has expired; nothing changed."
    assert vendor_starts(sandbox, request.external_id) == []
    assert [t for t in request.thread(slack) if t.startswith("⌛")] == [expired.params["text"]]


def test_without_an_encryption_key_a_secret_cannot_wait_for_approval(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    clock: SharedClock,
    tmp_path: Path,
) -> None:
    """Without DEPLOYBOT_ENCRYPTION_KEY the settings say so, and where approval is required a
    form holding a registry password (or a secret value) is refused under that field; one
    without any secret waits and starts as usual."""
    sandbox, origin = vendor
    settings = bot_settings(slack, origin)
    del settings["DEPLOYBOT_ENCRYPTION_KEY"]
    with BotProcess(tmp_path, settings, database_url=databases.new(), clock=clock) as keyless:
        team_id = team()
        configure(keyless, slack, team_id, approval=True)
        trigger = f"{uuid.uuid4().hex}.settings"
        keyless.post(
            slash_command(text="settings", user_id=ADMIN, team_id=team_id, trigger_id=trigger)
        )
        [opened] = slack.wait_for(
            "views.open", timeout=20, where=lambda c: c.params["trigger_id"] == trigger
        )
        assert "Without `DEPLOYBOT_ENCRYPTION_KEY`" in json.dumps(opened.params["view"])

        refused = submit(keyless, slack, form(), team_id=team_id, channel_id=channel())
        [(field, problem)] = refused.json()["errors"].items()
        assert field == "docker_password"
        assert problem.startswith("Deployments here wait for an approval, and deploybot has no")
        secret_env = form(docker_login="", docker_password="", docker_server="")
        refused = submit(keyless, slack, secret_env, team_id=team_id, channel_id=channel())
        assert list(refused.json()["errors"]) == ["environment_variables"]

        request, _ = ask(
            keyless,
            slack,
            team_id,
            docker_login="",
            docker_password="",
            docker_server="",
            environment_variables="MODE=prod",
            metadata="team=payments",
        )
        assert row_of(keyless, request.external_id, "sealed_request") == (None,)
        click(keyless, slack, request, "approve_deployment", user_id=ADMIN)
        reply(slack, request, "✅ Deployment started")
        [sent] = vendor_starts(sandbox, request.external_id)
        assert sent["container_config"]["environment_variables"] == {"MODE": "prod"}
        assert sent["metadata"] == {"team": "payments"}
        assert "Traceback" not in keyless.logs


# --- automatic stop ------------------------------------------------------------------------------


def started(slack: FakeSlack, request: Request) -> str:
    """Wait for the start's reply; the deployment ID it names."""
    call = reply(slack, request, "✅ Deployment started")
    return str(call.params["text"]).split("`")[1]


def test_a_deployment_is_reminded_extended_once_and_stopped_automatically(
    bot: BotProcess,
    slack: FakeSlack,
    sandbox: SandboxVendor,
    clock: SharedClock,
    hiveon_clock: ManualClock,
) -> None:
    """Asked to stop after 1h: the message says when; 15 minutes before, the thread reminds the
    requester with Extend and Stop now; a double click on Extend extends once, by 1h; at the new
    time deploybot stops it through Hiveon, once, and the thread and the message say it was
    stopped automatically after 2 hours; the thread then follows it to stopped."""
    team_id = team()
    request, _ = ask(bot, slack, team_id, stop_after="1h")
    ident = started(slack, request)
    started_at, stop_at, remind_at = (
        _aware(value)
        for value in row_of(bot, request.external_id, "started_at", "stop_at", "remind_at")
    )
    assert stop_at - started_at == timedelta(hours=1)
    assert stop_at - remind_at == timedelta(minutes=15)
    update_saying(slack, request, f"⏱️ deploybot stops it automatically {stamp(stop_at)}")

    clock.advance(remind_at - clock())
    reminded = reply(slack, request, "⏰")
    assert reminded.params["text"].startswith(
        f"⏰ <@{REQUESTER}>, deploybot stops `{ident}` automatically {stamp(stop_at)}"
    )
    assert "*Extend* keeps it running 1 hour more" in shown(reminded)
    assert action_ids(reminded.params) == ["extend_deployment", "stop_now_deployment"]
    value = f"{request.external_id}|{int(stop_at.timestamp())}"
    buttons = [
        e for b in reminded.params["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert [b["value"] for b in buttons] == [value, value]

    names = at_once(
        lambda: click(bot, slack, request, "extend_deployment", user_id=REQUESTER, value=value),
        lambda: click(bot, slack, request, "extend_deployment", user_id=REQUESTER, value=value),
    )
    extended = reply(slack, request, "⏱️")
    new_stop = stop_at + timedelta(hours=1)
    assert extended.params["text"] == (
        f"⏱️ <@{REQUESTER}> extended it by 1 hour: deploybot now stops it {stamp(new_stop)}"
        "{date_short_pretty} at {time}|" + new_stop.strftime("%Y-%m-%d %H:%M UTC") + ">."
    )

    def noop() -> list[Call]:
        return [c for name in names for c in slack.calls_to(f"response_url:{name}")]

    wait_until(noop, what="the second click's answer")
    [second] = noop()
    assert second.params["text"].startswith("It was just extended: deploybot now stops it")
    assert _aware(row_of(bot, request.external_id, "stop_at")[0]) == new_stop
    update_saying(slack, request, f"⏱️ deploybot stops it automatically {stamp(new_stop)}")

    clock.advance(new_stop - timedelta(minutes=15) - clock())
    reminded_again = reply(slack, request, "⏰", after=extended.at)
    assert stops_sent(sandbox, ident) == 0
    clock.advance(new_stop - clock())
    stopped = reply(slack, request, "⏹️")
    assert stopped.params["text"] == (
        f"⏹️ <@{REQUESTER}>, deploybot stopped `{ident}` automatically after 2 hours, as asked; "
        "this thread follows it to the end."
    )
    assert "reply_broadcast" not in stopped.params
    assert stops_sent(sandbox, ident) == 1
    update_saying(slack, request, "⏹️ Stopped automatically after 2 hours")
    stop_column, stopped_at = row_of(
        bot, request.external_id, "stop_at", "stopped_automatically_at"
    )
    assert stop_column is None
    assert stopped_at is not None
    reply(slack, request, "🟠 Stopping")
    hiveon_clock.advance()
    reply(slack, request, "⏹️ Stopped:")
    final = update_saying(slack, request, "⏹️ <@U111>'s `nginx:latest` stopped")
    assert "⏹️ Stopped automatically after 2 hours" in shown(final)
    assert stops_sent(sandbox, ident) == 1
    assert [t for t in request.thread(slack) if t.startswith("⏰")] == [
        reminded.params["text"],
        reminded_again.params["text"],
    ]


def test_stop_after_keeps_to_the_workspace_default_and_longest_run(
    bot: BotProcess, slack: FakeSlack, clock: SharedClock
) -> None:
    """The form says the workspace's default and longest run; longer (or unreadable) is a field
    error; empty takes the default; `/deploy extend` leaves no more time than the longest run,
    and says so; a default over the longest run is refused in the settings."""
    team_id = team()
    bad = bot.post(
        settings_submission(
            team_id=team_id,
            user_id=ADMIN,
            require_approval=False,
            default_stop_after="6h",
            max_stop_after="4h",
        )
    )
    assert bad.json()["errors"] == {
        "default_stop_after": "The default cannot be longer than the maximum (4 hours)."
    }
    configure(bot, slack, team_id, default="2h", longest="4h")

    trigger = f"{uuid.uuid4().hex}.form"
    bot.post(slash_command(team_id=team_id, trigger_id=trigger, channel_id=channel()))
    [opened] = slack.wait_for(
        "views.open", timeout=20, where=lambda c: c.params["trigger_id"] == trigger
    )
    [stop_after] = [b for b in opened.params["view"]["blocks"] if b.get("block_id") == "stop_after"]
    assert stop_after["hint"]["text"].endswith(
        "Empty: it stops after 2 hours. At most 4 hours in this workspace."
    )

    too_long = submit(bot, slack, form(stop_after="5h"), team_id=team_id, channel_id=channel())
    assert too_long.json()["errors"] == {
        "stop_after": "“5h” is longer than this workspace allows: use at most 4 hours."
    }
    unreadable = submit(bot, slack, form(stop_after="soon"), team_id=team_id, channel_id=channel())
    assert unreadable.json()["errors"]["stop_after"].startswith("“soon” is not a duration")

    request, _ = ask(bot, slack, team_id)
    ident = started(slack, request)
    assert row_of(bot, request.external_id, "stop_after_s") == (7200,)
    stop_at = _aware(row_of(bot, request.external_id, "stop_at")[0])

    name = f"extend-{uuid.uuid4().hex[:6]}"
    response = bot.post(
        slash_command(
            text=f"extend {ident} 10h",
            team_id=team_id,
            response_url=slack.response_url(name),
        )
    )
    assert (response.status_code, response.text) == (200, "")
    answer = told(slack, name)
    assert "(as far as the workspace's longest run allows)" in answer
    new_stop = _aware(row_of(bot, request.external_id, "stop_at")[0])
    assert stop_at < new_stop <= clock() + timedelta(hours=4)
    reply(slack, request, f"⏱️ <@{REQUESTER}> extended it by")

    unusable = bot.post(slash_command(text=f"extend {ident} 40d", team_id=team_id))
    assert unusable.json()["text"] == "`40d` is too long: use at most `30d`."
    usage = bot.post(slash_command(text="extend", team_id=team_id))
    assert usage.json()["text"].startswith("Which one, and by how long?")


def test_only_the_requester_or_an_admin_extends_and_stop_now_stops_at_once(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, clock: SharedClock
) -> None:
    """On the reminder, someone else's Extend is refused privately; the requester's Stop now
    asks Hiveon to stop it at once, and nothing is stopped automatically afterwards."""
    team_id = team()
    request, _ = ask(bot, slack, team_id, stop_after="20m")
    ident = started(slack, request)
    clock.advance(timedelta(minutes=11))
    reminded = reply(slack, request, "⏰")
    value = str(
        next(e for b in reminded.params["blocks"] if b["type"] == "actions" for e in b["elements"])[
            "value"
        ]
    )
    refused = told(
        slack, click(bot, slack, request, "extend_deployment", user_id=STRANGER, value=value)
    )
    assert refused.startswith(f"Only <@{REQUESTER}>, who started `{ident}`, or a workspace admin")
    click(bot, slack, request, "stop_now_deployment", user_id=REQUESTER, value=value)
    asked = reply(slack, request, "⏹️")
    assert asked.params["text"] == f"⏹️ <@{REQUESTER}> asked Hiveon to stop `{ident}`."
    assert stops_sent(sandbox, ident) == 1
    assert row_of(bot, request.external_id, "stop_at", "remind_at") == (None, None)
    clock.advance(timedelta(minutes=30))
    later = reply(slack, request, "🟠 Stopping")
    assert later.at > asked.at
    assert stops_sent(sandbox, ident) == 1


# --- deploy freeze -------------------------------------------------------------------------------


def command(bot: BotProcess, slack: FakeSlack, text: str, *, team_id: str, user_id: str) -> str:
    """Run `/deploy <text>`; the name of its response_url."""
    name = f"cmd-{uuid.uuid4().hex[:8]}"
    response = bot.post(
        slash_command(
            text=text,
            team_id=team_id,
            user_id=user_id,
            channel_id=f"C{name[4:].upper()}",
            response_url=slack.response_url(name),
        )
    )
    assert response.status_code == 200
    return name


def test_a_freeze_refuses_every_new_deployment_and_approval_until_lifted(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, clock: SharedClock
) -> None:
    """Only admins freeze; a freeze needs a reason; frozen, the form is refused when it opens
    and on submit, naming the reason, who and since when, and an approval starts nothing; the
    App Home shows a banner; freezing and lifting are announced and logged; a freeze given a
    duration ends by itself."""
    team_id = team()
    configure(bot, slack, team_id, approval=True)
    waiting, _ = ask(bot, slack, team_id)

    refused = told(slack, command(bot, slack, "freeze incident", team_id=team_id, user_id=STRANGER))
    assert refused.startswith("🔒 Only workspace admins and owners")
    assert "freeze or unfreeze deploys" in refused
    usage = bot.post(slash_command(text="freeze 2h", team_id=team_id, user_id=ADMIN))
    assert usage.json()["text"].startswith("Say why: `/deploy freeze [duration] &lt;reason&gt;`")

    name = command(bot, slack, "freeze incident 4711 <!here>", team_id=team_id, user_id=ADMIN)
    recorded = told(slack, name)
    assert recorded.startswith("📝 Recorded: ")
    assert recorded.endswith("<@UWSADMIN> froze deploys: “incident 4711 &lt;!here&gt;”")
    [announced] = slack.wait_for(
        "chat.postMessage",
        timeout=20,
        where=lambda c: c.params.get("channel") == f"C{name[4:].upper()}",
    )
    assert announced.params["text"].startswith(f"🧊 <@{ADMIN}> froze deploys <!date^")
    assert "until an admin runs `/deploy unfreeze`" in announced.params["text"]

    opening = told(slack, command(bot, slack, "", team_id=team_id, user_id=REQUESTER))
    assert opening.startswith(
        f"🧊 Deploys are frozen in this workspace by <@{ADMIN}> since <!date^"
    )
    assert opening.endswith("“incident 4711 &lt;!here&gt;”. Nothing was sent to Hiveon.")
    values, channel_id = form(), channel()
    submit(bot, slack, values, team_id=team_id, channel_id=channel_id)
    [on_submit] = slack.wait_for(f"response_url:{channel_id}", timeout=20)
    assert on_submit.params["text"] == opening
    frozen_approval = told(slack, click(bot, slack, waiting, "approve_deployment", user_id=ADMIN))
    assert frozen_approval.startswith(f"🧊 Deploys are frozen by <@{ADMIN}> since")
    assert row_of(bot, waiting.external_id, "status") == ("awaiting_approval",)

    bot.post(app_home_opened(team_id=team_id, user_id=REQUESTER))
    [home] = slack.wait_for(
        "views.publish",
        timeout=20,
        where=lambda c: (
            c.params["user_id"] == REQUESTER
            and "Deploys are frozen" in json.dumps(c.params["view"])
        ),
    )
    assert home.params["view"]["blocks"][1]["text"]["text"].startswith(
        f"🧊 *Deploys are frozen* by <@{ADMIN}> since <!date^"
    )

    lifted = told(slack, command(bot, slack, "unfreeze", team_id=team_id, user_id=ADMIN))
    assert lifted.endswith("<@UWSADMIN> lifted the deploy freeze (“incident 4711 &lt;!here&gt;”)")
    click(bot, slack, waiting, "approve_deployment", user_id=ADMIN)
    reply(slack, waiting, "✅ Deployment started")
    assert told(slack, command(bot, slack, "unfreeze", team_id=team_id, user_id=ADMIN)) == (
        "Deploys are not frozen; nothing changed."
    )

    told(slack, command(bot, slack, "freeze 2h release", team_id=team_id, user_id=ADMIN))
    assert told(slack, command(bot, slack, "", team_id=team_id, user_id=REQUESTER)).startswith("🧊")
    clock.advance(timedelta(hours=2, minutes=1))
    trigger = f"{uuid.uuid4().hex}.thawed"
    bot.post(slash_command(team_id=team_id, trigger_id=trigger))
    slack.wait_for("views.open", timeout=20, where=lambda c: c.params["trigger_id"] == trigger)

    logged = query(
        bot.database_url,
        "SELECT action, user_id FROM workspace_changes WHERE scope = :s ORDER BY id",
        s=team_id,
    )
    assert [row for row in logged if row[0].startswith("deploys_")] == [
        ("deploys_frozen", ADMIN),
        ("deploys_unfrozen", ADMIN),
        ("deploys_frozen", ADMIN),
    ]
    assert len(vendor_starts(sandbox, values["external_deployment_id"])) == 0


# --- failures the channel sees -----------------------------------------------------------------


def test_failures_are_shown_in_the_channel_and_name_the_requester(
    bot: BotProcess, slack: FakeSlack, hiveon_clock: ManualClock
) -> None:
    """A refused start and a deployment that fails are replied with reply_broadcast, naming the
    requester, and so appear in the channel; a start stays in the thread."""
    team_id = team()
    refused, _ = ask(bot, slack, team_id, machine_id="fail-400")
    failing, _ = ask(bot, slack, team_id, machine_id="fail-later")
    fine, _ = ask(bot, slack, team_id)

    rejected = reply(slack, refused, f"❌ <@{REQUESTER}> Hiveon rejected the request")
    assert rejected.params["reply_broadcast"] is True
    assert [m.get("subtype") for m in slack.messages(refused.channel_id)] == [
        None,
        "thread_broadcast",
    ]
    ok = reply(slack, fine, "✅ Deployment started")
    assert "reply_broadcast" not in ok.params
    assert len(slack.messages(fine.channel_id)) == 1
    pending = reply(slack, failing, "🕓 Pending")
    assert "reply_broadcast" not in pending.params
    hiveon_clock.advance()
    failed = reply(slack, failing, f"❌ <@{REQUESTER}> Failed:")
    assert failed.params["reply_broadcast"] is True
    assert slack.messages(failing.channel_id)[-1]["text"] == failed.params["text"]


# --- restarts ------------------------------------------------------------------------------------


def test_approvals_and_automatic_stops_survive_a_kill_9(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    clock: SharedClock,
    tmp_path: Path,
) -> None:
    """Killed with a request awaiting approval and a deployment due to stop: the restarted bot
    starts the request when approved (its sealed secrets intact) and stops the other on time."""
    sandbox, origin = vendor
    settings = bot_settings(slack, origin)
    database_url = databases.new()
    team_id = team()
    with BotProcess(tmp_path, settings, database_url=database_url, clock=clock) as first:
        running, _ = ask(first, slack, team_id, stop_after="1h")
        ident = started(slack, running)
        configure(first, slack, team_id, approval=True)
        waiting, _ = ask(first, slack, team_id)
        # Killed once the request's message is recorded: its thread is then known for good.
        wait_until(
            lambda: row_of(first, waiting.external_id, "message_ts") == (waiting.parent_ts,),
            what="the request's message recorded",
        )
        first.kill()
    with BotProcess(tmp_path, settings, database_url=database_url, clock=clock) as second:
        click(second, slack, waiting, "approve_deployment", user_id=OPS)
        reply(slack, waiting, "✅ Deployment started")
        [sent] = vendor_starts(sandbox, waiting.external_id)
        assert sent == form_request(waiting.external_id)
        clock.advance(timedelta(hours=1, minutes=1))
        reply(slack, running, "⏹️")
        assert stops_sent(sandbox, ident) == 1
        assert "Traceback" not in second.logs


# --- parts ---------------------------------------------------------------------------------------


def shown_message(message: dict[str, Any]) -> str:
    """A stored message's text and blocks as one text (newlines escaped as JSON does)."""
    return str(message.get("text")) + json.dumps(message.get("blocks"), ensure_ascii=False)


def _aware(value: object) -> datetime:
    """A datetime read back from either database, in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
