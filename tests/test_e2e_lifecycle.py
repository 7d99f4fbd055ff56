"""End to end: the probes a platform asks (`/healthz`, `/readyz`) and a bounded SIGTERM, on the
real server process with the fake Slack and the fake Hiveon on loopback."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing import postgres
from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import API_KEY, ROOT, BotProcess, clean_environment
from bot.testing.seed import form
from bot.testing.slack_requests import view_submission
from tests.databases import Databases, query
from tests.e2e_support import channel, hiveon_on_loopback, thread_replies, vendor_starts, wait_until

pytestmark = pytest.mark.e2e

# A platform kills what is still running 30 s after SIGTERM (Heroku, Kubernetes' default).
EXIT_WITHIN_S = 25.0


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="vendor", scope="module")
def _vendor() -> Iterator[tuple[SandboxVendor, str]]:
    with hiveon_on_loopback(api_keys={API_KEY}, pending_s=60) as vendor:
        yield vendor


def settings(slack: FakeSlack, origin: str, **more: str) -> dict[str, str]:
    """The bot's environment: the fake Slack and the fake Hiveon."""
    return {"SLACK_API_URL": slack.url, "HIVEON_API_URL": origin, **more}


def submit(bot: BotProcess, slack: FakeSlack, values: dict[str, str], channel_id: str) -> None:
    """Submit the deploy modal as opened by `/deploy` in `channel_id`."""
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    response = bot.post(view_submission(values=values, private_metadata=where.dump()))
    assert (response.status_code, response.text) == (200, "")


def test_readyz_is_200_while_the_database_answers_and_503_when_it_stops(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], postgres_server: str, tmp_path: Path
) -> None:
    """`/readyz` says the database answers; when PostgreSQL refuses the bot's connections it
    answers 503 naming the database, while `/healthz` (liveness) stays 200; once the database
    is back, ready again."""
    database_url = postgres.create_database(postgres_server)
    try:
        with BotProcess(tmp_path, settings(slack, vendor[1]), database_url=database_url) as bot:
            ready = bot.http.get("/readyz")
            assert (ready.status_code, ready.json()) == (200, {"ok": True, "database": "ok"})
            postgres.allow_connections(postgres_server, database_url, allowed=False)
            down = bot.http.get("/readyz")
            assert (down.status_code, down.json()) == (503, {"ok": False, "database": "down"})
            assert bot.http.get("/healthz").status_code == 200
            postgres.allow_connections(postgres_server, database_url, allowed=True)
            assert bot.http.get("/readyz").status_code == 200
    finally:
        postgres.allow_connections(postgres_server, database_url, allowed=True)
        postgres.drop_database(postgres_server, database_url)


def test_readyz_on_sqlite(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], tmp_path: Path
) -> None:
    """On the default SQLite file `/readyz` answers 200 with the database's state."""
    with BotProcess(tmp_path, settings(slack, vendor[1])) as bot:
        ready = bot.http.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"ok": True, "database": "ok"})


def test_sigterm_with_a_start_hanging_exits_in_time_and_a_restart_reports_it(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], databases: Databases, tmp_path: Path
) -> None:
    """With Hiveon holding a start open (and a long `HIVEON_TIMEOUT_S`), SIGTERM still ends the
    process within 25 s: the start is cancelled and its lease released, and the next start of
    deploybot looks it up by external ID and reports it in the same thread, as after a crash."""
    sandbox = vendor[0]
    database_url = databases.new()
    patient = settings(slack, vendor[1], HIVEON_TIMEOUT_S="120")
    channel_id, values = channel(), form(machine_id="fail-timeout")
    external_id = values["external_deployment_id"]
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    with BotProcess(first_dir, patient, database_url=database_url) as bot:
        submit(bot, slack, values, channel_id)
        wait_until(lambda: vendor_starts(sandbox, external_id), what="the start to reach Hiveon")
        [parent] = slack.messages(channel_id)
        # After its graceful shutdown uvicorn re-raises the signal: ended by SIGTERM, as asked.
        assert bot.terminate(within_s=EXIT_WITHIN_S) == -signal.SIGTERM
        assert "cancelled 1 unfinished background tasks at shutdown" in bot.logs
    [(status, lease_owner, message_ts)] = query(
        database_url,
        "SELECT status, lease_owner, message_ts FROM deployments WHERE external_deployment_id = :e",
        e=external_id,
    )
    assert (status, lease_owner, message_ts) == ("submitting", None, parent["ts"])
    with BotProcess(second_dir, settings(slack, vendor[1]), database_url=database_url):
        [reply] = thread_replies(slack, channel_id)
    assert reply.params["thread_ts"] == parent["ts"]
    assert reply.params["text"].startswith(
        "❌ <@U111> Hiveon failed (deploybot restarted before Hiveon answered) and a look-up by "
        "external ID found nothing, so nothing was started."
    )
    assert len(vendor_starts(sandbox, external_id)) == 1


def test_two_workers_on_one_port_share_the_work_and_stop_together(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], postgres_server: str, tmp_path: Path
) -> None:
    """DEPLOYBOT_WORKERS=2 on PostgreSQL runs two server processes on one port, each a replica
    of its own; ten submissions are each started and replied once; SIGTERM stops both in time."""
    database_url = postgres.create_database(postgres_server)
    sandbox = vendor[0]
    try:
        workers = settings(slack, vendor[1], DEPLOYBOT_WORKERS="2")
        with BotProcess(tmp_path, workers, database_url=database_url) as bot:
            wait_until(lambda: len(replicas(bot.logs)) == 2, what="both workers to start")
            submissions = [(channel(), form()) for _ in range(10)]
            for channel_id, values in submissions:
                submit(bot, slack, values, channel_id)
            for channel_id, values in submissions:
                [reply] = thread_replies(slack, channel_id)
                assert reply.params["text"].startswith("✅ Deployment started")
                assert len(vendor_starts(sandbox, values["external_deployment_id"])) == 1
            assert bot.terminate(within_s=EXIT_WITHIN_S) == 0
        assert "starting 2 worker processes" in bot.logs
    finally:
        postgres.drop_database(postgres_server, database_url)


def replicas(logs: str) -> set[str]:
    """The replica names the processes logged at start."""
    return set(re.findall(r"replica (\S+) \(leases of", logs))


def test_several_workers_need_postgresql(tmp_path: Path) -> None:
    """DEPLOYBOT_WORKERS=2 on the default SQLite file stops at start-up, saying why."""
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**clean_environment(), "PYTHONPATH": str(ROOT), "DEPLOYBOT_WORKERS": "2"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DEPLOYBOT_WORKERS above 1 needs DATABASE_URL on PostgreSQL" in done.stderr
