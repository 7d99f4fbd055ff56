"""The deployment service: from the deploy form to the outcome, record → call vendor → report."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids, input_errors, messages, notices, outcomes
from blocks.modal import deploy_modal
from bot import cards, log_context, outcome
from bot.access import DeployGate
from bot.asker import Asker
from bot.deployment import StartDeploymentRequest
from bot.follow import Follower, place_of
from bot.form import FieldErrors, Prefill, prefill_from
from bot.lookups import ApiKeyLookup, ClientLookup
from bot.messenger import Messenger, Place
from bot.modal_context import ModalContext
from bot.models import Deployment
from bot.outcome import Outcome, Result
from bot.slack_errors import SLACK_FAILURES
from bot.store import DeploymentIdTakenError, NewSubmission, Store
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

    @property
    def external_id(self) -> str:
        """The submission's idempotency key (the form makes it required)."""
        return self.request.external_deployment_id or ""


@dataclass(frozen=True)
class _CardFacts:
    """What the parent message shows, whatever state it is in."""

    user_id: str
    request: dict[str, Any]
    external_id: str

    def render(
        self,
        status: str,
        *,
        deployment_id: str | None = None,
        detail: str | None = None,
        buttons: Collection[str] = (),
    ) -> messages.Message:
        return cards.card(
            user_id=self.user_id,
            request=self.request,
            external_id=self.external_id,
            status=status,
            deployment_id=deployment_id,
            detail=detail,
            buttons=buttons,
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
    ) -> None:
        self._store = store
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
                prefill = prefill_from(last.request, requester=last.user_id, viewer=asker.user_id)
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
        )
        try:
            await asker.client.views_open(trigger_id=asker.trigger_id, view=view)
        except SLACK_FAILURES:
            log.warning("views.open failed", exc_info=True)
            await messenger.tell_user(notices.form_not_opened_notice(command=self._command))

    async def check_submission(
        self, team_id: str, parsed: StartDeploymentRequest | FieldErrors
    ) -> StartDeploymentRequest | FieldErrors:
        """The form's verdict with the one check it cannot make alone: an external ID that is
        the Hiveon ID of one of the workspace's deployments is refused, as a look-up by it
        would find that deployment, not this submission."""
        if isinstance(parsed, dict) or not await self._store.holds_deployment_id(
            team_id=team_id, deployment_id=parsed.external_deployment_id or ""
        ):
            return parsed
        return {ids.EXTERNAL_DEPLOYMENT_ID: input_errors.EXTERNAL_ID_IS_A_DEPLOYMENT_ID}

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
        row = await self._store.record_submission(
            NewSubmission(
                team_id=submission.team_id,
                enterprise_id=submission.enterprise_id,
                user_id=submission.user_id,
                channel_id=submission.channel_id,
                external_deployment_id=submission.external_id,
                request=redacted,
                response_url=submission.response_url,
            )
        )
        if row is None:
            log.info("duplicate submission %s ignored", submission.external_id)
            await messenger.tell_user(
                notices.already_submitted_notice(external_id=submission.external_id)
            )
            return
        card = _CardFacts(submission.user_id, redacted, submission.external_id)

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
        card = _CardFacts(row.user_id, row.request, row.external_deployment_id)
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
        """Record the outcome (following a started deployment from then on), and report it."""
        started = result.result is Result.STARTED
        try:
            await self._store.record_outcome(
                row,
                status=result.result.value,
                deployment_id=result.deployment_id,
                http_status=result.http_status,
                error=result.error,
                follow=self._follower.follow_window() if started else None,
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
            started = False
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
        await messenger.reply(place, result.reply(command=self._command))
        await messenger.update_parent(
            place,
            card.render(
                result.result.value,
                deployment_id=result.deployment_id,
                detail=result.headline(),
                buttons=ids.ALL_DEPLOYMENT_BUTTONS if started else (ids.REDEPLOY,),
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


def _safe_to_retry(exc: HiveonUncertainError) -> bool:
    """A gateway saying the service is down means the request never reached it."""
    return exc.status_code in {502, 503}
