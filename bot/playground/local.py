"""Local mode: `make run` without Slack credentials serves the bot with the playground.

The bot is built exactly as in production; only its configuration differs: `SLACK_API_URL`
points at the stand-in on the same port, the bot token and signing secret are made up for this
run, the vendor is the in-process sandbox, and the database (with its encryption key) is
throwaway: the stand-in's messages and the sandbox's deployments live in memory, so stored
ones would point nowhere after a restart.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import tempfile
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from socket import socket
from typing import Any, Final

import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from blocks.manifest import app_manifest
from bot.app import build_bot
from bot.config import SANDBOX, Settings
from bot.playground.actions import AppConfig, EventPoster, Playground
from bot.playground.routes import create_playground_app
from bot.playground.workspace import workspace
from bot.server import create_asgi_app
from bot.testing.slack_standin import API_PATH, SlackStandIn

# Loopback only: the page acts as a workspace admin and asks for no password.
HOST: Final = "127.0.0.1"
ANNOUNCEMENT: Final = """\

  deploybot has no Slack credentials, so this is the local playground: the real bot, a
  stand-in Slack workspace and the sandbox vendor (nothing real is deployed).

      Open {url} and type /deploy

  To connect a real Slack app, see "Setting up the Slack app" in README.md.
  Ctrl-C stops it.

"""


def page_url(port: int) -> str:
    """The address printed for the newcomer to open."""
    return f"http://localhost:{port}/"


def local_settings(
    settings: Settings, *, bot_token: str, signing_secret: str, database_url: str
) -> Settings:
    """The settings of local mode: the stand-in Slack, the sandbox vendor, a throwaway database."""
    return settings.model_copy(
        update={
            "slack_bot_token": SecretStr(bot_token),
            "slack_signing_secret": SecretStr(signing_secret),
            "slack_app_token": None,
            "slack_client_id": None,
            "slack_client_secret": None,
            "slack_api_url": f"http://{HOST}:{settings.port}{API_PATH}",
            # Never a real vendor from an unauthenticated page, whatever HIVEON_* say.
            "hiveon_api_url": SANDBOX,
            "hiveon_api_key": None,
            "database_url": database_url,
            # Keys stored from /deploy api-key live as long as the throwaway database.
            "encryption_key": SecretStr(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()),
        }
    )


def run(settings: Settings, *, announce: Callable[[str], object]) -> int:
    """Serve the bot and the playground on `settings.port` until interrupted."""
    bot_token = f"xoxb-playground-{secrets.token_hex(12)}"
    signing_secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="deploybot-playground-") as workdir:
        database = Path(workdir) / "playground.sqlite3"
        local = local_settings(
            settings,
            bot_token=bot_token,
            signing_secret=signing_secret,
            database_url=f"sqlite:///{database}",
        )
        bot_app = create_asgi_app(build_bot(local))
        origin = f"http://{HOST}:{settings.port}"
        standin = SlackStandIn(
            workspace(page_url(settings.port)), api_origin=origin, bot_token=bot_token
        )
        post = EventPoster()
        playground = Playground(
            standin=standin,
            signing_secret=signing_secret,
            app=AppConfig.from_manifest(
                app_manifest(command=settings.command), command=settings.command
            ),
            post=post,
            events_url=f"{origin}/slack/events",
        )
        app = create_playground_app(bot_app, standin=standin, playground=playground)
        server = _PlaygroundServer(
            uvicorn.Config(
                app,
                host=HOST,
                port=settings.port,
                lifespan="off",  # the server below starts and stops the bot itself
                log_config=None,  # our handler, with secrets masked
                access_log=False,
                timeout_graceful_shutdown=30,
            ),
            bot_lifespan=lambda: _lifespan_of(bot_app),
            on_serving=lambda: _serving(playground, announce, page_url(settings.port)),
            on_stopping=standin.feed.close,
            on_stopped=post.aclose,
        )
        server.run()
    return 0


class _PlaygroundServer(uvicorn.Server):
    """uvicorn, listening before the bot starts, so the bot's first Slack call (auth.test)
    reaches the stand-in; open pages' event streams end first when it stops."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        bot_lifespan: Callable[[], AbstractAsyncContextManager[Any]],
        on_serving: Callable[[], object],
        on_stopping: Callable[[], None],
        on_stopped: Callable[[], Any],
    ) -> None:
        super().__init__(config)
        self._bot_lifespan = bot_lifespan
        self._on_serving = on_serving
        self._on_stopping = on_stopping
        self._on_stopped = on_stopped
        self._bot = contextlib.AsyncExitStack()

    async def startup(self, sockets: list[socket] | None = None) -> None:
        """Listen, then start the bot, then say where to look."""
        await super().startup(sockets)
        if self.should_exit:
            return
        await self._bot.enter_async_context(self._bot_lifespan())
        self._on_serving()

    async def shutdown(self, sockets: list[socket] | None = None) -> None:
        """End the page streams, let requests finish, then stop the bot."""
        self._on_stopping()
        await super().shutdown(sockets)
        await self._bot.aclose()
        await self._on_stopped()


def _serving(playground: Playground, announce: Callable[[str], object], url: str) -> None:
    playground.bot_started()
    announce(ANNOUNCEMENT.format(url=url))


def _lifespan_of(app: Starlette) -> AbstractAsyncContextManager[Any]:
    lifespan: AbstractAsyncContextManager[Any] = app.router.lifespan_context(app)
    return lifespan
