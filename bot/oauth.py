"""Multi-workspace installs: Bolt's OAuth flow on slack_sdk's SQLAlchemy stores in DATABASE_URL.

With `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET`, `GET /slack/install` starts Slack's OAuth flow
and `GET /slack/oauth_redirect` finishes it: each workspace's bot token is stored in the
`slack_installations` and `slack_bots` tables, and every request is authorized with the token
of the workspace (or org) it comes from. Those tables, and `slack_oauth_states`, are created by
the migrations (`bot.migrations`) like every other, whether OAuth is configured or not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from blocks import admin
from bot.config import Settings
from bot.messenger import SLACK_FAILURES
from bot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

# The manifest's bot scopes: an install asks for exactly what the bot calls.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:join",
    "im:write",
    "users:read",
    "usergroups:read",
)
# The state ties the redirect to the browser that started the install; it is used once.
STATE_EXPIRATION_S = 600


class InstallationAuthorize(AsyncAuthorize):
    """Authorizes a request with its workspace's stored bot token, without an auth.test call."""

    def __init__(self, installations: AsyncSQLAlchemyInstallationStore) -> None:
        self._installations = installations

    async def __call__(  # noqa: PLR0913 — Bolt's authorize signature
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,  # noqa: ARG002 — part of the signature; not an installer lookup
        actor_enterprise_id: str | None = None,  # noqa: ARG002
        actor_team_id: str | None = None,  # noqa: ARG002
        actor_user_id: str | None = None,  # noqa: ARG002
    ) -> AuthorizeResult | None:
        """The stored installation's bot identity, or None when this workspace never installed."""
        installation = await self._installations.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=context.is_enterprise_install,
        )
        if installation is None or installation.bot_token is None:
            log.warning("no installation for enterprise %s team %s", enterprise_id, team_id)
            return None
        # The request's own team stays in the context: the token only says who the bot is.
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=installation.bot_token,
            bot_id=installation.bot_id,
            bot_user_id=installation.bot_user_id,
            bot_scopes=installation.bot_scopes,
        )


@dataclass(frozen=True)
class OAuth:
    """The OAuth flow's settings, its stores, and the authorize that reads installations."""

    settings: AsyncOAuthSettings
    installations: AsyncSQLAlchemyInstallationStore
    states: AsyncSQLAlchemyOAuthStateStore
    authorize: InstallationAuthorize
    client: AsyncWebClient

    async def client_for(self, enterprise_id: str | None, team_id: str) -> AsyncWebClient | None:
        """A Web API client with the bot token of this workspace (or of its org-wide install)."""
        bot = None
        if team_id:
            bot = await self.installations.async_find_bot(
                enterprise_id=enterprise_id, team_id=team_id
            )
        if bot is None and enterprise_id:
            bot = await self.installations.async_find_bot(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
        if bot is None or bot.bot_token is None:
            return None
        return with_token(self.client, bot.bot_token)


def with_token(client: AsyncWebClient, token: str) -> AsyncWebClient:
    """A client like `client` (base URL, timeout, retries, connections) calling with `token`."""
    return AsyncWebClient(
        token=token,
        base_url=client.base_url,
        timeout=client.timeout,
        session=client.session,
        retry_handlers=client.retry_handlers,
    )


def configure_oauth(
    settings: Settings, *, engine: AsyncEngine, client: AsyncWebClient, tasks: BackgroundTasks
) -> OAuth | None:
    """The OAuth set-up when `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` are set, else None."""
    if settings.slack_client_id is None or settings.slack_client_secret is None:
        return None
    installations = AsyncSQLAlchemyInstallationStore(
        client_id=settings.slack_client_id, engine=engine
    )
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_S, engine=engine)

    async def installed(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        log.info(
            "deploybot was installed in team %s (enterprise %s)",
            installation.team_id,
            installation.enterprise_id,
        )
        tasks.spawn(
            _welcome(client, installation, settings.command),
            name=f"welcome-{installation.team_id or installation.enterprise_id}",
        )
        return await args.default.success(args)

    async def failed(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("an OAuth install failed: %s", args.reason)
        return await args.default.failure(args)

    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        installation_store=installations,
        state_store=states,
        state_expiration_seconds=STATE_EXPIRATION_S,
        callback_options=AsyncCallbackOptions(success=installed, failure=failed),
    )
    return OAuth(
        oauth_settings, installations, states, InstallationAuthorize(installations), client
    )


async def _welcome(client: AsyncWebClient, installation: Installation, command: str) -> None:
    """Tell whoever installed deploybot what to do next, in their DM with the bot."""
    if not installation.bot_token or not installation.user_id:
        return
    try:
        await with_token(client, installation.bot_token).chat_postMessage(
            channel=installation.user_id, **admin.welcome_message(command=command)
        )
    except SLACK_FAILURES:
        log.warning("could not welcome the installer %s", installation.user_id, exc_info=True)


def oauth_routes(app: AsyncApp) -> list[Route]:
    """`GET /slack/install` and `GET /slack/oauth_redirect` when OAuth is configured, else none."""
    flow = app.oauth_flow
    if flow is None:
        return []

    async def install(request: Request) -> Response:
        bolt_request = to_async_bolt_request(request, b"")
        return to_starlette_response(await flow.handle_installation(bolt_request))

    async def oauth_redirect(request: Request) -> Response:
        bolt_request = to_async_bolt_request(request, b"")
        return to_starlette_response(await flow.handle_callback(bolt_request))

    return [
        Route(flow.install_path, install, methods=["GET"]),
        Route(flow.redirect_uri_path, oauth_redirect, methods=["GET"]),
    ]
