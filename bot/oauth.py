"""Multi-workspace installs: Bolt's OAuth flow on slack_sdk's SQLAlchemy stores in DATABASE_URL.

With `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET`, `GET /slack/install` starts Slack's OAuth flow
and `GET /slack/oauth_redirect` finishes it: each workspace's bot token is stored in the
`slack_installations` and `slack_bots` tables, and every request is authorized with the token
of the workspace (or org) it comes from. Those tables, and `slack_oauth_states`, are created by
the migrations (`bot.migrations`) like every other, whether OAuth is configured or not.

With `DEPLOYBOT_ALLOWED_TEAMS` an install from any other workspace is refused after Slack's
consent screen (a page says why, the app is uninstalled from that workspace again, nothing is
stored), and requests from such a workspace are refused like those of one never installed.
Each visit of the install page purges the OAuth states that have expired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from blocks import admin, pages
from blocks.manifest import BOT_SCOPES
from bot.config import GENERATE_HINT, Settings
from bot.crypto import KeyBox
from bot.installations import EncryptedInstallationStore
from bot.slack_errors import SLACK_FAILURES
from bot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

# The state ties the redirect to the browser that started the install; it is used once.
STATE_EXPIRATION_S = 600


WorkspaceCheck = Callable[[str | None, str | None], bool]  # (enterprise ID, team ID) -> allowed


class InstallationAuthorize(AsyncAuthorize):
    """Authorizes a request with its workspace's stored bot token, without an auth.test call;
    requests that name no team, or come from a workspace that is not allowed, get none."""

    def __init__(
        self, installations: EncryptedInstallationStore, *, allowed: WorkspaceCheck
    ) -> None:
        self._installations = installations
        self._allowed = allowed

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
        """The stored installation's bot identity, or None when this workspace never installed,
        is not allowed, or the request names no team (Bolt then answers `admin.NOT_SERVED`)."""
        if not team_id:
            log.warning("refused a request that names no team (enterprise %s)", enterprise_id)
            return None
        if not self._allowed(enterprise_id, team_id):
            log.warning("refused a request from team %s: not in DEPLOYBOT_ALLOWED_TEAMS", team_id)
            return None
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
    """The OAuth flow, its stores, and the authorize that reads installations."""

    flow: GuardedOAuthFlow
    installations: EncryptedInstallationStore
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


class PurgingOAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's state store, which never deletes a state nobody came back with: each new
    state purges the expired ones, so visits of the install page leave nothing behind."""

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        """A new state, after deleting the expired ones."""
        now = normalize_datetime_for_db(datetime.now(UTC))
        async with self.engine.begin() as connection:
            await connection.execute(
                self.oauth_states.delete().where(self.oauth_states.c.expire_at <= now)
            )
        state: str = await super().async_issue(*args, **kwargs)
        return state


class InstallRefusedError(BoltError):
    """The workspace that went through Slack's consent screen may not install deploybot."""

    def __init__(self, installation: Installation) -> None:
        self.team_id = installation.team_id
        self.team_name = installation.team_name
        super().__init__(f"install refused for team {installation.team_id}")


class GuardedOAuthFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow, refusing to store installs from workspaces that are not allowed."""

    def __init__(
        self, *, client: AsyncWebClient, settings: AsyncOAuthSettings, allowed: WorkspaceCheck
    ) -> None:
        super().__init__(client=client, settings=settings)
        self._allowed = allowed

    async def store_installation(
        self, request: AsyncBoltRequest, installation: Installation
    ) -> None:
        """Store the installation, or uninstall the app again and raise InstallRefusedError."""
        if self._allowed(installation.enterprise_id, installation.team_id):
            await super().store_installation(request, installation)
            return
        log.warning(
            "refused an install from team %s (enterprise %s): not in DEPLOYBOT_ALLOWED_TEAMS",
            installation.team_id,
            installation.enterprise_id,
        )
        if installation.bot_token:
            # Slack installed the app before asking us; leave nothing of it in that workspace.
            try:
                await with_token(self.client, installation.bot_token).apps_uninstall(
                    client_id=self.settings.client_id, client_secret=self.settings.client_secret
                )
            except SLACK_FAILURES:
                log.warning("could not uninstall deploybot from team %s", installation.team_id)
        raise InstallRefusedError(installation)


def with_token(client: AsyncWebClient, token: str) -> AsyncWebClient:
    """A client like `client` (base URL, timeout, retries, connections) calling with `token`."""
    return AsyncWebClient(
        token=token,
        base_url=client.base_url,
        timeout=client.timeout,
        session=client.session,
        retry_handlers=client.retry_handlers,
    )


class TokensNotStorableError(Exception):
    """OAuth installs need an encryption key for the bot tokens they store."""


def configure_oauth(
    settings: Settings,
    *,
    engine: AsyncEngine,
    client: AsyncWebClient,
    tasks: BackgroundTasks,
    box: KeyBox | None,
) -> OAuth | None:
    """The OAuth set-up when `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` are set, else None.

    Raises TokensNotStorableError without an encryption key (`box`): bot tokens are never
    stored in clear.
    """
    if settings.slack_client_id is None or settings.slack_client_secret is None:
        return None
    if box is None:
        raise TokensNotStorableError(
            "OAuth installs (SLACK_CLIENT_ID) store each workspace's bot token, encrypted: set "
            f"DEPLOYBOT_ENCRYPTION_KEY to a Fernet key. Generate one with {GENERATE_HINT}"
        )
    installations = EncryptedInstallationStore(
        client_id=settings.slack_client_id, engine=engine, box=box
    )
    states = PurgingOAuthStateStore(expiration_seconds=STATE_EXPIRATION_S, engine=engine)

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
        if isinstance(args.error, InstallRefusedError):
            page = pages.install_refused_page(
                team_name=args.error.team_name, team_id=args.error.team_id
            )
            return BoltResponse(
                status=403, body=page, headers={"Content-Type": "text/html; charset=utf-8"}
            )
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
        GuardedOAuthFlow(client=client, settings=oauth_settings, allowed=settings.team_allowed),
        installations,
        states,
        InstallationAuthorize(installations, allowed=settings.team_allowed),
        client,
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
    if flow is None:  # no OAuth configured
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
