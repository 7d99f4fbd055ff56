"""The trust boundary of Slack's HTTP requests: a size cap, then the signature on the raw bytes.

Nothing of a request body is parsed, acted on or logged before both pass. A request that fails
is refused with a `Refusal`: the HTTP status to answer and one sentence saying why, for one log
line that never holds the body nor a header's value.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import AsyncIterable, Callable
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qsl, unquote_plus

from slack_sdk.signature import SignatureVerifier

MAX_BODY_BYTES: Final = 1024 * 1024
# Slack's window: a request signed further from now is a replay, or one of the clocks is wrong.
MAX_SKEW_S: Final = 5 * 60

_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")  # ASCII digits: int() also takes "+1", "1_0", "١"
_SIGNATURE: Final = re.compile(r"v0=[0-9a-f]{64}")
# Slack's ssl_check probe is `ssl_check=1&token=…`: a few dozen bytes.
_SSL_CHECK_MAX_BYTES: Final = 256
# A team as Slack writes it in a form (`team_id=T…`) or in JSON (`"team_id": "T…"`,
# `"team": {"id": "T…"`); form-encoded JSON (an interaction's payload) is decoded first.
_TEAM: Final = re.compile(
    r'(?:\bteam_id=|"team_id"\s*:\s*"|"team"\s*:\s*\{\s*"id"\s*:\s*")([TE][A-Z0-9]{2,32})\b'
)


class Refusal(Exception):  # noqa: N818 — a refusal is an answer, not an error of the bot
    """A request refused at the boundary: the status to answer, why, and its team if known."""

    def __init__(self, status: HTTPStatus, reason: str, *, team: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.team = team


async def read_body(
    chunks: AsyncIterable[bytes], *, content_length: str | None, limit: int = MAX_BODY_BYTES
) -> bytes:
    """The body, read only while it stays within `limit` bytes; 413 as soon as it would not.

    A declared `Content-Length` over the limit is refused before a byte is read; a chunked body
    is counted as it streams in, and never more than `limit` bytes of it are held.
    """
    if content_length is not None:
        if not (content_length.isascii() and content_length.isdigit()):
            raise Refusal(HTTPStatus.BAD_REQUEST, "its Content-Length is not a number")
        if len(content_length) > len(str(limit)) or int(content_length) > limit:
            raise Refusal(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"its Content-Length is over the {limit}-byte limit",
            )
    received: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise Refusal(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"its body grew over the {limit}-byte limit"
            )
        received.append(chunk)
    return b"".join(received)


class SignatureCheck:
    """Slack's request signature, `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` (slack_sdk's),
    with a timestamp within five minutes of this server's clock."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._clock = clock

    def verify(self, body: bytes, *, timestamp: str | None, signature: str | None) -> str:
        """The body as text once its signature checks; else a `Refusal` (401; 400 if not text).

        The signature is checked before the time, so that a refusal can say whether a stale
        request was Slack's own (this server's clock is wrong, or it is a replay).
        """
        if timestamp is None:
            raise Refusal(HTTPStatus.UNAUTHORIZED, "it has no X-Slack-Request-Timestamp header")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refusal(
                HTTPStatus.UNAUTHORIZED, "its X-Slack-Request-Timestamp is not a Unix time"
            )
        if signature is None:
            raise Refusal(HTTPStatus.UNAUTHORIZED, "it has no X-Slack-Signature header")
        if not _SIGNATURE.fullmatch(signature):
            raise Refusal(HTTPStatus.UNAUTHORIZED, "its X-Slack-Signature is not a v0 signature")
        try:
            # Slack signs text; slack_sdk's verifier hashes text.
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal(HTTPStatus.BAD_REQUEST, "its body is not UTF-8 text") from None
        expected = self._verifier.generate_signature(timestamp=timestamp, body=text)
        if expected is None or not hmac.compare_digest(expected, signature):
            raise Refusal(
                HTTPStatus.UNAUTHORIZED, "its signature does not match the signing secret"
            )
        skew = round(self._clock() - int(timestamp))
        if abs(skew) > MAX_SKEW_S:
            direction = "behind" if skew > 0 else "ahead of"
            raise Refusal(
                HTTPStatus.UNAUTHORIZED,
                f"it was signed by Slack {abs(skew)} s {direction} this server's clock, over "
                f"the {MAX_SKEW_S} s allowed: a replay, or this server's clock is wrong",
                team=signed_team(text),
            )
        return text


def signed_team(text: str) -> str | None:
    """The team a signed body names, read without parsing it, for a log line; None if unclear."""
    found = _TEAM.search(unquote_plus(text) if "payload=" in text else text)
    return found.group(1) if found else None


def is_ssl_check(body: bytes) -> bool:
    """True for Slack's `ssl_check=1` probe: a form of `ssl_check` and `token` only.

    Slack may send it unsigned when a Request URL is saved; it is answered with an empty 200
    and never dispatched, so nothing can ride along with it.
    """
    if len(body) > _SSL_CHECK_MAX_BYTES or not body.isascii():
        return False
    try:
        fields = parse_qsl(body.decode("ascii"), strict_parsing=True, max_num_fields=2)
    except ValueError:
        return False
    found = dict(fields)
    return (
        found.get("ssl_check") == "1"
        and len(found) == len(fields)
        and found.keys() <= {"ssl_check", "token"}
    )


_PAYLOAD_FIELD: Final = "payload="


def interaction_json(text: str) -> str | None:
    """The JSON of an interaction's body (`payload=<form-encoded JSON>`, its only field), decoded
    as `urllib.parse.parse_qsl` would decode it; None for any other body, or one this decoder is
    not sure of (the caller parses those as before).

    Slack's interactions carry the whole view, so `parse_qsl` decodes thousands of `%XX`
    escapes one by one in Python: a tenth of the CPU a burst of submissions took. Here every
    escape becomes a `\\xXX` that the `unicode_escape` codec decodes in C, then the bytes are
    read as UTF-8. A body with a backslash of its own (Slack escapes them as `%5C`), a malformed
    escape or bytes that are not UTF-8 is left to `parse_qsl`, whose lenient reading differs.
    """
    if not text.startswith(_PAYLOAD_FIELD) or "&" in text or "\\" in text:
        return None
    encoded = text[len(_PAYLOAD_FIELD) :].replace("+", " ").replace("%", "\\x")
    try:
        raw = encoded.encode("ascii").decode("unicode_escape").encode("latin-1")
        return raw.decode("utf-8")
    except UnicodeError:
        return None
