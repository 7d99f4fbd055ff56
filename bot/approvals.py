"""Two-person approval: a waiting deployment is started by an approver other than its requester,
rejected with a reason, or expires unanswered.

Exactly once, whatever double clicks or replicas do: Approve is one conditional write
(`Store.take_approval`, `… WHERE status = 'awaiting_approval' RETURNING …`), and only the
caller that got the row starts it; a rejection and an expiry are conditional writes too, so
whichever comes first wins and the others are told it was decided. Expiry is scheduled work in
the database: every replica looks for requests whose time ran out (`expire_due`), and each is
claimed, and expired, by one. Who may decide is read when they press the button (the
workspace's approvers, else its admins), never from the message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from blocks import guardrails, ids, notices, outcomes
from bot import cards, log_context
from bot.administration import is_admin
from bot.asker import Asker
from bot.crypto import KeyBox, UndecryptableError
from bot.deployment import StartDeploymentRequest
from bot.domain import Guardrails
from bot.follow import place_of
from bot.form import FieldErrors
from bot.lookups import ApiKeyLookup, ClientLookup, FreezeLookup, GuardrailsLookup
from bot.messenger import Messenger
from bot.models import AWAITING_APPROVAL, EXPIRED, REJECTED, Deployment, utc_now
from bot.service import DeploymentService
from bot.slack_errors import SLACK_FAILURES
from bot.store import Store

log = logging.getLogger(__name__)


class RejectContext(BaseModel):
    """What the reject modal carries in `private_metadata`: which request (looked up in the
    clicker's own workspace only), and where to answer the clicker. Never a secret."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    external_id: str
    response_url: str | None = None

    @classmethod
    def load(cls, text: object) -> RejectContext | None:
        """Read it back; None when it is not what the bot put there."""
        if not isinstance(text, str):
            return None
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return None


def typed_reason(view: Mapping[str, Any]) -> str:
    """The reason typed in the reject modal, without surrounding spaces."""
    values = view.get("state", {}).get("values", {})
    value = (values.get(ids.REJECT_REASON, {}).get(ids.REJECT_REASON) or {}).get("value")
    return value.strip() if isinstance(value, str) else ""


def reason_problem(view: Mapping[str, Any]) -> FieldErrors | None:
    """The reject modal's field error, decided in the ack: a reason is required."""
    if typed_reason(view):
        return None
    return {ids.REJECT_REASON: guardrails.REJECT_REASON_MISSING}


class ApprovalService:
    """Approve, Reject (its modal and its submission) and the expiry of what nobody answered."""

    def __init__(  # noqa: PLR0913 — the service's collaborators, keyword-only
        self,
        *,
        store: Store,
        deployments: DeploymentService,
        guardrails_for: GuardrailsLookup,
        freeze_for: FreezeLookup,
        client_for: ClientLookup,
        api_key_for: ApiKeyLookup,
        box: KeyBox | None,
        admins: frozenset[str] = frozenset(),
        command: str = "/deploy",
        approval_window: timedelta = timedelta(minutes=60),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._deployments = deployments
        self._guardrails_for = guardrails_for
        self._freeze_for = freeze_for
        self._client_for = client_for
        self._api_key_for = api_key_for
        self._box = box
        self._admins = admins
        self._command = command
        self._approval_window = approval_window
        self._clock = clock

    async def approve(self, asker: Asker, external_id: str) -> None:
        """Start the request, once, if the asker may approve it and nothing holds it back;
        otherwise tell the asker privately why not (nothing changes)."""
        row = await self._awaiting(asker, external_id)
        if row is None:
            return
        refusal = await self._why_not(asker, row)
        request = self._request_of(row) if refusal is None else None
        if request is None:
            await asker.messenger.tell_user(refusal or guardrails.sealed_unreadable_notice())
            return
        taken = await self._store.take_approval(row.id, by=asker.user_id, now=self._clock())
        if taken is None:
            await self._tell_decided(asker, row.id)
            return
        # Read, so forgotten: the password is not kept a moment longer than the start needs.
        await self._store.forget_sealed(row.id)
        log.info("deployment %s approved by %s", row.external_deployment_id, asker.user_id)
        messenger = Messenger(asker.client, user_id=row.user_id, response_url=row.response_url)
        await self._deployments.start_approved(taken, request, messenger)

    async def _why_not(self, asker: Asker, row: Deployment) -> dict[str, Any] | None:
        """Why the asker's Approve cannot start the request now, or None when it can: their own
        request, not an approver, a freeze, no key to deploy with."""
        guard = await self._guardrails_for(row.enterprise_id, row.team_id)
        if asker.user_id == row.user_id:
            return guardrails.own_approval_notice(approvers=guard.approvers)
        if not await self._may_decide(asker, guard):
            return guardrails.not_an_approver_notice(
                approvers=guard.approvers, requester=row.user_id
            )
        freeze = await self._freeze_for(row.enterprise_id, row.team_id)
        if freeze is not None:
            return guardrails.approval_frozen_notice(
                by=freeze.by,
                since=freeze.at,
                until=freeze.until,
                reason=freeze.reason,
                expires_at=row.approval_expires_at,
            )
        if await self._api_key_for(row.enterprise_id, row.team_id) is None:
            return outcomes.no_api_key_notice(command=self._command)
        return None

    async def open_reject_modal(self, asker: Asker, external_id: str) -> None:
        """Ask the asker why, if they may reject the request (its requester may withdraw it)."""
        row = await self._awaiting(asker, external_id)
        if row is None or not await self._may_reject(asker, row):
            return
        image = str((row.request.get("container_config") or {}).get("image", ""))
        context = RejectContext(external_id=external_id, response_url=asker.response_url)
        view = guardrails.reject_modal(
            private_metadata=context.model_dump_json(exclude_none=True),
            requester=row.user_id,
            image=image,
        )
        try:
            await asker.client.views_open(trigger_id=asker.trigger_id, view=view)
        except SLACK_FAILURES:
            log.warning("views.open failed for a rejection", exc_info=True)
            await asker.messenger.tell_user(notices.form_not_opened_notice(command=self._command))

    async def reject(self, asker: Asker, view: Mapping[str, Any]) -> None:
        """The reject modal's submission: end the request unstarted and say why in its thread."""
        context = RejectContext.load(view.get("private_metadata"))
        if context is None:
            log.warning("a rejection came without its request; ignored")
            return
        asker = Asker(
            asker.client,
            asker.enterprise_id,
            asker.team_id,
            asker.user_id,
            response_url=context.response_url,
        )
        row = await self._awaiting(asker, context.external_id)
        if row is None or not await self._may_reject(asker, row):
            return
        reason = typed_reason(view)
        closed = await self._store.close_approval(
            row.id, status=REJECTED, by=asker.user_id, reason=reason, now=self._clock()
        )
        if closed is None:
            await self._tell_decided(asker, row.id)
            return
        log.info("deployment %s rejected by %s", row.external_deployment_id, asker.user_id)
        messenger = Messenger(asker.client, user_id=row.user_id, response_url=row.response_url)
        reply = guardrails.rejected_reply(by=asker.user_id, requester=row.user_id, reason=reason)
        await self._report_closed(closed, messenger, reply)

    async def expire_due(self) -> None:
        """Expire the requests nobody answered in time (every replica, every tick; each one
        is claimed, and expired, by one) and say so in their threads."""
        rows = await self._store.claim_expired_approvals(self._clock())
        try:
            for row in rows:
                await self._expire(row)
        finally:
            for row in rows:
                self._store.let_go(row.id)

    async def _expire(self, row: Deployment) -> None:
        log_context.bind(
            team_id=row.team_id,
            user_id=row.user_id,
            external_deployment_id=row.external_deployment_id,
        )
        closed = await self._store.close_approval(
            row.id, status=EXPIRED, by=None, reason=None, now=self._clock()
        )
        if closed is None:
            return  # approved or rejected meanwhile
        log.info("deployment %s expired unapproved", row.external_deployment_id)
        client = await self._client_for(row.enterprise_id, row.team_id)
        if client is None:
            log.warning("no Slack client for team %s; the expiry is unreported", row.team_id)
            return
        messenger = Messenger(client, user_id=row.user_id, response_url=row.response_url)
        reply = guardrails.expired_reply(
            requester=row.user_id,
            waited_s=self._approval_window.total_seconds(),
            command=self._command,
        )
        await self._report_closed(closed, messenger, reply)

    async def _report_closed(
        self, row: Deployment, messenger: Messenger, reply: dict[str, Any]
    ) -> None:
        """Reply in the request's thread (mentioning its requester) and take the buttons off."""
        place = place_of(row)
        await messenger.reply(place, reply)
        await messenger.update_parent(
            place,
            # To ask again, changed as the reason says: the form, prefilled.
            cards.card_of(row, status=row.status, buttons=(ids.REDEPLOY,)),
        )

    async def _awaiting(self, asker: Asker, external_id: str) -> Deployment | None:
        """The request in the asker's own workspace, if it still awaits a decision; else the
        asker is told it is unknown or already decided."""
        row = await self._store.find(team_id=asker.team_id, external_deployment_id=external_id)
        if row is None:
            await asker.messenger.tell_user(notices.unknown_deployment_notice(any_id=external_id))
            return None
        if row.status != AWAITING_APPROVAL or self._expired(row):
            await self._tell_decided(asker, row.id, row)
            return None
        return row

    async def _tell_decided(self, asker: Asker, row_id: int, row: Deployment | None = None) -> None:
        row = row or await self._store.get(row_id)
        if row is None:
            return
        status = EXPIRED if row.status == AWAITING_APPROVAL else row.status
        await asker.messenger.tell_user(
            guardrails.already_decided_notice(status=status, by=row.decided_by)
        )

    def _expired(self, row: Deployment) -> bool:
        expires = row.approval_expires_at
        return expires is not None and expires <= self._clock()

    async def _may_reject(self, asker: Asker, row: Deployment) -> bool:
        """Approvers may reject; the requester may withdraw their own. Others are told."""
        if asker.user_id == row.user_id:
            return True
        guard = await self._guardrails_for(row.enterprise_id, row.team_id)
        if await self._may_decide(asker, guard):
            return True
        await asker.messenger.tell_user(
            guardrails.not_an_approver_notice(approvers=guard.approvers, requester=row.user_id)
        )
        return False

    async def _may_decide(self, asker: Asker, guard: Guardrails) -> bool:
        """The workspace's approvers, when it names any; else its admins (and DEPLOYBOT_ADMINS)."""
        if guard.approvers:
            return asker.user_id in guard.approvers
        return await is_admin(asker.client, asker.user_id, self._admins)

    def _request_of(self, row: Deployment) -> StartDeploymentRequest | None:
        """The request as Hiveon must receive it: unsealed, or as stored when it held no
        secret; None when no configured key opens it."""
        payload: object = row.request
        if row.sealed_request is not None:
            if self._box is None:
                return None
            try:
                payload = json.loads(self._box.decrypt(row.sealed_request))
            except UndecryptableError:
                log.warning("the sealed request of %s cannot be decrypted", row.id)
                return None
        try:
            return StartDeploymentRequest.model_validate(payload)
        except ValidationError:
            log.warning("the request of %s cannot be read back", row.id)
            return None
