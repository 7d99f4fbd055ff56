"""A fake Slack Web API, response_url endpoint and Socket Mode server, served on loopback.

`FakeSlack` runs an aiohttp server in a thread of its own, with its own event loop, so sync
tests, async tests and a separate app process can all talk to it. It answers in Slack's wire
format (HTTP 200 with `{"ok": false, "error": …}` for API errors, HTTP 429 with `Retry-After`
for rate limits) and records every request as a `Call`, so tests assert on what Slack received.

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

import asyncio
import base64
import copy
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeAlias
from urllib.parse import parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

from bot.testing.loopback import LoopbackServer

TEAM_ID = "T111"
TEAM_NAME = "Test Team"
TEAM_DOMAIN = "test-team"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A111"
CLIENT_ID = "111.222"
CLIENT_SECRET = "test-client-secret"  # noqa: S105 — the tests' made-up app secret

# Fields Slack parses as JSON text when they arrive as form fields (or as strings in JSON).
_JSON_FIELDS = frozenset(
    {"attachments", "blocks", "metadata", "unfurls", "user_auth_blocks", "view"}
)
# Message timestamps count up from 1700000000.000100 in steps of 100 µs.
_FIRST_TS_MICROS = 1_700_000_000_000_000
_TS_STEP_MICROS = 100
_POLL_INTERVAL = 0.01
# apps.connections.open takes the app-level token; every other method takes the bot token.
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# oauth.v2.access takes the app's client credentials instead of a token.
_CLIENT_CREDENTIAL_METHODS = frozenset({"oauth.v2.access"})
_TOKEN_PREFIXES = ("Bearer xoxb-", "Bearer xapp-")
_SOCKET_PATH = "/link/"
_SOCKET_SEND_TIMEOUT = 5.0

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
    """What the fake sends back: a JSON object, or plain text for response_url posts."""

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
    """A programmed answer for the next matching calls; `remaining=None` means every call."""

    method: str
    answer: _Answer
    remaining: int | None
    where: Callable[[Params], bool] | None

    def matches(self, method: str, params: Params) -> bool:
        return self.method == method and (self.where is None or self.where(params))


def _error(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error}


def _truthy(value: object) -> bool:
    # Form bodies carry booleans as "true"/"1"; slack_sdk's query params carry "1"/"0".
    return value is True or value in {"1", "true"}


def _decode_field(name: str, value: object) -> object:
    if name not in _JSON_FIELDS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> Params | None:
    """Query string merged with the body, JSON or form; None when a JSON body is malformed."""
    params: Params = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        params.update(body)
    elif request.content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(await request.text(), keep_blank_values=True))
    elif request.content_type.startswith("multipart/"):
        form = await request.post()
        params.update({name: value for name, value in form.items() if isinstance(value, str)})
    return {name: _decode_field(name, value) for name, value in params.items()}


class FakeSlack:
    """Slack's Web API and response_urls on 127.0.0.1, recording calls and simulating failures."""

    def __init__(self) -> None:
        # One condition guards all state below and wakes `wait_for` when a call arrives.
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._rules: list[_Rule] = []
        self._messages: dict[str, list[Message]] = {}
        self._direct_channels: dict[str, str] = {}
        self._view_ids_by_external_id: dict[str, str] = {}
        self._ts_counter = itertools.count(1)
        self._view_counter = itertools.count(1)
        self._hash_counter = itertools.count(1)
        self._home_view_ids: dict[str, str] = {}
        self._tickets: set[str] = set()
        self._sockets: list[_Socket] = []
        self._socket_counter = itertools.count(1)
        self._socket_received: list[dict[str, Any]] = []
        self._server = LoopbackServer(self._app, name="fake-slack")
        self.users: dict[str, dict[str, Any]] = {}
        """Fields merged over the default `users.info` answer, by user id."""
        self.private_channels: set[str] = set()
        """Private channels the bot is not in: posting answers `channel_not_found`."""
        self.not_joined: set[str] = set()
        """Public channels the bot is not in: posting answers `not_in_channel` until joined."""
        self.usergroups: dict[str, dict[str, Any]] = {}
        """User groups by ID, `{"handle": …, "name": …, "users": [...]}`, for `usergroups.*`."""
        self._oauth_codes: dict[str, dict[str, Any]] = {}
        self._methods: dict[str, Callable[[Params], dict[str, Any]]] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._server.__enter__()
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
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{name}", self._handle_response_url)
        app.router.add_get(_SOCKET_PATH, self._handle_socket)
        app.on_shutdown.append(self._close_sockets)
        return app

    @property
    def url(self) -> str:
        """The Web API base URL for slack_sdk clients, like `http://127.0.0.1:PORT/api/`."""
        return f"{self._origin}/api/"

    def response_url(self, name: str = "cmd") -> str:
        """A response_url whose posts are recorded as `Call(method="response_url:<name>")`."""
        return f"{self._origin}/response/{name}"

    @property
    def _origin(self) -> str:
        return self._server.origin

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
            return [
                copy.deepcopy(message)
                for message in self._messages.get(channel, [])
                if message.get("thread_ts", message["ts"]) == message["ts"]
                or message.get("subtype") == "thread_broadcast"
            ]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies in the thread under message `ts`, oldest first, the parent left out."""
        with self._lock:
            return [
                copy.deepcopy(message)
                for message in self._messages.get(channel, [])
                if message.get("thread_ts") == ts and message["ts"] != ts
            ]

    def reset(self) -> None:
        """Forget calls, messages, programmed failures, users and channel membership."""
        with self._lock:
            self._calls.clear()
            self._rules.clear()
            self._messages.clear()
            self._direct_channels.clear()
            self._view_ids_by_external_id.clear()
            self._home_view_ids.clear()
            self._socket_received.clear()
            self.users.clear()
            self.private_channels.clear()
            self.not_joined.clear()
            self.usergroups.clear()
            self._oauth_codes.clear()

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

    # -- what tests program ----------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str = "not_in_channel",
        *,
        times: int | None = 1,
        where: Callable[[Params], bool] | None = None,
    ) -> None:
        """Answer the next `times` matching calls (all if None) with `{"ok": false, "error"}`."""
        self._add_rule(method, _Answer(200, _error(error)), times, where)

    def rate_limit(
        self,
        method: str,
        *,
        times: int | None = 1,
        retry_after: int = 1,
        where: Callable[[Params], bool] | None = None,
    ) -> None:
        """Answer the next `times` matching calls with HTTP 429, `Retry-After`, `ratelimited`."""
        answer = _Answer(429, _error("ratelimited"), {"Retry-After": str(retry_after)})
        self._add_rule(method, answer, times, where)

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
        install = {
            "access_token": bot_token,
            "scope": "commands,chat:write,users:read",
            "bot_user_id": BOT_USER_ID,
            "authed_user": {"id": installer},
            "team": None if org_wide else {"id": team_id, "name": f"Team {team_id}"},
            "enterprise": {"id": enterprise_id, "name": "Org"} if enterprise_id else None,
            "is_enterprise_install": org_wide,
        }
        with self._lock:
            self._oauth_codes[code] = install

    def fail_response_url(
        self, name: str, *, status: int = 404, body: str = "expired_url", times: int | None = 1
    ) -> None:
        """Answer the next `times` posts to `response_url(name)` with this status and text."""
        self._add_rule(f"response_url:{name}", _Answer(status, body), times, None)

    def _add_rule(
        self,
        method: str,
        answer: _Answer,
        times: int | None,
        where: Callable[[Params], bool] | None,
    ) -> None:
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 (or None for every call), not {times}")
        with self._lock:
            self._rules.append(_Rule(method, answer, times, where))

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
            self._calls.append(Call(method, params or {}, headers, time.time()))
            answer = self._answer_api(method, params, headers.get("authorization", ""))
            self._lock.notify_all()
        return answer.to_response()

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        method = f"response_url:{request.match_info['name']}"
        params = await _read_params(request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
            self._calls.append(Call(method, params or {}, headers, time.time()))
            if params is None:
                answer = _Answer(400, "invalid_payload")
            else:
                answer = self._take_rule(method, params) or _Answer(200, "ok")
            self._lock.notify_all()
        return answer.to_response()

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        """A Socket Mode connection: `hello`, then pushed envelopes out and acks in."""
        with self._lock:
            issued = request.query.get("ticket") in self._tickets
        if not issued:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse()  # autoping answers the client's pings with pongs
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
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

    def _answer_api(self, method: str, params: Params | None, authorization: str) -> _Answer:
        if params is None:
            return _Answer(200, _error("invalid_json"))
        if method in _CLIENT_CREDENTIAL_METHODS:
            programmed = self._take_rule(method, params)
            return programmed or _Answer(200, self._oauth_v2_access(params, authorization))
        if not authorization:
            return _Answer(200, _error("not_authed"))
        wanted = "Bearer xapp-" if method in _APP_TOKEN_METHODS else "Bearer xoxb-"
        if not authorization.startswith(wanted):
            wrong_kind = authorization.startswith(_TOKEN_PREFIXES)
            return _Answer(200, _error("not_allowed_token_type" if wrong_kind else "invalid_auth"))
        if programmed := self._take_rule(method, params):
            return programmed
        answer_method = self._methods.get(method)
        return _Answer(200, answer_method(params) if answer_method else {"ok": True})

    def _take_rule(self, method: str, params: Params) -> _Answer | None:
        for rule in self._rules:
            if rule.matches(method, params):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule.answer
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

    # -- Web API methods (called with the lock held) ---------------------------------------

    def _next_ts(self) -> str:
        micros = _FIRST_TS_MICROS + next(self._ts_counter) * _TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _conversation(self, channel: object) -> str | None:
        """The channel id a message goes to: a user id means the DM with that user."""
        if not isinstance(channel, str) or not channel:
            return None
        if channel.startswith(("U", "W")):
            return self._direct_channel(channel)
        return channel

    def _direct_channel(self, users: str) -> str:
        if users not in self._direct_channels:
            prefix = "G" if "," in users else "D"
            self._direct_channels[users] = f"{prefix}{len(self._direct_channels) + 1:08d}"
        return self._direct_channels[users]

    def _find_message(self, channel: str, ts: object) -> Message | None:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        return None

    def _apps_connections_open(self, _params: Params) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        origin = self._origin.replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{origin}{_SOCKET_PATH}?ticket={ticket}&app_id={APP_ID}"}

    def _auth_test(self, _params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": "deploybot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: Params) -> dict[str, Any]:
        channel = self._conversation(params.get("channel"))
        if channel is None or channel in self.private_channels:
            return _error("channel_not_found")
        if channel in self.not_joined:
            return _error("not_in_channel")
        if not any(params.get(key) for key in ("text", "blocks", "attachments")):
            return _error("no_text")
        message: Message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "ts": self._next_ts(),
        }
        message.update({k: params[k] for k in ("blocks", "attachments", "metadata") if k in params})
        if thread_ts := params.get("thread_ts"):
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = BOT_USER_ID
            if _truthy(params.get("reply_broadcast")):
                message["subtype"] = "thread_broadcast"
            if parent := self._find_message(channel, thread_ts):
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
                message["parent_user_id"] = parent["user"]
        self._messages.setdefault(channel, []).append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "message": copy.deepcopy(message),
        }

    def _chat_update(self, params: Params) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            return _error("channel_not_found")
        message = self._find_message(channel, params.get("ts"))
        if message is None:
            return _error("message_not_found")
        message.update({k: params[k] for k in ("text", "blocks", "attachments") if k in params})
        message["edited"] = {"user": BOT_USER_ID, "ts": f"{time.time():.6f}"}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = self._conversation(params.get("channel"))
        if channel is None or channel in self.private_channels:
            return _error("channel_not_found")
        if not params.get("user"):
            return _error("user_not_found")
        if not any(params.get(key) for key in ("text", "blocks", "attachments")):
            return _error("no_text")
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_join(self, params: Params) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            return _error("channel_not_found")
        if channel in self.private_channels:
            return _error("method_not_supported_for_channel_type")
        answer: dict[str, Any] = {
            "ok": True,
            "channel": {"id": channel, "is_channel": True, "is_private": False, "is_member": True},
        }
        if channel in self.not_joined:
            self.not_joined.discard(channel)
        else:
            answer["warning"] = "already_in_channel"
            answer["response_metadata"] = {"warnings": ["already_in_channel"]}
        return answer

    def _conversations_open(self, params: Params) -> dict[str, Any]:
        if channel := params.get("channel"):
            return {"ok": True, "channel": {"id": channel}}
        users = params.get("users")
        if not isinstance(users, str) or not users:
            return _error("users_list_not_supplied")
        return {"ok": True, "channel": {"id": self._direct_channel(users)}}

    def _users_info(self, params: Params) -> dict[str, Any]:
        user_id = params.get("user")
        if not isinstance(user_id, str) or not user_id:
            return _error("user_not_found")
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": "Etc/UTC",
        }
        return {"ok": True, "user": user | self.users.get(user_id, {})}

    def _usergroups_list(self, _params: Params) -> dict[str, Any]:
        groups = [
            {
                "id": group_id,
                "team_id": TEAM_ID,
                "handle": group.get("handle", group_id.lower()),
                "name": group.get("name", group_id),
                "is_usergroup": True,
                "user_count": len(group.get("users", [])),
            }
            for group_id, group in self.usergroups.items()
        ]
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, params: Params) -> dict[str, Any]:
        group = self.usergroups.get(params.get("usergroup", ""))
        if group is None:
            return _error("no_such_subteam")
        return {"ok": True, "users": list(group.get("users", []))}

    def _oauth_v2_access(self, params: Params, authorization: str) -> dict[str, Any]:
        credentials = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != f"Basic {credentials}":
            return _error("invalid_client_id")
        # Slack's codes work once.
        install = self._oauth_codes.pop(str(params.get("code", "")), None)
        if install is None:
            return _error("invalid_code")
        return {"ok": True, "app_id": APP_ID, "token_type": "bot"} | install

    def _views_open(self, params: Params) -> dict[str, Any]:
        view = params.get("view")
        if not params.get("trigger_id") or not isinstance(view, dict):
            return _error("invalid_arguments")
        return {"ok": True, "view": self._shown_view(self._new_view_id(), view)}

    def _views_update(self, params: Params) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            return _error("invalid_arguments")
        # Tests submit modals the fake never opened, so an unknown view_id is taken as given.
        view_id = params.get("view_id") or self._view_ids_by_external_id.get(
            params.get("external_id", "")
        )
        if not view_id:
            return _error("not_found")
        return {"ok": True, "view": self._shown_view(view_id, view)}

    def _views_publish(self, params: Params) -> dict[str, Any]:
        user_id, view = params.get("user_id"), params.get("view")
        if not isinstance(user_id, str) or not user_id or not isinstance(view, dict):
            return _error("invalid_arguments")
        # Each user has one Home tab, so publishing again replaces the same view.
        if user_id not in self._home_view_ids:
            self._home_view_ids[user_id] = self._new_view_id()
        return {"ok": True, "view": self._shown_view(self._home_view_ids[user_id], view)}

    def _new_view_id(self) -> str:
        return f"V{next(self._view_counter):08d}"

    def _shown_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """The view as Slack returns it: the app's fields plus the ones Slack fills in."""
        if external_id := view.get("external_id"):
            self._view_ids_by_external_id[external_id] = view_id
        defaults = {
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
        }
        filled_in = {
            "id": view_id,
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._hash_counter):08x}",
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        return defaults | copy.deepcopy(view) | filled_in
