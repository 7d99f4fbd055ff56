"""The deployment service: the one place that orders record → call vendor → report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from blocks import messages
from bot import outcome
from bot.deployment import StartDeploymentRequest
from bot.form import format_ports
from bot.messenger import Messenger, Place
from bot.outcome import Outcome
from bot.store import NewSubmission, Store
from bot.vendor import (
    HiveonClient,
    HiveonError,
    HiveonRejectedError,
    HiveonUncertainError,
    HiveonUnreachableError,
)

log = logging.getLogger(__name__)

ApiKeyLookup = Callable[[str | None, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Submission:
    """A validated modal submission and who made it where; the team comes from Bolt's context."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    channel_id: str
    request: StartDeploymentRequest

    @property
    def external_id(self) -> str:
        """The submission's idempotency key (the form makes it required)."""
        return self.request.external_deployment_id or ""


class _NotFound:
    """A look-up that definitely found nothing."""


NOT_FOUND = _NotFound()


class DeploymentService:
    """Starts deployments: records first, calls Hiveon with the workspace's key, then reports."""

    def __init__(
        self,
        *,
        store: Store,
        vendor: HiveonClient,
        api_key_for: ApiKeyLookup,
        command: str = "/deploy",
        reconcile_delays: Sequence[float] = (1.0, 3.0, 10.0),
    ) -> None:
        self._store = store
        self._vendor = vendor
        self._api_key_for = api_key_for
        self._command = command
        # Seconds to wait before each look-up of an unclear start: the first lets the vendor
        # finish what it may still be doing, the rest ride out a look-up that fails.
        self._reconcile_delays = tuple(reconcile_delays)

    async def has_api_key(self, enterprise_id: str | None, team_id: str) -> bool:
        """True when deployments from this workspace have a key to reach Hiveon with."""
        return await self._api_key_for(enterprise_id, team_id) is not None

    @property
    def no_api_key_text(self) -> str:
        """What a user of a workspace without a key reads."""
        result = outcome.no_api_key(external_id="")
        return f"{result.emoji} {result.headline} {result.next_step}"

    async def submit(self, submission: Submission, messenger: Messenger) -> None:
        """Record the submission, then start it and post its message at once, then report."""
        request = submission.request
        api_key = await self._api_key_for(submission.enterprise_id, submission.team_id)
        if api_key is None:
            # Nothing is sent to Hiveon and nothing is posted in the channel.
            await messenger.tell_user(messages.notice(text=self.no_api_key_text))
            return
        row = await self._store.record_submission(
            NewSubmission(
                team_id=submission.team_id,
                enterprise_id=submission.enterprise_id,
                user_id=submission.user_id,
                channel_id=submission.channel_id,
                external_deployment_id=submission.external_id,
                request=request.redacted(),
            )
        )
        if row is None:
            log.info("duplicate submission %s ignored", submission.external_id)
            await messenger.tell_user(
                messages.notice(
                    text=f"This form was already submitted (external ID `{submission.external_id}`)"
                    "; deploybot starts each submission only once. Its outcome is in the "
                    "thread of the first one."
                )
            )
            return
        # The parent message and the vendor call do not depend on each other: run them together.
        place, result = await asyncio.gather(
            messenger.post_parent(
                submission.channel_id, self._message(submission, status="deploying")
            ),
            self._start(submission, api_key),
        )
        if place is not None:
            await self._store.record_message(row, channel=place.channel, ts=place.ts)
        await self._store.record_outcome(
            row,
            status=result.result.value,
            deployment_id=result.deployment_id,
            http_status=result.http_status,
            error=result.error,
        )
        log.info(
            "deployment %s: %s (HTTP %s)", submission.external_id, result.result, result.http_status
        )
        await self._report(submission, place, result, messenger)

    async def _report(
        self, submission: Submission, place: Place | None, result: Outcome, messenger: Messenger
    ) -> None:
        reply = messages.thread_reply(
            emoji=result.emoji,
            headline=result.headline,
            next_step=result.next_step,
            facts=result.facts,
        )
        await messenger.reply(place, reply)
        await messenger.update_parent(
            place,
            self._message(
                submission,
                status=result.result.value,
                deployment_id=result.deployment_id,
                detail=f"{result.emoji} {result.headline}",
            ),
        )

    def _message(
        self,
        submission: Submission,
        *,
        status: str,
        deployment_id: str | None = None,
        detail: str | None = None,
    ) -> messages.Message:
        request = submission.request
        return messages.deployment_message(
            user_id=submission.user_id,
            image=request.container_config.image,
            machine_id=request.machine_id,
            machine_price_id=request.machine_price_id,
            ports=format_ports(request.container_config.ports),
            external_deployment_id=submission.external_id,
            status=status,
            deployment_id=deployment_id,
            detail=detail,
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
                    command=self._command,
                )
            except HiveonUnreachableError as exc:
                # The request never left: retrying cannot start anything twice.
                if attempt == 1:
                    log.info("Hiveon unreachable (%s); retrying once", exc.reason)
                    continue
                return outcome.not_started(
                    status=None,
                    reason=exc.reason,
                    external_id=external_id,
                    command=self._command,
                    reached=False,
                )
            except HiveonUncertainError as exc:
                found = await self._look_up(external_id, api_key)
                if isinstance(found, str):
                    return outcome.started(
                        deployment_id=found,
                        external_id=external_id,
                        http_status=exc.status_code,
                        after=_describe(exc),
                    )
                if found is NOT_FOUND and attempt == 1 and _safe_to_retry(exc):
                    log.info("start %s not found after %s; retrying once", external_id, exc.reason)
                    continue
                if found is NOT_FOUND:
                    return outcome.not_started(
                        status=exc.status_code,
                        reason=_describe(exc),
                        external_id=external_id,
                        command=self._command,
                    )
                return outcome.unknown(
                    status=exc.status_code,
                    reason=_describe(exc),
                    external_id=external_id,
                    command=self._command,
                )
            return outcome.started(deployment_id=started.deployment_id, external_id=external_id)
        msg = "unreachable: the loop returns on its second attempt"
        raise AssertionError(msg)

    async def _look_up(self, external_id: str, api_key: str) -> str | _NotFound | None:
        """The deployment ID started under `external_id`, NOT_FOUND, or None when unsure."""
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
            return status.deployment_id
        return None


def _safe_to_retry(exc: HiveonUncertainError) -> bool:
    """A gateway saying the service is down means the request never reached it."""
    return exc.status_code in {502, 503}


def _describe(exc: HiveonUncertainError) -> str:
    if exc.status_code is not None:
        return f"HTTP {exc.status_code}, {exc.reason}"
    return exc.reason
