"""End to end: two replicas of the bot (`python -m bot` twice) on one PostgreSQL database, behind
one fake Slack and one fake Hiveon on loopback, as on a platform running two web processes.

The same submission delivered to both starts one deployment; each deployment is followed by
one replica at a time and taken over when that one is killed, whether it was polling or waiting
for Hiveon's answer; a key or a setting changed through one replica applies on the other at
once; an approval clicked on both starts one deployment, and an automatic stop is made once.
Leases last `LEASE_S` seconds here instead of 30, so take-overs happen within the test; hours
pass on the replicas' shared guardrail clock, which the tests move.
"""

import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing import postgres
from bot.testing.clock import SharedClock
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.loopback import LoopbackServer
from bot.testing.processes import API_KEY, BotProcess
from bot.testing.seed import form
from bot.testing.slack_requests import (
    api_key_submission,
    block_action,
    settings_submission,
    slash_command,
    view_submission,
    where,
)
from tests.databases import query
from tests.e2e_support import channel, parent_posts, vendor_starts, wait_until
from tests.vendor_controls import PENDING_S, ManualClock, StatusFaults

pytestmark = pytest.mark.e2e  # two bot processes on PostgreSQL, fakes on loopback

LEASE_S = 3
NEW_KEY = "hk-set-through-replica-a-0123456789"
ADMIN = "UWSADMIN"
FERNET = Fernet.generate_key().decode()
DEPLOYMENTS = "/vendors/v1/machines/deployments"


@dataclass(frozen=True)
class Thread:
    """Where a deployment's conversation is, and its IDs."""

    channel_id: str
    parent_ts: str
    external_id: str


@dataclass(frozen=True)
class Replicas:
    """Two bot processes sharing one database and one guardrail clock."""

    a: BotProcess
    b: BotProcess
    database_url: str
    clock: SharedClock

    def both(self) -> tuple[BotProcess, BotProcess]:
        """Both replicas."""
        return self.a, self.b

    def by_name(self, name: str) -> BotProcess:
        """The replica that leases rows under `name`."""
        [replica] = [r for r in self.both() if r.replica == name]
        return replica


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.users[ADMIN] = {"is_admin": True}
        yield slack


@pytest.fixture(name="clock", scope="module")
def _clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(name="faults", scope="module")
def _faults(clock: ManualClock) -> StatusFaults:
    sandbox = SandboxVendor(api_keys={API_KEY, NEW_KEY}, pending_s=PENDING_S, clock=clock)
    return StatusFaults(sandbox)


@pytest.fixture(name="vendor", scope="module")
def _vendor(faults: StatusFaults) -> Iterator[tuple[SandboxVendor, str]]:
    with LoopbackServer(faults.app, name="fake-hiveon") as server:
        yield faults.sandbox, server.origin


@pytest.fixture(name="replicas")
def _replicas(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], postgres_server: str, tmp_path: Path
) -> Iterator[Replicas]:
    """Two replicas on a new database, started at the same moment (both migrate it at once)."""
    database_url = postgres.create_database(postgres_server)
    settings = {
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": vendor[1],
        "HIVEON_TIMEOUT_S": "10",
        "DEPLOYBOT_ENCRYPTION_KEY": FERNET,
        "DEPLOYBOT_LEASE_S": str(LEASE_S),
    }
    clock = SharedClock(tmp_path / "clock")
    processes = [
        BotProcess(tmp_path / name, settings, database_url=database_url, clock=clock)
        for name in ("a", "b")
    ]
    for process in processes:
        process.workdir.mkdir()
    # Started from two threads: both are up only when both have migrated the new database.
    with contextlib.ExitStack() as stack, concurrent.futures.ThreadPoolExecutor(2) as pool:
        for started in pool.map(stack.enter_context, processes):
            assert started.running
        yield Replicas(processes[0], processes[1], database_url, clock)
        for process in processes:
            assert "Traceback" not in process.logs
    postgres.drop_database(postgres_server, database_url)


# --- helpers -----------------------------------------------------------------------------------


def submit(bot: BotProcess, slack: FakeSlack, values: dict[str, str], channel_id: str) -> int:
    """Deliver the deploy modal's submission, opened in `channel_id`, to one replica."""
    context = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    return bot.post(view_submission(values=values, private_metadata=context.dump())).status_code


def thread_of(slack: FakeSlack, channel_id: str, external_id: str) -> Thread:
    """The deployment's thread, once its parent message is posted."""
    slack.wait_for(
        "chat.postMessage",
        timeout=20,
        where=lambda c: c.params.get("channel") == channel_id and "thread_ts" not in c.params,
    )
    return Thread(channel_id, slack.messages(channel_id)[0]["ts"], external_id)


def reply(slack: FakeSlack, thread: Thread, starts: str, *, timeout: float = 20) -> Call:
    """Wait for the one reply in the thread starting with `starts`."""
    [call] = slack.wait_for(
        "chat.postMessage",
        timeout=timeout,
        where=lambda c: (
            c.params.get("channel") == thread.channel_id
            and c.params.get("thread_ts") == thread.parent_ts
            and c.params["text"].startswith(starts)
        ),
    )
    return call


def texts(slack: FakeSlack, thread: Thread) -> list[str]:
    """Every reply in the thread, oldest first."""
    return [message["text"] for message in slack.thread(thread.channel_id, thread.parent_ts)]


def deployment_id(sandbox: SandboxVendor, external_id: str) -> str:
    """The ID Hiveon gave the deployment started under `external_id`."""
    [created] = [d for d in sandbox.deployments() if d.external_deployment_id == external_id]
    return created.deployment_id


def status_polls(sandbox: SandboxVendor, ident: str) -> int:
    """How many times Hiveon was asked for this deployment's status."""
    path = f"{DEPLOYMENTS}/{ident}"
    return sum(1 for r in list(sandbox.requests) if r.method == "GET" and r.path == path)


def sent_key(sandbox: SandboxVendor, external_id: str) -> str:
    """The x-api-key Hiveon's start for this external ID came with."""
    [start] = vendor_starts(sandbox, external_id)
    [request] = [r for r in sandbox.requests if r.json is start]
    return request.headers["x-api-key"]


# --- the tests ---------------------------------------------------------------------------------


def test_the_same_submission_reaching_both_replicas_at_once_starts_one_deployment(
    replicas: Replicas, slack: FakeSlack, sandbox: SandboxVendor, clock: ManualClock
) -> None:
    """Five forms, each delivered to both replicas at the same instant (a retried delivery
    behind a load balancer): each starts once, gets one message and one outcome in its thread,
    and its second delivery is told it was already submitted. Hiveon takes longer than a lease
    to answer, so the replica waiting for it must keep its lease. Then both replicas follow the
    deployments, and each status change is replied once."""
    forms = [(channel(), form(machine_id=f"slow-{LEASE_S + 2}")) for _ in range(5)]
    barrier = threading.Barrier(10)

    def deliver(job: tuple[BotProcess, str, dict[str, str]]) -> int:
        bot, channel_id, values = job
        barrier.wait()
        return submit(bot, slack, values, channel_id)

    jobs = [(bot, c, v) for c, v in forms for bot in replicas.both()]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        assert list(pool.map(deliver, jobs)) == [200] * len(jobs)

    threads = [thread_of(slack, c, v["external_deployment_id"]) for c, v in forms]
    for (channel_id, values), thread in zip(forms, threads, strict=True):
        external_id = values["external_deployment_id"]
        started = reply(slack, thread, "✅")
        ident = deployment_id(sandbox, external_id)
        assert started.params["text"] == f"✅ Deployment started: `{ident}`."
        assert len(vendor_starts(sandbox, external_id)) == 1
        assert len(parent_posts(slack, channel_id)) == 1
        [notice] = slack.wait_for(f"response_url:{channel_id}")
        assert notice.params["response_type"] == "ephemeral"
        assert "already submitted" in notice.params["text"]
        reply(slack, thread, "🕓 Pending")
    clock.advance()
    for thread in threads:
        reply(slack, thread, "🟢 Running")
        ident = deployment_id(sandbox, thread.external_id)
        assert texts(slack, thread) == [
            f"✅ Deployment started: `{ident}`.",
            f"🕓 Pending: `{ident}` is pending.",
            f"🟢 Running: `{ident}` is up.",
        ]


def test_a_replica_killed_while_following_is_taken_over_by_the_other(
    replicas: Replicas,
    slack: FakeSlack,
    sandbox: SandboxVendor,
    clock: ManualClock,
    faults: StatusFaults,
) -> None:
    """While one replica polls a deployment (Hiveon holds the answer), the other leaves it
    alone, for longer than a lease; SIGKILLed, the poller's lease runs out and the other
    replica reports the next change in the same thread, once."""
    channel_id, values = channel(), form()
    assert submit(replicas.a, slack, values, channel_id) == 200
    thread = thread_of(slack, channel_id, values["external_deployment_id"])
    reply(slack, thread, "🕓 Pending")
    ident = deployment_id(sandbox, thread.external_id)

    held = faults.slow_next(ident, seconds=4 * LEASE_S)
    assert held.wait(timeout=20), "no status poll arrived"
    [(owner,)] = query(
        replicas.database_url,
        "SELECT lease_owner FROM deployments WHERE deployment_id = :ident",
        ident=ident,
    )
    poller = replicas.by_name(str(owner))
    polls = status_polls(sandbox, ident)
    time.sleep(2 * LEASE_S)  # the poller renews its lease: the other must not poll meanwhile
    assert status_polls(sandbox, ident) == polls

    poller.kill()
    killed_at = time.time()
    clock.advance()
    running = reply(slack, thread, "🟢 Running")
    assert killed_at < running.at < killed_at + LEASE_S + 10
    assert texts(slack, thread) == [
        f"✅ Deployment started: `{ident}`.",
        f"🕓 Pending: `{ident}` is pending.",
        f"🟢 Running: `{ident}` is up.",
    ]
    [update] = slack.wait_for(
        "chat.update",
        where=lambda c: c.params["channel"] == channel_id and c.params["text"].startswith("🟢"),
    )
    assert update.params["ts"] == thread.parent_ts
    assert len(parent_posts(slack, channel_id)) == 1


def test_a_replica_killed_while_waiting_for_hiveon_is_recovered_by_the_other(
    replicas: Replicas, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """A replica SIGKILLed after sending the start, before Hiveon answered: once its lease runs
    out the other replica looks the deployment up by its external ID and reports it in the
    same thread, without starting it again."""
    channel_id, values = channel(), form(machine_id="accept-then-timeout")
    external_id = values["external_deployment_id"]
    assert submit(replicas.a, slack, values, channel_id) == 200

    def in_flight() -> bool:
        rows = query(
            replicas.database_url,
            "SELECT message_ts FROM deployments WHERE external_deployment_id = :e",
            e=external_id,
        )
        return sandbox.starts_for(external_id) == 1 and bool(rows) and rows[0][0] is not None

    wait_until(in_flight, what="the start sent to Hiveon and the parent recorded")
    replicas.a.kill()
    killed_at = time.time()

    thread = thread_of(slack, channel_id, external_id)
    recovered = reply(slack, thread, "✅")
    ident = deployment_id(sandbox, external_id)
    assert recovered.params["text"] == (
        f"✅ Deployment started: `{ident}`. Hiveon's first answer was unclear (deploybot "
        "restarted before Hiveon answered), so deploybot looked it up by its external ID and "
        "found it."
    )
    assert killed_at < recovered.at < killed_at + LEASE_S + 10
    reply(slack, thread, "🕓 Pending")
    assert texts(slack, thread) == [
        recovered.params["text"],
        f"🕓 Pending: `{ident}` is pending.",
    ]
    assert sandbox.starts_for(external_id) == 1
    assert len(parent_posts(slack, channel_id)) == 1


def test_a_key_and_settings_changed_through_one_replica_apply_on_the_other_at_once(
    replicas: Replicas, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Replica B deploys with the default key; an admin sets the workspace's key through
    replica A; B's very next deployment uses it. A limits deploying to one channel: B refuses
    another channel at once, and deploys again once A lifts the limit."""
    first = form()
    before = channel()
    submit(replicas.b, slack, first, before)
    reply(slack, thread_of(slack, before, first["external_deployment_id"]), "✅")
    assert sent_key(sandbox, first["external_deployment_id"]) == API_KEY

    trigger, url = f"key.{time.time()}", slack.response_url("key-admin")
    opened = replicas.a.post(
        slash_command(text="api-key", user_id=ADMIN, response_url=url, trigger_id=trigger)
    )
    assert (opened.status_code, opened.text) == (200, "")
    slack.wait_for("views.open", where=lambda c: c.params["trigger_id"] == trigger)
    saved = replicas.a.post(
        api_key_submission(
            NEW_KEY, team_id="T111", user_id=ADMIN, private_metadata=where("C1", url)
        )
    )
    assert saved.json()["response_action"] == "update"
    [told] = slack.wait_for("response_url:key-admin")
    assert "ending in `6789`" in told.params["text"]

    second, after = form(), channel()
    submit(replicas.b, slack, second, after)
    reply(slack, thread_of(slack, after, second["external_deployment_id"]), "✅")
    assert sent_key(sandbox, second["external_deployment_id"]) == NEW_KEY

    allowed, elsewhere = channel(), channel()
    settings_url = slack.response_url("settings-admin")
    replicas.a.post(
        settings_submission(
            channels=[allowed], user_id=ADMIN, private_metadata=where("C1", settings_url)
        )
    )
    slack.wait_for("response_url:settings-admin")
    refused = form()
    submit(replicas.b, slack, refused, elsewhere)
    [notice] = slack.wait_for(f"response_url:{elsewhere}")
    assert f"limited to <#{allowed}>" in notice.params["text"]
    assert vendor_starts(sandbox, refused["external_deployment_id"]) == []

    replicas.a.post(settings_submission(user_id=ADMIN, private_metadata=where("C1", settings_url)))
    slack.wait_for("response_url:settings-admin", count=2)
    third, anywhere = form(), channel()
    submit(replicas.b, slack, third, anywhere)
    reply(slack, thread_of(slack, anywhere, third["external_deployment_id"]), "✅")
    assert sent_key(sandbox, third["external_deployment_id"]) == NEW_KEY


def test_an_approval_clicked_on_both_replicas_at_once_starts_one_deployment(
    replicas: Replicas, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Five requests awaiting approval, each approved on both replicas at the same instant (a
    double click landing on two replicas, or two approvers): each starts once, its thread says
    once who approved and once that it started, and the later click is told it was decided."""
    replicas.a.post(
        settings_submission(
            user_id=ADMIN,
            private_metadata=where("C1", slack.response_url("approval-admin")),
            require_approval=True,
        )
    )
    slack.wait_for("response_url:approval-admin")
    forms = [(channel(), form()) for _ in range(5)]
    threads = []
    for channel_id, values in forms:
        assert submit(replicas.b, slack, values, channel_id) == 200
        threads.append(thread_of(slack, channel_id, values["external_deployment_id"]))
    barrier = threading.Barrier(10)

    def approve(job: tuple[BotProcess, Thread, int]) -> int:
        bot, thread, n = job
        barrier.wait()
        return bot.post(
            block_action(
                action_id="approve_deployment",
                value=thread.external_id,
                channel_id=thread.channel_id,
                message_ts=thread.parent_ts,
                user_id=ADMIN,
                response_url=slack.response_url(f"{thread.channel_id}.{n}"),
            )
        ).status_code

    jobs = [(bot, thread, n) for thread in threads for n, bot in enumerate(replicas.both())]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        assert list(pool.map(approve, jobs)) == [200] * len(jobs)
    for thread in threads:
        reply(slack, thread, "✅ Deployment started")
        [approved] = [t for t in texts(slack, thread) if t.startswith("👍")]
        assert approved == f"👍 Approved by <@{ADMIN}>: deploybot starts it now."
        assert len(vendor_starts(sandbox, thread.external_id)) == 1
        [(status, sealed)] = query(
            replicas.database_url,
            "SELECT status, sealed_request FROM deployments WHERE external_deployment_id = :e",
            e=thread.external_id,
        )
        assert (status, sealed) == ("started", None)

        def answered(thread: Thread = thread) -> list[Call]:
            return [
                call
                for n in (0, 1)
                for call in slack.calls_to(f"response_url:{thread.channel_id}.{n}")
            ]

        wait_until(answered, what="the later click's answer")
        [late] = answered()
        assert "already approved" in late.params["text"]
    replicas.a.post(
        settings_submission(
            user_id=ADMIN,
            private_metadata=where("C1", slack.response_url("approval-admin")),
            require_approval=False,
        )
    )
    slack.wait_for("response_url:approval-admin", count=2)


def test_an_automatic_stop_on_two_replicas_is_reminded_and_made_once(
    replicas: Replicas, slack: FakeSlack, sandbox: SandboxVendor, clock: ManualClock
) -> None:
    """Three deployments asked to stop after an hour, started on one replica: when their time
    comes both replicas look for due work, yet each gets one reminder, one stop sent to Hiveon
    and one reply saying it was stopped automatically."""
    started = []
    for _ in range(3):
        channel_id, values = channel(), form(stop_after="1h")
        assert submit(replicas.a, slack, values, channel_id) == 200
        thread = thread_of(slack, channel_id, values["external_deployment_id"])
        reply(slack, thread, "✅ Deployment started")
        started.append(thread)
    replicas.clock.advance(timedelta(minutes=45))
    for thread in started:
        reply(slack, thread, "⏰")
    replicas.clock.advance(timedelta(minutes=15))
    for thread in started:
        ident = deployment_id(sandbox, thread.external_id)
        reply(slack, thread, "⏹️")
        stops = [r for r in list(sandbox.requests) if r.path == f"{DEPLOYMENTS}/{ident}/stop"]
        assert len(stops) == 1
    # Both replicas keep looking meanwhile; by the time Hiveon says stopped, a second reminder
    # or stop would have come.
    clock.advance()
    for thread in started:
        reply(slack, thread, "⏹️ Stopped:")
    for thread in started:
        ident = deployment_id(sandbox, thread.external_id)
        assert len([t for t in texts(slack, thread) if t.startswith("⏰")]) == 1
        assert len([t for t in texts(slack, thread) if t.startswith("⏹️ <@U111>, deploybot")]) == 1
        stops = [r for r in list(sandbox.requests) if r.path == f"{DEPLOYMENTS}/{ident}/stop"]
        assert len(stops) == 1
