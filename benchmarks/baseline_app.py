"""The baseline: a bare Bolt `AsyncApp` that only acks, behind the bot's Starlette and uvicorn.

`python -m benchmarks.baseline_app` is started like the bot (`python -m bot`, settings in the
environment) and served the same way: Bolt's own Starlette adapter at `POST /slack/events`,
`GET /healthz`, and uvicorn with the bot's arguments. Its listeners ack `/deploy` and the deploy
modal and do nothing else; Bolt's defaults stay (`process_before_response=False`, so Bolt polls
for the ack every 10 ms). `POST /floor` answers at once without Bolt: an empty Starlette
handler, the floor any app on this server stands on.
"""

from __future__ import annotations

import os

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from blocks import ids


def create_baseline_app(*, signing_secret: str, token: str, slack_api_url: str) -> Starlette:
    """The bare Bolt app behind Starlette."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=token, base_url=slack_api_url),
        signing_secret=signing_secret,
    )

    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    bolt.command("/deploy")(ack_only)
    bolt.view(ids.DEPLOY_MODAL)(ack_only)
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def floor(_request: Request) -> Response:
        return Response()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/floor", floor, methods=["POST"]),
        ]
    )


def main() -> None:
    """Serve the baseline on `$PORT` with the bot's uvicorn arguments."""
    app = create_baseline_app(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token=os.environ["SLACK_BOT_TOKEN"],
        slack_api_url=os.environ["SLACK_API_URL"],
    )
    uvicorn.run(
        app,
        host="0.0.0.0",  # noqa: S104 — the same arguments as bot/__main__.py
        port=int(os.environ["PORT"]),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
