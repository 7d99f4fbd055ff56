"""The setup page: what deploybot serves on a platform before it has a Slack app.

Deployed first to get a public URL (the usual order), deploybot has no Slack credentials yet.
Listening on a public address (`DEPLOYBOT_HOST` not loopback), it then serves a page on $PORT
that says what is missing and offers the app manifest filled in with the URL it is reached at,
instead of the local playground, which only makes sense on a laptop. `/healthz` and `/readyz`
answer 200, so the platform does not restart it in a loop. Nothing here changes any state.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from blocks import pages
from blocks.manifest import app_manifest
from bot.config import Settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def serves_setup_page(settings: Settings) -> bool:
    """True when deploybot without a Slack app is reached from elsewhere (a platform)."""
    return settings.host is not None and settings.host not in LOOPBACK_HOSTS


def missing_settings(settings: Settings) -> list[str]:
    """The settings still to set for a single-workspace install, in the order to set them."""
    unset = {
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret is None,
        "SLACK_BOT_TOKEN": settings.slack_bot_token is None and not settings.oauth_enabled,
        "HIVEON_API_KEY": settings.hiveon_api_key is None,
        "DEPLOYBOT_ENCRYPTION_KEY": settings.encryption_key is None,
    }
    return [name for name, missing in unset.items() if missing]


def public_url(request: Request) -> str:
    """The URL the page was reached at, as the platform's proxy says it was."""
    scheme = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or "localhost"
    return f"{scheme}://{host.split(',')[0].strip()}"


def create_setup_app(settings: Settings) -> Starlette:
    """The setup page, its manifest and the probes; every route is a read."""

    def manifest_for(request: Request) -> str:
        return json.dumps(
            app_manifest(public_url=public_url(request), command=settings.command), indent=2
        )

    async def page(request: Request) -> Response:
        return HTMLResponse(
            pages.setup_page(
                manifest_json=manifest_for(request),
                events_url=f"{public_url(request)}/slack/events",
                missing=missing_settings(settings),
            ),
            headers={
                "Content-Security-Policy": "default-src 'self'",
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def manifest(request: Request) -> Response:
        return Response(manifest_for(request), media_type="application/json")

    async def alive(_request: Request) -> Response:
        return JSONResponse({"ok": True, "setup": True})

    return Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/manifest.json", manifest, methods=["GET"]),
            Route("/healthz", alive, methods=["GET"]),
            Route("/readyz", alive, methods=["GET"]),
        ]
    )
