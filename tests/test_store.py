"""Tests of the store on a real SQLite file: recording, idempotency by external ID, look-ups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import SUBMITTING, NewSubmission, Store, async_url

REQUEST = {"machine_id": "m-1", "machine_price_id": "p-1", "container_config": {"image": "redis"}}


@pytest.fixture(name="store")
async def _store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    await store.create_tables()
    yield store
    await store.close()


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


async def test_timestamps_come_back_aware_in_utc(tmp_path: Path) -> None:
    """SQLite keeps no time zone; the store still returns aware UTC timestamps."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'tz.sqlite3'}")
    await store.create_tables()
    try:
        row = await store.record_submission(
            NewSubmission("T1", None, "U1", "C1", "ext-tz", {"machine_id": "m"})
        )
        assert row is not None
        stored = await store.get(row)
        assert stored is not None
        assert stored.created_at.tzinfo is UTC
        assert datetime.now(UTC) - stored.created_at < timedelta(minutes=1)
    finally:
        await store.close()


async def test_a_submission_is_recorded_as_submitting(store: Store) -> None:
    """`record_submission` returns the new row's ID; the row holds every field, `submitting`."""
    before = datetime.now(UTC)
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
    # SQLite keeps no zone: the stored clock time is UTC.
    created = row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC)
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC)
    assert row.updated_at == row.created_at


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


async def test_record_message_and_outcome_update_the_row(store: Store) -> None:
    """Where the message lives and how the start ended are written to the row."""
    row_id = await store.record_submission(submission())
    assert row_id is not None
    created = await store.get(row_id)
    assert created is not None

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
    assert row.updated_at >= created.updated_at


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
    assert (other.status, other.deployment_id) == ("submitting", None)


async def test_missing_rows_are_none(store: Store) -> None:
    """`get` and `find` answer None for what was never recorded."""
    assert await store.get(12345) is None
    assert await store.find(team_id="T1", external_deployment_id="never") is None
    await store.record_submission(submission())
    assert await store.find(team_id="T9", external_deployment_id="ext-1") is None


async def test_rows_survive_reopening_the_file(tmp_path: Path) -> None:
    """The SQLite file keeps what was recorded after the store closes and opens again."""
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = Store.from_url(url)
    await store.create_tables()
    row_id = await store.record_submission(submission())
    await store.close()

    reopened = Store.from_url(url)
    await reopened.create_tables()  # idempotent at start-up
    try:
        row = await reopened.find(team_id="T1", external_deployment_id="ext-1")
        assert row is not None
        assert row.id == row_id
        assert await reopened.record_submission(submission()) is None
    finally:
        await reopened.close()


@pytest.mark.parametrize(
    ("database_url", "database"),
    [
        ("sqlite:///deploybot.sqlite3", "deploybot.sqlite3"),
        ("sqlite:////var/lib/deploybot/db.sqlite3", "/var/lib/deploybot/db.sqlite3"),
        ("sqlite+pysqlite:///deploybot.sqlite3", "deploybot.sqlite3"),
    ],
)
def test_async_url_maps_sqlite_to_aiosqlite(database_url: str, database: str) -> None:
    """Any SQLite URL is served by the aiosqlite driver, with its path unchanged."""
    url = async_url(database_url)
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == database


@pytest.mark.parametrize(
    ("database_url", "backend"),
    [
        ("postgresql://deploybot:pg-secret@db.internal/deploybot", "postgresql"),
        ("mysql://deploybot:pg-secret@db.internal/deploybot", "mysql"),
    ],
)
def test_async_url_rejects_other_databases_clearly(database_url: str, backend: str) -> None:
    """Another scheme is refused with a message naming what is expected, never the password."""
    with pytest.raises(ValueError, match="DATABASE_URL must be a sqlite:/// URL") as error:
        async_url(database_url)
    message = str(error.value)
    assert f"got a {backend} URL" in message
    assert "pg-secret" not in message
