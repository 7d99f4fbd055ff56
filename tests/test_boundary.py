"""The trust boundary's pieces on their own: the size cap, the signature check and its reasons,
the team a refusal names, Slack's ssl_check probe, and how an unhandled request is described."""

import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import describe_request
from bot.boundary import (
    MAX_BODY_BYTES,
    Refusal,
    SignatureCheck,
    interaction_json,
    is_ssl_check,
    read_body,
    signed_team,
)
from bot.testing.slack_requests import SIGNING_SECRET, slash_command, view_submission

NOW = 1_700_000_000


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class _Untouchable:
    """A body that fails the test if anything reads it."""

    def __aiter__(self) -> "_Untouchable":
        return self

    async def __anext__(self) -> bytes:
        raise AssertionError("the body was read")


async def test_a_body_within_the_limit_is_read_whole() -> None:
    """Chunks that add up to the limit exactly come back joined."""
    body = await read_body(_chunks(b"a" * 10, b"b" * 6), content_length="16", limit=16)
    assert body == b"a" * 10 + b"b" * 6


@pytest.mark.parametrize(
    ("content_length", "status"),
    [
        ("17", HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        ("9" * 5000, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        ("-1", HTTPStatus.BAD_REQUEST),
        ("1e3", HTTPStatus.BAD_REQUEST),
        ("١٢", HTTPStatus.BAD_REQUEST),
    ],
)
async def test_a_declared_length_is_judged_before_a_byte_is_read(
    content_length: str, status: HTTPStatus
) -> None:
    """Over the limit is 413, not a number is 400, and the body is never touched."""

    with pytest.raises(Refusal) as refused:
        await read_body(_Untouchable(), content_length=content_length, limit=16)
    assert refused.value.status is status


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    """Without a Content-Length, the count stops the read at the chunk that crosses the limit."""
    consumed: list[bytes] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            consumed.append(b"x" * 10)
            yield b"x" * 10

    with pytest.raises(Refusal) as refused:
        await read_body(endless(), content_length=None, limit=25)
    assert refused.value.status is HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert len(consumed) == 3
    assert MAX_BODY_BYTES == 1024 * 1024


def _check(body: bytes, *, timestamp: str | None, signature: str | None) -> str:
    checker = SignatureCheck(SIGNING_SECRET, clock=lambda: NOW)
    return checker.verify(body, timestamp=timestamp, signature=signature)


def test_a_body_slack_signed_comes_back_as_text() -> None:
    """The signature slack_sdk makes for a body passes, and the body is returned as text."""
    request = slash_command(text="nginx:latest", timestamp=NOW - 299)
    text = _check(
        request.body,
        timestamp=request.headers["x-slack-request-timestamp"],
        signature=request.headers["x-slack-signature"],
    )
    assert text == request.text


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "v0=" + "0" * 64, "no X-Slack-Request-Timestamp"),
        ("abc", "v0=" + "0" * 64, "not a Unix time"),
        ("+1700000000", "v0=" + "0" * 64, "not a Unix time"),
        ("1_700_000_000", "v0=" + "0" * 64, "not a Unix time"),
        (str(NOW), None, "no X-Slack-Signature"),
        (str(NOW), "v0=" + "é" * 64, "not a v0 signature"),
        (str(NOW), "v0=" + "0" * 64, "does not match"),
    ],
)
def test_each_refused_signature_says_why(
    timestamp: str | None, signature: str | None, reason: str
) -> None:
    """Missing or malformed headers and a wrong signature are 401, each with its own reason."""
    with pytest.raises(Refusal) as refused:
        _check(b"command=%2Fdeploy", timestamp=timestamp, signature=signature)
    assert refused.value.status is HTTPStatus.UNAUTHORIZED
    assert reason in refused.value.reason
    assert refused.value.team is None


@pytest.mark.parametrize(("offset", "direction"), [(-301, "behind"), (301, "ahead of")])
def test_a_stale_request_slack_did_sign_points_at_the_clock(offset: int, direction: str) -> None:
    """Over 5 minutes off, a correct signature is still 401, saying how far off, which way,
    and which team: the operator can tell a wrong clock from a forgery."""
    request = view_submission(values={"image": "nginx"}, team_id="T0CLOCK", timestamp=NOW + offset)
    with pytest.raises(Refusal) as refused:
        _check(
            request.body,
            timestamp=request.headers["x-slack-request-timestamp"],
            signature=request.headers["x-slack-signature"],
        )
    assert refused.value.status is HTTPStatus.UNAUTHORIZED
    assert f"301 s {direction} this server's clock" in refused.value.reason
    assert refused.value.team == "T0CLOCK"


def test_a_body_that_is_not_utf8_is_refused_before_its_signature_is_computed() -> None:
    """Slack signs text: bytes that are not UTF-8 are 400, whatever the signature says."""
    with pytest.raises(Refusal) as refused:
        _check(b"\xff\xfe", timestamp=str(NOW), signature="v0=" + "0" * 64)
    assert refused.value.status is HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize(
    ("body", "team"),
    [
        (slash_command(team_id="T0FORM").text, "T0FORM"),
        (view_submission(values={}, team_id="T0VIEW").text, "T0VIEW"),
        ('{"type": "event_callback", "team_id": "T0EVENT"}', "T0EVENT"),
        ('{"team": {"id": "E0ORG"}}', "E0ORG"),
        ('{"team_id": "lowercase"}', None),
        ("team_id=T1%0Aforged", None),
        ("nothing here", None),
    ],
)
def test_the_team_of_a_signed_body_is_read_without_parsing_it(body: str, team: str | None) -> None:
    """A form's team_id, JSON's team_id or team.id, also inside an interaction's payload; only
    what is shaped like a Slack ID, so nothing else can reach the log line."""
    assert signed_team(body) == team


@pytest.mark.parametrize(
    "body", [b"ssl_check=1&token=abc", b"token=abc&ssl_check=1", b"ssl_check=1"]
)
def test_slacks_ssl_check_probe_is_recognised(body: bytes) -> None:
    """`ssl_check=1`, with or without its token, is the probe."""
    assert is_ssl_check(body)


@pytest.mark.parametrize(
    "body",
    [
        b"ssl_check=0&token=abc",
        b"ssl_check=1&token=abc&command=%2Fdeploy",
        b"ssl_check=1&ssl_check=1",
        b"ssl_check=1&" + urlencode({"payload": "{}"}).encode(),
        b"ssl_check=1&token=" + b"a" * 300,
        b'{"ssl_check": "1"}',
    ],
)
def test_nothing_rides_along_an_ssl_check(body: bytes) -> None:
    """Any other field, a repeated one, a long body or JSON is no probe: it must be signed."""
    assert not is_ssl_check(body)


def test_an_unhandled_request_is_described_by_its_ids_only() -> None:
    """Type, callback, event, action and team are named, quoted and shortened; values are not."""
    body = {
        "type": "block_actions",
        "actions": [{"action_id": "retired\nbutton", "value": "secret-value"}],
        "view": {"callback_id": "x" * 100, "state": {"values": {"pw": "secret-value"}}},
        "event": "not an object",
    }
    described = describe_request(body, "T111")
    assert described == (
        f"type='block_actions' callback_id='{'x' * 64}' action_id='retired\\nbutton' team='T111'"
    )
    assert describe_request({"command": "/other", "text": "secret-value"}, None) == (
        "command='/other'"
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(value=_JSON, plus_for_space=st.booleans())
def test_an_interaction_payload_decodes_as_parse_qsl_decodes_it(
    *, value: object, plus_for_space: bool
) -> None:
    """Whatever JSON an interaction carries, encoded as Slack does (spaces as `+` or `%20`),
    the fast decoding gives exactly the text `parse_qsl` gives."""
    text = json.dumps(value, ensure_ascii=False)
    body = urlencode({"payload": text}) if plus_for_space else f"payload={quote(text, safe='')}"
    assert interaction_json(body) == dict(parse_qsl(body, keep_blank_values=True))["payload"]
    assert interaction_json(body) == text


def test_a_real_submission_payload_decodes_as_parse_qsl_decodes_it() -> None:
    """The deploy form's submission, as the tests send it, decodes to the same JSON."""
    body = view_submission(values={"image": "nginx:latest é ✓ \\ +%"}).text
    assert interaction_json(body) == dict(parse_qsl(body, keep_blank_values=True))["payload"]


@pytest.mark.parametrize(
    "body",
    [
        "command=%2Fdeploy&text=nginx",  # a slash command: not an interaction
        "payload=%7B%7D&token=x",  # a second field
        "payload=%7B%zz%7D",  # a malformed escape: parse_qsl keeps it as it is
        "payload=%7B%7D%",  # a lone % at the end
        "payload=%C3%28",  # bytes that are not UTF-8: parse_qsl replaces them
        "payload=\\x41",  # a backslash of its own, which Slack never sends
        "payload=%22caf\\u00e9%22",  # an escape of JSON's, unencoded
        "payload=é",  # not ASCII: not form-encoded
        '{"payload": 1}',
    ],
)
def test_a_body_the_fast_decoding_is_not_sure_of_is_left_to_parse_qsl(body: str) -> None:
    """Anything but a well-formed `payload=` alone, in plain ASCII escapes of UTF-8, is None."""
    assert interaction_json(body) is None
