"""End to end against a vendor that cannot be trusted: answers that trickle, answers of 40 MiB,
Slack markup where an ID, a status or a reason should be, and a look-up that finds someone
else's deployment. The real server process, fake Slack and the sandbox's `hostile-…` machines on
loopback; the module runs on SQLite and on PostgreSQL.

The hostile submissions are all made at once, first, so their slow outcomes (a deadline, three
look-ups) overlap instead of adding up.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.deployment import is_plain_id
from bot.modal_context import ModalContext
from bot.sandbox import HUGE_ANSWER_BYTES, RecordedRequest, SandboxVendor, StreamedAnswer
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.processes import API_KEY, BotProcess
from bot.testing.seed import form
from bot.testing.slack_requests import block_action, view_submission
from bot.vendor import MAX_MESSAGE_CHARS
from tests.databases import Databases, query
from tests.e2e_support import VENDOR_START, channel, hiveon_on_loopback, thread_replies, wait_until
from tests.vendor_controls import ManualClock

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback

DEPLOYMENTS = "/vendors/v1/machines/deployments"
TIMEOUT_S = 2
HOSTILE_MACHINES = (
    "hostile-trickle",
    "hostile-huge-status",
    "hostile-id",
    "hostile-status",
    "hostile-fail-reason",
)
# Three look-ups 1, 3 and 10 s apart come before an outcome is unknown.
UNKNOWN_WITHIN_S = 60.0


@dataclass(frozen=True)
class Submitted:
    """A submission the bot was sent: where its thread is, and its external ID."""

    channel_id: str
    external_id: str


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack for each backend's run
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="clock", scope="module")
def _clock(backend: str) -> ManualClock:
    del backend  # the fake Hiveon's deployments start over for each backend's run
    return ManualClock()


@pytest.fixture(name="vendor", scope="module")
def _vendor(clock: ManualClock) -> Iterator[tuple[SandboxVendor, str]]:
    with hiveon_on_loopback(api_keys={API_KEY}, clock=clock) as vendor:
        yield vendor


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    settings = {
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": vendor[1],
        "HIVEON_TIMEOUT_S": str(TIMEOUT_S),
    }
    workdir = tmp_path_factory.mktemp("bot")
    with BotProcess(workdir, settings, database_url=databases.new()) as bot:
        yield bot
        assert "Traceback" not in bot.logs


@pytest.fixture(name="hostile", scope="module")
def _hostile(bot: BotProcess, slack: FakeSlack) -> dict[str, Submitted]:
    """One submission on each hostile machine, all sent before any test waits."""
    submitted = {}
    for machine_id in HOSTILE_MACHINES:
        channel_id, values = channel(), form(machine_id=machine_id)
        submit(bot, slack, values, channel_id)
        submitted[machine_id] = Submitted(channel_id, values["external_deployment_id"])
    return submitted


# --- helpers -----------------------------------------------------------------------------------


def submit(
    bot: BotProcess,
    slack: FakeSlack,
    values: dict[str, str],
    channel_id: str,
    user_id: str = "",
    team_id: str = "T111",
) -> None:
    """Submit the deploy modal as opened by `/deploy` in `channel_id`; the ack closes it."""
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    request = view_submission(
        values=values, private_metadata=where.dump(), user_id=user_id or "U111", team_id=team_id
    )
    response = bot.post(request)
    assert response.status_code == 200
    assert response.text == ""


def thread_reply(slack: FakeSlack, channel_id: str, starts: str, timeout: float = 20.0) -> Call:
    """Wait for the one reply in the channel's thread that starts with `starts`."""
    [call] = slack.wait_for(
        "chat.postMessage",
        timeout=timeout,
        where=lambda c: (
            c.params.get("channel") == channel_id
            and "thread_ts" in c.params
            and c.params["text"].startswith(starts)
        ),
    )
    return call


def rows_of(bot: BotProcess, external_id: str) -> list[tuple[str, str | None]]:
    """The stored (status, deployment_id) of a submission."""
    return [
        (str(status), deployment_id)
        for status, deployment_id in query(
            bot.database_url,
            "SELECT status, deployment_id FROM deployments WHERE external_deployment_id = :e",
            e=external_id,
        )
    ]


def deployment_id_of(sandbox: SandboxVendor, external_id: str) -> str:
    """The ID the fake Hiveon gave the deployment it created for this submission."""
    [created] = [d for d in sandbox.deployments() if d.external_deployment_id == external_id]
    return created.deployment_id


def streams_to(sandbox: SandboxVendor, path: str) -> list[StreamedAnswer]:
    """The streamed answers to one path, once each has ended (the sandbox notices a client
    that hung up at its next write)."""
    streams = [s for s in list(sandbox.streams) if s.path == path]
    wait_until(
        lambda: all(s.ended is not None for s in streams), what=f"streamed answers to {path}"
    )
    return streams


def status_polls(sandbox: SandboxVendor, deployment_id: str) -> list[RecordedRequest]:
    """The status requests Hiveon received for this deployment."""
    path = f"{DEPLOYMENTS}/{deployment_id}"
    return [r for r in list(sandbox.requests) if r.method == "GET" and r.path == path]


def everything_slack_received(slack: FakeSlack) -> str:
    """All params of all calls, as one text to search."""
    return json.dumps([call.params for call in slack.calls], ensure_ascii=False)


# --- point 9: a vendor cannot hold a start open or flood memory --------------------------------


def test_a_trickling_start_is_cut_at_the_deadline_and_reconciled(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, hostile: dict[str, Submitted]
) -> None:
    """A start whose answer comes a byte a second ends at HIVEON_TIMEOUT_S as an unclear answer;
    the look-up by external ID finds it, and it is started once."""
    submitted = hostile["hostile-trickle"]
    [reply] = thread_replies(slack, submitted.channel_id)
    deployment_id = deployment_id_of(sandbox, submitted.external_id)
    assert reply.params["text"] == (
        f"✅ Deployment started: `{deployment_id}`. Hiveon's first answer was unclear "
        f"(no complete answer within {TIMEOUT_S} s), so deploybot looked it up by its external "
        "ID and found it."
    )
    assert sandbox.starts_for(submitted.external_id) == 1
    [trickle] = streams_to(sandbox, VENDOR_START)
    assert trickle.ended == "cut"
    assert 0 < trickle.sent < len(json.dumps({"deployment_id": deployment_id}))
    assert rows_of(bot, submitted.external_id) == [("started", deployment_id)]


def test_a_huge_status_answer_is_cut_early_and_the_bot_keeps_serving(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, hostile: dict[str, Submitted]
) -> None:
    """Look-ups answered with 40 MiB each are cut after far less than that; the outcome is
    unknown (nothing stored), and the bot still serves."""
    submitted = hostile["hostile-huge-status"]
    reply = thread_reply(
        slack, submitted.channel_id, "⚠️ <@U111> The outcome is unknown", timeout=UNKNOWN_WITHIN_S
    )
    assert reply.params["text"].startswith(
        "⚠️ <@U111> The outcome is unknown: Hiveon's answer was unclear (HTTP 500, server error)"
    )
    answers = streams_to(sandbox, f"{DEPLOYMENTS}/{submitted.external_id}")
    assert len(answers) == 3  # one per look-up
    for answer in answers:
        assert answer.ended == "cut"
        # The client reads 1 MiB; the sockets' buffers at both ends take a few MiB more.
        assert answer.sent < HUGE_ANSWER_BYTES // 2
    assert sandbox.starts_for(submitted.external_id) == 1
    assert rows_of(bot, submitted.external_id) == [("unknown", None)]
    assert bot.running
    assert bot.http.get("/healthz").status_code == 200


# --- point 3: vendor text never becomes Slack markup -------------------------------------------


def test_hostile_vendor_text_reaches_slack_only_escaped(
    bot: BotProcess,
    slack: FakeSlack,
    sandbox: SandboxVendor,
    clock: ManualClock,
    hostile: dict[str, Submitted],
) -> None:
    """A deployment_id or status of Slack markup is never taken, stored or posted; a
    fail_reason of markup is posted escaped and cut; Slack receives no ping and no disguised
    link anywhere, and the database holds only plain IDs and statuses."""
    markup_id = hostile["hostile-id"]
    [reply] = thread_replies(slack, markup_id.channel_id)
    assert reply.params["text"] == (
        "❌ <@U111> Hiveon failed (HTTP 200, unreadable response) and a look-up by external ID "
        "found nothing, so nothing was started."
    )
    assert rows_of(bot, markup_id.external_id) == [("failed", None)]

    failing = hostile["hostile-fail-reason"]
    failing_id = deployment_id_of(sandbox, failing.external_id)
    thread_reply(slack, failing.channel_id, "🕓 Pending")
    clock.advance()
    failed = thread_reply(slack, failing.channel_id, "❌ <@U111> Failed")
    assert failed.params["text"].startswith(
        f"❌ <@U111> Failed: `{failing_id}` did not run. code 13: "
        "&lt;https://evil.example|click here&gt; &amp; more &lt;!channel&gt; spam spam"
    )
    assert failed.params["text"].endswith("…")

    marked = hostile["hostile-status"]
    marked_id = deployment_id_of(sandbox, marked.external_id)
    wait_until(lambda: len(status_polls(sandbox, marked_id)) >= 2, what="two polls of a status")
    [started] = thread_replies(slack, marked.channel_id)
    assert started.params["text"] == f"✅ Deployment started: `{marked_id}`."

    received = everything_slack_received(slack)
    assert "<!channel>" not in received
    assert "<https://evil" not in received
    stored = query(
        bot.database_url, "SELECT deployment_id, vendor_status, fail_reason FROM deployments"
    )
    assert stored
    for deployment_id, vendor_status, fail_reason in stored:
        assert deployment_id is None or is_plain_id(deployment_id)
        assert vendor_status is None or is_plain_id(vendor_status)
        assert fail_reason is None or len(fail_reason) <= len("code 13: ") + MAX_MESSAGE_CHARS
    [(marked_status,)] = query(
        bot.database_url,
        "SELECT vendor_status FROM deployments WHERE external_deployment_id = :e",
        e=marked.external_id,
    )
    assert marked_status is None


# --- point 2: an external ID never names someone else's deployment -----------------------------


def test_an_external_id_naming_someone_elses_deployment_does_not_take_it(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """User B types user A's deployment_id (of another workspace on the same Hiveon account,
    which B's form cannot know) as the external ID on a machine that answers 500: the look-up
    finds A's deployment, which B's row does not take (its outcome is unknown), and B's Stop
    does not reach Hiveon for A's deployment."""
    alice_channel, alice = channel(), form()
    submit(bot, slack, alice, alice_channel, user_id="UALICE", team_id="TALICE")
    thread_reply(slack, alice_channel, "✅ Deployment started")
    alices_id = deployment_id_of(sandbox, alice["external_deployment_id"])

    bob_channel, bob = channel(), form(machine_id="fail-500", external_deployment_id=alices_id)
    submit(bot, slack, bob, bob_channel, user_id="UBOB")
    [reply] = thread_replies(slack, bob_channel)
    assert reply.params["text"].startswith(
        "⚠️ <@UBOB> The outcome is unknown: Hiveon's answer was unclear (HTTP 500, server error)"
    )
    assert sandbox.starts_for(alices_id) == 1
    assert rows_of(bot, alices_id) == [("unknown", None)]
    assert rows_of(bot, alice["external_deployment_id"]) == [("started", alices_id)]
    assert (
        f"look-up of {alices_id} answered deployment {alices_id}, started under another external ID"
    ) in bot.logs

    bobs_message, _broadcast = slack.messages(bob_channel)
    response = bot.post(
        block_action(
            action_id="stop_deployment",
            value=alices_id,  # Bob's external ID
            channel_id=bob_channel,
            message_ts=bobs_message["ts"],
            user_id="UBOB",
            response_url=slack.response_url(f"{bob_channel}.stop"),
        )
    )
    assert response.status_code == 200
    refused = thread_reply(slack, bob_channel, "❌ There is no Hiveon ID")
    assert refused.params["thread_ts"] == bobs_message["ts"]
    stops = [r for r in list(sandbox.requests) if r.path == f"{DEPLOYMENTS}/{alices_id}/stop"]
    assert stops == []
