"""Tests of the store on SQLite and PostgreSQL: recording, idempotency by external ID, look-ups,
and the leases that keep replicas sharing one database from doing the same work twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.crypto import KeyBox
from bot.models import AWAITING_APPROVAL, EXPIRED, REJECTED, SUBMITTING
from bot.store import AutoStop, NewSubmission, PendingApproval, Store, async_url
from tests.databases import query

REQUEST = {"machine_id": "m-1", "machine_price_id": "p-1", "container_config": {"image": "redis"}}
LEASE = timedelta(seconds=30)


@dataclass
class Clock:
    """A wall clock the test moves; the replicas' leases are read against it."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, span: timedelta) -> None:
        """Let `span` pass."""
        self.now += span


@pytest.fixture(name="clock")
def _clock() -> Clock:
    return Clock()


@pytest.fixture(name="replicas")
async def _replicas(database_url: str, clock: Clock) -> AsyncIterator[Callable[[], Store]]:
    """Opens stores on the test's database, each one a replica with its own lease owner."""
    opened: list[Store] = []

    def replica() -> Store:
        store = Store.from_url(database_url, lease_s=LEASE.total_seconds(), clock=clock)
        opened.append(store)
        return store

    await replica().migrate()
    yield replica
    for store in opened:
        await store.close()


@pytest.fixture(name="store")
def _store(replicas: Callable[[], Store]) -> Store:
    return replicas()


def submission(
    *,
    team_id: str = "T1",
    external_deployment_id: str = "ext-1",
    user_id: str = "U1",
    channel_id: str = "C1",
) -> NewSubmission:
    """A submission by U1 in C1 of team T1 (enterprise E1) with external ID ext-1 by default."""
    return NewSubmission(
        team_id=team_id,
        enterprise_id="E1",
        user_id=user_id,
        channel_id=channel_id,
        external_deployment_id=external_deployment_id,
        request=REQUEST,
    )


async def started(store: Store, external_id: str, *, poll_at: datetime) -> int:
    """A deployment that started, settled by `store`, followed with its first poll at `poll_at`."""
    row_id = await store.record_submission(submission(external_deployment_id=external_id))
    assert row_id is not None
    await store.record_outcome(
        row_id,
        status="started",
        deployment_id=f"dep-{external_id}",
        http_status=200,
        error=None,
        follow=(poll_at, poll_at + timedelta(minutes=30)),
    )
    return row_id


def lease_of(database_url: str, row_id: int) -> tuple[str | None, datetime | None]:
    """The row's lease owner and expiry, as stored."""
    [(owner, until)] = query(
        database_url, "SELECT lease_owner, lease_until FROM deployments WHERE id = :id", id=row_id
    )
    if isinstance(until, str):  # SQLite hands back text
        until = datetime.fromisoformat(until)
    return owner, until.replace(tzinfo=until.tzinfo or UTC) if until else None


# --- recording ---------------------------------------------------------------------------------


async def test_timestamps_come_back_aware_in_utc(store: Store) -> None:
    """SQLite keeps no time zone, PostgreSQL converts to the session's: either way the store
    returns aware UTC timestamps."""
    row = await store.record_submission(
        NewSubmission("T1", None, "U1", "C1", "ext-tz", {"machine_id": "m"})
    )
    assert row is not None
    stored = await store.get(row)
    assert stored is not None
    assert stored.created_at.tzinfo is UTC
    assert datetime.now(UTC) - stored.created_at < timedelta(minutes=1)


async def test_a_submission_is_recorded_as_submitting(store: Store, clock: Clock) -> None:
    """`record_submission` returns the new row's ID; the row holds every field, `submitting`,
    leased to this replica while Hiveon is called."""
    row_id = await store.record_submission(submission())
    assert isinstance(row_id, int)

    row = await store.get(row_id)
    assert row is not None
    assert row.id == row_id
    assert (row.team_id, row.enterprise_id, row.user_id, row.channel_id) == ("T1", "E1", "U1", "C1")
    assert row.external_deployment_id == "ext-1"
    assert row.request == REQUEST
    assert row.status == SUBMITTING == "submitting"
    assert row.message_channel is None
    assert row.message_ts is None
    assert row.deployment_id is None
    assert row.http_status is None
    assert row.error is None
    assert row.created_at == clock.now
    assert row.updated_at == row.created_at
    assert (row.lease_owner, row.lease_until) == (store.owner, clock.now + LEASE)


async def test_each_submission_gets_its_own_id(store: Store) -> None:
    """Two different external IDs make two rows with different IDs."""
    first = await store.record_submission(submission(external_deployment_id="ext-1"))
    second = await store.record_submission(submission(external_deployment_id="ext-2"))
    assert first is not None
    assert second is not None
    assert first != second


async def test_the_same_external_id_in_one_team_is_refused(store: Store) -> None:
    """A second submission with a team's external ID returns None and leaves the first row as is."""
    first = await store.record_submission(submission())
    assert first is not None
    again = await store.record_submission(submission(user_id="U2", channel_id="C2"))
    assert again is None

    row = await store.find(team_id="T1", external_deployment_id="ext-1")
    assert row is not None
    assert (row.id, row.user_id, row.channel_id) == (first, "U1", "C1")


async def test_the_same_submission_on_two_replicas_at_once_is_recorded_once(
    replicas: Callable[[], Store], database_url: str
) -> None:
    """Two replicas recording the same external ID at the same moment, 20 times over: each time
    exactly one gets a row, by the database's unique constraint."""
    first, second = replicas(), replicas()
    for attempt in range(20):
        same = submission(external_deployment_id=f"ext-race-{attempt}")
        results = await asyncio.gather(
            first.record_submission(same), second.record_submission(same)
        )
        assert sum(result is not None for result in results) == 1
    [(count,)] = query(database_url, "SELECT count(*) FROM deployments")
    assert count == 20


async def test_a_write_waits_while_another_connection_holds_the_table(store: Store) -> None:
    """A submission recorded while another connection holds a write on the table waits for it,
    and is recorded once it ends."""
    first = await store.record_submission(submission(external_deployment_id="ext-held"))
    assert first is not None
    async with store.engine.begin() as holder:
        if store.shared:  # PostgreSQL locks rows; an insert waits only for a lock on the table
            await holder.execute(text("LOCK TABLE deployments IN EXCLUSIVE MODE"))
        await holder.execute(
            text("UPDATE deployments SET user_id = 'U9' WHERE id = :id"), {"id": first}
        )
        waiting = asyncio.create_task(store.record_submission(submission()))
        done, _ = await asyncio.wait({waiting}, timeout=0.3)
        assert not done  # a negative: nothing to await but the time it is given
    second = await waiting
    assert second is not None
    found = await store.find(team_id="T1", external_deployment_id="ext-1")
    held = await store.get(first)
    assert found is not None
    assert held is not None
    assert (found.id, held.user_id) == (second, "U9")


async def test_a_duplicate_among_writes_made_at_once_fails_alone(
    store: Store, database_url: str
) -> None:
    """Forty submissions recorded at the same moment, one of them twice: the second of the pair
    is refused, every other one is recorded, and outcomes written at once land on their own
    rows."""
    names = [f"ext-at-once-{number}" for number in range(40)]
    rows = await asyncio.gather(
        *(store.record_submission(submission(external_deployment_id=name)) for name in names),
        store.record_submission(submission(external_deployment_id=names[7], user_id="U2")),
    )
    *recorded, duplicate = rows
    assert duplicate is None
    assert None not in recorded
    await asyncio.gather(
        *(
            store.record_outcome(
                row, status="started", deployment_id=f"d-{row}", http_status=200, error=None
            )
            for row in recorded
            if row is not None
        )
    )
    stored = query(
        database_url, "SELECT external_deployment_id, user_id, deployment_id FROM deployments"
    )
    assert sorted(stored) == sorted(
        (name, "U1", f"d-{row}") for name, row in zip(names, recorded, strict=True)
    )


async def test_a_caller_that_stops_waiting_leaves_the_others_writes(store: Store) -> None:
    """A submission whose caller is cancelled while its write is queued does not keep the
    writes around it from being recorded."""
    tasks = [
        asyncio.create_task(store.record_submission(submission(external_deployment_id=f"c-{n}")))
        for n in range(5)
    ]
    await asyncio.sleep(0)  # each has queued its write
    tasks[2].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    for number in (0, 1, 3, 4):
        found = await store.find(team_id="T1", external_deployment_id=f"c-{number}")
        assert found is not None
        assert found.id == results[number]


async def test_a_burst_waits_its_turn_in_the_store_not_in_the_pool(database_url: str) -> None:
    """A hundred submissions at once on one pooled connection whose pool gives up on a waiter
    after 10 ms: they queue in the store, which hands the pool one at a time, and every one is
    recorded."""
    engine = create_async_engine(
        async_url(database_url), pool_size=1, max_overflow=0, pool_timeout=0.01
    )
    store = Store(engine, connections=1)
    try:
        await store.migrate()
        names = [f"ext-queued-{number}" for number in range(100)]
        rows = await asyncio.gather(
            *(store.record_submission(submission(external_deployment_id=name)) for name in names)
        )
        assert None not in rows
        assert len(set(rows)) == len(names)
        found = [await store.find(team_id="T1", external_deployment_id=name) for name in names]
        assert [row.id if row else None for row in found] == rows
    finally:
        await store.close()


async def test_the_same_external_id_in_two_teams_is_allowed(store: Store) -> None:
    """External IDs are unique per team, so another workspace may reuse one."""
    first = await store.record_submission(submission(team_id="T1"))
    second = await store.record_submission(submission(team_id="T2"))
    assert first is not None
    assert second is not None
    assert first != second
    found = await store.find(team_id="T2", external_deployment_id="ext-1")
    assert found is not None
    assert found.id == second


async def test_record_message_and_outcome_update_the_row(store: Store, clock: Clock) -> None:
    """Where the message lives and how the start ended are written to the row; recording the
    outcome releases the lease."""
    row_id = await store.record_submission(submission())
    assert row_id is not None
    created = await store.get(row_id)
    assert created is not None

    clock.advance(timedelta(seconds=3))
    await store.record_message(row_id, channel="C1", ts="1700000000.000100")
    await store.record_outcome(
        row_id, status="started", deployment_id="dep-1", http_status=200, error=None
    )

    row = await store.get(row_id)
    assert row is not None
    assert (row.message_channel, row.message_ts) == ("C1", "1700000000.000100")
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "started",
        "dep-1",
        200,
        None,
    )
    assert row.created_at == created.created_at
    assert row.updated_at > created.updated_at
    assert (row.lease_owner, row.lease_until) == (None, None)


async def test_a_failed_outcome_keeps_its_error(store: Store) -> None:
    """A failure stores its status, HTTP status and error text, and no deployment ID."""
    row_id = await store.record_submission(submission())
    assert row_id is not None
    await store.record_outcome(
        row_id, status="failed", deployment_id=None, http_status=404, error="HTTP 404: not found"
    )
    row = await store.find(team_id="T1", external_deployment_id="ext-1")
    assert row is not None
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "failed",
        None,
        404,
        "HTTP 404: not found",
    )


async def test_updates_touch_only_their_own_row(store: Store) -> None:
    """Recording an outcome for one row leaves another row unchanged."""
    first = await store.record_submission(submission(external_deployment_id="ext-1"))
    second = await store.record_submission(submission(external_deployment_id="ext-2"))
    assert first is not None
    assert second is not None
    await store.record_outcome(
        first, status="started", deployment_id="dep-1", http_status=200, error=None
    )
    other = await store.get(second)
    assert other is not None
    assert (other.status, other.deployment_id, other.lease_owner) == (
        "submitting",
        None,
        store.owner,
    )


async def test_missing_rows_are_none(store: Store) -> None:
    """`get` and `find` answer None for what was never recorded."""
    assert await store.get(12345) is None
    assert await store.find(team_id="T1", external_deployment_id="never") is None
    await store.record_submission(submission())
    assert await store.find(team_id="T9", external_deployment_id="ext-1") is None


async def test_rows_survive_reopening_the_database(database_url: str) -> None:
    """The database keeps what was recorded after the store closes and opens again."""
    store = Store.from_url(database_url)
    await store.migrate()
    row_id = await store.record_submission(submission())
    await store.close()

    reopened = Store.from_url(database_url)
    await reopened.migrate()  # idempotent at start-up
    try:
        row = await reopened.find(team_id="T1", external_deployment_id="ext-1")
        assert row is not None
        assert row.id == row_id
        assert await reopened.record_submission(submission()) is None
    finally:
        await reopened.close()


# --- leases: following ------------------------------------------------------------------------


async def test_due_deployments_are_claimed_oldest_first_and_leased(
    store: Store, clock: Clock, database_url: str
) -> None:
    """`claim_due` returns the deployments whose poll is due, oldest due first, none that is not
    due yet, and leases each to this replica."""
    now = clock.now
    later = await started(store, "later", poll_at=now - timedelta(seconds=1))
    earlier = await started(store, "earlier", poll_at=now - timedelta(seconds=5))
    await started(store, "future", poll_at=now + timedelta(seconds=5))

    claimed = await store.claim_due(now)
    assert [row.id for row in claimed] == [earlier, later]
    for row in claimed:
        assert (row.lease_owner, row.lease_until) == (store.owner, now + LEASE)
        assert lease_of(database_url, row.id) == (store.owner, now + LEASE)
    assert await store.claim_due(now) == []  # leased: not claimed again, not even by its holder


async def test_replicas_claiming_at_once_split_the_due_deployments(
    replicas: Callable[[], Store], clock: Clock
) -> None:
    """Three replicas claiming due deployments at the same moment, 10 rounds of 30: each gets
    different ones, and together all of them; no deployment is polled twice, none left out."""
    stores = [replicas() for _ in range(3)]
    await asyncio.gather(*(store.claim_due(clock.now) for store in stores))  # all connected
    for round_ in range(10):
        due = {await started(stores[0], f"d-{round_}-{n}", poll_at=clock.now) for n in range(30)}
        claims = await asyncio.gather(*(store.claim_due(clock.now) for store in stores))
        ids = [row.id for claim in claims for row in claim]
        assert sorted(ids) == sorted(due)
        for store, claim in zip(stores, claims, strict=True):
            assert all(row.lease_owner == store.owner for row in claim)


async def test_recording_a_status_releases_the_lease_for_any_replica(
    replicas: Callable[[], Store], clock: Clock, database_url: str
) -> None:
    """After `record_status` the row is free: when due again, another replica claims it."""
    first, second = replicas(), replicas()
    row_id = await started(first, "d", poll_at=clock.now)
    [row] = await first.claim_due(clock.now)
    assert await second.claim_due(clock.now) == []

    next_poll = clock.now + timedelta(seconds=2)
    await first.record_status(
        row.id,
        vendor_status="STATUS_PENDING",
        since=clock.now,
        fail_reason=None,
        next_poll_at=next_poll,
        poll_interval_s=2.0,
    )
    assert lease_of(database_url, row_id) == (None, None)
    clock.advance(timedelta(seconds=2))
    [again] = await second.claim_due(clock.now)
    assert (again.id, again.vendor_status, again.lease_owner) == (
        row_id,
        "STATUS_PENDING",
        second.owner,
    )


async def test_a_dead_replicas_lease_runs_out_and_another_takes_over(
    replicas: Callable[[], Store], clock: Clock
) -> None:
    """A replica that claimed a deployment and died (no renewal, no release) keeps it for one
    lease; after that another replica claims it."""
    dead, alive = replicas(), replicas()
    row_id = await started(alive, "d", poll_at=clock.now)
    [_] = await dead.claim_due(clock.now)

    clock.advance(LEASE - timedelta(seconds=1))
    assert await alive.claim_due(clock.now) == []
    clock.advance(timedelta(seconds=2))
    [taken] = await alive.claim_due(clock.now)
    assert (taken.id, taken.lease_owner) == (row_id, alive.owner)


async def test_a_live_replica_renews_what_it_holds_and_only_that(
    replicas: Callable[[], Store], clock: Clock, database_url: str
) -> None:
    """`renew_leases` pushes back the expiry of the rows this replica works on; a row it let go
    of (its work ended, however) is not renewed and runs out."""
    holder, other = replicas(), replicas()
    kept = await started(holder, "kept", poll_at=clock.now)
    dropped = await started(holder, "dropped", poll_at=clock.now)
    assert len(await holder.claim_due(clock.now)) == 2
    holder.let_go(dropped)

    clock.advance(LEASE - timedelta(seconds=1))
    await holder.renew_leases()
    assert lease_of(database_url, kept) == (holder.owner, clock.now + LEASE)
    clock.advance(timedelta(seconds=2))
    [taken] = await other.claim_due(clock.now)
    assert taken.id == dropped


async def test_claim_takes_one_row_only_when_no_live_replica_holds_it(
    replicas: Callable[[], Store], clock: Clock
) -> None:
    """`claim` (Refresh) leases one deployment, settled or not; None while another holds it."""
    first, second = replicas(), replicas()
    row_id = await started(first, "d", poll_at=clock.now + timedelta(hours=1))
    claimed = await first.claim(row_id)
    assert claimed is not None
    assert claimed.lease_owner == first.owner
    assert await second.claim(row_id) is None
    assert await second.claim(999_999) is None


async def test_a_status_recorded_without_the_lease_leaves_the_holders_lease(
    replicas: Callable[[], Store], clock: Clock, database_url: str
) -> None:
    """`record_status` releases only its own replica's lease, never another's."""
    holder, other = replicas(), replicas()
    row_id = await started(holder, "d", poll_at=clock.now)
    await holder.claim_due(clock.now)
    await other.record_status(
        row_id,
        vendor_status="STATUS_RUNNING",
        since=clock.now,
        fail_reason=None,
        next_poll_at=None,
        poll_interval_s=None,
    )
    assert lease_of(database_url, row_id) == (holder.owner, clock.now + LEASE)


# --- leases: submissions -----------------------------------------------------------------------


async def test_a_live_replicas_submission_is_not_recovered_by_another(
    replicas: Callable[[], Store], clock: Clock
) -> None:
    """A submission waiting for Hiveon on a live replica (renewing its lease) is never claimed
    by another replica's recovery, however long Hiveon takes."""
    submitting, recovering = replicas(), replicas()
    row_id = await submitting.record_submission(submission())
    assert row_id is not None
    for _ in range(5):
        clock.advance(LEASE / 2)
        await submitting.renew_leases()
        assert await recovering.claim_unsettled() == []


async def test_a_dead_replicas_submission_is_recovered_once(
    replicas: Callable[[], Store], clock: Clock
) -> None:
    """Once a dead replica's lease on a `submitting` row has run out, exactly one of the
    replicas recovering at that moment claims it, and only `submitting` rows are claimed."""
    dead = replicas()
    lost = await dead.record_submission(submission(external_deployment_id="lost"))
    settled = await dead.record_submission(submission(external_deployment_id="settled"))
    assert lost is not None
    assert settled is not None
    await dead.record_outcome(
        settled, status="failed", deployment_id=None, http_status=400, error="no"
    )
    survivors = [replicas() for _ in range(3)]
    assert await survivors[0].claim_unsettled() == []

    clock.advance(LEASE + timedelta(seconds=1))
    claims = await asyncio.gather(*(s.claim_unsettled() for s in survivors))
    assert sorted(row.id for claim in claims for row in claim) == [lost]


async def test_released_and_cleared_leases_free_the_rows_at_once(
    replicas: Callable[[], Store], database_url: str
) -> None:
    """`release_leases` (a clean shutdown) frees this replica's rows, not another's;
    `clear_leases` (a single process starting on SQLite) frees every row."""
    first, second = replicas(), replicas()
    mine = await first.record_submission(submission(external_deployment_id="mine"))
    theirs = await second.record_submission(submission(external_deployment_id="theirs"))
    assert mine is not None
    assert theirs is not None

    await first.release_leases()
    assert lease_of(database_url, mine) == (None, None)
    assert lease_of(database_url, theirs)[0] == second.owner
    [recovered] = await second.claim_unsettled()
    assert recovered.id == mine

    restarted = replicas()
    await restarted.clear_leases()
    assert lease_of(database_url, mine) == (None, None)
    assert lease_of(database_url, theirs) == (None, None)


# --- guardrails: approvals and automatic stops ---------------------------------------------------


async def awaiting(store: Store, external_id: str, *, expires_at: datetime, sealed: str) -> int:
    """A submission recorded as awaiting approval until `expires_at`, its request sealed."""
    row_id = await store.record_submission(
        NewSubmission(
            team_id="T1",
            enterprise_id=None,
            user_id="U1",
            channel_id="C1",
            external_deployment_id=external_id,
            request=REQUEST,
            stop_after_s=3600,
            approval=PendingApproval(expires_at=expires_at, sealed_request=sealed),
        )
    )
    assert row_id is not None
    return row_id


async def test_a_submission_awaiting_approval_is_recorded_unleased_and_sealed(
    store: Store, clock: Clock
) -> None:
    """Nothing is under way while it waits: no lease, so neither recovery nor any replica takes
    it; its expiry, run length and sealed request are kept."""
    row_id = await awaiting(store, "ext-wait", expires_at=clock.now + LEASE, sealed="token")
    row = await store.get(row_id)
    assert row is not None
    assert (row.status, row.lease_owner, row.lease_until) == (AWAITING_APPROVAL, None, None)
    assert (row.approval_expires_at, row.sealed_request) == (clock.now + LEASE, "token")
    assert row.stop_after_s == 3600
    clock.advance(2 * LEASE)
    assert await store.claim_unsettled() == []


async def test_approvals_at_once_on_two_replicas_start_one_deployment(
    replicas: Callable[[], Store], clock: Clock, database_url: str
) -> None:
    """Two replicas approving the same submission at the same moment, 20 times over (double
    clicks, two approvers): each time exactly one gets it, leased, with who approved; a
    rejection after that finds nothing to reject."""
    first, second = replicas(), replicas()
    later = clock.now + timedelta(hours=1)
    for attempt in range(20):
        row_id = await awaiting(first, f"ext-approve-{attempt}", expires_at=later, sealed="t")
        taken = await asyncio.gather(
            first.take_approval(row_id, by="UA", now=clock.now),
            second.take_approval(row_id, by="UB", now=clock.now),
        )
        [winner] = [row for row in taken if row is not None]
        assert (winner.status, winner.decided_at, winner.sealed_request) == (
            SUBMITTING,
            clock.now,
            "t",
        )
        assert winner.lease_owner in {first.owner, second.owner}
        assert (
            await first.close_approval(
                row_id, status=REJECTED, by="UC", reason="late", now=clock.now
            )
            is None
        )
    rows = query(database_url, "SELECT count(*) FROM deployments WHERE status = 'submitting'")
    assert rows == [(20,)]


async def test_an_approval_after_the_expiry_is_refused(store: Store, clock: Clock) -> None:
    """Once its time ran out, an awaiting submission cannot be approved, even before the
    expiry is recorded; it is claimed for expiry instead, and expires once."""
    row_id = await awaiting(store, "ext-late", expires_at=clock.now + LEASE, sealed="t")
    assert await store.claim_expired_approvals(clock.now) == []
    clock.advance(LEASE)
    assert await store.take_approval(row_id, by="UA", now=clock.now) is None
    [claimed] = await store.claim_expired_approvals(clock.now)
    assert claimed.id == row_id
    closed = await store.close_approval(row_id, status=EXPIRED, by=None, reason=None, now=clock.now)
    assert closed is not None
    assert (closed.status, closed.sealed_request, closed.lease_owner) == (EXPIRED, None, None)
    assert await store.claim_expired_approvals(clock.now) == []


async def test_a_rejection_keeps_who_and_why_and_forgets_the_sealed_request(
    store: Store, clock: Clock
) -> None:
    """Rejected: who, when and why are kept, the sealed request is dropped, and it cannot be
    approved afterwards."""
    row_id = await awaiting(store, "ext-no", expires_at=clock.now + LEASE, sealed="t")
    closed = await store.close_approval(
        row_id, status=REJECTED, by="UB", reason="not during the incident", now=clock.now
    )
    assert closed is not None
    assert (closed.status, closed.decided_by, closed.rejection_reason) == (
        REJECTED,
        "UB",
        "not during the incident",
    )
    assert closed.sealed_request is None
    assert await store.take_approval(row_id, by="UA", now=clock.now) is None


async def test_a_start_schedules_its_reminder_and_stop_and_forgets_the_sealed_request(
    store: Store, clock: Clock
) -> None:
    """The outcome's write schedules the automatic stop; the reminder and the stop are claimed
    when due, each by one replica; an Extend moves the stop only from the time it read."""
    row_id = await awaiting(store, "ext-run", expires_at=clock.now + LEASE, sealed="t")
    assert await store.take_approval(row_id, by="UA", now=clock.now) is not None
    plan = AutoStop(
        started_at=clock.now,
        remind_at=clock.now + timedelta(minutes=45),
        stop_at=clock.now + timedelta(hours=1),
    )
    await store.record_outcome(
        row_id, status="started", deployment_id="dep-1", http_status=200, error=None, auto_stop=plan
    )
    row = await store.get(row_id)
    assert row is not None
    assert (row.started_at, row.remind_at, row.stop_at) == (
        plan.started_at,
        plan.remind_at,
        plan.stop_at,
    )
    assert (row.sealed_request, row.lease_owner) == (None, None)
    assert await store.claim_reminders(clock.now) == []
    clock.advance(timedelta(minutes=45))
    [due] = await store.claim_reminders(clock.now)
    assert due.id == row_id
    await store.record_reminded(row_id)
    assert await store.claim_reminders(clock.now) == []

    later = plan.stop_at + timedelta(hours=1)
    extended = await asyncio.gather(
        *(
            store.extend(
                row_id, expected_stop_at=plan.stop_at, stop_at=later, remind_at=later - LEASE
            )
            for _ in range(2)
        )
    )
    assert sorted(extended) == [False, True]
    clock.advance(timedelta(minutes=15))
    assert await store.claim_stops(clock.now) == []
    clock.advance(timedelta(hours=1))
    [stopping] = await store.claim_stops(clock.now)
    await store.record_auto_stop(stopping.id, at=clock.now)
    row = await store.get(row_id)
    assert row is not None
    assert (row.stop_at, row.remind_at, row.stopped_automatically_at) == (None, None, clock.now)
    assert await store.claim_stops(clock.now) == []
    assert not await store.extend(row_id, expected_stop_at=later, stop_at=later, remind_at=later)


async def test_a_settled_deployment_has_nothing_left_to_stop(store: Store, clock: Clock) -> None:
    """Recording a settled status (stopped, failed) clears the automatic stop and reminder."""
    row_id = await started(store, "ext-settled", poll_at=clock.now)
    await store.record_outcome(
        row_id,
        status="started",
        deployment_id="dep-ext-settled",
        http_status=200,
        error=None,
        auto_stop=AutoStop(clock.now, clock.now + LEASE, clock.now + 2 * LEASE),
    )
    await store.record_status(
        row_id,
        vendor_status="STATUS_STOPPED",
        since=clock.now,
        fail_reason=None,
        next_poll_at=None,
        poll_interval_s=None,
        settled=True,
    )
    clock.advance(3 * LEASE)
    assert await store.claim_stops(clock.now) == []
    assert await store.claim_reminders(clock.now) == []


async def test_sealed_requests_are_re_encrypted_under_a_new_key(store: Store, clock: Clock) -> None:
    """Rotation: a request sealed under the old key is sealed again under the new one, and a
    second pass finds nothing to change."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = KeyBox.from_setting(old).encrypt("the request")
    row_id = await awaiting(store, "ext-rotate", expires_at=clock.now + LEASE, sealed=token)
    rotating = KeyBox.from_setting(f"{new},{old}")
    assert await store.reseal(rotating) == 1
    row = await store.get(row_id)
    assert row is not None
    assert row.sealed_request is not None
    assert KeyBox.from_setting(new).decrypt(row.sealed_request) == "the request"
    assert await store.reseal(rotating) == 0


# --- DATABASE_URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "database"),
    [
        ("sqlite:///deploybot.sqlite3", "deploybot.sqlite3"),
        ("sqlite:////var/lib/deploybot/db.sqlite3", "/var/lib/deploybot/db.sqlite3"),
        ("sqlite+pysqlite:///deploybot.sqlite3", "deploybot.sqlite3"),
    ],
)
def test_async_url_maps_sqlite_to_aiosqlite(setting: str, database: str) -> None:
    """Any SQLite URL is served by the aiosqlite driver, with its path unchanged."""
    url = async_url(setting)
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == database


@pytest.mark.parametrize(
    "setting",
    [
        "postgresql://deploybot:pg-secret@db.internal:5433/deploybot",
        "postgres://deploybot:pg-secret@db.internal:5433/deploybot",  # as platforms hand it out
        "postgresql+psycopg2://deploybot:pg-secret@db.internal:5433/deploybot",
    ],
)
def test_async_url_maps_postgresql_to_psycopg(setting: str) -> None:
    """`postgresql://` and `postgres://` URLs are served by psycopg 3, everything else kept."""
    url = async_url(setting)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "deploybot",
        "pg-secret",
        "db.internal",
        5433,
        "deploybot",
    )


@pytest.mark.parametrize(
    ("setting", "backend"),
    [
        ("mysql://deploybot:pg-secret@db.internal/deploybot", "mysql"),
        ("oracle://deploybot:pg-secret@db.internal/deploybot", "oracle"),
    ],
)
def test_async_url_rejects_other_databases_clearly(setting: str, backend: str) -> None:
    """Another scheme is refused with a message naming what is expected, never the password."""
    with pytest.raises(ValueError, match=r"DATABASE_URL must be a sqlite:/// or postgresql://"):
        async_url(setting)
    with pytest.raises(ValueError, match=f"got a {backend} URL") as error:
        async_url(setting)
    assert "pg-secret" not in str(error.value)


async def test_sqlite_rows_come_back_in_order_however_they_are_fetched(tmp_path: Path) -> None:
    """On SQLite a statement's rows are read with it, then handed out one, some or all at a
    time, in order; a statement run for many parameter sets leaves no row of an earlier one."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'rows.sqlite3'}")
    try:
        async with store.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            cursor = await driver.cursor()
            await cursor.execute(
                "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4"
            )
            assert await cursor.fetchone() == (1,)
            assert await cursor.fetchmany(2) == [(2,), (3,)]
            assert await cursor.fetchall() == [(4,)]
            assert await cursor.fetchone() is None
            await cursor.execute("CREATE TEMP TABLE t (v TEXT)")
            await cursor.execute("SELECT ?", ("left unfetched",))
            await cursor.executemany("INSERT INTO t VALUES (?)", [("a",), ("b",)])
            assert await cursor.fetchall() == []
            await cursor.execute("SELECT v FROM t ORDER BY v")
            assert await cursor.fetchall() == [("a",), ("b",)]
            await cursor.close()
    finally:
        await store.close()


async def test_a_write_rolled_back_leaves_nothing_and_reads_around_it_see_that(
    store: Store, database_url: str
) -> None:
    """A transaction that writes and then fails is rolled back whole; reads before and after it
    (which open no transaction on SQLite) see the table as it was."""
    before = await store.find(team_id="T1", external_deployment_id="ext-undone")
    assert before is None

    async def write_then_fail() -> None:
        async with store.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO deployments (team_id, user_id, channel_id, "
                    "external_deployment_id, status, request, created_at, updated_at) "
                    "VALUES ('T1', 'U1', 'C1', 'ext-undone', 'submitting', '{}', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await write_then_fail()
    assert await store.find(team_id="T1", external_deployment_id="ext-undone") is None
    assert query(database_url, "SELECT count(*) FROM deployments") == [(0,)]
