"""Admin listeners: `/deploy api-key` and `/deploy settings`, their modals, and uninstalls.

Every listener acks first. Who may administer (users.info), the key check with Hiveon and
database writes run after the ack; only what Slack must read in the ack itself (a field error,
the "checking" view) is decided before it. The workspace is always Bolt's verified context.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks import admin as admin_blocks
from blocks import ids, messages
from bot.admins import is_admin
from bot.listeners import Deps, SubcommandCall
from bot.messenger import Messenger
from bot.modal_context import ModalContext
from bot.slack_errors import SLACK_FAILURES
from bot.vendor import HiveonClient
from bot.workspaces import (
    KEY_CHECK_TIMEOUT_S,
    Access,
    Action,
    Change,
    Scope,
    Verdict,
    Workspace,
    Workspaces,
    check_api_key,
)

log = logging.getLogger(__name__)

HISTORY_ROWS = 5
KEY_TITLE = "Hiveon API key"
NO_WORKSPACE = "Slack did not say which workspace this request comes from, so nothing was changed."
NO_ENCRYPTION = (
    "deploybot cannot store workspace keys: whoever runs it must set DEPLOYBOT_ENCRYPTION_KEY. "
    "Until then deployments use their default key (HIVEON_API_KEY), if any."
)


@dataclass(frozen=True)
class AdminDeps:
    """What the admin listeners use besides `Deps`: the workspaces and the vendor to check keys."""

    workspaces: Workspaces
    vendor: HiveonClient
    key_check_timeout_s: float = KEY_CHECK_TIMEOUT_S


@dataclass(frozen=True)
class AdminRequest:
    """Who asks, for which workspace, and where private answers go."""

    client: AsyncWebClient
    scope: Scope
    user_id: str
    response_url: str | None
    channel_id: str | None

    @property
    def messenger(self) -> Messenger:
        """Ephemeral answers: the command's response_url, else a DM."""
        return Messenger(self.client, user_id=self.user_id, response_url=self.response_url)

    @property
    def private_metadata(self) -> str:
        """What the modals carry back: where the command ran, never a workspace or a key."""
        return ModalContext(channel_id=self.channel_id, response_url=self.response_url).dump()


def register(app: AsyncApp, deps: Deps, admin: AdminDeps) -> None:
    """Wire `/deploy api-key`, `/deploy settings`, their modals and the uninstall events."""
    _register_commands(deps, admin)
    _register_modals(app, deps, admin)
    _register_uninstalls(app, deps, admin)


def _register_commands(deps: Deps, admin: AdminDeps) -> None:
    async def api_key_command(call: SubcommandCall) -> None:
        request = _command_request(call)
        if request is None:
            await call.ack(**messages.notice(text=NO_WORKSPACE))
            return
        await call.ack()
        deps.tasks.spawn(
            open_api_key_modal(deps, admin, request, trigger_id=call.command["trigger_id"]),
            name=f"api-key-open-{request.user_id}",
        )

    async def settings_command(call: SubcommandCall) -> None:
        request = _command_request(call)
        if request is None:
            await call.ack(**messages.notice(text=NO_WORKSPACE))
            return
        await call.ack()
        deps.tasks.spawn(
            open_settings_modal(deps, admin, request, trigger_id=call.command["trigger_id"]),
            name=f"settings-open-{request.user_id}",
        )

    deps.add_subcommand(
        "api-key",
        api_key_command,
        usage="api-key",
        description="set, replace or remove this workspace's Hiveon API key (admins)",
    )
    deps.add_subcommand(
        "settings",
        settings_command,
        usage="settings",
        description="choose who may deploy, and from which channels (admins)",
    )


def _register_modals(app: AsyncApp, deps: Deps, admin: AdminDeps) -> None:
    async def save_api_key(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        request = _view_request(view, context, client)
        api_key = _typed(view, ids.API_KEY).strip()
        problem = _key_problem(api_key, can_store=admin.workspaces.can_store_keys)
        if request is None or problem is not None:
            await ack(response_action="errors", errors={ids.API_KEY: problem or NO_WORKSPACE})
            return
        # Hiveon's answer may take seconds: the modal says so at once and shows the result later.
        await ack(response_action="update", view=admin_blocks.checking_view())
        deps.tasks.spawn(
            store_api_key(deps, admin, request, api_key, view_id=str(view.get("id") or "")),
            name=f"api-key-save-{request.user_id}",
        )

    async def remove_api_key(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        view = body.get("view") or {}
        request = _view_request(view, context, client)
        if request is None:
            log.warning("a key removal came without a workspace; ignored")
            return
        deps.tasks.spawn(
            remove_key(deps, admin, request, view_id=str(view.get("id") or "")),
            name=f"api-key-remove-{request.user_id}",
        )

    async def save_settings(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        request = _view_request(view, context, client)
        if request is None:
            await ack(response_action="errors", errors={ids.ALLOWED_CHANNELS: NO_WORKSPACE})
            return
        await ack()
        deps.tasks.spawn(
            store_settings(deps, admin, request, chosen_access(view)),
            name=f"settings-save-{request.user_id}",
        )

    app.view(ids.API_KEY_MODAL)(save_api_key)
    app.view(ids.SETTINGS_MODAL)(save_settings)
    app.action(ids.REMOVE_API_KEY)(remove_api_key)


def _register_uninstalls(app: AsyncApp, deps: Deps, admin: AdminDeps) -> None:
    async def forget_workspace(event: dict[str, Any], context: AsyncBoltContext) -> None:
        scope = _scope(context)
        if scope is None:
            log.warning("%s without a team or org; nothing to delete", event.get("type"))
            return
        if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            # Only user tokens were revoked; deploybot asks for none, so nothing is stored.
            return
        deps.tasks.spawn(
            admin.workspaces.forget(scope, event=str(event.get("type"))),
            name=f"forget-{scope.key}",
        )

    app.event("app_uninstalled")(forget_workspace)
    app.event("tokens_revoked")(forget_workspace)


async def open_api_key_modal(
    deps: Deps, admin: AdminDeps, request: AdminRequest, *, trigger_id: str
) -> None:
    """Open the key modal for admins; tell anyone else, privately, that they may not."""
    if not await may_administer(request, deps.admins):
        await request.messenger.tell_user(
            admin_blocks.not_admin(action="manage the workspace's Hiveon API key")
        )
        return
    view = await _api_key_view(admin, request)
    await _open(request, trigger_id, view, command=f"{deps.command} api-key")


async def store_api_key(
    deps: Deps, admin: AdminDeps, request: AdminRequest, api_key: str, *, view_id: str
) -> None:
    """Check the key with Hiveon; store it encrypted unless refused; report in the modal too."""
    if not await may_administer(request, deps.admins):
        refusal = admin_blocks.not_admin(action="set the workspace's Hiveon API key")
        await _show(
            request, view_id, admin_blocks.progress_view(title=KEY_TITLE, text=refusal["text"])
        )
        await request.messenger.tell_user(refusal)
        return
    check = await check_api_key(admin.vendor, api_key, timeout_s=admin.key_check_timeout_s)
    if check.verdict is Verdict.REFUSED:
        error = admin_blocks.key_refused_text(status=check.status)
        log.info("a key for %s was refused by Hiveon (HTTP %s)", request.scope.key, check.status)
        if not await _show(request, view_id, await _api_key_view(admin, request, error=error)):
            await request.messenger.tell_user(messages.notice(text=f"❌ {error}"))
        return
    change, stored = await admin.workspaces.set_key(
        request.scope, api_key, by=request.user_id, check=check
    )
    log.info("%s for %s (Hiveon: %s)", change.action, request.scope.key, check.verdict)
    text = admin_blocks.key_saved_text(
        hint=stored.hint,
        verdict=check.verdict.value,
        reason=check.reason,
        rotated=change.action is Action.KEY_ROTATED,
    )
    await _show(request, view_id, admin_blocks.progress_view(title=KEY_TITLE, text=text))
    await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))


async def remove_key(deps: Deps, admin: AdminDeps, request: AdminRequest, *, view_id: str) -> None:
    """Delete the workspace's key for an admin, record it, and show the modal without it."""
    if not await may_administer(request, deps.admins):
        await request.messenger.tell_user(
            admin_blocks.not_admin(action="remove the workspace's Hiveon API key")
        )
        return
    change = await admin.workspaces.remove_key(request.scope, by=request.user_id)
    await _show(request, view_id, await _api_key_view(admin, request))
    if change is None:
        await request.messenger.tell_user(messages.notice(text="There was no key to remove."))
        return
    log.info("the Hiveon key of %s was removed", request.scope.key)
    await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))


async def open_settings_modal(
    deps: Deps, admin: AdminDeps, request: AdminRequest, *, trigger_id: str
) -> None:
    """Open the "who may deploy" modal for admins, with the workspace's user groups to pick."""
    allowed, workspace, history, (groups, note) = await asyncio.gather(
        may_administer(request, deps.admins),
        admin.workspaces.get(request.scope),
        admin.workspaces.history(request.scope, limit=HISTORY_ROWS),
        _usergroups(request.client),
    )
    if not allowed:
        await request.messenger.tell_user(admin_blocks.not_admin(action="choose who may deploy"))
        return
    access = workspace.access
    view = admin_blocks.settings_modal(
        private_metadata=request.private_metadata,
        channels=access.channels,
        users=access.users,
        usergroups=access.usergroups,
        usergroup_options=groups,
        groups_note=note,
        org_wide=request.scope.org_wide,
        history=[_line(change) for change in history],
    )
    await _open(request, trigger_id, view, command=f"{deps.command} settings")


async def store_settings(
    deps: Deps, admin: AdminDeps, request: AdminRequest, access: Access
) -> None:
    """Save who may deploy for an admin and tell them what changed."""
    if not await may_administer(request, deps.admins):
        await request.messenger.tell_user(admin_blocks.not_admin(action="choose who may deploy"))
        return
    change = await admin.workspaces.set_access(request.scope, access, by=request.user_id)
    if change is None:
        await request.messenger.tell_user(messages.notice(text="Nothing changed."))
        return
    log.info("who may deploy in %s was changed", request.scope.key)
    await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))


async def may_administer(request: AdminRequest, admins: frozenset[str]) -> bool:
    """Workspace admins and owners, `DEPLOYBOT_ADMINS`; for an org-wide install, org admins."""
    if not request.scope.org_wide:
        return await is_admin(request.client, request.user_id, admins)
    if request.user_id in admins:
        return True
    try:
        response = await request.client.users_info(user=request.user_id)
    except SLACK_FAILURES:
        log.warning("users.info failed for %s; not an admin", request.user_id, exc_info=True)
        return False
    org = (response.get("user") or {}).get("enterprise_user") or {}
    return bool(org.get("is_admin") or org.get("is_owner"))


def chosen_access(view: dict[str, Any]) -> Access:
    """The settings modal's selections: channels, users, user groups."""
    values = view.get("state", {}).get("values", {})

    def element(block_id: str) -> dict[str, Any]:
        return dict(values.get(block_id, {}).get(block_id) or {})

    options = element(ids.ALLOWED_USERGROUPS).get("selected_options") or []
    groups = [option.get("value") for option in options if isinstance(option, dict)]
    return Access(
        channels=_ids(element(ids.ALLOWED_CHANNELS).get("selected_conversations")),
        users=_ids(element(ids.ALLOWED_USERS).get("selected_users")),
        usergroups=_ids(groups),
    )


def _ids(values: object) -> tuple[str, ...]:
    """Selected IDs in their order, each once."""
    if not isinstance(values, list):
        return ()
    return tuple(dict.fromkeys(value for value in values if isinstance(value, str) and value))


def _scope(context: AsyncBoltContext) -> Scope | None:
    return Scope.of(
        enterprise_id=context.enterprise_id,
        team_id=context.team_id,
        is_enterprise_install=bool(context.is_enterprise_install),
    )


def _command_request(call: SubcommandCall) -> AdminRequest | None:
    scope = _scope(call.context)
    if scope is None:
        return None
    return AdminRequest(
        client=call.client,
        scope=scope,
        user_id=call.context.user_id or "",
        response_url=call.command.get("response_url"),
        channel_id=call.command.get("channel_id"),
    )


def _view_request(
    view: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> AdminRequest | None:
    scope = _scope(context)
    if scope is None:
        return None
    where = ModalContext.load(view.get("private_metadata"))
    return AdminRequest(
        client=client,
        scope=scope,
        user_id=context.user_id or "",
        response_url=where.response_url,
        channel_id=where.channel_id,
    )


def _typed(view: dict[str, Any], block_id: str) -> str:
    element = view.get("state", {}).get("values", {}).get(block_id, {}).get(block_id) or {}
    value = element.get("value")
    return value if isinstance(value, str) else ""


def _key_problem(api_key: str, *, can_store: bool) -> str | None:
    """What is wrong with a typed key before anything is sent, or None."""
    if not can_store:
        return NO_ENCRYPTION
    if not api_key:
        return "Paste the key."
    if not HiveonClient.is_sendable_key(api_key):
        return "A Hiveon API key is printable ASCII without spaces: check what you pasted."
    return None


async def _api_key_view(
    admin: AdminDeps, request: AdminRequest, *, error: str | None = None
) -> dict[str, Any]:
    workspace: Workspace = await admin.workspaces.get(request.scope)
    history = await admin.workspaces.history(request.scope, limit=HISTORY_ROWS)
    key = workspace.key
    return admin_blocks.api_key_modal(
        private_metadata=request.private_metadata,
        hint=key.hint if key else None,
        set_by=key.set_by if key else None,
        set_at=key.set_at if key else None,
        has_own_key=key is not None,
        readable=key.readable if key else True,
        has_default_key=admin.workspaces.default_key_for(request.scope) is not None,
        can_store=admin.workspaces.can_store_keys,
        org_wide=request.scope.org_wide,
        history=[_line(change) for change in history],
        error=error,
    )


async def _usergroups(client: AsyncWebClient) -> tuple[list[tuple[str, str]], str | None]:
    """The workspace's user groups as (id, label), and a note when they cannot all be offered."""
    try:
        response = await client.usergroups_list()
    except SlackApiError as exc:
        error = exc.response.get("error")
        return [], f"User groups cannot be listed (Slack says `{error}`); people still can."
    except SLACK_FAILURES:
        log.warning("usergroups.list failed", exc_info=True)
        return [], "User groups could not be loaded this time; people and channels still can."
    groups = [
        (str(group["id"]), f"@{group.get('handle') or group['id']} · {group.get('name') or ''}")
        for group in response.get("usergroups") or ()
        if isinstance(group, dict) and group.get("id")
    ]
    note = None
    if len(groups) > admin_blocks.MAX_OPTIONS:
        note = f"Only {admin_blocks.MAX_OPTIONS} of {len(groups)} user groups can be listed."
    return groups, note


def _line(change: Change) -> str:
    return admin_blocks.change_line(
        user_id=change.user_id, at=change.at, action=change.action.value, detail=change.detail
    )


async def _open(
    request: AdminRequest, trigger_id: str, view: dict[str, Any], *, command: str
) -> None:
    try:
        await request.client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES:
        log.warning("views.open failed", exc_info=True)
        await request.messenger.tell_user(
            messages.notice(
                text=f"Slack did not let deploybot open the form in time. Run `{command}` again."
            )
        )


async def _show(request: AdminRequest, view_id: str, view: dict[str, Any]) -> bool:
    """Replace the open modal; False when it is gone (closed, or never opened)."""
    if not view_id:
        return False
    try:
        await request.client.views_update(view_id=view_id, view=view)
    except SLACK_FAILURES:
        log.info("views.update failed (the modal was probably closed)", exc_info=True)
        return False
    return True
