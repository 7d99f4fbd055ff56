"""The playground's HTTP side: the page, its API and event stream, and Slack's stand-in endpoints.

One Starlette app serves, on the bot's own port:

- `GET /` and `/playground/static/…` — the page (static files, no build step, no CDN);
- `GET /playground/events` — Server-Sent Events: a snapshot, then every change;
- `POST /playground/…` — what you do on the page (JSON bodies only, so no other site can post
  a form here): messages, modals and their selects' options, elements, shortcuts, workflow runs,
  as you or as a colleague you chose to be (`/playground/identity`);
- `/slack-api/{method}` — the Web API stand-in that `SLACK_API_URL` points at;
- `POST /slack-hooks/{id}` — the response_urls the stand-in hands out;
- everything else — the bot's own ASGI app (`POST /slack/events`, `GET /healthz`).

Every response carries `SECURITY_HEADERS`: the page runs only its own files (no inline script
or style), in no other site's frame, and tells no other site where it came from.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.playground.actions import Playground
from bot.sandbox import MAGIC_MACHINES
from bot.testing.slack_standin import (
    Event,
    Json,
    SlackError,
    SlackStandIn,
    read_params,
)

log = logging.getLogger(__name__)

PAGE_DIR: Final = Path(__file__).resolve().parent / "page"
HEARTBEAT_S: Final = 15.0
# The page is for the person at this machine; other Host names (DNS rebinding) are refused.
ALLOWED_HOSTS: Final = ("localhost", "127.0.0.1")
_NO_STORE: Final = {"Cache-Control": "no-store"}
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

PageAction = Callable[[Json, Mapping[str, str]], Awaitable[Json]]


def create_playground_app(
    bot_app: ASGIApp, *, standin: SlackStandIn, playground: Playground
) -> Starlette:
    """The page, its API and Slack's stand-in in front of the bot's own app.

    It has no lifespan: whoever serves it starts and stops the bot (see `bot.playground.local`).
    """
    endpoints = _Endpoints(standin, playground)
    return Starlette(
        routes=[
            Route("/", endpoints.page, methods=["GET"]),
            Mount("/playground/static", StaticFiles(directory=PAGE_DIR), name="static"),
            Route("/playground/events", endpoints.events, methods=["GET"]),
            _page_action("/playground/messages", endpoints.send_message),
            _page_action("/playground/views/{view_id}/submit", endpoints.submit_view),
            _page_action("/playground/views/{view_id}/close", endpoints.close_view),
            _page_action("/playground/views/{view_id}/suggestions", endpoints.suggest),
            _page_action("/playground/shortcuts", endpoints.use_shortcut),
            _page_action("/playground/workflows", endpoints.run_workflow),
            _page_action("/playground/actions", endpoints.use_element),
            _page_action("/playground/home", endpoints.open_home),
            _page_action("/playground/ephemerals/dismiss", endpoints.dismiss),
            _page_action("/playground/identity", endpoints.act_as),
            Route("/slack-api/{method}", endpoints.web_api, methods=["GET", "POST"]),
            Route("/slack-hooks/{hook_id}", endpoints.response_url, methods=["POST"]),
            Mount("", app=bot_app),
        ],
        middleware=[
            Middleware(SecurityHeaders),  # outermost: refusals of the Host check carry them too
            Middleware(TrustedHostMiddleware, allowed_hosts=list(ALLOWED_HOSTS)),
        ],
    )


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response, the streamed event stream included."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers as the response starts."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        await self._app(scope, receive, send_with_headers)


class _Endpoints:
    """One method per route; page actions take the JSON body and the path parameters."""

    def __init__(self, standin: SlackStandIn, playground: Playground) -> None:
        self._standin = standin
        self._playground = playground

    def _first_event(self) -> Event:
        return self._standin.snapshot() | {
            "command": asdict(self._playground.app.command),
            "app_home": asdict(self._playground.app.app_home),
            "magic_machines": [asdict(machine) for machine in MAGIC_MACHINES],
            "shortcuts": [asdict(shortcut) for shortcut in self._playground.app.shortcuts],
            "steps": [asdict(step) for step in self._playground.app.steps],
        }

    async def page(self, _request: Request) -> Response:
        return FileResponse(PAGE_DIR / "index.html", headers=_NO_STORE)

    async def events(self, _request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            feed = self._standin.feed.events(self._first_event, heartbeat_s=HEARTBEAT_S)
            async for event in feed:
                # A comment line keeps proxies and the browser from dropping an idle stream.
                yield ": keep-alive\n\n" if event is None else f"data: {json.dumps(event)}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers=_NO_STORE)

    async def send_message(self, body: Json, _params: Mapping[str, str]) -> Json:
        thread_ts = body.get("thread_ts")
        return await self._playground.send_message(
            _text(body, "channel"),
            _text(body, "text"),
            thread_ts=thread_ts if isinstance(thread_ts, str) and thread_ts else None,
        )

    async def submit_view(self, body: Json, params: Mapping[str, str]) -> Json:
        return await self._playground.submit_view(params["view_id"], _object(body, "values"))

    async def close_view(self, _body: Json, params: Mapping[str, str]) -> Json:
        return await self._playground.close_view(params["view_id"])

    async def suggest(self, body: Json, params: Mapping[str, str]) -> Json:
        return await self._playground.suggest(
            params["view_id"],
            _text(body, "block_id"),
            _text(body, "action_id"),
            _text(body, "value"),
        )

    async def use_shortcut(self, body: Json, _params: Mapping[str, str]) -> Json:
        message = body.get("message")
        return await self._playground.use_shortcut(
            _text(body, "callback_id"), message if isinstance(message, dict) else None
        )

    async def run_workflow(self, body: Json, _params: Mapping[str, str]) -> Json:
        return await self._playground.run_workflow(
            _text(body, "callback_id"), _object(body, "inputs")
        )

    async def use_element(self, body: Json, _params: Mapping[str, str]) -> Json:
        return await self._playground.use_element(
            _object(body, "container"), _object(body, "action")
        )

    async def open_home(self, _body: Json, _params: Mapping[str, str]) -> Json:
        return await self._playground.open_home()

    async def act_as(self, body: Json, _params: Mapping[str, str]) -> Json:
        return self._playground.act_as(_text(body, "user"))

    async def dismiss(self, body: Json, _params: Mapping[str, str]) -> Json:
        self._standin.dismiss_ephemeral(_text(body, "channel"), _text(body, "ts"))
        return {"ok": True}

    async def web_api(self, request: Request) -> Response:
        try:
            params = read_params(
                request.query_params,
                request.headers.get("content-type", ""),
                await request.body(),
            )
        except SlackError as exc:
            return JSONResponse(exc.to_json())
        authorization = request.headers.get("authorization", "")
        answer = self._standin.call(request.path_params["method"], params, authorization)
        return JSONResponse(answer)

    async def response_url(self, request: Request) -> Response:
        hook_id = request.path_params["hook_id"]
        status, text = self._standin.post_to_hook(hook_id, await request.body())
        return PlainTextResponse(text, status_code=status)


class _BadRequestError(Exception):
    """A page request the playground cannot use."""


def _page_action(path: str, action: PageAction) -> Route:
    """A JSON-in, JSON-out page endpoint; Slack's errors come back as `{"ok": false}`."""

    async def endpoint(request: Request) -> Response:
        # Only JSON: a cross-site form cannot send it without a CORS preflight we never allow.
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"ok": False, "error": "expected JSON"}, status_code=415)
        try:
            answer = await action(_json_object(await request.body()), request.path_params)
        except (ValueError, _BadRequestError):
            return JSONResponse({"ok": False, "error": "invalid request"}, status_code=400)
        except SlackError as exc:
            return JSONResponse(exc.to_json(), status_code=400)
        return JSONResponse(answer)

    return Route(path, endpoint, methods=["POST"])


def _json_object(body: bytes) -> Json:
    parsed = json.loads(body or b"{}")
    if not isinstance(parsed, dict):
        raise _BadRequestError
    return parsed


def _text(body: Json, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise _BadRequestError
    return value


def _object(body: Json, name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise _BadRequestError
    return value
