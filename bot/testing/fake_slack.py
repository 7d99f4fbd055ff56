"""The Slack stand-in on loopback, recording every call and injecting faults, for tests.

`FakeSlack` serves one `SlackStandIn` (the model the playground runs in-process) over HTTP, from
a thread of its own with its own event loop, so sync tests, async tests and a separate app
process can all talk to it. It implements no Web API method itself: every call is recorded as a
`Call` and answered by the model, unless a fault programmed by the test answers first (HTTP 429
with `Retry-After`, `{"ok": false, "error": …}`, a failing response_url) or holds the answer
back (a delay). The model runs with made-up IDs: whatever user, channel, trigger_id, view or
response_url a test makes up exists, and any `xoxb-` token is the bot's.

    with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
        ...
        [call] = slack.wait_for("chat.postMessage")
        assert call.params["channel"] == "C111"

Socket Mode works as Slack's does: `apps.connections.open`, called with an app-level token
(`xapp-…`), answers a `ws://` URL on the same server; a client connecting there gets `hello`,
then whatever envelopes the test pushes, and its acks are kept for the test to read.

    slack.socket_connected()
    slack.socket_send({"envelope_id": "e1", "type": "slash_commands", "payload": {...}})
    assert slack.socket_wait_ack("e1") == {"envelope_id": "e1"}

OAuth installs work too: `oauth.v2.access`, called with the app's client ID and secret (HTTP
Basic auth, as slack_sdk sends them), exchanges a code the test programmed for a bot token.

    slack.add_oauth_code("code-1", team_id="T222", bot_token="xoxb-t222")
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, MutableSet
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self, TypeAlias

from aiohttp import WSCloseCode, WSMsgType, web

from bot.testing.loopback import LoopbackServer
from bot.testing.slack_requests import API_APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID
from bot.testing.slack_standin import (
    API_PATH,
    HOOK_PATH,
    SOCKET_PATH,
    SlackError,
    SlackStandIn,
    Workspace,
    read_params,
)

TEAM_NAME: Final = "Test Team"
CLIENT_ID: Final = "111.222"
CLIENT_SECRET: Final = "test-client-secret"  # noqa: S105 — the tests' made-up app secret
# The tests' workspace. Its bot lacks chat:write.public, so a public channel it is not in
# (`not_joined`) refuses its posts until it joins, as the bot's fallbacks need.
WORKSPACE: Final = Workspace(
    team_id=TEAM_ID,
    team_name=TEAM_NAME,
    team_domain=TEAM_DOMAIN,
    app_id=API_APP_ID,
    bot_id=BOT_ID,
    bot_user_id=BOT_USER_ID,
    bot_name="deploybot",
    url=f"https://{TEAM_DOMAIN}.slack.com/",
    scopes=frozenset(
        {"commands", "chat:write", "channels:join", "im:write", "users:read", "usergroups:read"}
    ),
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
)
# Message timestamps count up from 1700000000.000100 in steps of 100 µs.
_FIRST_TS_MICROS: Final = 1_700_000_000_000_000
_TS_STEP_MICROS: Final = 100
_POLL_INTERVAL: Final = 0.01
_SOCKET_SEND_TIMEOUT: Final = 5.0

Params: TypeAlias = dict[str, Any]
Message: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request received: the method (or `response_url:<name>`), params, headers, arrival."""

    method: str
    params: Params
    headers: dict[str, str]  # names in lower case
    at: float  # time.time() on arrival


@dataclass(frozen=True)
class _Answer:
    """What goes back: a JSON object, or plain text for response_url posts."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> web.Response:
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, headers=self.headers)
        return web.json_response(self.body, status=self.status, headers=self.headers)


@dataclass(frozen=True)
class _Socket:
    """One open Socket Mode connection, numbered from 1, and the event loop that serves it."""

    number: int
    ws: web.WebSocketResponse
    loop: asyncio.AbstractEventLoop


@dataclass
class _Rule:
    """A programmed fault for the next matching calls; `remaining=None` means every call.

    With an `answer`, that is what the call gets instead of the model's; with `delay_s` only,
    the model's answer leaves that much later.
    """

    method: str
    remaining: int | None
    where: Callable[[Params], bool] | None
    answer: _Answer | None = None
    delay_s: float = 0.0

    def matches(self, method: str, params: Params) -> bool:
        return self.method == method and (self.where is None or self.where(params))


class FakeSlack:
    """Slack's Web API and response_urls on 127.0.0.1, recording calls and injecting faults."""

    def __init__(self) -> None:
        # One condition guards the model and everything below, and wakes `wait_for`.
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._rules: list[_Rule] = []
        # Timestamps go on counting across `reset`, so no two messages ever share one.
        self._ts_micros = itertools.count(_FIRST_TS_MICROS + _TS_STEP_MICROS, _TS_STEP_MICROS)
        self._model: SlackStandIn | None = None
        self._sockets: list[_Socket] = []
        self._socket_counter = itertools.count(1)
        self._socket_received: list[dict[str, Any]] = []
        self._server = LoopbackServer(self._app, name="fake-slack")

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._server.__enter__()
        with self._lock:
            self._model = self._new_model()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.__exit__(exc_type, exc, traceback)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", f"{API_PATH}{{method}}", self._handle_api)
        app.router.add_post(f"{HOOK_PATH}{{name}}", self._handle_response_url)
        app.router.add_get(SOCKET_PATH, self._handle_socket)
        app.on_shutdown.append(self._close_sockets)
        return app

    def _new_model(self) -> SlackStandIn:
        return SlackStandIn(
            WORKSPACE,
            api_origin=self._server.origin,
            made_up_ids=True,
            timestamps=self._next_ts,
        )

    @property
    def url(self) -> str:
        """The Web API base URL for slack_sdk clients, like `http://127.0.0.1:PORT/slack-api/`."""
        return f"{self._server.origin}{API_PATH}"

    def response_url(self, name: str = "cmd") -> str:
        """A response_url whose posts are recorded as `Call(method="response_url:<name>")`."""
        return f"{self._server.origin}{HOOK_PATH}{name}"

    # -- the workspace, as tests set it up --------------------------------------------------

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        """Fields merged over the default `users.info` answer, by user id."""
        return self._running().user_fields

    @property
    def usergroups(self) -> dict[str, dict[str, Any]]:
        """User groups by ID, `{"handle": …, "name": …, "users": [...]}`, for `usergroups.*`."""
        return self._running().usergroups

    @property
    def private_channels(self) -> MutableSet[str]:
        """Private channels the bot is not in: posting answers `channel_not_found`."""
        return _NotIn(self._lock, self._running, private=True)

    @property
    def not_joined(self) -> MutableSet[str]:
        """Public channels the bot is not in: posting answers `not_in_channel` until joined."""
        return _NotIn(self._lock, self._running, private=False)

    def add_oauth_code(  # noqa: PLR0913 — the install's fields, all keyword-only
        self,
        code: str,
        *,
        team_id: str,
        bot_token: str,
        installer: str = "U111",
        enterprise_id: str | None = None,
        org_wide: bool = False,
    ) -> None:
        """Let `oauth.v2.access` exchange `code` (once) for an install of this workspace or org."""
        with self._lock:
            self._running().add_oauth_code(
                code,
                team_id=team_id,
                bot_token=bot_token,
                installer=installer,
                enterprise_id=enterprise_id,
                org_wide=org_wide,
            )

    # -- what tests read -------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every call so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one method, oldest first."""
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until `count` matching calls arrived and return them all; AssertionError if not.

        This blocks the calling thread: from a coroutine whose event loop also runs the app,
        use `async_wait_for` instead.
        """
        with self._lock:
            arrived = self._lock.wait_for(
                lambda: len(self._matching(method, where)) >= count, timeout=timeout
            )
            if not arrived:
                raise AssertionError(self._timeout_message(method, count, timeout, where))
            return self._matching(method, where)

    async def async_wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - mirrors wait_for; a timeout names the calls seen
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Like `wait_for`, but polls with `asyncio.sleep` so the caller's event loop runs on."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                matching = self._matching(method, where)
                if len(matching) >= count:
                    return matching
                if time.monotonic() >= deadline:
                    raise AssertionError(self._timeout_message(method, count, timeout, where))
            await asyncio.sleep(_POLL_INTERVAL)

    def messages(self, channel: str) -> list[Message]:
        """The messages shown in a channel, oldest first: no thread replies unless broadcast."""
        with self._lock:
            return self._running().history(channel)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies in the thread under message `ts`, oldest first, the parent left out."""
        with self._lock:
            return self._running().replies(channel, ts)

    def message(self, channel: str, ts: str) -> Message | None:
        """One message of a channel (a thread reply too), as Slack stores it."""
        with self._lock:
            return self._running().message(channel, ts)

    def post_as(self, user: str, channel: str, text: str) -> Message:
        """Something a person typed in a channel: a plain message, as Slack stores it."""
        with self._lock:
            return self._running().post_as(user, channel, text)

    def reset(self) -> None:
        """Forget calls, messages, programmed faults, users and channel membership."""
        with self._lock:
            self._calls.clear()
            self._rules.clear()
            self._socket_received.clear()
            self._model = self._new_model()

    # -- Socket Mode -----------------------------------------------------------------------

    def socket_connected(self, *, after: int = 0, timeout: float = 10.0) -> int:
        """Block until a Socket Mode connection numbered above `after` is open and greeted, and
        return the newest one's number; AssertionError if none comes."""

        def newest() -> int:
            return self._sockets[-1].number if self._sockets else 0

        with self._lock:
            if not self._lock.wait_for(lambda: newest() > after, timeout=timeout):
                opened = len(self._matching("apps.connections.open", None))
                raise AssertionError(
                    f"no Socket Mode connection after #{after} within {timeout}s "
                    f"(apps.connections.open was called {opened} time(s))"
                )
            return newest()

    def socket_send(self, envelope: dict[str, Any]) -> None:
        """Send one message (an envelope, a `disconnect`) down the newest Socket Mode connection.

        Call it from a test's thread, never from the fake's own event loop.
        """
        with self._lock:
            if not self._sockets:
                raise AssertionError("no Socket Mode connection is open")
            socket = self._sockets[-1]
        sent = asyncio.run_coroutine_threadsafe(socket.ws.send_json(envelope), socket.loop)
        sent.result(timeout=_SOCKET_SEND_TIMEOUT)

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to reconnect, as Slack does every few hours."""
        self.socket_send(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )

    def socket_wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the client acks `envelope_id` and return the ack; AssertionError if not."""
        with self._lock:
            ack = self._lock.wait_for(lambda: self._ack(envelope_id), timeout=timeout)
            if ack is None:
                raise AssertionError(
                    f"no ack for envelope {envelope_id} within {timeout}s; "
                    f"received: {self._socket_received}"
                )
            return copy.deepcopy(ack)

    def _ack(self, envelope_id: str) -> dict[str, Any] | None:
        for message in self._socket_received:
            if message.get("envelope_id") == envelope_id:
                return message
        return None

    # -- faults tests program --------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str = "not_in_channel",
        *,
        times: int | None = 1,
        where: Callable[[Params], bool] | None = None,
    ) -> None:
        """Answer the next `times` matching calls (all if None) with `{"ok": false, "error"}`."""
        answer = _Answer(200, SlackError(error).to_json())
        self._add_rule(_Rule(method, times, where, answer=answer))

    def rate_limit(
        self,
        method: str,
        *,
        times: int | None = 1,
        retry_after: int = 1,
        where: Callable[[Params], bool] | None = None,
    ) -> None:
        """Answer the next `times` matching calls with HTTP 429, `Retry-After`, `ratelimited`."""
        answer = _Answer(
            429, SlackError("ratelimited").to_json(), {"Retry-After": str(retry_after)}
        )
        self._add_rule(_Rule(method, times, where, answer=answer))

    def delay(
        self,
        method: str,
        seconds: float,
        *,
        times: int | None = 1,
        where: Callable[[Params], bool] | None = None,
    ) -> None:
        """Answer the next `times` matching calls `seconds` late (what the model did at once)."""
        self._add_rule(_Rule(method, times, where, delay_s=seconds))

    def fail_response_url(
        self, name: str, *, status: int = 404, body: str = "expired_url", times: int | None = 1
    ) -> None:
        """Answer the next `times` posts to `response_url(name)` with this status and text."""
        self._add_rule(_Rule(f"response_url:{name}", times, None, answer=_Answer(status, body)))

    def _add_rule(self, rule: _Rule) -> None:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError(
                f"times must be at least 1 (or None for every call), not {rule.remaining}"
            )
        with self._lock:
            self._rules.append(rule)

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, unreadable = await _params_of(request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        authorization = headers.get("authorization", "")
        with self._lock:
            self._calls.append(Call(method, params, headers, time.time()))
            model = self._running()
            refused = unreadable or model.refusal(method, params, authorization)
            fault = None if refused else self._take_rule(method, params)
            if refused is not None:
                answer = _Answer(200, refused)
            elif fault is not None and fault.answer is not None:
                answer = fault.answer
            else:
                answer = _Answer(200, model.call(method, params, authorization))
            self._lock.notify_all()
        if fault is not None:
            await asyncio.sleep(fault.delay_s)
        return answer.to_response()

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        params, unreadable = await _params_of(request, body)
        headers = {key.lower(): value for key, value in request.headers.items()}
        method = f"response_url:{name}"
        with self._lock:
            self._calls.append(Call(method, params, headers, time.time()))
            fault = None if unreadable else self._take_rule(method, params)
            if unreadable:
                answer = _Answer(400, "invalid_payload")
            elif fault is not None and fault.answer is not None:
                answer = fault.answer
            else:
                answer = _Answer(*self._running().post_to_hook(name, body))
            self._lock.notify_all()
        if fault is not None:
            await asyncio.sleep(fault.delay_s)
        return answer.to_response()

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        """A Socket Mode connection: `hello`, then pushed envelopes out and acks in."""
        with self._lock:
            model = self._running()
            accepted = model.socket_accepts(request.query.get("ticket", ""))
            hello = model.socket_hello()
        if not accepted:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse()  # autoping answers the client's pings with pongs
        await ws.prepare(request)
        await ws.send_json(hello)
        with self._lock:
            socket = _Socket(next(self._socket_counter), ws, asyncio.get_running_loop())
            self._sockets.append(socket)
            self._lock.notify_all()
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._receive_socket_message(message.data)
        finally:
            with self._lock:
                self._sockets.remove(socket)
                self._lock.notify_all()
        return ws

    def _receive_socket_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        with self._lock:
            # Anything that is no JSON object is kept as it came, for the timeout message.
            self._socket_received.append(message if isinstance(message, dict) else {"raw": text})
            self._lock.notify_all()

    async def _close_sockets(self, _app: web.Application) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for socket in sockets:
            await socket.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # -- with the lock held ------------------------------------------------------------------

    def _running(self) -> SlackStandIn:
        if self._model is None:
            raise RuntimeError("the fake Slack is not running: use it as a context manager")
        return self._model

    def _next_ts(self) -> str:
        micros = next(self._ts_micros)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _take_rule(self, method: str, params: Params) -> _Rule | None:
        for rule in self._rules:
            if rule.matches(method, params):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule
        return None

    def _matching(self, method: str, where: Callable[[Call], bool] | None) -> list[Call]:
        return [c for c in self._calls if c.method == method and (where is None or where(c))]

    def _timeout_message(
        self, method: str, count: int, timeout: float, where: Callable[[Call], bool] | None
    ) -> str:
        condition = " matching `where`" if where else ""
        seen = len(self._matching(method, where))
        methods = [call.method for call in self._calls]
        return (
            f"expected {count} call(s) to {method}{condition} within {timeout}s, saw {seen}; "
            f"all calls: {methods}"
        )


class _NotIn(MutableSet[str]):
    """The channels of one kind (public or private) the bot is not in, as a set tests add to."""

    def __init__(
        self,
        lock: threading.Condition,
        model: Callable[[], SlackStandIn],
        *,
        private: bool,
    ) -> None:
        self._lock = lock
        self._model = model
        self._private = private

    def __contains__(self, channel_id: object) -> bool:
        with self._lock:
            channel = self._model().channels.get(str(channel_id))
            return (
                channel is not None
                and channel.is_private == self._private
                and not channel.bot_is_member
            )

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            channels = list(self._model().channels)
        return iter([channel_id for channel_id in channels if channel_id in self])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def add(self, value: str) -> None:
        """The bot is not in channel `value`, which is public or private as this set says."""
        with self._lock:
            self._model().set_membership(value, is_private=self._private, bot_is_member=False)

    def discard(self, value: str) -> None:
        """The bot is in channel `value` after all."""
        if value in self:
            with self._lock:
                self._model().set_membership(value, is_private=self._private, bot_is_member=True)


async def _params_of(
    request: web.Request, body: bytes | None = None
) -> tuple[Params, dict[str, Any] | None]:
    """The call's arguments as the model reads them (recorded even when unreadable), and the
    answer Slack gives a body it cannot read, if so."""
    raw = await request.read() if body is None else body
    try:
        return read_params(request.query, request.content_type, raw), None
    except SlackError as exc:
        return {}, exc.to_json()
