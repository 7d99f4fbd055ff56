"""End to end: what an operator reads from a running deploybot — Prometheus metrics at
`/metrics`, JSON log lines, and the setup page a platform shows before the Slack app exists —
on the real server process with the fake Slack and the fake Hiveon on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import API_KEY, BOT_TOKEN, BotProcess
from bot.testing.seed import form
from bot.testing.slack_requests import SIGNING_SECRET, view_submission
from tests.e2e_support import channel, hiveon_on_loopback, thread_replies, wait_until

pytestmark = pytest.mark.e2e

METRICS_TOKEN = "metrics-token-do-not-leak-123"
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="vendor", scope="module")
def _vendor() -> Iterator[tuple[SandboxVendor, str]]:
    with hiveon_on_loopback(api_keys={API_KEY}, pending_s=60) as vendor:
        yield vendor


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    settings = {
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": vendor[1],
        "LOG_FORMAT": "json",
        "DEPLOYBOT_METRICS_TOKEN": METRICS_TOKEN,
    }
    with BotProcess(tmp_path_factory.mktemp("bot"), settings) as bot:
        yield bot


def submit(bot: BotProcess, slack: FakeSlack, values: dict[str, str], channel_id: str) -> None:
    """Submit the deploy modal as opened by `/deploy` in `channel_id`."""
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    response = bot.post(view_submission(values=values, private_metadata=where.dump()))
    assert (response.status_code, response.text) == (200, "")


def samples(text: str) -> dict[tuple[str, frozenset[str]], float]:
    """Prometheus text as {(name, {label="value", …}): value}."""
    found: dict[tuple[str, frozenset[str]], float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match is not None, line
        labels = frozenset(filter(None, (match["labels"] or "").split(",")))
        found[match["name"], labels] = float(match["value"])
    return found


def metrics(bot: BotProcess) -> dict[tuple[str, frozenset[str]], float]:
    """What `/metrics` shows now, read with the bearer token."""
    response = bot.http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def test_metrics_count_outcomes_vendor_calls_slack_errors_follows_and_acks(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """After one deployment that starts, one Hiveon refuses and a Slack post that fails,
    `/metrics` counts each outcome, times each Hiveon attempt by endpoint and answer, counts
    the failed Web API call by method and error, shows the deployment being followed and the
    submissions' acks."""
    started_in, failed_in = channel(), channel()
    submit(bot, slack, form(), started_in)
    thread_replies(slack, started_in)
    slack.fail("chat.postMessage", "channel_not_found", where=lambda p: p.get("channel") == "CGONE")
    submit(bot, slack, form(machine_id="fail-400"), "CGONE")
    submit(bot, slack, form(machine_id="fail-401"), failed_in)
    thread_replies(slack, failed_in)

    def counted() -> bool:
        seen = metrics(bot)
        return seen.get(("deploybot_deployments_total", frozenset({'outcome="failed"'}))) == 2

    wait_until(counted, what="both failures to be counted")
    seen = metrics(bot)
    assert seen["deploybot_deployments_total", frozenset({'outcome="started"'})] == 1
    assert seen["deploybot_deployments_total", frozenset({'outcome="unknown"'})] == 0
    start_200 = frozenset({'endpoint="start"', 'status="200"'})
    assert seen["deploybot_vendor_request_seconds_count", start_200] == 1
    start_401 = frozenset({'endpoint="start"', 'status="401"'})
    assert seen["deploybot_vendor_request_seconds_count", start_401] == 1
    not_found = frozenset({'method="chat.postMessage"', 'error="channel_not_found"'})
    assert seen["deploybot_slack_api_errors_total", not_found] == 1
    assert seen["deploybot_follows_active", frozenset()] == 1
    assert seen["deploybot_ack_seconds_count", frozenset({'kind="view_submission"'})] == 3
    assert (
        seen["deploybot_ack_seconds_bucket", frozenset({'kind="view_submission"', 'le="1.0"'})] == 3
    )


def test_metrics_need_the_bearer_token_when_one_is_set(bot: BotProcess) -> None:
    """With DEPLOYBOT_METRICS_TOKEN, `/metrics` without it or with another answers 401 and
    shows nothing; the token is never logged."""
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        refused = bot.http.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert "deploybot_" not in refused.text
    assert METRICS_TOKEN not in bot.logs


def test_json_logs_are_one_object_per_line_with_the_requests_context(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """With LOG_FORMAT=json every line deploybot, Bolt and uvicorn write is one JSON object with
    time, level, logger and message; lines about a submission carry its workspace, user and
    external ID; no secret appears."""
    channel_id, values = channel(), form()
    submit(bot, slack, values, channel_id)
    thread_replies(slack, channel_id)
    records = [json.loads(line) for line in bot.logs.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert {"uvicorn.error", "bot.server"} <= {record["logger"] for record in records}
    about = [
        r for r in records if r.get("external_deployment_id") == values["external_deployment_id"]
    ]
    assert about, "no line carries the submission's external ID"
    assert {(r["team_id"], r["user_id"]) for r in about} == {("T111", "U111")}
    assert any(
        r["message"].startswith(f"deployment {values['external_deployment_id']}: ") for r in about
    )
    for secret in (BOT_TOKEN, SIGNING_SECRET, API_KEY, METRICS_TOKEN):
        assert secret not in bot.logs


def test_without_a_slack_app_a_public_deploybot_serves_the_setup_page(tmp_path: Path) -> None:
    """Started with no Slack credentials on a public address (DEPLOYBOT_HOST=0.0.0.0, as the
    image and the Procfile set it), deploybot serves a page naming what is missing and the
    manifest filled in for the URL it is reached at, with a link that creates the Slack app;
    the probes answer 200, nothing is written anywhere, and only reads are served."""
    settings = {
        "SLACK_BOT_TOKEN": "",
        "SLACK_SIGNING_SECRET": "",
        "HIVEON_API_KEY": "",
        "DEPLOYBOT_HOST": "0.0.0.0",  # noqa: S104 — a platform's public address
    }
    with BotProcess(tmp_path, settings) as bot:
        forwarded = {"x-forwarded-proto": "https", "x-forwarded-host": "deploybot.acme.dev"}
        page = bot.http.get("/", headers=forwarded)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == "default-src 'self'"
        assert "https://deploybot.acme.dev/slack/events" in page.text
        for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "HIVEON_API_KEY"):
            assert f"<code>{name}</code>" in page.text
        [link] = re.findall(
            r'href="(https://api\.slack\.com/apps\?new_app=1&amp;manifest_json=[^"]+)"', page.text
        )
        linked = json.loads(unquote(link.split("manifest_json=", 1)[1]))
        assert linked["settings"]["interactivity"]["request_url"] == (
            "https://deploybot.acme.dev/slack/events"
        )
        manifest = bot.http.get("/manifest.json", headers=forwarded).json()
        assert manifest == linked
        assert bot.http.get("/healthz").status_code == 200
        assert bot.http.get("/readyz").status_code == 200
        assert bot.http.post("/", content=b"x").status_code == 405
        assert bot.http.post("/slack/events", content=b"{}").status_code == 404
        assert "serving the setup page" in bot.logs
    assert not list(tmp_path.glob("*.sqlite3*"))
