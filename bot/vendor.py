"""The Hiveon vendor API client: start, status and stop, with the bot's own error types.

Every failure reaches the caller as one of these, so it can tell "certainly not started"
from "maybe started" without knowing httpx::

    HiveonError
    ├── HiveonRejectedError(status_code, message)   4xx: the vendor refused; nothing was started
    ├── HiveonUnreachableError(reason, untrusted)   the request never reached the vendor: retry
    │                                               (no connection, or none within the deadline),
    │                                               unless `untrusted`: Hiveon's TLS certificate
    │                                               could not be verified, and will not be
    │                                               until whoever runs the bot trusts it
    └── HiveonUncertainError(status_code, reason)   it may have been processed: reconcile first
                                                    (reset, 5xx, no complete answer within the
                                                    deadline, an answer over 1 MiB, an unreadable
                                                    2xx or one whose IDs are not plain)

Everything the vendor returns is untrusted. Each HTTP attempt has one deadline for connecting,
sending and reading the whole answer, and answers are read up to `MAX_RESPONSE_BYTES`, so a
vendor that trickles or floods can neither hold a call open nor fill memory. A `deployment_id`
or `status` that is not plain (`bot.deployment.is_plain_id`) makes the answer unreadable, so
the IDs and states callers store and show are never markup. Free text (`FailReason.message`)
is one line of at most `MAX_MESSAGE_CHARS`; whoever shows it escapes it.

`HiveonRejectedError.message` is the vendor's own text only when it is short plain text; HTML
pages and long bodies are never passed on. Secrets (the API key, the registry password, secret
environment values) never appear in logs or in exception messages.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.deployment import MASK, StartDeploymentRequest, is_plain_id, secret_values
from bot.http_transport import AiohttpTransport, UntrustedCertificateError

logger = logging.getLogger(__name__)

USER_AGENT = "deploybot/0.1"
DEPLOYMENTS_PATH = "/vendors/v1/machines/deployments"
START_PATH = f"{DEPLOYMENTS_PATH}/start"
MAX_MESSAGE_CHARS = 300
# The most of one answer that is read; anything longer is not a deployment's status.
MAX_RESPONSE_BYTES = 1024 * 1024
_INT32 = 2**31
_MAX_MESSAGE_LINES = 3
_DEFAULT_RETRY_AFTER_S = 1.0
# Each start holds a connection for as long as the vendor takes: a burst of 200 submissions to
# a vendor that takes 2 s needs 200 at once, and the usual default of 100 would queue the rest
# for a whole vendor latency. The cap still bounds the sockets a runaway loop could open.
MAX_CONNECTIONS = 500
_HTML_TAG = re.compile(r"<\s*[a-zA-Z!/]")
_HEADER_SAFE_KEY = re.compile(r"[\x21-\x7e]+")

# Every httpx transport error: could the vendor have processed the request, and a reason that
# is safe to show (never the error's own text: h11 may quote header values in it).
_TRANSPORT_ERRORS: dict[type[httpx.RequestError], tuple[bool, str]] = {
    httpx.ConnectError: (False, "connection failed"),
    UntrustedCertificateError: (False, "its TLS certificate could not be verified"),
    httpx.ConnectTimeout: (False, "connection timed out"),
    httpx.PoolTimeout: (False, "no free connection in the pool"),
    httpx.ProxyError: (False, "the proxy refused the connection"),
    httpx.UnsupportedProtocol: (False, "unsupported URL scheme"),
    httpx.LocalProtocolError: (False, "the request could not be sent"),
    httpx.ReadTimeout: (True, "no answer in time"),
    httpx.WriteTimeout: (True, "sending timed out"),
    httpx.ReadError: (True, "the connection broke while reading the answer"),
    httpx.WriteError: (True, "the connection broke while sending"),
    httpx.CloseError: (True, "the connection broke while closing"),
    httpx.RemoteProtocolError: (True, "the connection closed without a complete answer"),
}


class HiveonError(Exception):
    """Base of every error the Hiveon client raises."""


class HiveonRejectedError(HiveonError):
    """The vendor answered 4xx: the request was refused and certainly started nothing."""

    def __init__(self, status_code: int, message: str | None) -> None:
        self.status_code = status_code
        self.message = message
        detail = f": {message}" if message else ""
        super().__init__(f"Hiveon refused the request (HTTP {status_code}){detail}")


class HiveonUnreachableError(HiveonError):
    """The request never reached the vendor (connect error or timeout, DNS): safe to retry.

    `untrusted`: the vendor's TLS certificate could not be verified against the trust store.
    Nothing was sent either, but a retry meets the same certificate: it cannot help until the
    operator trusts it (the machine's CA certificates, or `SSL_CERT_FILE`).
    """

    def __init__(self, reason: str, *, untrusted: bool = False) -> None:
        self.reason = reason
        self.untrusted = untrusted
        super().__init__(f"Hiveon could not be reached: {reason}")


class HiveonUncertainError(HiveonError):
    """The vendor may have processed the request (timeout, reset, 5xx, unreadable 2xx)."""

    def __init__(self, status_code: int | None, reason: str) -> None:
        self.status_code = status_code
        self.reason = reason
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"the outcome of the Hiveon request is unknown{status}: {reason}")


@dataclass(frozen=True)
class StartedDeployment:
    """The vendor's answer to a successful start."""

    deployment_id: str


class FailReason(BaseModel):
    """Why a deployment failed: `/vendors/v1` sends `{code, message}`, older APIs a string.

    `message` is the vendor's free text made one printable line of at most `MAX_MESSAGE_CHARS`
    (cut with …); it may still hold `<`, `>` and `&`, which whoever shows it escapes.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    # The vendor's code is a protobuf int32.
    code: int | None = Field(default=None, ge=-_INT32, lt=_INT32)
    message: str | None = None

    @field_validator("message", mode="after")
    @classmethod
    def _one_short_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        line = " ".join("".join(c if c.isprintable() else " " for c in value).split())
        if len(line) > MAX_MESSAGE_CHARS:
            line = line[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
        return line or None


class DeploymentStatus(BaseModel):
    """The body of `GET /vendors/v1/machines/deployments/{id}`; unknown fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    deployment_id: str
    machine_id: str | None = None
    external_deployment_id: str | None = None
    # Proto3 JSON leaves a zero enum out, so a missing status is the unspecified one.
    status: str = "STATUS_UNSPECIFIED"
    fail_reason: FailReason | None = None
    metadata: dict[str, str] = {}

    @field_validator("deployment_id", "status", mode="after")
    @classmethod
    def _plain(cls, value: str) -> str:
        if not is_plain_id(value):
            raise ValueError("not a plain ID")
        return value

    @field_validator("fail_reason", mode="before")
    @classmethod
    def _fail_reason_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            return FailReason(message=value) if value else None
        return value

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_or_empty(cls, value: object) -> object:
        return {} if value is None else value


class HiveonClient:
    """An async client for the Hiveon `/vendors/v1` deployments API.

    One long-lived `httpx.AsyncClient` carries every request, so connections are reused; close
    it with `aclose()` or `async with`. `transport` replaces the network (for example
    `httpx.MockTransport(SandboxVendor().handle)`); the default one (`bot.http_transport`, over
    aiohttp) retries failed connection attempts only, which never sent anything. A 429 is
    retried after its `Retry-After`, since the vendor processed nothing; no other status is
    retried here.

    `timeout_s` bounds each HTTP attempt as a whole: connecting, sending and reading the entire
    answer (httpx's own timeouts, per operation, also apply; a vendor sending a byte a second
    never trips those). A 429's retry is a new attempt with a deadline of its own, so one call
    lasts at most `(1 + max_rate_limit_retries) × timeout_s` plus the waits between attempts
    (each at most `max_retry_after_s`). Past the deadline, or past `MAX_RESPONSE_BYTES` of
    answer (refused at once when `Content-Length` says so), the call raises
    `HiveonUncertainError`, since the vendor may have acted on the request; only a deadline
    that ran out while still connecting is `HiveonUnreachableError`.
    """

    def __init__(  # noqa: PLR0913 - keyword-only settings, like httpx.AsyncClient's
        self,
        *,
        base_url: str,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        max_rate_limit_retries: int = 2,
        max_retry_after_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observe: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        # Told of each HTTP attempt: endpoint (start, status, stop), what it answered (the
        # status code, or timeout, unreachable, unreadable) and how long it took, in seconds.
        self._observe = observe
        self._max_rate_limit_retries = max_rate_limit_retries
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            transport=transport or AiohttpTransport(max_connections=MAX_CONNECTIONS, retries=2),
            # Uncompressed answers only: the size cap then bounds the memory an answer takes.
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "identity",
                "User-Agent": USER_AGENT,
            },
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def start_deployment(
        self, request: StartDeploymentRequest, *, api_key: str
    ) -> StartedDeployment:
        """Start a deployment; any answer but a 2xx with a `deployment_id` raises."""
        secrets = _secrets_of(request, api_key)
        response = await self._send("POST", START_PATH, api_key=api_key, body=request.to_payload())
        _raise_for_status(response, secrets)
        return StartedDeployment(_deployment_id(response))

    async def get_deployment(
        self, deployment_or_external_id: str, *, api_key: str
    ) -> DeploymentStatus | None:
        """Look a deployment up by its `deployment_id` or `external_deployment_id`; None on 404."""
        path = f"{DEPLOYMENTS_PATH}/{_path_segment(deployment_or_external_id)}"
        response = await self._send("GET", path, api_key=api_key)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        _raise_for_status(response, [api_key])
        data = _json_object(response)
        try:
            return DeploymentStatus.model_validate(data)
        except ValidationError as exc:
            raise HiveonUncertainError(response.status_code, "unreadable response") from exc

    async def stop_deployment(
        self, deployment_id: str, *, api_key: str, metadata: Mapping[str, str] | None = None
    ) -> str:
        """Ask the vendor to stop a deployment; returns the `deployment_id` it confirms.

        The stop page documents a body of `{"metadata": {...}}` without a readable key list, so
        the body is always sent, holding exactly the caller's `metadata` (empty by default).
        """
        path = f"{DEPLOYMENTS_PATH}/{_path_segment(deployment_id)}/stop"
        body = {"metadata": dict(metadata or {})}
        response = await self._send("POST", path, api_key=api_key, body=body)
        _raise_for_status(response, [api_key])
        return _deployment_id(response)

    @staticmethod
    def is_sendable_key(api_key: str) -> bool:
        """True when a key can travel in the `X-API-Key` header: printable ASCII, no spaces."""
        return _HEADER_SAFE_KEY.fullmatch(api_key) is not None

    async def _send(
        self, method: str, path: str, *, api_key: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send one request, retrying 429s; the only method that touches the network."""
        if not self.is_sendable_key(api_key):
            # Checked here so an unsendable key never reaches an error message of httpx or h11.
            raise ValueError("api_key must be non-empty printable ASCII without spaces")
        # httpx sends `json=` as compact UTF-8 with `Content-Type: application/json`.
        headers = {"X-API-Key": api_key}
        retries = 0
        endpoint = _endpoint(path)
        while True:
            started = time.perf_counter()
            progress = _Progress()
            try:
                async with asyncio.timeout(self._timeout_s):
                    response = await self._exchange(method, path, body, headers, progress)
            except httpx.RequestError as exc:
                elapsed_ms = self._observed(endpoint, "unreachable", started)
                name = type(exc).__name__
                logger.info("%s %s failed: %s after %.0f ms", method, path, name, elapsed_ms)
                raise _translated(exc) from exc
            except TimeoutError as exc:
                elapsed_ms = self._observed(endpoint, "timeout", started)
                logger.info("%s %s failed: deadline after %.0f ms", method, path, elapsed_ms)
                raise progress.error(self._timeout_s) from exc
            except HiveonUncertainError as exc:
                elapsed_ms = self._observed(endpoint, "unreadable", started)
                logger.info("%s %s failed: %s after %.0f ms", method, path, exc.reason, elapsed_ms)
                raise
            elapsed_ms = self._observed(endpoint, str(response.status_code), started)
            logger.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed_ms)
            if (
                response.status_code != httpx.codes.TOO_MANY_REQUESTS
                or retries >= self._max_rate_limit_retries
            ):
                return response
            retries += 1
            delay = _retry_after_s(response, self._max_retry_after_s)
            logger.info("%s %s rate-limited; retry %d in %.1f s", method, path, retries, delay)
            await self._sleep(delay)

    def _observed(self, endpoint: str, status: str, started: float) -> float:
        """Hand one attempt to the `observe` hook; its duration in milliseconds."""
        elapsed_s = time.perf_counter() - started
        if self._observe is not None:
            self._observe(endpoint, status, elapsed_s)
        return elapsed_s * 1000

    async def _exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        headers: dict[str, str],
        progress: _Progress,
    ) -> httpx.Response:
        """One HTTP exchange, its answer read whole but never past `MAX_RESPONSE_BYTES`."""
        request = self._http.build_request(
            method, path, json=body, headers=headers, extensions={"trace": progress}
        )
        response = await self._http.send(request, stream=True)
        try:
            content = await _capped_body(response)
        finally:
            # An answer left unread closes its connection instead of returning it to the pool.
            await response.aclose()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


class _Progress:
    """How far one exchange got, told by httpcore's `trace` extension: whether the deadline
    cut it before any of the request left (nothing can have been processed) or after."""

    def __init__(self) -> None:
        self.connecting = False
        self.sending = False

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        del info
        if event.endswith(".connect_tcp.started"):
            self.connecting = True
        elif event.endswith(".send_request_headers.started"):
            self.sending = True

    def error(self, timeout_s: float) -> HiveonError:
        """The error for a deadline that ran out; unsure (no trace, e.g. a mock) means maybe."""
        if self.connecting and not self.sending:
            return HiveonUnreachableError(f"no connection within {timeout_s:g} s")
        return HiveonUncertainError(None, f"no complete answer within {timeout_s:g} s")


async def _capped_body(response: httpx.Response) -> bytes:
    """The raw body; an encoded one, or one over `MAX_RESPONSE_BYTES`, is not read on."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        # Asked for identity: a compressed answer could inflate far past the cap.
        raise HiveonUncertainError(response.status_code, "answer in an encoding not asked for")
    if _declared_length(response) > MAX_RESPONSE_BYTES:
        raise HiveonUncertainError(response.status_code, _TOO_LARGE)
    body = bytearray()
    async for chunk in _raw_chunks(response):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise HiveonUncertainError(response.status_code, _TOO_LARGE)
    return bytes(body)


def _declared_length(response: httpx.Response) -> int:
    """`Content-Length` as a number; 0 when absent or malformed (the body is counted anyway)."""
    declared = response.headers.get("content-length", "").strip()
    if not (declared.isascii() and declared.isdigit()):
        return 0
    # Longer than the cap's digits is over it: no need to parse a number of any length.
    if len(declared) > len(str(MAX_RESPONSE_BYTES)):
        return MAX_RESPONSE_BYTES + 1
    return int(declared)


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it arrives; a response built in memory (`httpx.MockTransport`) has it all."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


_TOO_LARGE = f"answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB"


def _translated(exc: httpx.RequestError) -> HiveonError:
    """The bot's error for an httpx one: unreachable when nothing can have been sent."""
    maybe_sent, reason = _TRANSPORT_ERRORS.get(type(exc), (True, type(exc).__name__))
    if maybe_sent:
        return HiveonUncertainError(None, reason)
    return HiveonUnreachableError(reason, untrusted=isinstance(exc, UntrustedCertificateError))


def _raise_for_status(response: httpx.Response, secrets: list[str]) -> None:
    """Turn every non-2xx answer into the matching `HiveonError`."""
    status = response.status_code
    if httpx.codes.is_success(status):
        return
    if httpx.codes.is_client_error(status):
        raise HiveonRejectedError(status, _vendor_message(response, secrets))
    reason = "server error" if httpx.codes.is_server_error(status) else "unexpected status"
    raise HiveonUncertainError(status, reason)


def _vendor_message(response: httpx.Response, secrets: list[str]) -> str | None:
    """The vendor's error text when it is short plain text (JSON `error`/`message` or text)."""
    content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        data = _json_object(response)
        candidates = [data.get(key) for key in ("error", "message")] if data is not None else []
        text = next((value for value in candidates if isinstance(value, str)), None)
    elif content_type == "text/plain":
        text = response.text
    else:
        return None
    if text is None:
        return None
    return _plain_text(_scrubbed(text, secrets))


def _plain_text(text: str) -> str | None:
    """`text` with whitespace collapsed, or None when it is long, markup or control bytes."""
    text = text.strip()
    if (
        not text
        or len(text) > MAX_MESSAGE_CHARS
        or text.count("\n") >= _MAX_MESSAGE_LINES
        or _HTML_TAG.search(text)
        or not all(char.isprintable() or char in "\n\t\r" for char in text)
    ):
        return None
    return " ".join(text.split())


def _scrubbed(text: str, secrets: list[str]) -> str:
    """Mask every secret the vendor might echo back."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _secrets_of(request: StartDeploymentRequest, api_key: str) -> list[str]:
    """The API key and every secret value inside the request."""
    config = request.container_config
    named = {**config.environment_variables, **request.metadata}
    secrets = [api_key, *secret_values(named)]
    if config.docker_auth is not None:
        secrets.append(config.docker_auth.password.get_secret_value())
    return secrets


def _deployment_id(response: httpx.Response) -> str:
    """The plain `deployment_id` of a 2xx answer; without one, nobody knows what happened."""
    data = _json_object(response)
    deployment_id = data.get("deployment_id") if data is not None else None
    if not isinstance(deployment_id, str) or not is_plain_id(deployment_id):
        raise HiveonUncertainError(response.status_code, "unreadable response")
    return deployment_id


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else."""
    try:
        data = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None
    return data if isinstance(data, dict) else None


def _retry_after_s(response: httpx.Response, cap_s: float) -> float:
    """Seconds to wait before retrying a 429: `Retry-After` as seconds or HTTP-date, capped."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value)
    if not math.isfinite(seconds):
        seconds = _DEFAULT_RETRY_AFTER_S
    return min(max(seconds, 0.0), cap_s)


def _seconds_until(http_date: str) -> float:
    """Seconds from now until an HTTP-date; the default wait when it does not parse."""
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return _DEFAULT_RETRY_AFTER_S
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _path_segment(deployment_id: str) -> str:
    """One URL path segment for an opaque ID; `/`, `?`, `#` and spaces are percent-encoded."""
    if deployment_id in {"", ".", ".."}:
        # These would address another URL than a deployment's.
        raise ValueError("a deployment ID must not be empty, '.' or '..'")
    return quote(deployment_id, safe="")


def _endpoint(path: str) -> str:
    """Which of the three endpoints a path is, for the `observe` hook: start, status or stop."""
    if path == START_PATH:
        return "start"
    return "stop" if path.endswith("/stop") else "status"
