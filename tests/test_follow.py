"""Following deployments in-process: a real store, the sandbox on a fake clock, fake Slack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.deployment import StartDeploymentRequest
from bot.follow import Follower, FollowTiming
from bot.messenger import Messenger
from bot.models import Deployment
from bot.sandbox import SandboxVendor
from bot.service import DeploymentService, Submission
from bot.store import NewSubmission, Store
from bot.testing.fake_slack import Call, FakeSlack
from bot.vendor import HiveonClient
from tests.e2e_support import until

pytestmark = pytest.mark.e2e  # the fake Slack on loopback

API_KEY = "hk_follow_0123456789"
TEAM = "T111"
USER = "U111"
START_TIME = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """One fake time for the sandbox (monotonic seconds) and the follower (aware datetimes)."""

    seconds: float = 0.0

    def monotonic(self) -> float:
        """The sandbox's clock."""
        return self.seconds

    def now(self) -> datetime:
        """The follower's clock."""
        return START_TIME + timedelta(seconds=self.seconds)

    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.seconds += seconds


@dataclass
class Harness:
    """The service and follower over a SQLite file, the sandbox and the fake Slack."""

    store: Store
    sandbox: SandboxVendor
    vendor: HiveonClient
    slack: FakeSlack
    web: AsyncWebClient
    clock: Clock
    follower: Follower
    service: DeploymentService
    channels: list[str] = field(default_factory=list)

    async def deploy(self, machine_id: str = "m-1", *, channel: str = "C1") -> Deployment:
        """Start a deployment through the service and return its row."""
        external_id = f"ext-{channel}-{machine_id}"
        request = StartDeploymentRequest.model_validate(
            {
                "machine_id": machine_id,
                "machine_price_id": "p-1",
                "external_deployment_id": external_id,
                "container_config": {"image": "nginx:latest"},
            }
        )
        submission = Submission(TEAM, None, USER, channel, request)
        await self.service.submit(submission, Messenger(self.web, user_id=USER, response_url=None))
        return await self.row(external_id)

    async def row(self, external_id: str) -> Deployment:
        """The stored row, fresh."""
        row = await self.store.find(team_id=TEAM, external_deployment_id=external_id)
        assert row is not None
        return row

    async def poll_after(self, seconds: float) -> None:
        """Let time pass, then run one round of the poll loop."""
        self.clock.advance(seconds)
        await self.follower.poll_due()

    def replies(self, channel: str) -> list[str]:
        """The texts of the thread replies in a channel, oldest first."""
        # The channel shows the parent, and the failures broadcast from its thread.
        parent, *_broadcast = self.slack.messages(channel)
        return [message["text"] for message in self.slack.thread(channel, parent["ts"])]

    def updates(self, channel: str) -> list[Call]:
        """The chat.update calls for a channel's parent message."""
        return [c for c in self.slack.calls_to("chat.update") if c.params["channel"] == channel]


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="bot")
async def _bot(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[Harness]:
    slack.reset()
    clock = Clock()
    sandbox = SandboxVendor(api_keys={API_KEY}, pending_s=10, clock=clock.monotonic)
    vendor = HiveonClient(
        base_url="https://hiveon.test", timeout_s=5, transport=httpx.MockTransport(sandbox.handle)
    )
    store = Store.from_url(f"sqlite:///{tmp_path / 'follow.sqlite3'}")
    await store.migrate()
    web = AsyncWebClient(token="xoxb-test", base_url=slack.url)

    async def api_key_for(_enterprise_id: str | None, _team_id: str) -> str | None:
        return API_KEY

    async def client_for(_enterprise_id: str | None, _team_id: str) -> AsyncWebClient:
        return web

    follower = Follower(
        store=store,
        vendor=vendor,
        api_key_for=api_key_for,
        client_for=client_for,
        timing=FollowTiming(follow_for=timedelta(minutes=30)),
        clock=clock.now,
    )
    service = DeploymentService(
        store=store,
        vendor=vendor,
        api_key_for=api_key_for,
        client_for=client_for,
        follower=follower,
        reconcile_delays=(0,),
    )
    harness = Harness(store, sandbox, vendor, slack, web, clock, follower, service)
    yield harness
    await vendor.aclose()
    await store.close()


def action_ids(call: Call) -> list[str]:
    """The buttons on an updated parent message."""
    actions = [b for b in call.params["blocks"] if b["type"] == "actions"]
    return [element["action_id"] for block in actions for element in block["elements"]]


async def test_pending_then_running_is_reported_once_each(bot: Harness) -> None:
    """Each change of state is replied once and shown on the parent; no change, no reply."""
    row = await bot.deploy(channel="C-RUN")
    assert row.next_poll_at == bot.clock.now() + timedelta(seconds=2)
    await bot.poll_after(2)
    await bot.poll_after(5)  # still pending: nothing new
    await bot.poll_after(10)  # the sandbox has it running now
    await bot.poll_after(30)  # still running: nothing new
    replies = bot.replies("C-RUN")
    assert replies[0].startswith("✅ Deployment started")
    assert replies[1:] == [
        f"🕓 Pending: `{row.deployment_id}` is pending.",
        f"🟢 Running: `{row.deployment_id}` is up.",
    ]
    last = bot.updates("C-RUN")[-1]
    assert last.params["text"].startswith("🟢 <@U111>'s `nginx:latest` is running")
    detail = json.dumps(last.params["blocks"])
    since = int((START_TIME + timedelta(seconds=17)).timestamp())
    assert f"Running <!date^{since}^since {{time}}|since 12:00 UTC>" in detail
    assert action_ids(last) == list(ids.ALL_DEPLOYMENT_BUTTONS)
    stop = next(
        e
        for b in last.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.STOP_DEPLOYMENT
    )
    assert stop["confirm"]["title"]["text"] == "Stop this deployment?"
    assert (await bot.row(row.external_deployment_id)).vendor_status == "STATUS_RUNNING"


async def test_a_failure_shows_its_reason_and_ends_following(bot: Harness) -> None:
    """STATUS_FAILED is replied with fail_reason's code and message; polling stops there."""
    row = await bot.deploy("fail-later", channel="C-FAIL")
    await bot.poll_after(2)
    await bot.poll_after(12)
    assert bot.replies("C-FAIL")[-1] == (
        f"❌ <@{USER}> Failed: `{row.deployment_id}` did not run. code 3: image pull failed: "
        "manifest unknown"
    )
    settled = await bot.row(row.external_deployment_id)
    assert settled.vendor_status == "STATUS_FAILED"
    assert settled.fail_reason == "code 3: image pull failed: manifest unknown"
    assert settled.next_poll_at is None
    assert action_ids(bot.updates("C-FAIL")[-1]) == list(ids.SETTLED_DEPLOYMENT_BUTTONS)
    requests_before = len(bot.sandbox.requests)
    await bot.poll_after(60)
    assert len(bot.sandbox.requests) == requests_before


async def test_a_status_of_slack_markup_is_never_stored_or_shown(bot: Harness) -> None:
    """A status answer whose status is Slack markup is unreadable: the known state is kept,
    nothing is replied, and the deployment is looked at again later."""
    row = await bot.deploy("hostile-status", channel="C-MARKUP")
    await bot.poll_after(2)
    await bot.poll_after(12)
    assert bot.replies("C-MARKUP") == [f"✅ Deployment started: `{row.deployment_id}`."]
    polled = await bot.row(row.external_deployment_id)
    assert polled.vendor_status is None
    assert polled.next_poll_at is not None
    assert len([r for r in bot.sandbox.requests if r.method == "GET"]) == 2
    assert "<!channel>" not in json.dumps([call.params for call in bot.slack.calls])


async def test_a_fail_reason_of_slack_markup_is_shown_escaped_and_cut(bot: Harness) -> None:
    """A 5,000-character fail_reason of Slack markup is stored as one line of 300 characters
    and reaches the thread and the parent only escaped."""
    row = await bot.deploy("hostile-fail-reason", channel="C-EVIL")
    await bot.poll_after(2)
    await bot.poll_after(12)
    failed = bot.replies("C-EVIL")[-1]
    assert failed.startswith(
        f"❌ <@{USER}> Failed: `{row.deployment_id}` did not run. code 13: "
        "&lt;https://evil.example|click here&gt; &amp; more &lt;!channel&gt; spam spam"
    )
    assert failed.endswith("…")
    settled = await bot.row(row.external_deployment_id)
    assert settled.fail_reason is not None
    assert settled.fail_reason.startswith("code 13: <https://evil.example|click here> & more")
    assert len(settled.fail_reason) == len("code 13: ") + 300
    shown = json.dumps([call.params for call in bot.slack.calls])
    assert "<!channel>" not in shown
    assert "<https://evil" not in shown
    assert "&lt;https://evil.example|click here&gt;" in json.dumps(bot.updates("C-EVIL")[-1].params)


async def test_stop_follows_stopping_to_stopped(bot: Harness) -> None:
    """Stop asks Hiveon, says who asked, then the thread follows STOPPING and STOPPED."""
    row = await bot.deploy(channel="C-STOP")
    await bot.poll_after(12)  # running
    await bot.follower.stop(await bot.row(row.external_deployment_id), by="U222")
    [stop] = [r for r in bot.sandbox.requests if r.path.endswith("/stop")]
    assert stop.path == f"/vendors/v1/machines/deployments/{row.deployment_id}/stop"
    assert stop.headers["x-api-key"] == API_KEY
    await bot.poll_after(2)
    await bot.poll_after(11)
    assert bot.replies("C-STOP")[-3:] == [
        f"⏹️ <@U222> asked Hiveon to stop `{row.deployment_id}`.",
        f"🟠 Stopping: `{row.deployment_id}` is stopping.",
        f"⏹️ Stopped: `{row.deployment_id}` is stopped.",
    ]
    assert (await bot.row(row.external_deployment_id)).next_poll_at is None


async def test_polling_backs_off_to_thirty_seconds(bot: Harness) -> None:
    """Without a change the interval grows ×1.5 from 2 s and stops growing at 30 s."""
    row = await bot.deploy(channel="C-BACKOFF")
    intervals = []
    for _ in range(12):
        current = await bot.row(row.external_deployment_id)
        assert current.next_poll_at is not None
        bot.clock.seconds = (current.next_poll_at - START_TIME).total_seconds()
        await bot.follower.poll_due()
        intervals.append((await bot.row(row.external_deployment_id)).poll_interval_s)
    # 2 s after each change (pending, then running), then growing and capped.
    assert intervals[:2] == [2.0, 3.0]
    assert max(i for i in intervals if i is not None) == 30.0
    assert intervals[-1] == 30.0


async def test_transient_vendor_errors_do_not_stop_following(bot: Harness) -> None:
    """A status look-up that fails is tried again later; nothing is replied meanwhile."""
    row = await bot.deploy(channel="C-FLAKY")
    real = bot.sandbox.handle
    failures = 3

    async def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal failures
        if request.method == "GET" and failures:
            failures -= 1
            return httpx.Response(503, text="<html>busy</html>")
        return await real(request)

    flaky_vendor = HiveonClient(
        base_url="https://hiveon.test", timeout_s=5, transport=httpx.MockTransport(flaky)
    )
    bot.follower._vendor = flaky_vendor
    try:
        for _ in range(3):
            await bot.poll_after(40)
        assert bot.replies("C-FLAKY") == [bot.replies("C-FLAKY")[0]]
        assert (await bot.row(row.external_deployment_id)).next_poll_at is not None
        await bot.poll_after(40)
    finally:
        await flaky_vendor.aclose()
    assert bot.replies("C-FLAKY")[-1] == f"🟢 Running: `{row.deployment_id}` is up."


async def test_following_gives_up_after_its_time(bot: Harness) -> None:
    """A deployment still pending after the follow time gets a last note, then no more polls."""
    bot.sandbox._pending_s = 7200.0
    row = await bot.deploy(channel="C-SLOW")
    await bot.poll_after(2)
    await bot.poll_after(31 * 60)
    assert bot.replies("C-SLOW")[-1] == (
        "🕓 Still pending after 30 minutes; deploybot stopped following it."
    )
    assert (await bot.row(row.external_deployment_id)).next_poll_at is None


async def test_one_loop_follows_many_deployments(bot: Harness) -> None:
    """Thirty deployments are followed by one poll round, each reported in its own thread."""
    rows = [await bot.deploy(f"m-{n}", channel=f"C-MANY-{n}") for n in range(30)]
    await bot.poll_after(12)
    for n, row in enumerate(rows):
        assert bot.replies(f"C-MANY-{n}")[-1] == f"🟢 Running: `{row.deployment_id}` is up."


async def test_refresh_reports_an_unchanged_state_with_who_asked(bot: Harness) -> None:
    """Refresh fetches now; with nothing new it still answers in the thread, naming who asked."""
    row = await bot.deploy(channel="C-REFRESH")
    await bot.poll_after(12)
    await bot.follower.refresh(await bot.row(row.external_deployment_id), by="U333")
    assert bot.replies("C-REFRESH")[-1] == (
        f"🟢 Running: `{row.deployment_id}` is up. (checked by <@U333>)"
    )


async def test_refresh_waits_while_another_replica_polls_the_deployment(
    bot: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another replica holds the deployment (its poll under way), Refresh asks Hiveon
    nothing; once that poll has recorded what it saw, Refresh polls and answers once."""
    row = await bot.deploy(channel="C-WAIT")
    await bot.poll_after(12)
    other = Store.from_url(f"sqlite:///{tmp_path / 'follow.sqlite3'}")
    held = await other.claim(row.id)
    assert held is not None
    path = f"/vendors/v1/machines/deployments/{row.deployment_id}"
    polls = sum(1 for r in bot.sandbox.requests if r.path == path)
    replies = len(bot.replies("C-WAIT"))

    claims: list[int] = []
    claim = bot.store.claim

    async def counted_claim(row_id: int) -> Deployment | None:
        claims.append(row_id)
        return await claim(row_id)

    monkeypatch.setattr(bot.store, "claim", counted_claim)
    refreshing = asyncio.create_task(bot.follower.refresh(held, by="U333"))
    # Refused the lease and asking again: the moment it would have polled, had it not waited.
    await until(lambda: len(claims) >= 2, what="Refresh to ask for the lease a second time")
    assert not refreshing.done()
    assert sum(1 for r in bot.sandbox.requests if r.path == path) == polls
    await other.record_status(
        held.id,
        vendor_status=held.vendor_status,
        since=held.vendor_status_at,
        fail_reason=None,
        next_poll_at=held.next_poll_at,
        poll_interval_s=held.poll_interval_s,
    )
    await other.close()
    await asyncio.wait_for(refreshing, timeout=5)
    assert sum(1 for r in bot.sandbox.requests if r.path == path) == polls + 1
    assert bot.replies("C-WAIT")[replies:] == [
        f"🟢 Running: `{row.deployment_id}` is up. (checked by <@U333>)"
    ]


async def _interrupted(
    bot: Harness, external_id: str, channel: str, *, crashed: bool = True
) -> int:
    """A submission left `submitting`, with its parent message already posted: by a crash (its
    lease dropped, as a restart on SQLite drops it), or still in flight (`crashed=False`)."""
    row_id = await bot.store.record_submission(
        NewSubmission(
            TEAM,
            None,
            USER,
            channel,
            external_id,
            {"machine_id": "m-1", "machine_price_id": "p-1", "container_config": {"image": "x"}},
        )
    )
    assert row_id is not None
    posted = await bot.web.chat_postMessage(channel=channel, text="⏳ deploying")
    await bot.store.record_message(row_id, channel=channel, ts=posted["ts"])
    if crashed:
        await bot.store.clear_leases()
    return row_id


async def test_recovery_reports_a_start_the_crash_interrupted(bot: Harness) -> None:
    """A submission Hiveon did start is found by external ID, reported, and followed."""
    await bot.vendor.start_deployment(
        StartDeploymentRequest.model_validate(
            {
                "machine_id": "m-1",
                "machine_price_id": "p-1",
                "external_deployment_id": "ext-crashed",
                "container_config": {"image": "x"},
            }
        ),
        api_key=API_KEY,
    )
    await _interrupted(bot, "ext-crashed", "C-CRASH")
    await bot.service.recover()
    [reply] = bot.replies("C-CRASH")
    assert reply.startswith("✅ Deployment started")
    assert "deploybot restarted before Hiveon answered" in reply
    row = await bot.row("ext-crashed")
    assert row.status == "started"
    assert row.next_poll_at is not None


async def test_recovery_leaves_a_start_still_waiting_for_hiveon_alone(bot: Harness) -> None:
    """A submission whose process is alive and holds its lease (Hiveon has not answered yet) is
    not recovered: nothing is looked up, replied or recorded for it."""
    row_id = await _interrupted(bot, "ext-in-flight", "C-FLIGHT", crashed=False)
    await bot.service.recover()
    assert bot.replies("C-FLIGHT") == []
    assert [r for r in bot.sandbox.requests if "ext-in-flight" in r.path] == []
    row = await bot.row("ext-in-flight")
    assert (row.id, row.status, row.lease_owner) == (row_id, "submitting", bot.store.owner)


async def test_recovery_reports_a_start_that_never_happened(bot: Harness) -> None:
    """A submission Hiveon never saw is reported as not started, and not followed."""
    await _interrupted(bot, "ext-lost", "C-LOST")
    await bot.service.recover()
    [reply] = bot.replies("C-LOST")
    assert reply.startswith(
        f"❌ <@{USER}> Hiveon failed (deploybot restarted before Hiveon answered)"
    )
    row = await bot.row("ext-lost")
    assert row.status == "failed"
    assert row.next_poll_at is None


async def test_recovery_does_not_take_another_submissions_deployment(bot: Harness) -> None:
    """A crashed submission whose external ID is another deployment's ID is not given that
    deployment on recovery: the look-up found someone else's, so the outcome is unknown."""
    theirs = await bot.deploy(channel="C-THEIRS")
    assert theirs.deployment_id is not None
    await _interrupted(bot, theirs.deployment_id, "C-MINE")
    await bot.service.recover()
    [reply] = bot.replies("C-MINE")
    assert reply.startswith(f"⚠️ <@{USER}> The outcome is unknown")
    mine = await bot.row(theirs.deployment_id)
    assert (mine.status, mine.deployment_id, mine.next_poll_at) == ("unknown", None, None)
