"""Schema migrations (Alembic): every table deploybot uses, upgraded at start-up, one at a time.

`upgrade(engine)` brings any database to the newest revision in `versions/`, inside one
transaction that holds a lock first, so replicas starting together upgrade one after the other
(the later ones find nothing to do):

- PostgreSQL: `pg_advisory_xact_lock`, released when the transaction ends; DDL is
  transactional there, so an upgrade that fails leaves the schema as it was.
- SQLite: `BEGIN IMMEDIATE`, SQLite's one writer lock, for the same reason.

A SQLite file created before migrations existed (by `create_all`) has the tables of revision
0001 (and 0002 once OAuth had run) but no `alembic_version`: it is stamped at that revision,
then upgraded like any other. No PostgreSQL database predates migrations.

Alembic is configured here, in code: there is no alembic.ini. A new revision is a new file in
`versions/` whose `down_revision` is the newest one, and `HEAD` names it;
`tests/test_migrations.py` fails until the upgraded schema equals the models
(`bot.migrations.models`) and `HEAD` is the newest revision.

A start that finds the schema at `HEAD` (every start but the first after an upgrade; always on
a platform whose release phase runs `deploybot migrate`) reads one row and never imports
Alembic, which costs a serving process about 0.15 s of start-up and 10 MB.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

# The newest revision in versions/ (a test holds the two together).
HEAD = "0008"

# Any constant both replicas agree on: the key of the advisory lock held while upgrading.
MIGRATION_LOCK = 0x6465706C6F79  # "deploy"
# The revision whose tables a pre-migration file already has, by the table that tells.
_LEGACY = (("slack_installations", "0002"), ("deployments", "0001"))


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code; `connection` is what env.py migrates."""
    from alembic.config import Config  # noqa: PLC0415 — only a schema change needs Alembic

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision, as Alembic finds it in versions/."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 — only checks need Alembic

    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError("bot/migrations/versions holds no revision")
    return revision


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision, holding the migration lock throughout;
    nothing to do (and no lock taken) when it is there already."""
    async with engine.connect() as connection:
        if await connection.run_sync(current_revision) == HEAD:
            return
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # The driver would begin lazily, after the DDL: take the write lock first.
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await connection.begin()
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade)
        await connection.commit()


def current_revision(connection: Connection) -> str | None:
    """The database's revision, read without Alembic; None before the first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade(connection: Connection) -> None:
    from alembic import command  # noqa: PLC0415 — only a schema change needs Alembic
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    config = alembic_config(connection)
    before = MigrationContext.configure(connection).get_current_revision()
    if before is None:
        tables = set(inspect(connection).get_table_names())
        legacy = next((rev for table, rev in _LEGACY if table in tables), None)
        if legacy is not None:
            log.info("the database predates migrations: marking it as revision %s", legacy)
            command.stamp(config, legacy)
            before = legacy
    command.upgrade(config, "head")
    after = MigrationContext.configure(connection).get_current_revision()
    if after != before:
        log.info("database schema upgraded from revision %s to %s", before or "none", after)
