"""The ASGI apps: Slack into Bolt by `POST /slack/events` or Socket Mode; the probes.

`POST /slack/events` is the trust boundary (`bot.boundary`): a body over 1 MiB gets 413 before it
is read whole, the signature is checked on the raw bytes (401) before anything is parsed, and a
signed body that is not shaped like Slack's gets 400. Each refusal logs one line, never the body.

`GET /healthz` answers while the process serves (liveness); `GET /readyz` while it can do its
work: the database answers, and in Socket Mode the socket to Slack is connected (readiness).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import Bot
from bot.boundary import (
    Refusal,
    SignatureCheck,
    interaction_json,
    is_ssl_check,
    read_body,
    signed_team,
)
from bot.metrics import CONTENT_TYPE, authorized
from bot.oauth import oauth_routes

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)


def freeze_start_up_objects() -> None:
    """Keep what start-up built (modules, the app, its clients) out of garbage collection.

    It lives as long as the process, yet every full collection walked all of it again: 60 to
    120 ms with the event loop stopped, each time an ack's bad luck. After a collection of
    what start-up left behind, only objects made while serving are ever walked.
    """
    gc.collect()
    gc.freeze()


def create_asgi_app(bot: Bot) -> Starlette:
    """Serve the bot over HTTP; the lifespan starts and stops it."""
    if bot.settings.slack_signing_secret is None:
        raise ValueError("HTTP mode needs a signing secret (SLACK_SIGNING_SECRET)")
    # Bolt's own check is off in HTTP mode (bot.app): this one comes first, on the raw bytes.
    signatures = SignatureCheck(bot.settings.slack_signing_secret.get_secret_value())

    async def slack_events(request: Request) -> Response:
        arrived = time.perf_counter()
        try:
            bolt_request = await _admit(request, signatures)
        except Refusal as refusal:
            team = f" (team {refusal.team})" if refusal.team else ""
            log.warning(
                "refused a request with HTTP %d: %s%s", refusal.status, refusal.reason, team
            )
            return JSONResponse({"error": _ANSWERS[refusal.status]}, status_code=refusal.status)
        except ClientDisconnect:
            return Response(status_code=400)  # the client left mid-body: nobody reads this
        if bolt_request is None:
            return Response()  # Slack's ssl_check probe, answered as Bolt answers it
        response = await bot.app.async_dispatch(bolt_request)
        bot.metrics.acks.labels(_kind(bolt_request.body)).observe(time.perf_counter() - arrived)
        return to_starlette_response(response)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_request: Request) -> Response:
        return await _readiness(bot)

    async def metrics(request: Request) -> Response:
        return await _metrics(bot, request)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await bot.start()
        freeze_start_up_objects()
        log.info("deploybot is serving on port %s (POST /slack/events)", bot.settings.port)
        log.debug("event loop: %s", type(asyncio.get_running_loop()).__module__)
        yield
        await bot.stop()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *oauth_routes(bot.app),  # /slack/install and /slack/oauth_redirect, with OAuth
        ],
        lifespan=lifespan,
    )


async def _metrics(bot: Bot, request: Request) -> Response:
    """`GET /metrics` in Prometheus's text format; with `DEPLOYBOT_METRICS_TOKEN`, only for
    `Authorization: Bearer <token>` (401 otherwise)."""
    token = bot.settings.metrics_token
    if not authorized(
        request.headers.get("authorization"), token.get_secret_value() if token else None
    ):
        return PlainTextResponse(
            "metrics need the bearer token", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    bot.metrics.follows.set(await bot.store.count_followed())
    return Response(bot.metrics.render(), media_type=CONTENT_TYPE)


def _kind(body: dict[str, Any]) -> str:
    """What kind of Slack request a body is, for the ack-time histogram."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return kind if isinstance(kind, str) and kind in _KINDS else "other"


_KINDS = frozenset(
    {
        "view_submission",
        "view_closed",
        "block_actions",
        "block_suggestion",
        "shortcut",
        "message_action",
    }
)


async def _readiness(bot: Bot, *, socket_connected: bool | None = None) -> Response:
    """`GET /readyz`: 200 while the database answers (and Slack's socket is connected, in
    Socket Mode), else 503 saying which is not; `/healthz` only says the process serves."""
    checks = {"database": await bot.store.ping()}
    if socket_connected is not None:
        checks["slack_socket"] = socket_connected
    ready = all(checks.values())
    return JSONResponse(
        {"ok": ready, **{name: "ok" if fine else "down" for name, fine in checks.items()}},
        status_code=200 if ready else 503,
    )


# What a refused client reads; the log says more.
_ANSWERS = {
    HTTPStatus.BAD_REQUEST: "malformed request",
    HTTPStatus.UNAUTHORIZED: "invalid request",  # Bolt's wording for a failed signature check
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "request body too large",
}


async def _admit(request: Request, signatures: SignatureCheck) -> AsyncBoltRequest | None:
    """The request as Bolt takes it, once its size and signature passed; None for an ssl_check.

    Raises `Refusal` for anything else.
    """
    raw = await read_body(request.stream(), content_length=request.headers.get("content-length"))
    try:
        text = signatures.verify(
            raw,
            timestamp=request.headers.get("x-slack-request-timestamp"),
            signature=request.headers.get("x-slack-signature"),
        )
    except Refusal as refusal:
        if refusal.status is HTTPStatus.UNAUTHORIZED and is_ssl_check(raw):
            return None
        raise
    return _bolt_request(request, text)


def _bolt_request(request: Request, text: str) -> AsyncBoltRequest:
    """A signed body as Bolt takes it; 400 for one that is not shaped like Slack's."""
    headers: dict[str, str | Sequence[str]] = dict(request.headers)
    raw = text
    if (payload := interaction_json(text)) is not None:
        # An interaction's payload, decoded here much faster than Bolt would: Bolt takes it as
        # the JSON body it is (the same dict as from the form).
        raw, headers["content-type"] = payload, "application/json"
    try:
        # Bolt parses the body (JSON, a form, or a form's JSON `payload`) and reads its team,
        # user and channel as it builds the request: each fails on what Slack never sends.
        bolt_request = AsyncBoltRequest(body=raw, query=request.url.query, headers=headers)
    except (ValueError, RecursionError, AttributeError, IndexError, KeyError, TypeError) as exc:
        why = _why_unreadable(text, request.headers.get("content-type"), exc)
        raise Refusal(HTTPStatus.BAD_REQUEST, why, team=signed_team(text)) from None
    body = bolt_request.body
    if not body:
        raise Refusal(HTTPStatus.BAD_REQUEST, "Bolt reads no fields in its body")
    if not isinstance(body.get("event", {}), dict):
        # Bolt's middleware reads it as an object.
        raise Refusal(
            HTTPStatus.BAD_REQUEST, "its event is not a JSON object", team=signed_team(text)
        )
    context = bolt_request.context
    if not (context.team_id or context.enterprise_id) and not _needs_no_workspace(body):
        # Nothing may be filed under an empty workspace; Slack names one in all it sends.
        raise Refusal(HTTPStatus.BAD_REQUEST, "it names no workspace")
    return bolt_request


def _needs_no_workspace(body: dict[str, object]) -> bool:
    """Slack's own checks of the URL name no workspace: url_verification and ssl_check."""
    return body.get("type") == "url_verification" or "ssl_check" in body


def _why_unreadable(text: str, content_type: str | None, error: Exception) -> str:
    """Why Bolt could not read a body, found by parsing it again as Bolt does (refusals only)."""
    try:
        # Typed as a dict, it may be any JSON.
        body: object = parse_body(text, (content_type or "").split(";")[0] or None)
    except (ValueError, RecursionError):
        return "its body is not JSON, or its payload field is not"
    if not isinstance(body, dict):
        return "its body is not a JSON object"
    return f"Bolt cannot read its IDs ({type(error).__name__})"


def create_socket_mode_app(bot: Bot) -> Starlette:
    """Receive Slack's requests over Socket Mode; `GET /healthz` answers 200 while connected."""
    if bot.settings.slack_app_token is None:
        raise ValueError("Socket Mode needs an app-level token (SLACK_APP_TOKEN)")
    app_token = bot.settings.slack_app_token.get_secret_value()

    async def healthz(request: Request) -> Response:
        handler: AsyncSocketModeHandler = request.state.socket_mode
        connected = await handler.client.is_connected()
        return JSONResponse({"ok": connected}, status_code=200 if connected else 503)

    async def readyz(request: Request) -> Response:
        handler: AsyncSocketModeHandler = request.state.socket_mode
        return await _readiness(bot, socket_connected=await handler.client.is_connected())

    async def metrics(request: Request) -> Response:
        return await _metrics(bot, request)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, AsyncSocketModeHandler]]:
        # Only Socket Mode needs its client; HTTP mode never imports it.
        from slack_bolt.adapter.socket_mode.async_handler import (  # noqa: PLC0415
            AsyncSocketModeHandler,
        )

        await bot.start()
        freeze_start_up_objects()
        # The handler's client needs a running event loop, so it is built here.
        handler = AsyncSocketModeHandler(bot.app, app_token)
        # Connecting retries until Slack lets it in; /healthz answers 503 meanwhile.
        connecting = asyncio.create_task(handler.connect_async())
        log.info(
            "deploybot is connecting to Slack over Socket Mode (GET /healthz on port %s)",
            bot.settings.port,
        )
        yield {"socket_mode": handler}
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        await handler.close_async()
        await bot.stop()

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *oauth_routes(bot.app),
        ],
        lifespan=lifespan,
    )
