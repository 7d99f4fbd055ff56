"""Automatic stops: a deployment asked to run for a while is stopped through Hiveon then, after a
reminder in its thread with Extend and Stop now; `/deploy extend` moves the stop too.

The schedule lives in the deployment's row (`remind_at`, `stop_at`), written with the start's
outcome, so restarts and `kill -9` lose nothing. Every replica looks for what is due each tick
(`run_due`) and claims it first (`Store.claim_reminders`, `Store.claim_stops`: `FOR UPDATE SKIP
LOCKED`), so each reminder is posted and each stop asked of Hiveon by one replica. What is done
is recorded before it is said (at most one reply each); a stop interrupted before it was
recorded is asked again, which Hiveon takes as the same stop. An Extend moves the stop only
from the time it read (`Store.extend`), so a double click extends once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from blocks import guardrails, ids, notices
from bot import cards, log_context
from bot.administration import is_admin
from bot.asker import Asker
from bot.durations import LONGEST
from bot.follow import Follower, place_of
from bot.lookups import ApiKeyLookup, ClientLookup, GuardrailsLookup
from bot.messenger import Messenger
from bot.models import Deployment, utc_now
from bot.service import reminder_lead
from bot.store import Store
from bot.vendor import HiveonClient, HiveonError, HiveonRejectedError

log = logging.getLogger(__name__)

# The reminder's buttons carry the deployment and the stop they were shown for: `<id>|<unix>`.
_SEPARATOR = "|"


def button_value(row: Deployment) -> str:
    """What Extend and Stop now carry: the external ID, and the stop time as shown."""
    stamp = int(row.stop_at.timestamp()) if row.stop_at else 0
    return f"{row.external_deployment_id}{_SEPARATOR}{stamp}"


def _read_value(value: str) -> tuple[str, int | None]:
    """The external ID and stop time a button carries (external IDs have no `|`)."""
    external_id, separator, stamp = value.rpartition(_SEPARATOR)
    if not separator:
        return value, None
    return external_id, int(stamp) if stamp.isdigit() else None


class AutoStopService:
    """Reminders, automatic stops, Extend (button and command) and Stop now."""

    def __init__(  # noqa: PLR0913 — the service's collaborators, keyword-only
        self,
        *,
        store: Store,
        vendor: HiveonClient,
        follower: Follower,
        api_key_for: ApiKeyLookup,
        client_for: ClientLookup,
        guardrails_for: GuardrailsLookup,
        admins: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._vendor = vendor
        self._follower = follower
        self._api_key_for = api_key_for
        self._client_for = client_for
        self._guardrails_for = guardrails_for
        self._admins = admins
        self._clock = clock

    async def run_due(self) -> None:
        """Post the reminders and make the stops whose time has come (every replica, each
        tick; each one is claimed by one replica)."""
        now = self._clock()
        for claim, work in (
            (self._store.claim_reminders, self._remind),
            (self._store.claim_stops, self._stop),
        ):
            rows = await claim(now)
            try:
                for row in rows:
                    log_context.bind(
                        team_id=row.team_id,
                        user_id=row.user_id,
                        external_deployment_id=row.external_deployment_id,
                    )
                    await work(row)
            finally:
                # Recorded work released its lease; any left (a failure) runs out and retries.
                for row in rows:
                    self._store.let_go(row.id)

    async def extend_clicked(self, asker: Asker, value: str) -> None:
        """Extend, on a reminder: by the run asked for, as far as the workspace allows; only
        from the stop the reminder showed, so a second click changes nothing."""
        external_id, shown = _read_value(value)
        row = await self._mine_to_change(asker, external_id)
        if row is None or row.stop_at is None:
            return
        if shown is not None and int(row.stop_at.timestamp()) != shown:
            await asker.messenger.tell_user(
                guardrails.already_extended_notice(stops_at=row.stop_at)
            )
            return
        by = timedelta(seconds=row.stop_after_s or 0)
        await self._extend(asker, row, row.stop_at, by, confirm=False)

    async def extend(self, asker: Asker, any_id: str, by: timedelta) -> None:
        """`/deploy extend <ID> <duration>`: the same, by the duration given; the asker is
        answered privately as well as in the thread."""
        found = await self._store.find_by_any_id(team_id=asker.team_id, any_id=any_id)
        if found is None:
            await asker.messenger.tell_user(notices.unknown_deployment_notice(any_id=any_id))
            return
        row = await self._mine_to_change(asker, found.external_deployment_id)
        if row is not None and row.stop_at is not None:
            await self._extend(asker, row, row.stop_at, by, confirm=True)

    async def stop_now(self, asker: Asker, value: str) -> None:
        """Stop now, on a reminder: as the Stop button does, for whoever may."""
        external_id, _ = _read_value(value)
        row = await self._store.find(team_id=asker.team_id, external_deployment_id=external_id)
        if row is None:
            await asker.messenger.tell_user(notices.unknown_deployment_notice(any_id=external_id))
            return
        if await self._may_change(asker, row):
            await self._follower.stop(row, by=asker.user_id)

    async def _extend(
        self, asker: Asker, row: Deployment, stop_at: datetime, by: timedelta, *, confirm: bool
    ) -> None:
        guard = await self._guardrails_for(row.enterprise_id, row.team_id)
        longest = min(timedelta(seconds=guard.max_stop_after_s or LONGEST.total_seconds()), LONGEST)
        wanted = stop_at + by
        # No more time left than the form may ask for: a forgotten deployment still stops.
        new_stop = min(wanted, self._clock() + longest)
        if new_stop <= stop_at:
            await asker.messenger.tell_user(
                guardrails.at_the_longest_notice(max_s=longest.total_seconds(), stops_at=stop_at)
            )
            return
        lead = reminder_lead(row.stop_after_s or int(by.total_seconds()))
        if not await self._store.extend(
            row.id, expected_stop_at=stop_at, stop_at=new_stop, remind_at=new_stop - lead
        ):
            fresh = await self._store.get(row.id)
            if fresh is not None and fresh.stop_at is not None:
                notice = guardrails.already_extended_notice(stops_at=fresh.stop_at)
            else:
                notice = guardrails.nothing_to_extend_notice(
                    deployment=row.deployment_id or row.external_deployment_id, stopped=True
                )
            await asker.messenger.tell_user(notice)
            return
        capped = new_stop < wanted
        extended_by = (new_stop - stop_at).total_seconds()
        log.info("deployment %s extended by %s s", row.external_deployment_id, extended_by)
        messenger = Messenger(asker.client, user_id=row.user_id, response_url=row.response_url)
        place = place_of(row)
        await messenger.reply(
            place,
            guardrails.extended_reply(
                by=asker.user_id, by_s=extended_by, stops_at=new_stop, capped=capped
            ),
        )
        await self._show(row.id, messenger)
        if confirm:
            await asker.messenger.tell_user(
                guardrails.extended_notice(by_s=extended_by, stops_at=new_stop, capped=capped)
            )

    async def _remind(self, row: Deployment) -> None:
        """Remind the requester, in the thread, that it stops soon (recorded first: at most
        one reminder per stop time, even if this replica dies just after)."""
        await self._store.record_reminded(row.id)
        if row.stop_at is None or row.vendor_status in cards.SETTLED or not row.deployment_id:
            return
        messenger = await self._messenger(row)
        if messenger is None:
            return
        guard = await self._guardrails_for(row.enterprise_id, row.team_id)
        now = self._clock()
        longest = min(timedelta(seconds=guard.max_stop_after_s or LONGEST.total_seconds()), LONGEST)
        run = timedelta(seconds=row.stop_after_s or 0)
        extend_by = min(run, now + longest - row.stop_at) if run else timedelta(0)
        await messenger.reply(
            place_of(row),
            guardrails.reminder_message(
                requester=row.user_id,
                deployment_id=row.deployment_id,
                stops_at=row.stop_at,
                left_s=max((row.stop_at - now).total_seconds(), 0),
                extend_by_s=max(extend_by.total_seconds(), 0),
                button_value=button_value(row),
            ),
        )

    async def _stop(self, row: Deployment) -> None:
        """Ask Hiveon to stop it, record that, say so (in the channel too when it failed), and
        follow it to the end."""
        if row.vendor_status in cards.SETTLED or not row.deployment_id:
            await self._store.record_auto_stop(row.id, at=None)  # nothing left to stop
            return
        api_key = await self._api_key_for(row.enterprise_id, row.team_id)
        messenger = await self._messenger(row)
        place = place_of(row)
        if api_key is None:
            await self._store.record_auto_stop(row.id, at=None)
            if messenger is not None:
                await messenger.reply(
                    place,
                    guardrails.auto_stop_unclear_reply(
                        requester=row.user_id,
                        deployment_id=row.deployment_id,
                        reason="this workspace has no Hiveon API key",
                    ),
                    broadcast=True,
                )
            return
        try:
            await self._vendor.stop_deployment(row.deployment_id, api_key=api_key)
        except HiveonRejectedError as exc:
            await self._store.record_auto_stop(row.id, at=None)
            log.warning("Hiveon refused the automatic stop of %s: %s", row.deployment_id, exc)
            if messenger is not None:
                await messenger.reply(
                    place,
                    guardrails.auto_stop_refused_reply(
                        requester=row.user_id,
                        deployment_id=row.deployment_id,
                        http_status=exc.status_code,
                        vendor_message=exc.message,
                    ),
                    broadcast=True,
                )
            return
        except HiveonError as exc:
            await self._store.record_auto_stop(row.id, at=None)
            if messenger is not None:
                await messenger.reply(
                    place,
                    guardrails.auto_stop_unclear_reply(
                        requester=row.user_id, deployment_id=row.deployment_id, reason=str(exc)
                    ),
                    broadcast=True,
                )
            await self._follower.start_following(row.id)
            return
        now = self._clock()
        await self._store.record_auto_stop(row.id, at=now)
        log.info("deployment %s stopped automatically", row.deployment_id)
        if messenger is not None:
            ran = (now - (row.started_at or now)).total_seconds()
            await messenger.reply(
                place,
                guardrails.auto_stopped_reply(
                    requester=row.user_id, deployment_id=row.deployment_id, after_s=ran
                ),
            )
            await self._show(row.id, messenger)
        await self._follower.start_following(row.id)

    async def _show(self, row_id: int, messenger: Messenger) -> None:
        """The deployment's message, with when it stops (or that it was stopped) as recorded."""
        row = await self._store.get(row_id)
        if row is None:
            return
        settled = row.vendor_status in cards.SETTLED
        await messenger.update_parent(
            place_of(row),
            cards.card_of(
                row,
                status=cards.current_state(row),
                buttons=(ids.REDEPLOY,) if settled else ids.ALL_DEPLOYMENT_BUTTONS,
                settled=settled,
            ),
        )

    async def _mine_to_change(self, asker: Asker, external_id: str) -> Deployment | None:
        """The deployment, if the asker may extend it and it has a stop to move."""
        row = await self._store.find(team_id=asker.team_id, external_deployment_id=external_id)
        if row is None:
            await asker.messenger.tell_user(notices.unknown_deployment_notice(any_id=external_id))
            return None
        if not await self._may_change(asker, row):
            return None
        if row.stop_at is None or row.vendor_status in cards.SETTLED:
            stopped = row.stopped_automatically_at is not None or row.vendor_status in cards.SETTLED
            await asker.messenger.tell_user(
                guardrails.nothing_to_extend_notice(
                    deployment=row.deployment_id or external_id, stopped=stopped
                )
            )
            return None
        return row

    async def _may_change(self, asker: Asker, row: Deployment) -> bool:
        """Whoever started it, workspace admins and owners, and `DEPLOYBOT_ADMINS`."""
        if row.user_id == asker.user_id or await is_admin(
            asker.client, asker.user_id, self._admins
        ):
            return True
        await asker.messenger.tell_user(
            guardrails.extend_refusal_notice(
                requester=row.user_id, deployment=row.deployment_id or row.external_deployment_id
            )
        )
        return False

    async def _messenger(self, row: Deployment) -> Messenger | None:
        client = await self._client_for(row.enterprise_id, row.team_id)
        if client is None:
            log.warning("no Slack client for team %s; cannot report", row.team_id)
            return None
        return Messenger(client, user_id=row.user_id, response_url=row.response_url)
