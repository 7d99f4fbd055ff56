"""The deployment service: from the deploy form to the outcome, record → call vendor → report."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from blocks import guardrails, ids, input_errors, messages, notices, outcomes
from blocks.modal import deploy_modal
from blocks.text import short_span, span
from bot import cards, log_context, outcome
from bot.access import DeployGate
from bot.asker import Asker
from bot.crypto import KeyBox
from bot.deployment import StartDeploymentRequest, mask_secret_values
from bot.domain import Guardrails
from bot.follow import Follower, place_of
from bot.form import FieldErrors, Prefill, prefill_from
from bot.lookups import ApiKeyLookup, ClientLookup, GuardrailsLookup
from bot.messenger import Messenger, Place
from bot.modal_context import ModalContext
from bot.models import Deployment, utc_now
from bot.outcome import Outcome, Result
from bot.parsing import Parsed
from bot.slack_errors import SLACK_FAILURES
from bot.store import AutoStop, DeploymentIdTakenError, NewSubmission, PendingApproval, Store
from bot.vendor import (
    HiveonClient,
    HiveonError,
    HiveonRejectedError,
    HiveonUncertainError,
    HiveonUnreachableError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """A validated modal submission and who made it where; the team comes from Bolt's context."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    channel_id: str
    request: StartDeploymentRequest
    response_url: str | None = None
    stop_after: timedelta | None = None  # None: the workspace's default, if any

    @property
    def external_id(self) -> str:
        """The submission's idempotency key (the form makes it required)."""
        return self.request.external_deployment_id or ""


# The reminder comes this long before the automatic stop, or halfway for shorter runs.
REMINDER_LEAD = timedelta(minutes=15)


def auto_stop_plan(started_at: datetime, stop_after_s: int) -> AutoStop:
    """When a deployment started at `started_at` and asked to run `stop_after_s` is reminded
    of and stopped."""
    run = timedelta(seconds=stop_after_s)
    stop_at = started_at + run
    return AutoStop(started_at, stop_at - reminder_lead(stop_after_s), stop_at)


def reminder_lead(stop_after_s: int) -> timedelta:
    """How long before its stop a run of `stop_after_s` is reminded of."""
    return min(REMINDER_LEAD, timedelta(seconds=stop_after_s) / 2)


def has_secrets(request: StartDeploymentRequest) -> bool:
    """True when the stored (masked) request is not all Hiveon must receive."""
    return request.redacted() != request.to_payload()


def _field_with_a_secret(request: StartDeploymentRequest) -> str:
    """The form field that holds the first secret (the registry password, else a value)."""
    config = request.container_config
    if config.docker_auth is not None:
        return ids.DOCKER_PASSWORD
    if mask_secret_values(config.environment_variables) != config.environment_variables:
        return ids.ENVIRONMENT_VARIABLES
    return ids.METADATA


@dataclass(frozen=True)
class _CardFacts:
    """What the parent message shows, whatever state it is in."""

    user_id: str
    request: dict[str, Any]
    external_id: str
    stop_after_s: int | None = None
    approved_by: str | None = None

    @classmethod
    def of(cls, row: Deployment) -> _CardFacts:
        """The facts of a recorded submission."""
        return cls(
            row.user_id,
            row.request,
            row.external_deployment_id,
            row.stop_after_s,
            row.decided_by,
        )

    def notes(self, *, stops_at: datetime | None = None) -> list[str]:
        """Who approved it, and when it stops (once started) or how long it will run."""
        notes = [guardrails.approved_note(by=self.approved_by)] if self.approved_by else []
        if stops_at is not None:
            notes.append(guardrails.stops_at_note(stops_at=stops_at))
        return notes

    def render(
        self,
        status: str,
        *,
        deployment_id: str | None = None,
        detail: str | None = None,
        buttons: Collection[str] = (),
        stops_at: datetime | None = None,
    ) -> messages.Message:
        return cards.card(
            user_id=self.user_id,
            request=self.request,
            external_id=self.external_id,
            status=status,
            deployment_id=deployment_id,
            detail=detail,
            buttons=buttons,
            notes=self.notes(stops_at=stops_at),
        )


class _NotFound:
    """A look-up that definitely found nothing."""


NOT_FOUND = _NotFound()


class DeploymentService:
    """Starts deployments, from the form to the outcome: opens the deploy form (who may deploy
    where, a key to deploy with, "same again"), checks what the form cannot, then records the
    submission first, calls Hiveon with the workspace's key, and reports. What happens to a
    deployment after its start is bot.follow_up's.
    """

    def __init__(  # noqa: PLR0913 — the service's collaborators, keyword-only
        self,
        *,
        store: Store,
        vendor: HiveonClient,
        api_key_for: ApiKeyLookup,
        client_for: ClientLookup,
        follower: Follower,
        gate: DeployGate | None = None,
        command: str = "/deploy",
        reconcile_delays: Sequence[float] = (1.0, 3.0, 10.0),
        on_outcome: Callable[[str], None] | None = None,
        guardrails_for: GuardrailsLookup | None = None,
        box: KeyBox | None = None,
        approval_window: timedelta = timedelta(minutes=60),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        # Approval and automatic stops (the workspace's settings); None: neither, anywhere.
        self._guardrails_for = guardrails_for
        # Encrypts what a request waiting for approval must keep secret until it starts.
        self._box = box
        self._approval_window = approval_window
        # The clock of approvals and automatic stops (tests move it).
        self._clock = clock
        # Told how each start ended (started, failed, unknown), once recorded: the metrics.
        self._on_outcome = on_outcome
        self._vendor = vendor
        self._api_key_for = api_key_for
        self._client_for = client_for
        self._follower = follower
        # Who may deploy where (the workspace's settings); None lets everyone deploy anywhere.
        self._gate = gate
        self._command = command
        # Seconds to wait before each look-up of an unclear start: the first lets the vendor
        # finish what it may still be doing, the rest ride out a look-up that fails.
        self._reconcile_delays = tuple(reconcile_delays)

    async def open_deploy_modal(self, asker: Asker, prefill: Prefill) -> None:
        """Open the deploy modal, or tell the asker why it cannot be used.

        Without a prefill the modal repeats the asker's last deployment that started in this
        workspace ("same again"), secrets excepted. The outcome of a deployment started from it
        goes to the asker's channel, else their DM with the bot.
        """
        messenger = asker.messenger
        if (refused := await self._refusal(asker)) is not None:
            await messenger.tell_user(refused)
            return
        if await self._api_key_for(asker.enterprise_id, asker.team_id) is None:
            await messenger.tell_user(outcomes.no_api_key_notice(command=self._command))
            return
        if not prefill.fields:
            last = await self._store.last_started(team_id=asker.team_id, user_id=asker.user_id)
            if last is not None:
                prefill = prefill_of(last, viewer=asker.user_id)
        guard = await self.guardrails(asker.enterprise_id, asker.team_id)
        view = deploy_modal(
            # A fresh idempotency key per modal, unless the user named their own in the command.
            external_deployment_id=prefill.fields.get(ids.EXTERNAL_DEPLOYMENT_ID)
            or str(uuid.uuid4()),
            private_metadata=ModalContext(
                channel_id=asker.channel_id, response_url=asker.response_url
            ).dump(),
            prefill=prefill.fields,
            masked=prefill.masked,
            script_withheld_from=prefill.script_withheld_from,
            default_stop_after_s=guard.default_stop_after_s,
            max_stop_after_s=guard.max_stop_after_s,
        )
        try:
            await asker.client.views_open(trigger_id=asker.trigger_id, view=view)
        except SLACK_FAILURES:
            log.warning("views.open failed", exc_info=True)
            await messenger.tell_user(notices.form_not_opened_notice(command=self._command))

    async def guardrails(self, enterprise_id: str | None, team_id: str) -> Guardrails:
        """The workspace's approval rule and automatic stops."""
        if self._guardrails_for is None:
            return Guardrails()
        return await self._guardrails_for(enterprise_id, team_id)

    async def check_submission(
        self,
        team_id: str,
        parsed: StartDeploymentRequest | FieldErrors,
        *,
        enterprise_id: str | None = None,
        stop_after: Parsed[timedelta | None] = (None, []),
    ) -> StartDeploymentRequest | FieldErrors:
        """The form's verdict with the checks it cannot make alone: an external ID that is the
        Hiveon ID of one of the workspace's deployments is refused, as a look-up by it would
        find that deployment, not this submission; "Stop after" must be within the workspace's
        longest run; and where deployments wait for an approval, a secret needs an encryption
        key to wait with."""
        errors: FieldErrors = dict(parsed) if isinstance(parsed, dict) else {}
        duration, problems = stop_after
        guard = await self.guardrails(enterprise_id, team_id)
        if problems:
            errors[ids.STOP_AFTER] = problems[0]
        elif (
            duration is not None
            and guard.max_stop_after_s is not None
            and duration.total_seconds() > guard.max_stop_after_s
        ):
            errors[ids.STOP_AFTER] = input_errors.over_the_maximum(
                short_span(duration.total_seconds()), span(guard.max_stop_after_s)
            )
        if errors or isinstance(parsed, dict):
            return errors
        if await self._store.holds_deployment_id(
            team_id=team_id, deployment_id=parsed.external_deployment_id or ""
        ):
            return {ids.EXTERNAL_DEPLOYMENT_ID: input_errors.EXTERNAL_ID_IS_A_DEPLOYMENT_ID}
        if guard.require_approval and self._box is None and has_secrets(parsed):
            return {_field_with_a_secret(parsed): input_errors.HIDDEN_VALUE_CANNOT_WAIT}
        return parsed

    async def submit_if_allowed(self, submission: Submission, client: AsyncWebClient) -> None:
        """Start the deployment, unless the workspace's settings refuse this user or channel."""
        asker = Asker(
            client,
            submission.enterprise_id,
            submission.team_id,
            submission.user_id,
            channel_id=submission.channel_id,
            response_url=submission.response_url,
        )
        if (refused := await self._refusal(asker)) is not None:
            await asker.messenger.tell_user(refused)
            return
        await self.submit(submission, asker.messenger)

    async def submit(self, submission: Submission, messenger: Messenger) -> None:
        """Record the submission, then start it and post its message at once, then report."""
        log_context.bind(external_deployment_id=submission.external_id)
        request = submission.request
        api_key = await self._api_key_for(submission.enterprise_id, submission.team_id)
        if api_key is None:
            # Nothing is sent to Hiveon and nothing is posted in the channel.
            await messenger.tell_user(outcomes.no_api_key_notice(command=self._command))
            return
        redacted = request.redacted()
        guard = await self.guardrails(submission.enterprise_id, submission.team_id)
        stop_after_s = (
            int(submission.stop_after.total_seconds())
            if submission.stop_after is not None
            else guard.default_stop_after_s
        )
        new = NewSubmission(
            team_id=submission.team_id,
            enterprise_id=submission.enterprise_id,
            user_id=submission.user_id,
            channel_id=submission.channel_id,
            external_deployment_id=submission.external_id,
            request=redacted,
            response_url=submission.response_url,
            stop_after_s=stop_after_s,
        )
        if guard.require_approval:
            await self._ask_for_approval(new, request, guard, messenger)
            return
        row = await self._store.record_submission(new)
        if row is None:
            log.info("duplicate submission %s ignored", submission.external_id)
            await messenger.tell_user(
                notices.already_submitted_notice(external_id=submission.external_id)
            )
            return
        card = _CardFacts(submission.user_id, redacted, submission.external_id, stop_after_s)

        async def post_parent() -> Place | None:
            place = await messenger.post_parent(submission.channel_id, card.render("deploying"))
            if place is not None:
                # Recorded at once, so a restart can still reply in this thread.
                await self._store.record_message(row, channel=place.channel, ts=place.ts)
            return place

        try:
            # The parent message and the vendor call do not depend on each other: run both.
            place, result = await asyncio.gather(post_parent(), self._start(submission, api_key))
            await self._settle(row, result, card, place, messenger)
        finally:
            # Settled, the lease is released; if not, it runs out and recovery settles it.
            self._store.let_go(row)

    async def _ask_for_approval(
        self,
        new: NewSubmission,
        request: StartDeploymentRequest,
        guard: Guardrails,
        messenger: Messenger,
    ) -> None:
        """Record the submission as awaiting approval, its secrets sealed, and post the request
        with Approve and Reject: nothing is sent to Hiveon until an approver starts it."""
        sealed = None
        if has_secrets(request):
            if self._box is None:
                # The form refuses this; the settings may have changed since it was checked.
                await messenger.tell_user(
                    messages.notice(text=input_errors.HIDDEN_VALUE_CANNOT_WAIT)
                )
                return
            sealed = self._box.encrypt(json.dumps(request.to_payload()))
        pending = PendingApproval(self._clock() + self._approval_window, sealed)
        row_id = await self._store.record_submission(dataclasses.replace(new, approval=pending))
        row = await self._store.get(row_id) if row_id is not None else None
        if row is None:
            log.info("duplicate submission %s ignored", new.external_deployment_id)
            await messenger.tell_user(
                notices.already_submitted_notice(external_id=new.external_deployment_id)
            )
            return
        log.info("deployment %s awaits approval", new.external_deployment_id)
        request_message = cards.approval_request(row, approvers=guard.approvers)
        place = await messenger.post_parent(new.channel_id, request_message)
        if place is not None:
            await self._store.record_message(row.id, channel=place.channel, ts=place.ts)

    async def start_approved(
        self, row: Deployment, request: StartDeploymentRequest, messenger: Messenger
    ) -> None:
        """Start a submission an approver just took (`Store.take_approval`, leased to this
        process): say who approved, then call Hiveon and report as for any submission."""
        log_context.bind(external_deployment_id=row.external_deployment_id)
        try:
            api_key = await self._api_key_for(row.enterprise_id, row.team_id)
            card = _CardFacts.of(row)
            place = place_of(row)
            await messenger.reply(place, guardrails.approved_reply(by=row.decided_by or ""))
            await messenger.update_parent(place, card.render("deploying"))
            submission = Submission(
                team_id=row.team_id,
                enterprise_id=row.enterprise_id,
                user_id=row.user_id,
                channel_id=row.channel_id,
                request=request,
                response_url=row.response_url,
            )
            if api_key is None:
                result = outcome.not_started(
                    status=None,
                    reason="this workspace has no Hiveon API key",
                    external_id=row.external_deployment_id,
                    reached=False,
                )
            else:
                result = await self._start(submission, api_key)
            await self._settle(row.id, result, card, place, messenger)
        finally:
            self._store.let_go(row.id)

    async def _refusal(self, asker: Asker) -> messages.Message | None:
        """Why the workspace's settings refuse the asker in their channel; None if they allow."""
        if self._gate is None:
            return None
        return await self._gate.refusal(
            asker.client,
            enterprise_id=asker.enterprise_id,
            team_id=asker.team_id,
            user_id=asker.user_id,
            channel_id=asker.channel_id,
        )

    async def recover(self) -> None:
        """Settle submissions left `submitting` by a process that died before Hiveon answered
        (this one, before a restart, or another replica): look each up by external ID, report.

        Every replica runs this at start-up and then every third of a lease. Rows are claimed
        first, so each is settled by one replica, and only once their lease has run out, so a
        live replica's start still waiting for Hiveon is never taken from it.
        """
        rows = await self._store.claim_unsettled()
        try:
            for row in rows:
                await self._recover(row)
        finally:
            # Settled rows released their lease; any left (a failure) runs out and is retried.
            for row in rows:
                self._store.let_go(row.id)

    async def _recover(self, row: Deployment) -> None:
        log_context.bind(
            team_id=row.team_id,
            user_id=row.user_id,
            external_deployment_id=row.external_deployment_id,
        )
        client = await self._client_for(row.enterprise_id, row.team_id)
        api_key = await self._api_key_for(row.enterprise_id, row.team_id)
        card = _CardFacts.of(row)
        messenger, place = None, place_of(row)
        if client is None:
            log.warning(
                "no Slack client for team %s; %s is settled unreported", row.team_id, row.id
            )
        else:
            messenger = Messenger(client, user_id=row.user_id, response_url=row.response_url)
            if place is None:
                place = await messenger.post_parent(row.channel_id, card.render("deploying"))
                if place is not None:
                    await self._store.record_message(row.id, channel=place.channel, ts=place.ts)
        found = await self.look_up(row.external_deployment_id, api_key) if api_key else None
        # No answer came before the restart: the outcome has no status and no reason of its own.
        if isinstance(found, str):
            result = outcome.found(
                deployment_id=found,
                external_id=row.external_deployment_id,
                http_status=None,
                reason=None,
            )
        elif found is NOT_FOUND:
            result = outcome.not_started(
                status=None, reason=None, external_id=row.external_deployment_id
            )
        else:
            result = outcome.unknown(
                status=None, reason=None, external_id=row.external_deployment_id
            )
        log.info(
            "recovered interrupted submission %s: %s", row.external_deployment_id, result.result
        )
        await self._settle(row.id, result, card, place, messenger)

    async def _settle(
        self,
        row: int,
        result: Outcome,
        card: _CardFacts,
        place: Place | None,
        messenger: Messenger | None,
    ) -> None:
        """Record the outcome (following a started deployment from then on, and scheduling its
        automatic stop), and report it: failures in the channel too, naming the requester."""
        started = result.result is Result.STARTED
        plan = (
            auto_stop_plan(self._clock(), card.stop_after_s)
            if started and card.stop_after_s
            else None
        )
        try:
            await self._store.record_outcome(
                row,
                status=result.result.value,
                deployment_id=result.deployment_id,
                http_status=result.http_status,
                error=result.error,
                follow=self._follower.follow_window() if started else None,
                auto_stop=plan,
            )
        except DeploymentIdTakenError:
            # Hiveon answered with a deployment another submission of the workspace started:
            # it is not this one's, so nobody can stop someone else's deployment through it.
            log.warning(
                "deployment %s: Hiveon answered with deployment ID %s, which another submission "
                "holds; recorded as unknown",
                card.external_id,
                result.deployment_id,
            )
            result = outcome.taken(
                deployment_id=result.deployment_id or "",
                status=result.http_status,
                external_id=card.external_id,
            )
            started, plan = False, None
            await self._store.record_outcome(
                row,
                status=result.result.value,
                deployment_id=None,
                http_status=result.http_status,
                error=result.error,
            )
        log.info(
            "deployment %s: %s (HTTP %s)",
            card.external_id,
            result.result,
            result.http_status,
        )
        if self._on_outcome is not None:
            self._on_outcome(result.result.value)
        if messenger is None:
            return
        await messenger.reply(
            place,
            result.reply(command=self._command, requester=card.user_id),
            broadcast=not started,
        )
        await messenger.update_parent(
            place,
            card.render(
                result.result.value,
                deployment_id=result.deployment_id,
                detail=result.headline(),
                buttons=ids.ALL_DEPLOYMENT_BUTTONS if started else (ids.REDEPLOY,),
                stops_at=plan.stop_at if plan is not None else None,
            ),
        )

    async def _start(self, submission: Submission, api_key: str) -> Outcome:
        """Call the vendor; reconcile unclear answers by external ID; retry once where safe."""
        external_id = submission.external_id
        for attempt in (1, 2):
            try:
                started = await self._vendor.start_deployment(submission.request, api_key=api_key)
            except HiveonRejectedError as exc:
                return outcome.rejected(
                    status=exc.status_code,
                    vendor_message=exc.message,
                    machine_id=submission.request.machine_id,
                    external_id=external_id,
                )
            except HiveonUnreachableError as exc:
                # The request never left: retrying cannot start anything twice.
                if attempt == 1:
                    log.info("Hiveon unreachable (%s); retrying once", exc.reason)
                    continue
                return outcome.not_started(
                    status=None, reason=exc.reason, external_id=external_id, reached=False
                )
            except HiveonUncertainError as exc:
                found = await self.look_up(external_id, api_key)
                if isinstance(found, str):
                    return outcome.found(
                        deployment_id=found,
                        external_id=external_id,
                        http_status=exc.status_code,
                        reason=exc.reason,
                    )
                if found is NOT_FOUND and attempt == 1 and _safe_to_retry(exc):
                    log.info("start %s not found after %s; retrying once", external_id, exc.reason)
                    continue
                if found is NOT_FOUND:
                    return outcome.not_started(
                        status=exc.status_code, reason=exc.reason, external_id=external_id
                    )
                return outcome.unknown(
                    status=exc.status_code, reason=exc.reason, external_id=external_id
                )
            return outcome.started(deployment_id=started.deployment_id, external_id=external_id)
        msg = "unreachable: the loop returns on its second attempt"
        raise AssertionError(msg)

    async def look_up(self, external_id: str, api_key: str) -> str | _NotFound | None:
        """The deployment ID started under `external_id`, NOT_FOUND, or None when unsure.

        The vendor's look-up takes a deployment ID as readily as an external ID, so an external
        ID someone typed may name another submission's deployment: a deployment is this
        submission's only when its own `external_deployment_id` is `external_id`.
        """
        for delay in self._reconcile_delays:
            await asyncio.sleep(delay)
            try:
                status = await self._vendor.get_deployment(external_id, api_key=api_key)
            except HiveonError as exc:
                log.info("look-up of %s failed: %s", external_id, exc)
                continue
            except ValueError:
                # The client refuses IDs no URL can address ("." or ".."): the outcome is unknown.
                log.warning("external ID %r cannot be looked up", external_id)
                return None
            if status is None:
                return NOT_FOUND
            if status.external_deployment_id != external_id:
                log.warning(
                    "look-up of %s answered deployment %s, started under another external ID; "
                    "the outcome stays unknown",
                    external_id,
                    status.deployment_id,
                )
                return None
            return status.deployment_id
        return None


def prefill_of(row: Deployment, *, viewer: str) -> Prefill:
    """The deploy form for "same again" and Redeploy: the stored request (secrets left out;
    bot.form) and how long it was to run."""
    prefill = prefill_from(row.request, requester=row.user_id, viewer=viewer)
    if row.stop_after_s:
        prefill.fields[ids.STOP_AFTER] = short_span(row.stop_after_s)
    return prefill


def _safe_to_retry(exc: HiveonUncertainError) -> bool:
    """A gateway saying the service is down means the request never reached it."""
    return exc.status_code in {502, 503}
