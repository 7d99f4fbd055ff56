"""Databases for the tests, on each backend: fresh SQLite files or fresh PostgreSQL databases.

Also plain synchronous reads of what the bot stored, for assertions while it runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.testing import postgres

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Databases:
    """Makes empty databases of one backend on demand; `drop_all` removes PostgreSQL's."""

    def __init__(self, backend: str, directory: Path, admin_url: Callable[[], str]) -> None:
        self.backend = backend
        self._directory = directory
        self._admin_url = admin_url  # called only for PostgreSQL, which may be missing
        self._admin: str | None = None
        self._made: list[str] = []
        self._numbers = itertools.count(1)

    def new(self) -> str:
        """The URL of a new, empty database."""
        if self.backend == SQLITE:
            url = f"sqlite:///{self._directory / f'deploybot-{next(self._numbers)}.sqlite3'}"
        else:
            self._admin = self._admin or self._admin_url()
            url = postgres.create_database(self._admin)
        self._made.append(url)
        return url

    def drop_all(self) -> None:
        """Drop the PostgreSQL databases made (SQLite files go with their temporary directory)."""
        if self._admin is not None:
            for url in self._made:
                postgres.drop_database(self._admin, url)
        self._made.clear()


def _sync_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() != SQLITE:
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def query(database_url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of one SQL statement (named `:params`), on a connection of its own."""
    engine = create_engine(_sync_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def tables(database_url: str) -> set[str]:
    """The names of the database's tables."""
    engine = create_engine(_sync_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def everything_stored(database_url: str) -> bytes:
    """What a thief of the database would get: SQLite's files (with the write-ahead log), or
    every row of every PostgreSQL table as text."""
    url = make_url(database_url)
    if url.get_backend_name() == SQLITE:
        path = Path(url.database or "")
        return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
    rows: list[str] = []
    for table in sorted(tables(database_url)):
        rows.extend(
            str(row[0])
            for row in query(database_url, f'SELECT t::text FROM "{table}" t')  # noqa: S608 — table names come from the database itself
        )
    return "\n".join(rows).encode()
