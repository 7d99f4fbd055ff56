"""The ASGI app: `POST /slack/events` into Bolt, `GET /healthz`, and the bot's start and stop."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import Bot

log = logging.getLogger(__name__)


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
        log.info("deploybot is serving on port %s (POST /slack/events)", bot.settings.port)
        yield
        await bot.stop()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
