"""The deployment service: from the deploy form to the outcome, record → call vendor → report.

Every way in starts here: the slash command and its presets, the shortcuts, the App Home, the
Redeploy button, and the Workflow Builder step (`run_step`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from blocks import guardrails, ids, input_errors, messages, notices, outcomes, steps
from blocks import presets as preset_words
from blocks.modal import deploy_modal
from blocks.text import short_span, span
from bot import cards, log_context, outcome
from bot.access import DeployGate
from bot.administration import is_admin
from bot.asker import Asker
from bot.crypto import KeyBox
from bot.deployment import StartDeploymentRequest, mask_secret_values
from bot.domain import Guardrails, Preset, Scope
from bot.follow import Follower, place_of
from bot.form import (
    FieldErrors,
    Prefill,
    asks_channel,
    chosen_channel,
    parse_submission,
    prefill_from,
    read_preset_name,
    read_stop_after,
    typed_texts,
)
from bot.lookups import ApiKeyLookup, ClientLookup, GuardrailsLookup
from bot.messenger import Messenger, Place
from bot.modal_context import ModalContext
from bot.models import Deployment, utc_now
from bot.outcome import Outcome, Result
from bot.parsing import Parsed
from bot.preset_store import MAX_PRESETS, PresetStore, Saved
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
    # "Save as preset": the name to save the form under once the deployment starts.
    save_as: str | None = None
    # The preset that filled the form: a start marks it used.
    from_preset: str | None = None
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


@dataclass(frozen=True)
class FormSubmission:
    """The deploy form as submitted: its values and metadata, who submitted it, where Slack
    says its channel select's answers go; the workspace comes from Bolt's context."""

    client: AsyncWebClient
    team_id: str
    enterprise_id: str | None
    user_id: str
    values: Mapping[str, Any]
    private_metadata: str | None = None
    # From Slack's `response_urls`: the chosen channel's, for a form that asked for one.
    response_url: str | None = None


@dataclass(frozen=True)
class StepRun:
    """One run of the Workflow Builder step: its inputs, its execution, and the client that
    holds the run's own token (`functions.completeSuccess`/`completeError` need it)."""

    functions: AsyncWebClient
    team_id: str
    enterprise_id: str | None
    execution_id: str
    inputs: Mapping[str, Any] = field(default_factory=dict)


# The step's text inputs and the form fields they fill.
_STEP_FIELDS = {
    "image": ids.IMAGE,
    "machine_id": ids.MACHINE_ID,
    "machine_price_id": ids.MACHINE_PRICE_ID,
    "ports": ids.PORTS,
    "environment_variables": ids.ENVIRONMENT_VARIABLES,
}
# How long a submission's ack may wait for Slack to say whether someone is an admin, and who
# the owner of a preset name is: the ack must leave within 3 s.
_ACK_LOOKUP_S = 1.0


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
        presets: PresetStore | None = None,
        admins: frozenset[str] = frozenset(),
        command: str = "/deploy",
        reconcile_delays: Sequence[float] = (1.0, 3.0, 10.0),
        on_outcome: Callable[[str], None] | None = None,
        guardrails_for: GuardrailsLookup | None = None,
        box: KeyBox | None = None,
        approval_window: timedelta = timedelta(minutes=60),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        # The workspace's presets; None: no presets at all (the form offers none).
        self._presets = presets
        # Besides Slack's workspace admins, who may replace someone else's preset.
        self._admins = admins
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

    async def open_deploy_modal(
        self,
        asker: Asker,
        prefill: Prefill,
        *,
        preset: str | None = None,
        preset_or_image: bool = False,
        ask_channel: bool = False,
    ) -> None:
        """Open the deploy modal, or tell the asker why it cannot be used.

        Without a prefill the modal repeats the asker's last deployment that started in this
        workspace ("same again"), secrets excepted. From a `preset`, it is that preset, the
        prefill's fields overriding it; with `preset_or_image` the name was a bare word of the
        command, so a workspace without such a preset gets it as the image instead.
        `ask_channel` (a form opened outside a channel) asks where the message and thread go,
        the asker's last deployment's channel chosen; without one, they go to the asker's DM.
        """
        messenger = asker.messenger
        if (refused := await self._refusal(asker, check_channel=not ask_channel)) is not None:
            await messenger.tell_user(refused)
            return
        if await self._api_key_for(asker.enterprise_id, asker.team_id) is None:
            await messenger.tell_user(outcomes.no_api_key_notice(command=self._command))
            return
        chosen = await self._preset(asker.team_id, preset) if preset else None
        if preset and chosen is None and not preset_or_image:
            await messenger.tell_user(
                preset_words.unknown_preset_notice(name=preset, command=self._command)
            )
            return
        if chosen is not None:
            overrides = dict(prefill.fields)
            if preset_or_image:
                overrides.pop(ids.IMAGE, None)  # the bare word named the preset, not an image
            prefill = _preset_prefill(chosen, viewer=asker.user_id, overrides=overrides)
        elif not prefill.fields:
            last = await self._store.last_started(team_id=asker.team_id, user_id=asker.user_id)
            if last is not None:
                prefill = prefill_of(last, viewer=asker.user_id)
        guard = await self.guardrails(asker.enterprise_id, asker.team_id)
        # A fresh idempotency key per modal, unless the user named their own in the command.
        named = prefill.fields.get(ids.EXTERNAL_DEPLOYMENT_ID)
        minted = None if named else str(uuid.uuid4())
        view = deploy_modal(
            external_deployment_id=named or minted or "",
            private_metadata=ModalContext(
                channel_id=asker.channel_id,
                response_url=asker.response_url,
                preset=chosen.name if chosen else None,
                minted_id=minted,
            ).dump(),
            prefill=prefill.fields,
            masked=prefill.masked,
            script_withheld_from=prefill.script_withheld_from,
            offer_presets=await self._has_presets(asker.team_id),
            preset=chosen.name if chosen else None,
            ask_channel=ask_channel,
            channel=await self._last_channel(asker) if ask_channel else None,
            default_stop_after_s=guard.default_stop_after_s,
            max_stop_after_s=guard.max_stop_after_s,
        )
        try:
            await asker.client.views_open(trigger_id=asker.trigger_id, view=view)
        except SLACK_FAILURES:
            log.warning("views.open failed", exc_info=True)
            await messenger.tell_user(notices.form_not_opened_notice(command=self._command))

    async def refill_from_preset(self, asker: Asker, view: Mapping[str, Any], name: str) -> None:
        """The form's preset select: fill the open form from the preset in place, keeping what
        the user typed in the fields the preset leaves empty."""
        chosen = await self._preset(asker.team_id, name)
        view_id = str(view.get("id") or "")
        if chosen is None or not view_id:
            await asker.messenger.tell_user(
                preset_words.unknown_preset_notice(name=name, command=self._command)
            )
            return
        where = ModalContext.load(view.get("private_metadata"))
        values = (view.get("state") or {}).get("values") or {}
        typed = {block: text for block, text in typed_texts(values).items() if text.strip()}
        from_preset = _preset_prefill(chosen, viewer=asker.user_id, overrides={})
        fields = typed | from_preset.fields
        revision = where.revision + 1
        guard = await self.guardrails(asker.enterprise_id, asker.team_id)
        # The form's idempotency key stays: it is still the key of this one submission.
        kept = typed.get(ids.EXTERNAL_DEPLOYMENT_ID)
        minted = where.minted_id if kept else str(uuid.uuid4())
        refilled = deploy_modal(
            external_deployment_id=kept or minted or "",
            private_metadata=where.model_copy(
                update={"preset": chosen.name, "revision": revision, "minted_id": minted}
            ).dump(),
            prefill=fields,
            masked=from_preset.masked,
            script_withheld_from=from_preset.script_withheld_from,
            offer_presets=True,
            preset=chosen.name,
            ask_channel=asks_channel(values),
            channel=chosen_channel(values),
            revision=revision,
            default_stop_after_s=guard.default_stop_after_s,
            max_stop_after_s=guard.max_stop_after_s,
        )
        try:
            await asker.client.views_update(
                view_id=view_id, hash=str(view.get("hash") or "") or None, view=refilled
            )
        except SLACK_FAILURES:
            # The form was closed or changed meanwhile; it stays as the user left it.
            log.info("views.update of a refilled form failed", exc_info=True)

    async def check_form(self, form: FormSubmission) -> Submission | FieldErrors:
        """The deploy form's verdict, decided in the submission's ack: every field's problem,
        or the submission to start.

        Beyond the form's own rules: an external ID that names one of the workspace's
        deployments, a preset name someone else holds (unless the submitter is an admin) or
        one past the workspace's presets, and a chosen channel the settings do not allow.
        """
        values = form.values
        stop_after = read_stop_after(values)
        where = ModalContext.load(form.private_metadata)
        parsed = await self.check_submission(
            form.team_id,
            parse_submission(values),
            enterprise_id=form.enterprise_id,
            stop_after=stop_after,
            minted_id=where.minted_id,
        )
        errors: FieldErrors = dict(parsed) if isinstance(parsed, dict) else {}
        name, problems = read_preset_name(values, command=self._command)
        if problems:
            errors[ids.PRESET_NAME] = " ".join(problems)
        elif name is not None and (problem := await self._preset_name_problem(form, name)):
            errors[ids.PRESET_NAME] = problem
        channel = chosen_channel(values)
        if (
            channel is not None
            and self._gate is not None
            and not await self._gate.channel_allowed(
                enterprise_id=form.enterprise_id, team_id=form.team_id, channel_id=channel
            )
        ):
            errors[ids.CHANNEL] = input_errors.CHANNEL_NOT_ALLOWED
        if errors or isinstance(parsed, dict):
            return errors
        asked = asks_channel(values)
        return Submission(
            team_id=form.team_id,
            enterprise_id=form.enterprise_id,
            user_id=form.user_id,
            # Without a channel (a modal opened elsewhere) the conversation is the user's DM.
            channel_id=channel or (None if asked else where.channel_id) or form.user_id,
            request=parsed,
            response_url=form.response_url if asked else where.response_url,
            save_as=name,
            from_preset=where.preset,
            stop_after=stop_after[0],
        )

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
        minted_id: str | None = None,
    ) -> StartDeploymentRequest | FieldErrors:
        """The form's verdict with the checks it cannot make alone: an external ID that is the
        Hiveon ID of one of the workspace's deployments is refused, as a look-up by it would
        find that deployment, not this submission; "Stop after" must be within the workspace's
        longest run; and where deployments wait for an approval, a secret needs an encryption
        key to wait with.

        An external ID equal to `minted_id`, the fresh UUID deploybot put in the form, is not
        looked up: the ack then reads nothing from the database, which a burst of submissions
        on PostgreSQL otherwise makes wait for a pooled connection behind the writes."""
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
        external_id = parsed.external_deployment_id or ""
        if external_id != minted_id and await self._store.holds_deployment_id(
            team_id=team_id, deployment_id=external_id
        ):
            return {ids.EXTERNAL_DEPLOYMENT_ID: input_errors.EXTERNAL_ID_IS_A_DEPLOYMENT_ID}
        if guard.require_approval and self._box is None and has_secrets(parsed):
            return {_field_with_a_secret(parsed): input_errors.HIDDEN_VALUE_CANNOT_WAIT}
        return parsed

    async def submit_if_allowed(self, submission: Submission, client: AsyncWebClient) -> None:
        """Start the deployment, unless the workspace's settings refuse this user or channel;
        once it started, save the form as a preset if asked."""
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
        result = await self.submit(submission, asker.messenger)
        await self._after_start(submission, result, asker)

    async def submit(self, submission: Submission, messenger: Messenger) -> Outcome | None:
        """Record the submission, then start it and post its message at once, then report;
        how it ended (None when nothing was sent: no key, or submitted already)."""
        log_context.bind(external_deployment_id=submission.external_id)
        request = submission.request
        api_key = await self._api_key_for(submission.enterprise_id, submission.team_id)
        if api_key is None:
            # Nothing is sent to Hiveon and nothing is posted in the channel.
            await messenger.tell_user(outcomes.no_api_key_notice(command=self._command))
            return None
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
            return None
        row = await self._store.record_submission(new)
        if row is None:
            log.info("duplicate submission %s ignored", submission.external_id)
            await messenger.tell_user(
                notices.already_submitted_notice(external_id=submission.external_id)
            )
            return None
        card = _CardFacts(submission.user_id, redacted, submission.external_id, stop_after_s)

        async def post_parent() -> Place | None:
            place = await messenger.post_parent(
                submission.channel_id,
                card.render("deploying", buttons=ids.STARTING_DEPLOYMENT_BUTTONS),
            )
            if place is not None:
                # Recorded at once, so a restart can still reply in this thread.
                await self._store.record_message(row, channel=place.channel, ts=place.ts)
            return place

        try:
            # The parent message and the vendor call do not depend on each other: run both.
            place, result = await asyncio.gather(post_parent(), self._start(submission, api_key))
            return await self._settle(row, result, card, place, messenger)
        finally:
            # Settled, the lease is released; if not, it runs out and recovery settles it.
            self._store.let_go(row)

    async def run_step(self, run: StepRun) -> None:
        """The Workflow Builder step: check its inputs as the form checks them (a preset fills
        what they leave out), start the deployment as a submission does, and complete the step
        once the outcome is known; or fail it with the sentence the user would read."""
        client = await self._client_for(run.enterprise_id, run.team_id)
        if client is None:
            await _fail_step(run, steps.NO_SLACK_CLIENT)
            return
        prepared = await self._step_submission(run, client)
        if isinstance(prepared, str):
            await _fail_step(run, steps.step_error(prepared))
            return
        submission, asker = prepared
        result = await self.submit(submission, asker.messenger)
        await self._after_start(submission, result, asker)
        if result is None or result.result is not Result.STARTED:
            # submit() told the user why nothing was sent; the step fails with the same words.
            why = result.headline() if result is not None else notices.NOTHING_SENT
            await _fail_step(run, steps.step_error(why))
            return
        await _complete_step(
            run,
            {
                "deployment_id": result.deployment_id or "",
                "external_deployment_id": submission.external_id,
                "outcome": result.result.value,
            },
        )

    async def _step_submission(
        self, run: StepRun, client: AsyncWebClient
    ) -> tuple[Submission, Asker] | str:
        """The step's inputs as a submission, and who it is for; or why they cannot be one."""
        inputs = run.inputs
        user_id, channel_id = _text(inputs.get("user_id")), _text(inputs.get("channel_id"))
        if not (user_id and channel_id):
            return steps.MISSING_INPUTS
        log_context.bind(team_id=run.team_id, user_id=user_id)
        asker = Asker(client, run.enterprise_id, run.team_id, user_id, channel_id=channel_id)
        if (refused := await self._refusal(asker)) is not None:
            return str(refused["text"])
        if await self._api_key_for(run.enterprise_id, run.team_id) is None:
            return str(outcomes.no_api_key_notice(command=self._command)["text"])
        preset_name = _text(inputs.get("preset"))
        fields = await self._step_preset_fields(run.team_id, preset_name, user_id)
        if isinstance(fields, str):
            return fields
        given = {name: _text(inputs.get(name)) for name in _STEP_FIELDS}
        fields |= {_STEP_FIELDS[name]: text for name, text in given.items() if text}
        fields[ids.EXTERNAL_DEPLOYMENT_ID] = str(uuid.uuid4())
        values = {
            block: {block: {"type": "plain_text_input", "value": text}}
            for block, text in fields.items()
        }
        parsed = await self.check_submission(
            run.team_id, parse_submission(values), enterprise_id=run.enterprise_id
        )
        if isinstance(parsed, dict):
            return steps.input_problems(parsed)
        submission = Submission(
            team_id=run.team_id,
            enterprise_id=run.enterprise_id,
            user_id=user_id,
            channel_id=channel_id,
            request=parsed,
            from_preset=preset_name or None,
        )
        return submission, asker

    async def _step_preset_fields(
        self, team_id: str, name: str, user_id: str
    ) -> dict[str, str] | str:
        """The form's fields from the step's preset (none without one); or why it cannot be
        used."""
        if not name:
            return {}
        chosen = await self._preset(team_id, name)
        if chosen is None:
            unknown = preset_words.unknown_preset_notice(name=name, command=self._command)
            return str(unknown["text"])
        fields = _preset_prefill(chosen, viewer=user_id, overrides={}).fields
        if login := fields.get(ids.DOCKER_LOGIN):
            server = fields.get(ids.DOCKER_SERVER) or "Docker Hub"
            return steps.registry_needs_a_password(preset=name, server=server, login=login)
        return fields

    async def _after_start(
        self, submission: Submission, result: Outcome | None, asker: Asker
    ) -> None:
        """Once a start is settled: its preset was used; the form is saved as a preset if
        asked and the deployment started, else the user is told why it was not."""
        if result is None or self._presets is None:
            return
        started = result.result is Result.STARTED
        if started and submission.from_preset:
            await self._presets.mark_used(submission.team_id, submission.from_preset)
        name = submission.save_as
        if name is None:
            return
        if not started:
            await asker.messenger.tell_user(
                preset_words.not_saved_notice(
                    name=name, reason="not_started", command=self._command
                )
            )
            return
        scope = Scope(submission.enterprise_id, submission.team_id)
        preset = submission.request.for_preset()
        saved = await self._presets.save(
            scope, name=name, request=preset, by=submission.user_id, may_replace=False
        )
        if saved.saved is Saved.TAKEN and await is_admin(
            asker.client, submission.user_id, self._admins
        ):
            saved = await self._presets.save(
                scope, name=name, request=preset, by=submission.user_id, may_replace=True
            )
        if saved.saved in {Saved.SAVED, Saved.REPLACED}:
            await asker.messenger.tell_user(
                preset_words.saved_notice(
                    name=name,
                    command=self._command,
                    replaced_owner=saved.owner,
                    by=submission.user_id,
                )
            )
            return
        await asker.messenger.tell_user(
            preset_words.not_saved_notice(
                name=name,
                reason=saved.saved.value,
                command=self._command,
                owner=saved.owner,
                limit=MAX_PRESETS,
            )
        )

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

    async def _refusal(
        self, asker: Asker, *, check_channel: bool = True
    ) -> messages.Message | None:
        """Why the workspace's settings refuse the asker in their channel; None if they allow."""
        if self._gate is None:
            return None
        return await self._gate.refusal(
            asker.client,
            enterprise_id=asker.enterprise_id,
            team_id=asker.team_id,
            user_id=asker.user_id,
            channel_id=asker.channel_id,
            check_channel=check_channel,
        )

    async def _preset(self, team_id: str, name: str) -> Preset | None:
        return None if self._presets is None else await self._presets.get(team_id, name)

    async def _has_presets(self, team_id: str) -> bool:
        return self._presets is not None and await self._presets.count(team_id) > 0

    async def _last_channel(self, asker: Asker) -> str | None:
        """The channel of the asker's last deployment, when it was a channel (not a DM)."""
        last = await self._store.recent(team_id=asker.team_id, user_id=asker.user_id, limit=1)
        channel = last[0].channel_id if last else None
        return channel if channel and channel.startswith(("C", "G")) else None

    async def _preset_name_problem(self, form: FormSubmission, name: str) -> str | None:
        """Why the form cannot be saved under `name`, decided in the ack; None if it can."""
        if self._presets is None:
            return None
        held = await self._presets.get(form.team_id, name)
        if held is None:
            if await self._presets.count(form.team_id) >= MAX_PRESETS:
                return preset_words.presets_full(limit=MAX_PRESETS, command=self._command)
            return None
        if held.user_id == form.user_id:
            return None
        try:
            async with asyncio.timeout(_ACK_LOOKUP_S):
                admin, owner_name = await asyncio.gather(
                    is_admin(form.client, form.user_id, self._admins),
                    _display_name(form.client, held.user_id),
                )
        except TimeoutError:
            admin, owner_name = False, held.user_id
        if admin:
            return None
        return preset_words.name_taken(name=name, owner_name=owner_name)

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
                place = await messenger.post_parent(
                    row.channel_id,
                    card.render("deploying", buttons=ids.STARTING_DEPLOYMENT_BUTTONS),
                )
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
    ) -> Outcome:
        """Record the outcome (following a started deployment from then on, and scheduling its
        automatic stop), and report it: failures in the channel too, naming the requester; the
        outcome as recorded."""
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
            return result
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
                buttons=ids.ALL_DEPLOYMENT_BUTTONS if started else ids.SETTLED_DEPLOYMENT_BUTTONS,
                stops_at=plan.stop_at if plan is not None else None,
            ),
        )
        return result

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
                # The request never left: retrying cannot start anything twice. A certificate
                # that could not be verified is not retried: the retry would meet it again.
                if attempt == 1 and not exc.untrusted:
                    log.info("Hiveon unreachable (%s); retrying once", exc.reason)
                    continue
                return outcome.not_started(
                    status=None,
                    reason=exc.reason,
                    external_id=external_id,
                    reached=False,
                    untrusted=exc.untrusted,
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


def _preset_prefill(preset: Preset, *, viewer: str, overrides: Mapping[str, str]) -> Prefill:
    """The form's text from a preset, as Redeploy fills it from a deployment (the startup
    script only for whoever saved it), the `overrides` (the command's options) on top."""
    filled = prefill_from(preset.request, requester=preset.user_id, viewer=viewer)
    return Prefill(
        fields=filled.fields | dict(overrides),
        masked=filled.masked,
        script_withheld_from=filled.script_withheld_from,
    )


def _text(value: object) -> str:
    """A step input as text: Slack sends strings (IDs for channels and users); else nothing."""
    return value.strip() if isinstance(value, str) else ""


async def _display_name(client: AsyncWebClient, user_id: str) -> str:
    """How Slack shows a person (their display name, else real name), for plain text; their
    ID when Slack cannot say."""
    try:
        response = await client.users_info(user=user_id)
    except SLACK_FAILURES:
        return user_id
    user = response.get("user") or {}
    profile = user.get("profile") or {}
    name = profile.get("display_name") or user.get("real_name") or user.get("name")
    return str(name) if name else user_id


async def _complete_step(run: StepRun, outputs: dict[str, str]) -> None:
    try:
        await run.functions.functions_completeSuccess(
            function_execution_id=run.execution_id, outputs=outputs
        )
    except SLACK_FAILURES:
        log.warning("functions.completeSuccess failed for %s", run.execution_id, exc_info=True)


async def _fail_step(run: StepRun, error: str) -> None:
    try:
        await run.functions.functions_completeError(
            function_execution_id=run.execution_id, error=error
        )
    except SLACK_FAILURES:
        log.warning("functions.completeError failed for %s", run.execution_id, exc_info=True)
