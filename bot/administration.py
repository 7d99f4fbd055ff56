"""The admin service: who may administer, the workspace's Hiveon key, who may deploy, uninstalls.

The admin listeners (`bot.listeners.admin`) ack and hand each request to `AdminService`, once.
Who asks is checked after the ack (users.info), keys are checked with Hiveon before they are
stored, and the admin is answered in the modal and privately, in blocks.admin's words. The
workspace is always the one Bolt verified, never one a payload names.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks import admin as admin_blocks
from blocks import guardrails as guardrail_blocks
from blocks import ids, input_errors, notices
from blocks.text import span
from bot.domain import Access, Action, Change, Guardrails, Scope
from bot.durations import read_duration
from bot.form import FieldErrors
from bot.key_check import KEY_CHECK_TIMEOUT_S, Verdict, check_api_key
from bot.messenger import Messenger
from bot.modal_context import ModalContext
from bot.slack_errors import SLACK_FAILURES
from bot.vendor import HiveonClient
from bot.workspaces import Workspaces

log = logging.getLogger(__name__)

HISTORY_ROWS = 5


async def is_admin(
    client: AsyncWebClient, user_id: str, extra_admins: Collection[str], *, org_wide: bool = False
) -> bool:
    """True for `DEPLOYBOT_ADMINS` and for workspace admins and owners (for an org-wide
    install, the org's admins and owners); False when Slack cannot say."""
    if user_id in extra_admins:
        return True
    try:
        response = await client.users_info(user=user_id)
    except SLACK_FAILURES:
        log.warning("users.info failed for %s; treating as not an admin", user_id, exc_info=True)
        return False
    user = response.get("user") or {}
    if org_wide:
        org = user.get("enterprise_user") or {}
        return bool(org.get("is_admin") or org.get("is_owner"))
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


class KeyProblem(StrEnum):
    """Why a pasted key is refused before anything is sent."""

    NO_WORKSPACE = "no_workspace"
    NO_ENCRYPTION = "no_encryption"
    EMPTY = "empty"
    NOT_SENDABLE = "not_sendable"


@dataclass(frozen=True)
class AdminRequest:
    """Who asks, for which workspace, and where private answers go."""

    client: AsyncWebClient
    scope: Scope
    user_id: str
    response_url: str | None
    channel_id: str | None

    @classmethod
    def of(  # noqa: PLR0913 — the request's facts, keyword-only
        cls,
        client: AsyncWebClient,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool,
        user_id: str,
        response_url: str | None,
        channel_id: str | None,
    ) -> AdminRequest | None:
        """The request of Bolt's verified context; None when Slack named no workspace."""
        scope = Scope.of(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if scope is None:
            return None
        return cls(client, scope, user_id, response_url, channel_id)

    @property
    def messenger(self) -> Messenger:
        """Ephemeral answers: the command's response_url, else a DM."""
        return Messenger(self.client, user_id=self.user_id, response_url=self.response_url)

    @property
    def private_metadata(self) -> str:
        """What the modals carry back: where the command ran, never a workspace or a key."""
        return ModalContext(channel_id=self.channel_id, response_url=self.response_url).dump()


def typed_key(view: Mapping[str, Any]) -> str:
    """The key pasted in the key modal, without surrounding spaces."""
    element = _element(view, ids.API_KEY)
    value = element.get("value")
    return value.strip() if isinstance(value, str) else ""


def chosen_access(view: Mapping[str, Any]) -> Access:
    """The settings modal's selections: channels, users, user groups."""
    options = _element(view, ids.ALLOWED_USERGROUPS).get("selected_options") or []
    groups = [option.get("value") for option in options if isinstance(option, dict)]
    return Access(
        channels=_ids(_element(view, ids.ALLOWED_CHANNELS).get("selected_conversations")),
        users=_ids(_element(view, ids.ALLOWED_USERS).get("selected_users")),
        usergroups=_ids(groups),
    )


def chosen_guardrails(view: Mapping[str, Any]) -> Guardrails | FieldErrors | None:
    """The settings modal's guardrails: approval, approvers, the default and longest run; or
    the field errors of durations that cannot be used; None from a modal without them (one
    opened before they existed), which leaves them as they are."""
    if ids.REQUIRE_APPROVAL not in view.get("state", {}).get("values", {}):
        return None
    checked = _element(view, ids.REQUIRE_APPROVAL).get("selected_options") or []
    required = any(
        isinstance(option, dict) and option.get("value") == ids.APPROVAL_REQUIRED
        for option in checked
    )
    errors: FieldErrors = {}
    runs: dict[str, int | None] = {}
    for block_id in (ids.DEFAULT_STOP_AFTER, ids.MAX_STOP_AFTER):
        text = _element(view, block_id).get("value")
        duration, problems = read_duration(text if isinstance(text, str) else "")
        if problems:
            errors[block_id] = problems[0]
        runs[block_id] = int(duration.total_seconds()) if duration is not None else None
    default, longest = runs[ids.DEFAULT_STOP_AFTER], runs[ids.MAX_STOP_AFTER]
    if not errors and default is not None and longest is not None and default > longest:
        errors[ids.DEFAULT_STOP_AFTER] = input_errors.default_over_the_maximum(span(longest))
    if errors:
        return errors
    return Guardrails(
        require_approval=required,
        approvers=_ids(_element(view, ids.APPROVERS).get("selected_users")),
        default_stop_after_s=default,
        max_stop_after_s=longest,
    )


class AdminService:
    """Serves workspace admins: the key modal (check, store, remove), who may deploy, and
    uninstalls; everyone else is told, privately, that only admins may."""

    def __init__(
        self,
        workspaces: Workspaces,
        vendor: HiveonClient,
        *,
        admins: frozenset[str] = frozenset(),
        command: str = "/deploy",
        key_check_timeout_s: float = KEY_CHECK_TIMEOUT_S,
    ) -> None:
        self._workspaces = workspaces
        self._vendor = vendor
        self._admins = admins
        self._command = command
        self._key_check_timeout_s = key_check_timeout_s

    def key_problem(self, api_key: str, request: AdminRequest | None) -> KeyProblem | None:
        """What is wrong with a pasted key before anything is sent, or None; decided in the ack."""
        if not self._workspaces.can_store_keys:
            return KeyProblem.NO_ENCRYPTION
        if not api_key:
            return KeyProblem.EMPTY
        if not HiveonClient.is_sendable_key(api_key):
            return KeyProblem.NOT_SENDABLE
        if request is None:
            return KeyProblem.NO_WORKSPACE
        return None

    async def open_api_key_modal(self, request: AdminRequest, *, trigger_id: str) -> None:
        """Open the key modal for admins; tell anyone else, privately, that they may not."""
        if not await self._may_administer(request):
            await request.messenger.tell_user(admin_blocks.not_admin(attempt="manage_key"))
            return
        view = await self._api_key_view(request)
        await self._open(request, trigger_id, view, command=f"{self._command} api-key")

    async def store_api_key(self, request: AdminRequest, api_key: str, *, view_id: str) -> None:
        """Check the key with Hiveon; store it encrypted unless refused; report in the modal too."""
        if not await self._may_administer(request):
            refusal = admin_blocks.not_admin(attempt="set_key")
            await self._show(request, view_id, admin_blocks.key_result_view(text=refusal["text"]))
            await request.messenger.tell_user(refusal)
            return
        check = await check_api_key(self._vendor, api_key, timeout_s=self._key_check_timeout_s)
        if check.verdict is Verdict.REFUSED:
            log.info(
                "a key for %s was refused by Hiveon (HTTP %s)", request.scope.key, check.status
            )
            error = admin_blocks.key_refused_text(status=check.status)
            if not await self._show(request, view_id, await self._api_key_view(request, error)):
                await request.messenger.tell_user(
                    admin_blocks.key_refused_notice(status=check.status)
                )
            return
        change, stored = await self._workspaces.set_key(
            request.scope, api_key, by=request.user_id, check=check
        )
        log.info("%s for %s (Hiveon: %s)", change.action, request.scope.key, check.verdict)
        text = admin_blocks.key_saved_text(
            hint=stored.hint,
            verdict=check.verdict.value,
            reason=check.reason,
            rotated=change.action is Action.KEY_ROTATED,
        )
        await self._show(request, view_id, admin_blocks.key_result_view(text=text))
        await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))

    async def remove_key(self, request: AdminRequest, *, view_id: str) -> None:
        """Delete the workspace's key for an admin, record it, and show the modal without it."""
        if not await self._may_administer(request):
            await request.messenger.tell_user(admin_blocks.not_admin(attempt="remove_key"))
            return
        change = await self._workspaces.remove_key(request.scope, by=request.user_id)
        await self._show(request, view_id, await self._api_key_view(request))
        if change is None:
            await request.messenger.tell_user(admin_blocks.no_key_notice())
            return
        log.info("the Hiveon key of %s was removed", request.scope.key)
        await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))

    async def open_settings_modal(self, request: AdminRequest, *, trigger_id: str) -> None:
        """Open the "who may deploy" modal for admins, with the workspace's user groups to pick."""
        allowed, workspace, history, (groups, note) = await asyncio.gather(
            self._may_administer(request),
            self._workspaces.get(request.scope),
            self._workspaces.history(request.scope, limit=HISTORY_ROWS),
            _usergroups(request.client),
        )
        if not allowed:
            await request.messenger.tell_user(admin_blocks.not_admin(attempt="choose_access"))
            return
        access, guard = workspace.access, workspace.guardrails
        view = admin_blocks.settings_modal(
            private_metadata=request.private_metadata,
            channels=access.channels,
            users=access.users,
            usergroups=access.usergroups,
            usergroup_options=groups,
            groups_note=note,
            org_wide=request.scope.org_wide,
            history=[_line(change) for change in history],
            require_approval=guard.require_approval,
            approvers=guard.approvers,
            default_stop_after_s=guard.default_stop_after_s,
            max_stop_after_s=guard.max_stop_after_s,
            can_seal=self._workspaces.can_store_keys,
        )
        await self._open(request, trigger_id, view, command=f"{self._command} settings")

    async def store_settings(
        self, request: AdminRequest, access: Access, guardrails: Guardrails | None = None
    ) -> None:
        """Save who may deploy, and the guardrails, for an admin and tell them what changed."""
        if not await self._may_administer(request):
            await request.messenger.tell_user(admin_blocks.not_admin(attempt="choose_access"))
            return
        changes = [await self._workspaces.set_access(request.scope, access, by=request.user_id)]
        if guardrails is not None:
            changes.append(
                await self._workspaces.set_guardrails(request.scope, guardrails, by=request.user_id)
            )
        recorded = [change for change in changes if change is not None]
        if not recorded:
            await request.messenger.tell_user(admin_blocks.unchanged_notice())
            return
        log.info("the deploy settings of %s were changed", request.scope.key)
        for change in recorded:
            await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))

    async def freeze(
        self, request: AdminRequest, *, reason: str, lasting: timedelta | None
    ) -> None:
        """Freeze deploys for an admin: every new deployment and approval is refused until it is
        lifted (or `lasting` runs out); recorded, and announced where the command was typed."""
        if not await self._may_administer(request):
            await request.messenger.tell_user(admin_blocks.not_admin(attempt="freeze"))
            return
        change, freeze = await self._workspaces.freeze(
            request.scope, by=request.user_id, reason=reason, lasting=lasting
        )
        log.info("deploys in %s were frozen", request.scope.key)
        await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))
        await self._announce(
            request,
            guardrail_blocks.frozen_announcement(
                by=freeze.by,
                since=freeze.at,
                until=freeze.until,
                reason=freeze.reason,
                command=self._command,
            ),
        )

    async def unfreeze(self, request: AdminRequest) -> None:
        """Lift the deploy freeze for an admin; recorded, and announced."""
        if not await self._may_administer(request):
            await request.messenger.tell_user(admin_blocks.not_admin(attempt="freeze"))
            return
        lifted = await self._workspaces.unfreeze(request.scope, by=request.user_id)
        if lifted is None:
            await request.messenger.tell_user(guardrail_blocks.not_frozen_notice())
            return
        change, freeze = lifted
        log.info("the deploy freeze of %s was lifted", request.scope.key)
        await request.messenger.tell_user(admin_blocks.change_notice(_line(change)))
        await self._announce(
            request,
            guardrail_blocks.unfrozen_announcement(by=request.user_id, reason=freeze.reason),
        )

    async def _announce(self, request: AdminRequest, message: dict[str, Any]) -> None:
        """Post in the channel the command was typed in, for everyone there to see."""
        if request.channel_id:
            await request.messenger.post_parent(request.channel_id, message)

    async def forget(
        self,
        event: Mapping[str, Any],
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool,
    ) -> None:
        """Slack uninstalled deploybot (`app_uninstalled`) or revoked its bot token
        (`tokens_revoked`): delete the workspace's installation, key and settings."""
        kind = str(event.get("type"))
        scope = Scope.of(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if scope is None:
            log.warning("%s without a team or org; nothing to delete", kind)
            return
        if kind == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            # Only user tokens were revoked; deploybot asks for none, so nothing is stored.
            return
        await self._workspaces.forget(scope, event=kind)

    async def _may_administer(self, request: AdminRequest) -> bool:
        return await is_admin(
            request.client, request.user_id, self._admins, org_wide=request.scope.org_wide
        )

    async def _api_key_view(
        self, request: AdminRequest, error: str | None = None
    ) -> dict[str, Any]:
        workspace = await self._workspaces.get(request.scope)
        history = await self._workspaces.history(request.scope, limit=HISTORY_ROWS)
        key = workspace.key
        return admin_blocks.api_key_modal(
            private_metadata=request.private_metadata,
            hint=key.hint if key else None,
            set_by=key.set_by if key else None,
            set_at=key.set_at if key else None,
            has_own_key=key is not None,
            readable=key.readable if key else True,
            has_default_key=self._workspaces.default_key_for(request.scope) is not None,
            can_store=self._workspaces.can_store_keys,
            org_wide=request.scope.org_wide,
            history=[_line(change) for change in history],
            error=error,
        )

    async def _open(
        self, request: AdminRequest, trigger_id: str, view: dict[str, Any], *, command: str
    ) -> None:
        try:
            await request.client.views_open(trigger_id=trigger_id, view=view)
        except SLACK_FAILURES:
            log.warning("views.open failed", exc_info=True)
            await request.messenger.tell_user(notices.form_not_opened_notice(command=command))

    async def _show(self, request: AdminRequest, view_id: str, view: dict[str, Any]) -> bool:
        """Replace the open modal; False when it is gone (closed, or never opened)."""
        if not view_id:
            return False
        try:
            await request.client.views_update(view_id=view_id, view=view)
        except SLACK_FAILURES:
            log.info("views.update failed (the modal was probably closed)", exc_info=True)
            return False
        return True


async def _usergroups(client: AsyncWebClient) -> tuple[list[tuple[str, str]], str | None]:
    """The workspace's user groups as (id, label), and a note when they cannot all be offered."""
    try:
        response = await client.usergroups_list()
    except SlackApiError as exc:
        return [], admin_blocks.usergroups_note(
            offered=0, slack_error=str(exc.response.get("error"))
        )
    except SLACK_FAILURES:
        log.warning("usergroups.list failed", exc_info=True)
        return [], admin_blocks.usergroups_note(offered=0, failed=True)
    groups = [
        admin_blocks.usergroup_option(
            group_id=str(group["id"]), handle=group.get("handle"), name=group.get("name")
        )
        for group in response.get("usergroups") or ()
        if isinstance(group, dict) and group.get("id")
    ]
    return groups, admin_blocks.usergroups_note(offered=len(groups))


def _line(change: Change) -> str:
    return admin_blocks.change_line(
        user_id=change.user_id, at=change.at, action=change.action.value, detail=change.detail
    )


def _element(view: Mapping[str, Any], block_id: str) -> dict[str, Any]:
    """The state of a modal's input whose block and action share `block_id`."""
    values = view.get("state", {}).get("values", {})
    return dict(values.get(block_id, {}).get(block_id) or {})


def _ids(values: object) -> tuple[str, ...]:
    """Selected IDs in their order, each once."""
    if not isinstance(values, list):
        return ()
    return tuple(dict.fromkeys(value for value in values if isinstance(value, str) and value))
