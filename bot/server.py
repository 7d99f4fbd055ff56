"""The ASGI apps: Slack into Bolt by `POST /slack/events` or Socket Mode; `GET /healthz`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import Bot
from bot.oauth import oauth_routes

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

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        try:
            bolt_request = to_async_bolt_request(request, body)
        except (UnicodeDecodeError, ValueError):
            # A body that is not form or JSON text is no Slack request: 400, never a 500.
            return PlainTextResponse("malformed request", status_code=400)
        return to_starlette_response(await bot.app.async_dispatch(bolt_request))

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await bot.start()
        freeze_start_up_objects()
        log.info("deploybot is serving on port %s (POST /slack/events)", bot.settings.port)
        yield
        await bot.stop()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *oauth_routes(bot.app),  # /slack/install and /slack/oauth_redirect, with OAuth
        ],
        lifespan=lifespan,
    )


def create_socket_mode_app(bot: Bot) -> Starlette:
    """Receive Slack's requests over Socket Mode; `GET /healthz` answers 200 while connected."""
    if bot.settings.slack_app_token is None:
        raise ValueError("Socket Mode needs an app-level token (SLACK_APP_TOKEN)")
    app_token = bot.settings.slack_app_token.get_secret_value()

    async def healthz(request: Request) -> Response:
        handler: AsyncSocketModeHandler = request.state.socket_mode
        connected = await handler.client.is_connected()
        return JSONResponse({"ok": connected}, status_code=200 if connected else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, AsyncSocketModeHandler]]:
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
        routes=[Route("/healthz", healthz, methods=["GET"]), *oauth_routes(bot.app)],
        lifespan=lifespan,
    )
