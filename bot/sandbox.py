"""The sandbox vendor: an in-process stand-in for the Hiveon `/vendors/v1` deployments API.

One fake, two ways to reach it, both answered by the same core, `SandboxVendor.answer()`:

- `httpx.MockTransport(sandbox.handle)` in-process, for tests and the local playground;
- `sandbox.aiohttp_app()` over real HTTP, for end-to-end runs on loopback.

It implements start, status and stop, checks every start body against the vendor's documented
rules, and gives deterministic IDs. Every error body is `{"error": "<what is wrong>"}`, the only
shape the vendor's pages show. The `machine_id` of a start selects a failure (the body must
still be valid, and the key accepted, to reach it):

| `machine_id`            | answer                                                  | creates? |
|-------------------------|---------------------------------------------------------|----------|
| `fail-400`              | 400 "machine_price_id does not belong to machine"       | no       |
| `fail-401`              | 401 "invalid API key"                                   | no       |
| `fail-403`              | 403 "API key lacks the role to deploy on this machine"  | no       |
| `fail-404`, `missing-…` | 404 "machine not found"                                 | no       |
| `fail-429`              | 429 with `Retry-After: 1`, every time                   | no       |
| `fail-500`              | 500 with an HTML error page                             | no       |
| `fail-502`              | 502 with an HTML error page                             | no       |
| `fail-timeout`          | no answer: `ReadTimeout` at once; over HTTP it hangs    | no       |
| `fail-reset`            | `RemoteProtocolError`; over HTTP the socket is aborted  | no       |
| `fail-nojson`           | 200 `text/plain` `OK`                                   | no       |
| `fail-noid`             | 200 `{}`                                                | no       |
| `accept-then-500`       | 500 with an HTML error page                             | yes      |
| `accept-then-timeout`   | no answer, as `fail-timeout`                            | yes      |
| `slow-<seconds>`        | the normal answer, that many seconds late (`slow-2`)    | yes      |
| `fail-later`            | 200; pending, then `STATUS_FAILED` (fail_reason code 3) | yes      |
| `hostile-trickle`       | 200, its body sent one byte a second                    | yes      |
| `hostile-id`            | 200 `{"deployment_id": "<!channel>"}`                   | no       |
| `hostile-status`        | 200; every status answer says `"status": "<!channel>"`  | yes      |
| `hostile-fail-reason`   | 200; pending, then failed, its fail_reason ~5,000 chars | yes      |
|                         | of Slack markup: a disguised link and `<!channel>`      |          |
| `hostile-huge-status`   | 500; every status answer is a 40 MiB JSON body          | yes      |

The `hostile-…` machines play a vendor that cannot be trusted. Streamed answers (a trickle, a
huge body) are recorded in `streams` with how many bytes went out before the client hung up.

Any other machine starts normally: `STATUS_PENDING`, then `STATUS_RUNNING` once `pending_s` has
passed on `clock`. A stop moves it to `STATUS_STOPPING`, then `STATUS_STOPPED` after `pending_s`.

Where the vendor documents nothing, the sandbox chooses, and tests may rely on these choices:

- A start repeating an `external_deployment_id` creates nothing and answers with the existing
  deployment's ID (200), whatever the rest of the body; `accept-then-…` and `slow-…` machines
  misbehave again as on the first start.
- `deployment_id` is a UUID5 of the `external_deployment_id`, else of `start-<n>` (n counts
  creations from 1); `id_factory` replaces that function. An empty external ID counts as none.
- Status lookups accept a `deployment_id` or an `external_deployment_id`; stop only the former.
- Stopping a deployment that is stopping, stopped or failed changes nothing and answers 200.
- The stop body is optional; when sent it is `{"metadata": {string: string}}`.
- Fields the vendor does not list, and `null` values, are refused at every level.
- Unknown paths answer 404, known paths with another method 405; both before the key is checked.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal
from urllib.parse import unquote

import httpx
from aiohttp import web

# Spelled from the vendor's pages, not imported from the client, so the fake checks the client
# instead of agreeing with it.
_DEPLOYMENTS = "/vendors/v1/machines/deployments"
_PROTOCOLS = ("PORT_PROTOCOL_TCP", "PORT_PROTOCOL_HTTPS")
_MAX_PORTS = 100
_MAX_PORT = 65535
_START_FIELDS = frozenset(
    {
        "machine_id",
        "machine_price_id",
        "external_deployment_id",
        "ssh_pub_keys",
        "container_config",
        "metadata",
    }
)
_CONFIG_FIELDS = frozenset(
    {"image", "docker_auth", "ports", "startup_script", "environment_variables"}
)
_DOCKER_AUTH_FIELDS = ("server", "login", "password")
_PORT_FIELDS = frozenset({"host_port", "protocol"})

PENDING = "STATUS_PENDING"
RUNNING = "STATUS_RUNNING"
STOPPING = "STATUS_STOPPING"
STOPPED = "STATUS_STOPPED"
FAILED = "STATUS_FAILED"
FAIL_REASON = {"code": 3, "message": "image pull failed: manifest unknown"}
# What the hostile machines answer: Slack markup where a status or text is expected.
SLACK_MARKUP = "<!channel>"
HOSTILE_FAIL_REASON = {
    "code": 13,
    "message": "<https://evil.example|click here> & more <!channel> " + "spam " * 990,
}
# The trickle's pause between bytes, and the size of a huge status answer.
TRICKLE_PAUSE_S = 1.0
HUGE_ANSWER_BYTES = 40 * 1024 * 1024
_PIECE_BYTES = 64 * 1024

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "sandbox.deploybot.invalid")
_SLOW = re.compile(r"slow-(\d+(?:\.\d+)?)")
_POLL_S = 0.05
_SHUTTING_DOWN = web.AppKey("sandbox_shutting_down", asyncio.Event)
_HTML_500 = "<html><body><h1>500 Internal Server Error</h1></body></html>"
_HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)

Fault = Literal["timeout", "reset"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What the sandbox answers; with a `fault`, nothing is answered and `status` is unused.

    With `pieces`, the body is those pieces instead of `content`, sent `pause_s` apart without
    a `Content-Length`: a trickle, or an answer too large to hold.
    """

    status: int
    content: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    fault: Fault | None = None
    pieces: Callable[[], Iterator[bytes]] | None = None
    pause_s: float = 0.0


@dataclass
class StreamedAnswer:
    """A body the sandbox sent in pieces: how much went out, and how sending ended."""

    path: str
    sent: int = 0
    # None while sending; "complete", or "cut" when the client hung up (or the server stopped).
    ended: Literal["complete", "cut"] | None = None


@dataclass
class SandboxDeployment:
    """A deployment the sandbox created; its status follows from the clock."""

    deployment_id: str
    machine_id: str
    external_deployment_id: str | None
    request: dict[str, Any]
    created_at: float
    fails: bool = False
    stopped_at: float | None = None

    def status(self, now: float, pending_s: float) -> str:
        """The status at `now`: pending, then running (or failed); stopping, then stopped."""
        if self.stopped_at is not None:
            return STOPPED if now >= self.stopped_at + pending_s else STOPPING
        if now < self.created_at + pending_s:
            return PENDING
        return FAILED if self.fails else RUNNING


def _json_reply(status: int, data: object, **options: Any) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json", **options)


def _error(status: int, message: str) -> Reply:
    return _json_reply(status, {"error": message})


def _text_reply(status: int, text: str, content_type: str) -> Reply:
    return Reply(status, text.encode(), f"{content_type}; charset=utf-8")


_NOT_FOUND = _error(404, "not found")
_BAD_KEY = _error(401, "invalid API key")
_NO_ANSWER = Reply(0, fault="timeout")
_RESET = Reply(0, fault="reset")
# Magic machine IDs whose start creates nothing: always the same answer.
_FAILURES: dict[str, Reply] = {
    "fail-400": _error(400, "machine_price_id does not belong to machine"),
    "fail-401": _BAD_KEY,
    "fail-403": _error(403, "API key lacks the role to deploy on this machine"),
    "fail-404": _error(404, "machine not found"),
    "fail-429": _json_reply(429, {"error": "rate limit exceeded"}, headers={"Retry-After": "1"}),
    "fail-500": _text_reply(500, _HTML_500, "text/html"),
    "fail-502": _text_reply(502, _HTML_502, "text/html"),
    "fail-timeout": _NO_ANSWER,
    "fail-reset": _RESET,
    "fail-nojson": _text_reply(200, "OK", "text/plain"),
    "fail-noid": _json_reply(200, {}),
    "hostile-id": _json_reply(200, {"deployment_id": SLACK_MARKUP}),
}
# Magic machine IDs whose start creates the deployment, then answers badly.
_ACCEPTED_THEN: dict[str, Reply] = {
    "accept-then-500": _FAILURES["fail-500"],
    "accept-then-timeout": _NO_ANSWER,
    "hostile-huge-status": _FAILURES["fail-500"],
}
# Magic machine IDs whose deployment fails after pending.
_FAILING: dict[str, dict[str, Any]] = {
    "fail-later": FAIL_REASON,
    "hostile-fail-reason": HOSTILE_FAIL_REASON,
}


@dataclass(frozen=True)
class MagicMachine:
    """A machine ID to try, and the outcome the sandbox gives a start on it."""

    machine_id: str
    outcome: str


# The machine IDs the playground's sidebar offers: the normal case first, then one per outcome
# a user can meet (the table above has every magic ID).
MAGIC_MACHINES: Final = (
    MagicMachine("any-other-id", "started: pending, then running after a few seconds"),
    MagicMachine("fail-later", "started, then failed (image pull) after a few seconds"),
    MagicMachine("fail-400", "400: the request is rejected"),
    MagicMachine("fail-401", "401: the API key is refused"),
    MagicMachine("fail-403", "403: the key lacks the role"),
    MagicMachine("fail-404", "404: the machine is not found"),
    MagicMachine("fail-429", "429: rate-limited, retried, then reported"),
    MagicMachine("fail-500", "500 with an HTML page: outcome checked by external ID"),
    MagicMachine("fail-502", "502: nothing found, retried once"),
    MagicMachine("fail-timeout", "no answer: outcome checked by external ID"),
    MagicMachine("fail-reset", "connection reset: outcome checked by external ID"),
    MagicMachine("fail-nojson", "200 that is not JSON"),
    MagicMachine("accept-then-500", "500, but the deployment was created: found by external ID"),
    MagicMachine("slow-2", "the normal answer, 2 seconds late"),
    MagicMachine("hostile-trickle", "an answer at one byte a second: cut off, then looked up"),
    MagicMachine("hostile-id", "a deployment_id of Slack markup: not taken, looked up"),
    MagicMachine("hostile-status", "a status of Slack markup: never shown"),
    MagicMachine("hostile-fail-reason", "fails with a long fail_reason of Slack markup: escaped"),
    MagicMachine("hostile-huge-status", "500, then 40 MiB status answers: cut off at 1 MiB"),
)


class _InvalidError(Exception):
    """A body the vendor would refuse; the message is the 400's `error`."""


class SandboxVendor:
    """A fake Hiveon vendor API with deterministic IDs, magic failures and a clock-driven lifecycle.

    `api_keys=None` accepts any non-empty key. `latency_s` delays every answer; `pending_s` is
    how long a deployment stays pending (or stopping), measured on `clock`.
    """

    def __init__(
        self,
        *,
        api_keys: Collection[str] | None = None,
        latency_s: float = 0.0,
        pending_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        id_factory: Callable[[str], str] | None = None,
    ) -> None:
        self._api_keys = None if api_keys is None else frozenset(api_keys)
        self._latency_s = latency_s
        self._pending_s = pending_s
        self._clock = clock
        self._id_factory = id_factory or _default_id
        self._deployments: dict[str, SandboxDeployment] = {}
        self._by_external_id: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self.streams: list[StreamedAnswer] = []

    @property
    def start_count(self) -> int:
        """How many deployments the sandbox created."""
        return len(self._deployments)

    def deployments(self) -> list[SandboxDeployment]:
        """Every deployment created, oldest first."""
        return list(self._deployments.values())

    def starts_for(self, external_deployment_id: str) -> int:
        """How many start requests carried this `external_deployment_id`, whatever the answer."""
        return sum(
            1
            for request in self.requests
            if request.method == "POST"
            and request.path == f"{_DEPLOYMENTS}/start"
            and isinstance(request.json, dict)
            and request.json.get("external_deployment_id") == external_deployment_id
        )

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Record a request and decide the reply; both adapters delegate here."""
        headers = {name.lower(): value for name, value in headers.items()}
        path = path.partition("?")[0]
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        self.requests.append(RecordedRequest(method, path, headers, parsed, body))
        reply = self._route(method.upper(), path, headers.get("x-api-key", ""), body)
        return replace(reply, delay_s=reply.delay_s + self._latency_s)

    def transport(self) -> httpx.MockTransport:
        """A transport answering every request in-process, for `HiveonClient(transport=…)`."""
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer an httpx request: the handler for `httpx.MockTransport`."""
        raw_path = request.url.raw_path.decode("ascii")
        reply = self.answer(request.method, raw_path, request.headers, request.content)
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        if reply.fault == "timeout":
            raise httpx.ReadTimeout("sandbox: no answer", request=request)
        if reply.fault == "reset":
            raise httpx.RemoteProtocolError("sandbox: connection reset", request=request)
        headers = {"Content-Type": reply.content_type, **reply.headers}
        if reply.pieces is not None:
            stream = _PieceStream(reply.pieces, reply.pause_s, self._streamed(request.url.path))
            return httpx.Response(reply.status, headers=headers, stream=stream)
        return httpx.Response(reply.status, headers=headers, content=reply.content)

    def aiohttp_app(self) -> web.Application:
        """The same behaviour over real HTTP, for `aiohttp.web.AppRunner` on loopback."""
        app = web.Application()
        app[_SHUTTING_DOWN] = asyncio.Event()
        app.router.add_route("*", "/{path:.*}", self._serve)
        app.on_shutdown.append(_release_hung_requests)
        return app

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        reply = self.answer(request.method, request.raw_path, request.headers, await request.read())
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        if reply.fault is not None:
            if reply.fault == "timeout":
                await _hang(request)
            # Reset, or a hung request: close the socket with no answer at all.
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        headers = {"Content-Type": reply.content_type, **reply.headers}
        if reply.pieces is not None:
            return await self._serve_pieces(
                request, headers, reply.status, reply.pieces, reply.pause_s
            )
        return web.Response(status=reply.status, body=reply.content, headers=headers)

    async def _serve_pieces(
        self,
        request: web.Request,
        headers: dict[str, str],
        status: int,
        pieces: Callable[[], Iterator[bytes]],
        pause_s: float,
    ) -> web.StreamResponse:
        """Send a body piece by piece, chunked, until it ends or the client hangs up."""
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        streamed = self._streamed(request.path)
        ended: Literal["complete", "cut"] = "cut"
        try:
            for index, piece in enumerate(pieces()):
                if index and pause_s > 0:
                    await asyncio.sleep(pause_s)
                if request.app[_SHUTTING_DOWN].is_set():
                    return response
                await response.write(piece)
                streamed.sent += len(piece)
            await response.write_eof()
            ended = "complete"
        except ConnectionError:
            pass  # the client hung up (reset, broken pipe, connection lost): `sent` says when
        finally:
            streamed.ended = ended
        return response

    def _streamed(self, path: str) -> StreamedAnswer:
        streamed = StreamedAnswer(path.partition("?")[0])
        self.streams.append(streamed)
        return streamed

    def _route(self, method: str, path: str, api_key: str, body: bytes) -> Reply:
        if not path.startswith(f"{_DEPLOYMENTS}/"):
            return _NOT_FOUND
        target: Callable[[], Reply]
        match path.removeprefix(f"{_DEPLOYMENTS}/").split("/"):
            case ["start"]:
                allowed, target = "POST", lambda: self._start(body)
            case [deployment_id] if deployment_id:
                allowed, target = "GET", lambda: self._status(unquote(deployment_id))
            case [deployment_id, "stop"] if deployment_id:
                allowed, target = "POST", lambda: self._stop(unquote(deployment_id), body)
            case _:
                return _NOT_FOUND
        if method != allowed:
            return replace(_error(405, "method not allowed"), headers={"Allow": allowed})
        if not api_key or (self._api_keys is not None and api_key not in self._api_keys):
            return _BAD_KEY
        return target()

    def _start(self, body: bytes) -> Reply:
        try:
            request = _checked_start(body)
        except _InvalidError as exc:
            return _error(400, str(exc))
        machine_id: str = request["machine_id"]
        external_id: str | None = request.get("external_deployment_id") or None
        deployment_id = self._by_external_id.get(external_id) if external_id else None
        if deployment_id is None:
            magic = "fail-404" if machine_id.startswith("missing-") else machine_id
            if magic in _FAILURES:
                return _FAILURES[magic]
            fails = machine_id in _FAILING
            deployment_id = self._create(request, external_id, fails=fails).deployment_id
        if machine_id in _ACCEPTED_THEN:
            return _ACCEPTED_THEN[machine_id]
        slow = _SLOW.fullmatch(machine_id)
        delay_s = float(slow.group(1)) if slow else 0.0
        reply = _json_reply(200, {"deployment_id": deployment_id}, delay_s=delay_s)
        if machine_id == "hostile-trickle":
            content = reply.content
            reply = replace(reply, pieces=lambda: _bytes_of(content), pause_s=TRICKLE_PAUSE_S)
        return reply

    def _create(
        self, request: dict[str, Any], external_id: str | None, *, fails: bool
    ) -> SandboxDeployment:
        deployment_id = self._id_factory(external_id or f"start-{self.start_count + 1}")
        deployment = SandboxDeployment(
            deployment_id=deployment_id,
            machine_id=request["machine_id"],
            external_deployment_id=external_id,
            request=request,
            created_at=self._clock(),
            fails=fails,
        )
        self._deployments[deployment_id] = deployment
        if external_id is not None:
            self._by_external_id[external_id] = deployment_id
        return deployment

    def _find(self, some_id: str) -> SandboxDeployment | None:
        """The deployment with this `deployment_id`, else with this `external_deployment_id`."""
        by_external_id = self._deployments.get(self._by_external_id.get(some_id, ""))
        return self._deployments.get(some_id, by_external_id)

    def _status(self, deployment_or_external_id: str) -> Reply:
        deployment = self._find(deployment_or_external_id)
        if deployment is None:
            return _error(404, "deployment not found")
        status = deployment.status(self._clock(), self._pending_s)
        data: dict[str, Any] = {
            "deployment_id": deployment.deployment_id,
            "machine_id": deployment.machine_id,
            "status": status,
            "metadata": deployment.request.get("metadata", {}),
        }
        if deployment.external_deployment_id is not None:
            data["external_deployment_id"] = deployment.external_deployment_id
        if status == FAILED:
            data["fail_reason"] = dict(_FAILING[deployment.machine_id])
        if deployment.machine_id == "hostile-status":
            data["status"] = SLACK_MARKUP
        if deployment.machine_id == "hostile-huge-status":
            return Reply(200, pieces=lambda: _huge_json(data))
        return _json_reply(200, data)

    def _stop(self, deployment_id: str, body: bytes) -> Reply:
        deployment = self._deployments.get(deployment_id)
        if deployment is None:
            return _error(404, "deployment not found")
        try:
            if body:
                stop = _fields(_parsed(body), "body", {"metadata"})
                _string_map(stop, "metadata", "")
        except _InvalidError as exc:
            return _error(400, str(exc))
        now = self._clock()
        if deployment.status(now, self._pending_s) in {PENDING, RUNNING}:
            deployment.stopped_at = now
        return _json_reply(200, {"deployment_id": deployment.deployment_id})


class _PieceStream(httpx.AsyncByteStream):
    """A streamed reply for `httpx.MockTransport`, recording what the client took."""

    def __init__(
        self, pieces: Callable[[], Iterator[bytes]], pause_s: float, streamed: StreamedAnswer
    ) -> None:
        self._pieces = pieces
        self._pause_s = pause_s
        self._streamed = streamed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, piece in enumerate(self._pieces()):
            if index and self._pause_s > 0:
                await asyncio.sleep(self._pause_s)
            self._streamed.sent += len(piece)
            yield piece
        self._streamed.ended = "complete"

    async def aclose(self) -> None:
        if self._streamed.ended is None:
            self._streamed.ended = "cut"


def _bytes_of(content: bytes) -> Iterator[bytes]:
    """`content` one byte at a time."""
    return (content[index : index + 1] for index in range(len(content)))


def _huge_json(data: dict[str, Any]) -> Iterator[bytes]:
    """`data` as a JSON object padded to `HUGE_ANSWER_BYTES`, in pieces."""
    head = json.dumps(data)[:-1].encode() + b', "padding": "'
    tail = b'"}'
    yield head
    left = HUGE_ANSWER_BYTES - len(head) - len(tail)
    block = b"x" * _PIECE_BYTES
    while left > 0:
        yield block[:left]
        left -= len(block)
    yield tail


async def _hang(request: web.Request) -> None:
    """Answer nothing until the client gives up or the server shuts down."""
    # Polled: aiohttp does not cancel a handler when its client goes away (by default).
    while not request.app[_SHUTTING_DOWN].is_set():
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(_POLL_S)


async def _release_hung_requests(app: web.Application) -> None:
    app[_SHUTTING_DOWN].set()


def _default_id(key: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, key))


def _parsed(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise _InvalidError("body must be a JSON object") from exc


def _checked_start(body: bytes) -> dict[str, Any]:
    """The start body, checked against the vendor's documented rules; raises `_InvalidError`."""
    start = _fields(_parsed(body), "body", _START_FIELDS)
    _string(start, "machine_id", "", required=True)
    _string(start, "machine_price_id", "", required=True)
    _string(start, "external_deployment_id", "")
    _string_list(start, "ssh_pub_keys", "")
    _string_map(start, "metadata", "")
    if "container_config" not in start:
        raise _InvalidError("container_config is required")
    config = _fields(start["container_config"], "container_config", _CONFIG_FIELDS)
    where = "container_config."
    _string(config, "image", where, required=True)
    _string(config, "startup_script", where)
    _string_map(config, "environment_variables", where)
    if "docker_auth" in config:
        auth = _fields(config["docker_auth"], f"{where}docker_auth", _DOCKER_AUTH_FIELDS)
        for key in _DOCKER_AUTH_FIELDS:
            _string(auth, key, f"{where}docker_auth.")
    if "ports" in config:
        _check_ports(config["ports"])
    return start


def _check_ports(ports: object) -> None:
    if not isinstance(ports, list):
        raise _InvalidError("container_config.ports must be an array")
    if len(ports) > _MAX_PORTS:
        raise _InvalidError(f"container_config.ports must have at most {_MAX_PORTS} items")
    for index, item in enumerate(ports):
        name = f"container_config.ports[{index}]"
        port = _fields(item, name, _PORT_FIELDS)
        host_port = port.get("host_port")
        # JSON true is a Python bool, which is an int: refuse it explicitly.
        if isinstance(host_port, bool) or not isinstance(host_port, int):
            raise _InvalidError(f"{name}.host_port must be an integer from 1 to {_MAX_PORT}")
        if not 1 <= host_port <= _MAX_PORT:
            raise _InvalidError(f"{name}.host_port must be an integer from 1 to {_MAX_PORT}")
        if port.get("protocol") not in _PROTOCOLS:
            raise _InvalidError(f"{name}.protocol must be one of {', '.join(_PROTOCOLS)}")


def _fields(value: object, name: str, allowed: Collection[str]) -> dict[str, Any]:
    """`value` as a JSON object holding only `allowed` keys, none of them null."""
    if not isinstance(value, dict):
        raise _InvalidError(f"{name} must be a JSON object")
    prefix = "" if name == "body" else f"{name}."
    for key, item in value.items():
        if key not in allowed:
            raise _InvalidError(f"unknown field {prefix}{key}")
        if item is None:
            raise _InvalidError(f"{prefix}{key} must not be null")
    return value


def _string(fields: dict[str, Any], key: str, where: str, *, required: bool = False) -> None:
    if key not in fields:
        if required:
            raise _InvalidError(f"{where}{key} is required")
        return
    value = fields[key]
    if not isinstance(value, str) or (required and not value):
        raise _InvalidError(f"{where}{key} must be a {'non-empty ' if required else ''}string")


def _string_list(fields: dict[str, Any], key: str, where: str) -> None:
    value = fields.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _InvalidError(f"{where}{key} must be an array of strings")


def _string_map(fields: dict[str, Any], key: str, where: str) -> None:
    value = fields.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise _InvalidError(f"{where}{key} must be an object of string values")
