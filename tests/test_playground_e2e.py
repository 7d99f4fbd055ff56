"""Local mode over HTTP: the real process serves the page, its API and the Slack stand-in."""

import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.playground.workspace import DEPLOYS
from bot.testing.processes import PlaygroundProcess
from bot.testing.slack_requests import SIGNING_SECRET, slash_command
from tests.e2e_support import wait_until

pytestmark = pytest.mark.e2e  # the playground's process

PAGE = Path(__file__).resolve().parent.parent / "bot" / "playground" / "page"


@pytest.fixture(name="playground", scope="module")
def _playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaygroundProcess]:
    with PlaygroundProcess(tmp_path_factory.mktemp("playground")) as playground:
        yield playground


def first_event(playground: PlaygroundProcess) -> dict[str, Any]:
    """The snapshot the page gets when it connects."""
    with playground.http.stream("GET", "/playground/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        for line in events.iter_lines():
            if line.startswith("data: "):
                event: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return event
    raise AssertionError("the event stream ended without an event")


def test_the_page_loads_everything_from_this_process(playground: PlaygroundProcess) -> None:
    """The page and every file it imports are served here, with types a browser accepts."""
    page = playground.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    imported = set(
        re.findall(r'from "\./([\w.]+)"', "".join(p.read_text() for p in PAGE.glob("*.js")))
    )
    assert imported == {"dom.js", "blocks.js", "mrkdwn.js"}
    expected = {"app.js": "javascript", "style.css": "text/css", "icon.svg": "image/svg+xml"}
    expected |= dict.fromkeys(imported, "javascript")
    for name, kind in expected.items():
        answer = playground.http.get(f"/playground/static/{name}")
        assert answer.status_code == 200, name
        assert kind in answer.headers["content-type"], name


def test_nothing_comes_from_elsewhere() -> None:
    """No CDN, no web font, no remote script: the page works offline, with no build step."""
    for path in PAGE.iterdir():
        text = path.read_text()
        addresses = set(re.findall(r"https?://[^\s\"'`)]+", text))
        assert addresses <= {"http://www.w3.org/2000/svg"}, (path.name, addresses)
        assert "@import" not in text
        assert ".innerHTML" not in text
        assert "insertAdjacentHTML" not in text


def test_only_this_machine_may_use_the_page(playground: PlaygroundProcess) -> None:
    """Another Host name (DNS rebinding) and cross-site forms are refused."""
    rebound = playground.http.get("/", headers={"Host": "attacker.example"})
    form = playground.http.post(
        "/playground/messages", data={"channel": DEPLOYS, "text": "/deploy"}
    )
    assert rebound.status_code == 400
    assert form.status_code == 415


# default-src 'self' forbids inline scripts and styles: the page has neither (the browser test
# fails on any violation the console reports).
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_every_answer_carries_the_security_headers(playground: PlaygroundProcess) -> None:
    """The page, its files, its event stream, its API (refusals too), the Slack stand-in and the
    bot's own routes all forbid other origins' content, framing and referrers."""
    http = playground.http
    answers = {
        "page": http.get("/"),
        "script": http.get("/playground/static/app.js"),
        "missing file": http.get("/playground/static/missing.js"),
        "page action": http.post("/playground/home", json={}),
        "refused page action": http.post("/playground/messages", data={"text": "/deploy"}),
        "other Host": http.get("/", headers={"Host": "attacker.example"}),
        "Slack stand-in": http.post("/slack-api/auth.test"),
        "bot's health": http.get("/healthz"),
        "bot's events": http.post("/slack/events", content=b"command=%2Fdeploy"),
    }
    with http.stream("GET", "/playground/events") as events:
        answers["event stream"] = events
    assert answers["refused page action"].status_code == 415
    assert answers["other Host"].status_code == 400
    for name, answer in answers.items():
        sent = {header: answer.headers.get(header) for header in SECURITY_HEADERS}
        assert sent == SECURITY_HEADERS, name


def test_the_bot_behind_the_page_checks_signatures_too(playground: PlaygroundProcess) -> None:
    """The playground's bot has a signing secret made up for the run: its events route refuses
    requests signed with any other, as in production."""
    forged = slash_command(signing_secret=SIGNING_SECRET)
    assert playground.post(forged).status_code == 401


def test_the_slack_stand_in_wants_the_bots_token(playground: PlaygroundProcess) -> None:
    """The Web API stand-in answers like Slack: no token, no access."""
    answer = playground.http.post("/slack-api/auth.test")
    assert answer.json() == {"ok": False, "error": "not_authed"}


def test_a_command_opens_the_bots_modal(playground: PlaygroundProcess) -> None:
    """`/deploy` sent from the page reaches the bot, which opens its modal on the stand-in."""
    answer = playground.http.post(
        "/playground/messages", json={"channel": DEPLOYS, "text": "/deploy redis:7"}
    )
    assert answer.json() == {"ok": True}
    wait_until(lambda: first_event(playground)["views"], what="the bot's modal", timeout=5)
    snapshot = first_event(playground)
    [view] = snapshot["views"]
    assert view["callback_id"] == "deploy_modal"
    image = next(block for block in view["blocks"] if block.get("block_id") == "image")
    assert image["element"]["initial_value"] == "redis:7"
    assert snapshot["command"]["name"] == "/deploy"
    assert "Open http://localhost:" in playground.logs


def test_help_is_shown_only_to_you(playground: PlaygroundProcess) -> None:
    """`/deploy help` comes back as the bot's ephemeral answer in the channel."""
    playground.http.post("/playground/messages", json={"channel": DEPLOYS, "text": "/deploy help"})
    ephemerals = first_event(playground)["ephemerals"][DEPLOYS]
    [shown] = [m for m in ephemerals if m["text"].startswith("How to use")]
    assert shown["subtype"] == "ephemeral"
    assert "/deploy help" in json.dumps(shown["blocks"])


def test_shutdown_is_prompt_with_a_page_open(tmp_path: Path) -> None:
    """SIGTERM stops local mode at once, even while a page holds its event stream open."""
    playground = PlaygroundProcess(tmp_path)
    with (
        playground,
        httpx.Client(base_url=f"http://127.0.0.1:{playground.port}") as page,
        page.stream("GET", "/playground/events") as events,
    ):
        next(events.iter_lines())
        process = playground._process
        assert process is not None
        process.send_signal(signal.SIGTERM)
        # uvicorn would wait 30 s for open requests; the page's stream ends at once instead.
        # Once shut down, uvicorn re-raises the signal it caught: -SIGTERM is a clean exit.
        assert process.wait(timeout=5) == -signal.SIGTERM
    assert "Finished server process" in playground.logs
