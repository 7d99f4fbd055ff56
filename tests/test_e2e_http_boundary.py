"""End to end: `POST /slack/events` of the real server process as the trust boundary.

Bodies over 1 MiB get 413 before they are read whole, the signature is checked on the raw bytes
before anything is parsed (401), a signed body that is not shaped like Slack's gets 400, and
nothing a request carries reaches the logs at any level: the process runs at LOG_LEVEL=DEBUG.
"""

import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.boundary import MAX_BODY_BYTES, MAX_SKEW_S
from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import ROOT, BotProcess
from bot.testing.seed import DB_PASSWORD, REGISTRY_PASSWORD, form
from bot.testing.slack_requests import (
    FORM,
    SIGNING_SECRET,
    VERIFICATION_TOKEN,
    SlackRequest,
    block_action,
    sign,
    slash_command,
    view_submission,
)

pytestmark = pytest.mark.e2e  # the bot's server process on loopback

MIB = 1024 * 1024
JSON_TYPE = "application/json"
TIMESTAMP = "x-slack-request-timestamp"
SIGNATURE = "x-slack-signature"


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="bot", scope="module")
def _bot(slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    env = {
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": "sandbox",
        "DEPLOYBOT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "LOG_LEVEL": "DEBUG",
    }
    with BotProcess(tmp_path_factory.mktemp("bot"), env) as bot:
        yield bot


# --- helpers -----------------------------------------------------------------------------------


@contextmanager
def new_log_lines(bot: BotProcess) -> Iterator[list[str]]:
    """The lines the bot logs while the block runs (each refusal is logged before its answer)."""
    start = len(bot.logs)
    lines: list[str] = []
    yield lines
    lines.extend(bot.logs[start:].splitlines())


def signature_headers(
    body: bytes, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str | bytes]:
    """Slack's signature headers for any bytes (slack_sdk's helper signs only UTF-8 text)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {TIMESTAMP: stamp, SIGNATURE: f"v0={digest}"}


def post_raw(
    bot: BotProcess,
    headers: dict[str, str | bytes],
    body: bytes | Iterator[bytes] = b"",
    *,
    chunked: bool = False,
) -> tuple[int, bytes]:
    """POST with exactly these headers (a Content-Length that lies, bytes no client would send);
    the status and body of the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    try:
        connection.request(
            "POST", "/slack/events", body=body, headers=headers, encode_chunked=chunked
        )
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def peak_memory_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no VmHWM")


def reset_peak_memory(pid: int) -> None:
    """Restart the peak from what the process holds now, where the kernel allows it; elsewhere
    the peak so far stands, which only makes the bound below harder to meet."""
    with suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def interaction(payload: dict[str, Any], *, timestamp: int | None = None) -> SlackRequest:
    """An interaction as Slack posts it: the JSON payload in a form's `payload` field."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return sign(body, content_type=FORM, timestamp=timestamp)


def _actor() -> dict[str, Any]:
    return {
        "team": {"id": "T111", "domain": "test-team"},
        "user": {"id": "U111", "name": "u111", "team_id": "T111"},
        "api_app_id": "A111",
        "token": VERIFICATION_TOKEN,
    }


def retired_view(secret: str) -> SlackRequest:
    """A modal submission of a view the bot no longer knows, its password field filled."""
    return view_submission(values={"docker_password": secret}, callback_id="retired_modal")


def legacy_dialog(secret: str) -> SlackRequest:
    """A legacy dialog's submission, whose fields Bolt's unhandled-request warning printed."""
    return interaction(
        {
            **_actor(),
            "type": "dialog_submission",
            "callback_id": "old_dialog",
            "submission": {"password": secret},
            "channel": {"id": "C111", "name": "deploys"},
            "response_url": "https://hooks.slack.com/app/T111/1/x",
            "state": "",
            "action_ts": f"{time.time():.6f}",
        }
    )


def typed_suggestion(secret: str) -> SlackRequest:
    """What a user typed into an external select the bot has no options for."""
    return interaction(
        {
            **_actor(),
            "type": "block_suggestion",
            "action_id": "unknown_select",
            "block_id": "b1",
            "value": secret,
            "container": {"type": "view", "view_id": "V111"},
        }
    )


def unknown_command(secret: str) -> SlackRequest:
    """A slash command of another app pointed at this one, its text a secret."""
    return slash_command(command="/not-deploybot", text=secret)


def unsubscribed_event(secret: str) -> SlackRequest:
    """An event the bot has no listener for, carrying a message's text."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": "T111",
        "api_app_id": "A111",
        "type": "event_callback",
        "event_id": "Ev0000000001",
        "event_time": int(time.time()),
        "event": {"type": "message", "user": "U111", "channel": "C111", "text": secret},
    }
    return sign(json.dumps(body).encode(), content_type=JSON_TYPE)


UNHANDLED: dict[str, Callable[[str], SlackRequest]] = {
    "view_submission": retired_view,
    "dialog_submission": legacy_dialog,
    "block_suggestion": typed_suggestion,
    "command": unknown_command,
    "event_callback": unsubscribed_event,
}


# --- 413: bodies over 1 MiB --------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["Content-Length", "chunked"])
def test_a_32_mib_unsigned_body_gets_413_without_being_held(bot: BotProcess, framing: str) -> None:
    """32 MiB, declared or chunked, is refused with 413 and the process's peak memory grows by a
    small fraction of it: the body is never held whole, let alone parsed."""
    body = b"x" * (32 * MIB)
    content: bytes | Iterator[bytes] = (
        body
        if framing == "Content-Length"
        else (body[i : i + MIB] for i in range(0, len(body), MIB))
    )
    reset_peak_memory(bot.pid)
    before = peak_memory_kib(bot.pid)
    with new_log_lines(bot) as lines:
        answer = bot.http.post(
            "/slack/events", content=content, headers={"content-type": FORM}, timeout=30
        )
    grown_mib = (peak_memory_kib(bot.pid) - before) / 1024
    assert answer.status_code == 413
    assert answer.json() == {"error": "request body too large"}
    assert grown_mib < 8, f"peak memory grew by {grown_mib:.1f} MiB for a 32 MiB body"
    [refusal] = [line for line in lines if "refused" in line]
    assert "HTTP 413" in refusal


def test_a_content_length_over_the_limit_is_answered_before_any_body_arrives(
    bot: BotProcess,
) -> None:
    """A Content-Length over 1 MiB with no body behind it gets 413 at once: the server does not
    wait for bytes it would refuse anyway."""
    status, _ = post_raw(bot, {"content-type": FORM, "content-length": str(2 * MIB)})
    assert status == 413


def test_the_limit_is_one_mib_exactly(bot: BotProcess) -> None:
    """A body of exactly 1 MiB is read (and refused for its missing signature: 401); one byte
    more is too large, whether declared or chunked."""
    at_limit = b"x" * MAX_BODY_BYTES
    assert MAX_BODY_BYTES == MIB
    assert bot.http.post("/slack/events", content=at_limit).status_code == 401
    over = at_limit + b"x"
    assert bot.http.post("/slack/events", content=over).status_code == 413
    assert bot.http.post("/slack/events", content=iter([at_limit, b"x"])).status_code == 413


# --- 401: the signature, checked on the raw bytes before parsing --------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({TIMESTAMP: "abc"}, id="timestamp abc"),
        pytest.param({TIMESTAMP: "+1700000000"}, id="timestamp with a sign"),
        pytest.param({TIMESTAMP: "9" * 5000}, id="timestamp of 5000 digits"),
        pytest.param({SIGNATURE: "v0=" + "0" * 64}, id="bad signature"),
        pytest.param({SIGNATURE: "v1=abc-not-a-signature"}, id="not a v0 signature"),
        pytest.param({SIGNATURE: b"v0=\xe9\xe9"}, id="non-ASCII signature"),
        pytest.param({TIMESTAMP: None}, id="no timestamp"),
        pytest.param({SIGNATURE: None}, id="no signature"),
    ],
)
def test_requests_without_a_valid_signature_get_401(
    bot: BotProcess, change: dict[str, str | bytes | None]
) -> None:
    """Missing, non-numeric or forged signature headers get 401 and one log line holding no
    header's value nor anything of the body; never a 200 or a 5xx."""
    request = slash_command(text=REGISTRY_PASSWORD)
    headers = {
        name: value for name, value in {**request.headers, **change}.items() if value is not None
    }
    with new_log_lines(bot) as lines:
        status, answer = post_raw(bot, headers, request.body)
    assert status == 401
    assert json.loads(answer) == {"error": "invalid request"}
    [refusal] = [line for line in lines if "refused" in line]
    assert "HTTP 401" in refusal
    logged = "\n".join(lines)
    for value in [REGISTRY_PASSWORD, request.headers[SIGNATURE], *change.values()]:
        if value is not None:
            assert (value.decode("latin-1") if isinstance(value, bytes) else value) not in logged


@pytest.mark.parametrize("offset_s", [-(MAX_SKEW_S + 60), MAX_SKEW_S + 60])
def test_a_stale_signed_submission_is_refused_with_one_line_and_no_trace_of_its_body(
    bot: BotProcess, offset_s: int
) -> None:
    """A modal submission Slack signed more than 5 minutes from this server's clock (a replay,
    or a wrong clock) gets 401; the log has one line saying so, with the team, and nothing of
    the body: not the registry password, not the environment, not the external ID."""
    values = form()
    request = view_submission(values=values, timestamp=int(time.time()) + offset_s)
    with new_log_lines(bot) as lines:
        answer = bot.post(request)
    assert answer.status_code == 401
    [refusal] = [line for line in lines if "refused" in line]
    assert "HTTP 401" in refusal
    assert "this server's clock" in refusal
    assert "(team T111)" in refusal
    logs = bot.logs
    for trace in (REGISTRY_PASSWORD, DB_PASSWORD, values["external_deployment_id"]):
        assert trace not in logs


# --- 400: signed, but not what Slack sends -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        pytest.param(b"[1,2]", JSON_TYPE, "not a JSON object", id="JSON array"),
        pytest.param(b'"x"', JSON_TYPE, "not a JSON object", id="JSON string"),
        pytest.param(b"null", JSON_TYPE, "not a JSON object", id="JSON null"),
        pytest.param(b"{not json", JSON_TYPE, "not JSON", id="broken JSON"),
        pytest.param(b"[" * 100_000, JSON_TYPE, "not JSON", id="JSON nested too deep"),
        pytest.param(b"\xff\xfe\xfa", JSON_TYPE, "not UTF-8", id="not UTF-8"),
        pytest.param(b"", FORM, "no fields", id="empty"),
        pytest.param(b"payload=%7Bbroken", FORM, "payload", id="form with a broken payload"),
        pytest.param(b"payload=%5B1%2C2%5D", FORM, "not a JSON object", id="payload an array"),
        pytest.param(
            b'{"type": "event_callback", "event": "x"}', JSON_TYPE, "event", id="event a string"
        ),
        pytest.param(b'{"team": 5}', JSON_TYPE, "IDs", id="team a number"),
        pytest.param(b'{"authorizations": {"a": 1}}', JSON_TYPE, "IDs", id="authorizations"),
    ],
)
def test_signed_bodies_that_are_not_slack_requests_get_400(
    bot: BotProcess, body: bytes, content_type: str, reason: str
) -> None:
    """Correctly signed, so past the signature check, a body Slack would never send is refused
    with 400 and one log line saying why, never a 5xx."""
    with new_log_lines(bot) as lines:
        headers = {"content-type": content_type, **signature_headers(body)}
        status, answer = post_raw(bot, headers, body)
    assert status == 400
    assert json.loads(answer) == {"error": "malformed request"}
    [refusal] = [line for line in lines if "refused" in line]
    assert "HTTP 400" in refusal
    assert reason in refusal
    assert not [line for line in lines if "Traceback" in line or " ERROR " in line]


# --- what passes: Slack's own checks, and requests no listener takes ---------------------------


def test_slacks_url_verification_and_ssl_check_still_work(bot: BotProcess) -> None:
    """A signed url_verification gets its challenge back; Slack's ssl_check probe, which may
    come unsigned, gets an empty 200, and nothing riding along with it is dispatched."""
    challenge = {
        "token": VERIFICATION_TOKEN,
        "challenge": "c-3eZbrw1aBm2r",
        "type": "url_verification",
    }
    verification = sign(json.dumps(challenge).encode(), content_type=JSON_TYPE)
    answer = bot.post(verification)
    assert (answer.status_code, answer.json()) == (200, {"challenge": "c-3eZbrw1aBm2r"})
    unsigned = bot.http.post("/slack/events", content=verification.body)
    assert unsigned.status_code == 401

    probe = bot.http.post(
        "/slack/events", content=b"ssl_check=1&token=x", headers={"content-type": FORM}
    )
    assert (probe.status_code, probe.content) == (200, b"")
    smuggled = block_action(action_id="stop_deployment", value="d-1").body + b"&ssl_check=1"
    answer = bot.http.post("/slack/events", content=smuggled, headers={"content-type": FORM})
    assert answer.status_code == 401


@pytest.mark.parametrize("kind", UNHANDLED)
def test_a_request_no_listener_takes_is_logged_in_one_line_without_its_content(
    bot: BotProcess, kind: str
) -> None:
    """Signed requests the bot has no listener for get Bolt's 404, and one log line naming what
    they were; what the user typed (a password here) is nowhere in the logs."""
    secret = f"{kind}-password-do-not-log"
    with new_log_lines(bot) as lines:
        answer = bot.post(UNHANDLED[kind](secret))
    assert (answer.status_code, answer.json()) == (404, {"error": "unhandled request"})
    [unhandled] = [line for line in lines if "no listener" in line]
    named = "command='/not-deploybot'" if kind == "command" else f"type='{kind}'"
    assert named in unhandled
    assert "team='T111'" in unhandled
    assert secret not in bot.logs


# --- LOG_LEVEL ---------------------------------------------------------------------------------


def test_log_level_debug_applies_yet_libraries_stay_at_info(bot: BotProcess) -> None:
    """At LOG_LEVEL=DEBUG the process logs DEBUG lines (the event loop it runs on, asyncio's),
    but none from Bolt or slack_sdk, which print bodies at that level."""
    logs = bot.logs.splitlines()
    assert [line for line in logs if " DEBUG bot.server: event loop: asyncio" in line]
    assert not [line for line in logs if " DEBUG slack_bolt" in line or " DEBUG slack_sdk" in line]


def test_an_invalid_log_level_stops_start_up(tmp_path: Path) -> None:
    """`LOG_LEVEL=LOUD` is refused at start-up like any other bad setting, naming it."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LOG_LEVEL": "LOUD"}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid setting LOG_LEVEL" in result.stderr


# --- anything at all ---------------------------------------------------------------------------

PLANTED = "planted-password-7Qx9"  # in every generated body; never in the logs
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Where Bolt reads a request's kind and IDs; any JSON may stand there.
SLACK_KEYS = st.sampled_from(
    [
        "type",
        "team",
        "team_id",
        "enterprise",
        "user",
        "channel",
        "event",
        "view",
        "actions",
        "authorizations",
        "response_urls",
        "command",
        "callback_id",
        "is_enterprise_install",
    ]
)
HEADER_BYTES = st.lists(st.integers(0x20, 0xFF).filter(lambda c: c != 0x7F), max_size=24).map(bytes)


def _planted(value: object) -> object:
    """The JSON value with the planted password in it."""
    if isinstance(value, dict):
        return {**value, "password": PLANTED}
    if isinstance(value, str):
        return value + PLANTED
    return [value, PLANTED]


def _spliced(raw: bytes, at: int) -> bytes:
    at %= len(raw) + 1
    return raw[:at] + PLANTED.encode() + raw[at:]


def _json(value: object) -> bytes:
    return json.dumps(_planted(value)).encode()


# Each strategy gives a body and the content type Slack would give it.
BODIES = st.one_of(
    st.builds(_spliced, st.binary(max_size=400), st.integers(0)).map(lambda b: (b, FORM)),
    st.builds(_spliced, st.text(max_size=200).map(str.encode), st.integers(0)).map(
        lambda b: (b, FORM)
    ),
    JSON.map(lambda v: (_json(v), JSON_TYPE)),
    st.dictionaries(SLACK_KEYS, JSON, max_size=5).map(lambda v: (_json(v), JSON_TYPE)),
    st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=4).map(
        lambda fields: (urlencode({**fields, "password": PLANTED}).encode(), FORM)
    ),
    JSON.map(lambda v: (urlencode({"payload": json.dumps(_planted(v))}).encode(), FORM)),
    st.sampled_from(list(UNHANDLED.values()))
    .map(lambda build: build(PLANTED))
    .map(lambda request: (request.body, request.headers["content-type"])),
)
SIGNING = st.sampled_from(
    [
        "signed",
        "signed stale",
        "wrong secret",
        "unsigned",
        "no timestamp",
        "no signature",
        "garbage headers",
    ]
)
FRAMING = st.sampled_from(
    ["Content-Length", "chunked", "Content-Length over the limit", "truncated"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body_and_type=BODIES,
    content_type=st.none()
    | st.just("natural")
    | st.sampled_from([JSON_TYPE, FORM, "text/plain"])
    | HEADER_BYTES,
    signing=SIGNING,
    framing=FRAMING,
    garbage=st.tuples(HEADER_BYTES, HEADER_BYTES),
    cut=st.integers(0),
)
def test_arbitrary_requests_get_4xx_and_leave_no_body_in_the_logs(
    bot: BotProcess,
    body_and_type: tuple[bytes, str],
    content_type: str | bytes | None,
    signing: str,
    framing: str,
    garbage: tuple[bytes, bytes],
    cut: int,
) -> None:
    """Any body (bytes, text, JSON, forms, Slack requests no listener takes) with any headers,
    signed or not, gets a 4xx, never a 2xx or 5xx; only a signed, fresh, whole body reaches
    Bolt; and neither it nor the password planted in it appears in the logs."""
    body, natural_type = body_and_type
    assume(b"ssl_check" not in body and b"url_verification" not in body)
    headers: dict[str, str | bytes] = {}
    if content_type is not None:
        headers["content-type"] = natural_type if content_type == "natural" else content_type
    stamp = int(time.time()) - (MAX_SKEW_S + 60 if signing == "signed stale" else 0)
    secret = "not-the-signing-secret" if signing == "wrong secret" else SIGNING_SECRET
    signature = signature_headers(body, timestamp=stamp, secret=secret)
    if signing == "garbage headers":
        signature = dict(zip((TIMESTAMP, SIGNATURE), garbage, strict=True))
    dropped = {"unsigned": (TIMESTAMP, SIGNATURE), "no timestamp": (TIMESTAMP,)}
    dropped["no signature"] = (SIGNATURE,)
    headers |= {k: v for k, v in signature.items() if k not in dropped.get(signing, ())}

    if framing == "Content-Length over the limit":
        declared = MAX_BODY_BYTES + 1 + cut % (32 * MIB)
        status, _ = post_raw(bot, headers | {"content-length": str(declared)})
    elif framing == "truncated":
        kept = body[: cut % len(body)]
        status, _ = post_raw(bot, headers | {"content-length": str(len(kept))}, kept)
    elif framing == "chunked":
        status, _ = post_raw(bot, headers, iter([body[:7], body[7:]]), chunked=True)
    else:
        status, _ = post_raw(bot, headers, body)

    assert 400 <= status < 500, (status, body, headers, framing)
    if framing == "Content-Length over the limit":
        assert status == 413
    if not (signing == "signed" and framing in {"Content-Length", "chunked"}):
        assert status != 404, "a request not signed, fresh and whole reached Bolt"
    logs = bot.logs
    assert PLANTED not in logs
    text = body.decode("utf-8", errors="replace")
    assert len(text) < 8 or text not in logs
