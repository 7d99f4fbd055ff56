"""The Bolt app factory and the bot's long-lived parts (store, vendor client, background tasks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from blocks import admin as admin_blocks
from blocks import notices
from bot import log_context
from bot.access import DeployGate
from bot.administration import AdminService
from bot.approvals import ApprovalService
from bot.auto_stop import AutoStopService
from bot.config import EVERY_WORKSPACE, Mode, Settings
from bot.crypto import KeyBox
from bot.follow import Follower, FollowTiming
from bot.follow_up import FollowUpService
from bot.listeners import Deps, actions, commands, events, shortcuts, views, workflows
from bot.listeners import admin as admin_listeners
from bot.listeners import guardrails as guardrail_listeners
from bot.listeners import presets as preset_listeners
from bot.metrics import Metrics, SlackErrorCounter
from bot.models import utc_now
from bot.oauth import OAuth, configure_oauth
from bot.preset_store import PresetStore
from bot.presets import PresetService
from bot.service import DeploymentService
from bot.slack_errors import SLACK_FAILURES
from bot.store import Store
from bot.tasks import BackgroundTasks, every
from bot.vendor import HiveonClient
from bot.workspaces import CACHE_TTL_S, Workspaces, key_box_for

log = logging.getLogger(__name__)

SANDBOX_BASE_URL = "http://sandbox.invalid"
SANDBOX_API_KEY = "sandbox"  # the sandbox accepts any key; used when HIVEON_API_KEY is unset
# SIGTERM to exit: uvicorn's wait for open requests (`SHUTDOWN_REQUESTS_S`, acks are fast),
# then up to this long for running deployments to report, then what is left is cancelled and
# its leases released, for a restart or another replica to finish as after a crash. Under 25 s
# in all: platforms kill at 30 s (Heroku, Kubernetes' default); set Fly's kill_timeout to 30.
SHUTDOWN_REQUESTS_S = 3
SHUTDOWN_GRACE_S = 15.0
# How often every replica looks for due guardrail work: expiries, reminders, automatic stops.
GUARDRAILS_TICK_S = 1.0


def slack_client(settings: Settings, metrics: Metrics | None = None) -> AsyncWebClient:
    """The Web API client: retries Slack's 429s after Retry-After and dropped connections, and
    counts failed calls into the metrics (Bolt's per-request clients share its handlers)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    counting = [SlackErrorCounter(metrics)] if metrics is not None else []
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            *counting,
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        ],
    )


def vendor_client(settings: Settings, metrics: Metrics | None = None) -> HiveonClient:
    """The Hiveon client, or the in-process sandbox when `HIVEON_API_URL=sandbox`; each HTTP
    attempt is timed into the metrics."""
    observe = metrics.observe_vendor if metrics is not None else None
    if settings.uses_sandbox_vendor:
        # Only the playground and HIVEON_API_URL=sandbox import it (and aiohttp's web server).
        from bot.sandbox import SandboxVendor  # noqa: PLC0415

        return HiveonClient(
            base_url=SANDBOX_BASE_URL,
            timeout_s=settings.hiveon_timeout_s,
            transport=SandboxVendor().transport(),
            observe=observe,
        )
    return HiveonClient(
        base_url=settings.hiveon_api_url, timeout_s=settings.hiveon_timeout_s, observe=observe
    )


@dataclass
class Bot:
    """Everything that lives as long as the process: built once, started and stopped by a server."""

    settings: Settings
    app: AsyncApp
    client: AsyncWebClient
    store: Store
    vendor: HiveonClient
    tasks: BackgroundTasks
    service: DeploymentService
    follower: Follower
    metrics: Metrics = field(default_factory=Metrics)
    workspaces: Workspaces | None = None
    oauth: OAuth | None = None  # multi-workspace installs, when configured
    approvals: ApprovalService | None = None
    auto_stop: AutoStopService | None = None
    box: KeyBox | None = None  # the encryption keys, when configured
    _loops: list[asyncio.Task[None]] = field(default_factory=list)
    _lease_keeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Prepare storage, check the Slack token, settle what a crash interrupted, follow."""
        # One connection pool for every Web API call. Without a session slack_sdk opens a new
        # one, and a new connection, per call; Bolt hands this one to each request's client.
        # It is made here because an aiohttp session belongs to the running event loop.
        self.client.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.client.timeout)
        )
        await self.store.migrate()  # replicas starting together upgrade one at a time
        if not self.store.shared:
            # SQLite serves one process: any lease in the file is one a dead process left.
            await self.store.clear_leases()
        await self._reencrypt()
        log.info("replica %s (leases of %g s)", self.store.owner, self.store.lease_s)
        # This process's leases are renewed while it lives (bot.store); submissions a crash
        # left mid-flight, here or on a dead replica, are reconciled and reported once their
        # lease has run out; followed deployments resume with the poll loop.
        chores_s = self.store.lease_s / 3
        self._lease_keeper = asyncio.create_task(
            every(chores_s, self.store.renew_leases, what="renewing leases"), name="renew-leases"
        )
        self._loops = [
            asyncio.create_task(
                every(chores_s, self.service.recover, what="recovering interrupted submissions"),
                name="recover-interrupted-submissions",
            ),
            asyncio.create_task(self.follower.run(), name="follow-deployments"),
            *self._guardrail_loops(),
        ]
        if self.client.token is None:
            log.info("OAuth: each workspace that installs deploybot is served with its own token")
            return
        try:
            identity = await self.client.auth_test()
        except SLACK_FAILURES as exc:
            log.warning("Slack auth.test failed (%s): check SLACK_BOT_TOKEN", type(exc).__name__)
        else:
            log.info(
                "connected to Slack workspace %s as %s", identity.get("team"), identity.get("user")
            )

    async def _reencrypt(self) -> None:
        """Rotation: whatever an older encryption key encrypted is encrypted under the newest,
        after which the old keys can go; bot tokens an older version stored in clear too."""
        if self.workspaces is not None:
            await self.workspaces.reencrypt()
        if self.box is not None:
            resealed = await self.store.reseal(self.box)  # requests awaiting approval
            if resealed:
                log.info("re-encrypted %d sealed requests under the current key", resealed)
        if self.oauth is not None:
            await self.oauth.installations.reseal()

    def _guardrail_loops(self) -> list[asyncio.Task[None]]:
        """Scheduled work in the database, looked for on every replica each tick: approvals
        that expire, reminders and automatic stops (each claimed by one replica)."""
        loops = []
        if self.approvals is not None:
            loops.append(
                asyncio.create_task(
                    every(GUARDRAILS_TICK_S, self.approvals.expire_due, what="expiring approvals"),
                    name="expire-approvals",
                )
            )
        if self.auto_stop is not None:
            loops.append(
                asyncio.create_task(
                    every(GUARDRAILS_TICK_S, self.auto_stop.run_due, what="stopping automatically"),
                    name="stop-automatically",
                )
            )
        return loops

    async def stop(self) -> None:
        """Let running deployments report for a while, cancel and release what is left (a
        restart or another replica finishes it, as after a crash), close."""
        await _cancel(self._loops)
        await self.tasks.drain(SHUTDOWN_GRACE_S)
        if self._lease_keeper is not None:
            await _cancel([self._lease_keeper])
            try:
                await self.store.release_leases()
            except SQLAlchemyError:
                log.warning("could not release leases; replicas take over when they run out")
        await self.vendor.aclose()
        await self.store.close()
        if self.client.session is not None:
            await self.client.session.close()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def migrate(database_url: str) -> None:
    """Create or upgrade the database's schema, then close (`python -m bot migrate`)."""
    store = Store.from_url(database_url)
    try:
        await store.migrate()
    finally:
        await store.close()


def build_bot(
    settings: Settings,
    *,
    vendor: HiveonClient | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Bot:
    """Wire the bot from settings; tests pass their own vendor client, and a clock of their own
    for the guardrails (approval expiry, automatic stops, freezes), which they move."""
    metrics = Metrics()
    client = slack_client(settings, metrics)
    store = Store.from_url(settings.database_url, lease_s=settings.lease_s)
    vendor = vendor or vendor_client(settings, metrics)
    default_key = settings.hiveon_api_key.get_secret_value() if settings.hiveon_api_key else None
    if default_key is None and settings.uses_sandbox_vendor:
        default_key = SANDBOX_API_KEY

    tasks = BackgroundTasks()
    box = key_box_for(settings)
    oauth = configure_oauth(settings, engine=store.engine, client=client, tasks=tasks, box=box)
    if oauth is not None and settings.hiveon_api_key is not None:
        _say_whom_the_default_key_serves(settings)
    workspaces = Workspaces(
        store.engine,
        box=box,
        default_key=default_key,
        # The sandbox's stand-in key starts nothing real: it may serve every workspace.
        default_key_serves=settings.default_key_serves
        if settings.hiveon_api_key is not None
        else lambda _enterprise, _team: True,
        installations=oauth.installations if oauth is not None else None,
        # Replicas share the database: a key or a setting changed through one of them must
        # apply on the others at once, so each request reads it. One process caches it.
        cache_ttl_s=0 if store.shared else CACHE_TTL_S,
        clock=clock,
    )
    # Each workspace deploys with its own key, else the default (bot.workspaces).
    api_key_for = workspaces.api_key_for

    async def client_for(enterprise_id: str | None, team_id: str) -> AsyncWebClient | None:
        # Work outside a request (following, recovery) posts with the installation's client.
        if oauth is not None:
            return await oauth.client_for(enterprise_id, team_id)
        return client

    follower = Follower(
        store=store,
        vendor=vendor,
        api_key_for=api_key_for,
        client_for=client_for,
        timing=FollowTiming(follow_for=timedelta(minutes=settings.follow_minutes)),
    )
    presets = PresetStore(store.engine)
    service = DeploymentService(
        store=store,
        vendor=vendor,
        api_key_for=api_key_for,
        client_for=client_for,
        follower=follower,
        gate=DeployGate(workspaces, command=settings.command),
        presets=presets,
        admins=settings.admins,
        command=settings.command,
        on_outcome=lambda outcome: metrics.deployments.labels(outcome).inc(),
        guardrails_for=workspaces.guardrails_for,
        box=box,
        approval_window=timedelta(minutes=settings.approval_minutes),
        clock=clock,
    )
    follow_up = FollowUpService(
        store=store,
        follower=follower,
        deployments=service,
        presets=presets,
        admins=settings.admins,
        command=settings.command,
        hiveon_url=settings.hiveon_api_url,
        sandbox=settings.uses_sandbox_vendor,
        freeze_for=workspaces.freeze_for,
    )
    deps = Deps(
        deployments=service,
        follow_up=follow_up,
        tasks=tasks,
        command=settings.command,
        presets=PresetService(presets, service, admins=settings.admins, command=settings.command),
    )
    approvals = ApprovalService(
        store=store,
        deployments=service,
        guardrails_for=workspaces.guardrails_for,
        freeze_for=workspaces.freeze_for,
        client_for=client_for,
        api_key_for=api_key_for,
        box=box,
        admins=settings.admins,
        command=settings.command,
        approval_window=timedelta(minutes=settings.approval_minutes),
        clock=clock,
    )
    auto_stop = AutoStopService(
        store=store,
        vendor=vendor,
        follower=follower,
        api_key_for=api_key_for,
        client_for=client_for,
        guardrails_for=workspaces.guardrails_for,
        admins=settings.admins,
        clock=clock,
    )
    admin = AdminService(workspaces, vendor, admins=settings.admins, command=settings.command)
    app = create_app(
        settings,
        client=client,
        deps=deps,
        admin=admin,
        oauth=oauth,
        guardrails=(approvals, auto_stop),
    )
    return Bot(
        settings,
        app,
        client,
        store,
        vendor,
        tasks,
        service,
        follower,
        metrics=metrics,
        workspaces=workspaces,
        oauth=oauth,
        approvals=approvals,
        auto_stop=auto_stop,
        box=box,
    )


def _say_whom_the_default_key_serves(settings: Settings) -> None:
    """With OAuth installs, log which workspaces deploy on the operator's own key."""
    teams = settings.default_key_teams
    if EVERY_WORKSPACE in teams:
        log.warning(
            "DEPLOYBOT_DEFAULT_KEY_TEAMS=*: every workspace that installs deploybot deploys on "
            "HIVEON_API_KEY, at the expense of its owner, unless it sets a key of its own"
        )
    elif teams:
        log.info("HIVEON_API_KEY serves these workspaces only: %s", ", ".join(sorted(teams)))
    else:
        log.info(
            "HIVEON_API_KEY serves no workspace: each sets its own key with /deploy api-key "
            "(list team IDs in DEPLOYBOT_DEFAULT_KEY_TEAMS to let them use it)"
        )


def create_app(  # noqa: PLR0913 — the settings, then keyword-only parts
    settings: Settings,
    *,
    client: AsyncWebClient,
    deps: Deps,
    admin: AdminService | None = None,
    oauth: OAuth | None = None,
    guardrails: tuple[ApprovalService, AutoStopService] | None = None,
) -> AsyncApp:
    """The Bolt app: authorization (one workspace or OAuth), listeners, and the error handler.

    In HTTP mode the server checks every request's signature on its raw bytes before Bolt sees
    it (bot.server), so Bolt does not check it again. Socket Mode's requests come over Slack's
    WebSocket, which Bolt never checks; its check stays on there for any HTTP request.
    """
    bot_token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    signing_secret = settings.slack_signing_secret

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        # Single-workspace install: the token is known, so no auth.test stands before an ack.
        if not team_id:
            # Nothing may be filed under an empty workspace: Bolt answers admin.NOT_SERVED.
            log.warning("refused a request that names no team (enterprise %s)", enterprise_id)
            return None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=bot_token)

    # Every request's token comes from `authorize`; shown the client's token as well, Bolt logs
    # at start-up that it ignores it. It is hidden from the constructor only, to spare
    # operators a warning about nothing.
    token, client.token = client.token, None
    app = AsyncApp(
        # Named, or Bolt names it after its caller's file through inspect.stack(), which reads
        # the source of every frame on the stack: a tenth of a second of every start.
        name="deploybot",
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        request_verification_enabled=signing_secret is not None and settings.mode is not Mode.HTTP,
        # A request no listener takes goes to `report_unexpected` below, instead of Bolt's
        # warning, which prints parts of the body (a legacy dialog's whole submission).
        raise_error_for_unhandled_request=True,
        # Many workspaces: each request is authorized with its own workspace's installation.
        **(
            {"authorize": oauth.authorize, "oauth_flow": oauth.flow}
            if oauth is not None
            else {"authorize": authorize}
        ),
        # Listeners ack and hand slow work to background tasks, so the response can leave as
        # soon as they return instead of Bolt polling for the ack every 10 ms.
        process_before_response=True,
        user_facing_authorize_error_message=admin_blocks.NOT_SERVED,
    )
    client.token = token

    @app.middleware
    async def bind_log_context(
        context: AsyncBoltContext, next_: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        # Every line logged for this request, and for the work it hands to background tasks,
        # says which workspace and user it is about (JSON logs show them).
        log_context.bind(team_id=context.team_id, user_id=context.user_id)
        return await next_()

    commands.register(app, deps)
    views.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)
    shortcuts.register(app, deps)
    workflows.register(app, deps)
    if admin is not None:
        admin_listeners.register(app, deps, admin)
    if deps.presets is not None:
        preset_listeners.register(app, deps, deps.presets)
    if guardrails is not None:
        guardrail_listeners.register(app, deps, *guardrails)

    @app.error
    async def report_unexpected(
        error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # No listener takes it: an event the app is not subscribed to, a view or button the
            # bot no longer knows. Slack gets Bolt's 404 (`{"error": "unhandled request"}`),
            # which its client shows as a failed action; the log gets what it was, not its body.
            log.warning(
                "no listener for a request (%s); answered 404",
                describe_request(body, context.team_id),
            )
            return None
        log.error("unexpected error handling a Slack request", exc_info=error)
        if "command" in body:
            return BoltResponse(status=200, body=notices.UNEXPECTED_ERROR)
        return None

    return app


_MAX_ID_LENGTH = 64


def describe_request(body: dict[str, Any], team_id: object) -> str:
    """A request's kind for one log line: identifiers (type, command, callback, event, action,
    team), never what a user wrote; each quoted, so that none can break the line."""

    def inner(name: str) -> dict[str, Any]:
        value = body.get(name)
        return value if isinstance(value, dict) else {}

    actions = body.get("actions")
    first_action = actions[0] if isinstance(actions, list) and actions else None
    kind = {
        "type": body.get("type"),
        "command": body.get("command"),
        "callback_id": body.get("callback_id") or inner("view").get("callback_id"),
        "event": inner("event").get("type"),
        "action_id": first_action.get("action_id") if isinstance(first_action, dict) else None,
        "team": team_id,
    }
    return " ".join(
        f"{name}={value[:_MAX_ID_LENGTH]!r}"
        for name, value in kind.items()
        if isinstance(value, str) and value
    )
