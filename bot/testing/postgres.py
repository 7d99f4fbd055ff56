"""PostgreSQL for the tests: the server `DEPLOYBOT_TEST_POSTGRES_URL` names, else a throwaway one.

`DEPLOYBOT_TEST_POSTGRES_URL` is an admin URL (`postgresql://postgres@127.0.0.1:5432/postgres`):
the tests create a fresh database on it for each test or module and drop it afterwards. Without
it, Debian's binaries (`/usr/lib/postgresql/*/bin`, from the `postgresql` package) start a server
for the test session in a temporary directory, on a free loopback port, run as the `postgres`
user when the tests run as root (PostgreSQL refuses to run as root). With neither, the
PostgreSQL runs of the tests fail, saying how to install it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bot.testing.processes import free_port

ENV = "DEPLOYBOT_TEST_POSTGRES_URL"
MISSING = f"""\
PostgreSQL is needed: the storage and end-to-end tests run against SQLite and PostgreSQL.
Install it (the tests start a throwaway server of their own with its binaries):
    sudo apt-get install postgresql        # Debian, Ubuntu
or point the tests at a server where they may create and drop databases:
    export {ENV}=postgresql://postgres@127.0.0.1:5432/postgres"""
_START_TIMEOUT_S = 60
# Read once, at import: the tests' autouse fixture scrubs DEPLOYBOT_* from the environment.
CONFIGURED = os.environ.get(ENV, "").strip()


def _binaries() -> Path | None:
    """The directory with initdb and pg_ctl: Debian's newest version, else the PATH's."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class ThrowawayServer:
    """A PostgreSQL server for one test session: its own data directory, port and socket."""

    def __init__(self, binaries: Path) -> None:
        self._binaries = binaries
        self._directory = Path(tempfile.mkdtemp(prefix="deploybot-postgres-"))
        self._data = self._directory / "data"
        self.port = free_port()
        # Root may not run PostgreSQL: Debian's package makes a `postgres` user for it.
        self._user = "postgres" if os.geteuid() == 0 else None
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def __enter__(self) -> Self:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self._directory, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = " ".join(
            (
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self._directory}",
                # Nothing here needs to survive a power cut: skip the disk flushes.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            )
        )
        log = str(self._directory / "server.log")
        self._run("pg_ctl", "-D", str(self._data), "-l", log, "-o", options, "-w", "start")
        return self

    def __exit__(self, *_exc: object) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._directory, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._binaries / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(  # noqa: S603 — PostgreSQL's own programs, with arguments made here
            command,
            check=True,
            capture_output=True,
            timeout=_START_TIMEOUT_S,
            cwd=self._directory,
        )


@contextlib.contextmanager
def server() -> Iterator[str | None]:
    """The admin URL of a PostgreSQL server for the session; None when there is none."""
    if CONFIGURED:
        yield CONFIGURED
        return
    binaries = _binaries()
    if binaries is None:
        yield None
        return
    with ThrowawayServer(binaries) as throwaway:
        yield throwaway.url


def _admin(admin_url: str) -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(admin_url).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def create_database(admin_url: str) -> str:
    """A new empty database on the server; its URL."""
    name = f"deploybot_test_{uuid.uuid4().hex[:12]}"
    with _admin(admin_url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def drop_database(admin_url: str, database_url: str) -> None:
    """Drop a database `create_database` made, whoever is still connected to it."""
    name = make_url(database_url).database or ""
    with _admin(admin_url) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def allow_connections(admin_url: str, database_url: str, *, allowed: bool) -> None:
    """Let clients connect to a database, or refuse them and end the connections it has."""
    name = make_url(database_url).database or ""
    with _admin(admin_url) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
