"""The `deploybot` console script: `--help`, `migrate`, and `check` against a fake Slack, a fake
Hiveon and each backend's database, good settings and each kind of bad one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from cryptography.fernet import Fernet

from bot import preflight
from bot.migrations import alembic_config, head
from bot.sandbox import SandboxVendor
from bot.store import Store
from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import free_port
from tests.databases import query, tables
from tests.e2e_support import hiveon_on_loopback

pytestmark = pytest.mark.e2e  # each test runs a process

# Installed by `make test` into the venv running the tests, beside its python.
DEPLOYBOT = Path(sys.executable).parent / "deploybot"
BOT_TOKEN = "xoxb-cli-check-token-5551234"
SIGNING_SECRET = "cli-check-signing-secret-0042"
API_KEY = "hk-cli-check-key-7777777"
REFUSED_KEY = "hk-cli-refused-key-8888888"
ENCRYPTION_KEY = Fernet.generate_key().decode()
DB_PASSWORD = "pg-password-not-for-output"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, API_KEY, REFUSED_KEY, ENCRYPTION_KEY, DB_PASSWORD)
SUBJECTS = ["database", "slack", "hiveon", "encryption key"]
_SCRUBBED = ("SLACK_", "HIVEON_", "DEPLOYBOT_", "DATABASE_URL", "PORT", "PYTHONPATH")


@dataclass(frozen=True)
class Run:
    """What a `deploybot` process printed, and how it exited."""

    status: int
    out: str
    err: str

    @property
    def lines(self) -> dict[str, str]:
        """The check's lines by subject: `{"slack": "ok    slack  auth.test: …"}`."""
        found: dict[str, str] = {}
        for line in self.out.splitlines():
            verdict, _, rest = line.partition("  ")
            subject = next(s for s in [*SUBJECTS, "settings"] if rest.strip().startswith(s))
            assert verdict.strip() in {"ok", "FAIL"}, line
            found[subject] = line
        return found

    def passed(self, subject: str) -> bool:
        """True when the line of `subject` says ok."""
        return self.lines[subject].startswith("ok ")


def deploybot(*args: str, cwd: Path, settings: Mapping[str, str]) -> Run:
    """The installed console script, with only these settings (the directory has no .env)."""
    if not DEPLOYBOT.exists():
        pytest.fail(f"{DEPLOYBOT} is missing: install the project (make test does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(settings)
    done = subprocess.run(  # noqa: S603 — the project's own console script
        [str(DEPLOYBOT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_no_secret(run: Run) -> None:
    """Neither output carries a token, key or password given in the settings."""
    for secret in SECRETS:
        assert secret not in run.out
        assert secret not in run.err


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    """Slack's Web API on loopback, for the module."""
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="hiveon", scope="module")
def _hiveon() -> Iterator[tuple[SandboxVendor, str]]:
    """Hiveon on loopback, accepting API_KEY only, and its URL."""
    with hiveon_on_loopback(api_keys={API_KEY}) as vendor:
        yield vendor


def migrate(database_url: str, cwd: Path) -> str:
    """`deploybot migrate` of the database; its URL."""
    run = deploybot("migrate", cwd=cwd, settings={"DATABASE_URL": database_url})
    assert run.status == 0, run.err
    return database_url


@pytest.fixture(name="migrated")
def _migrated(database_url: str, tmp_path: Path) -> str:
    """A database of each backend, at the newest revision."""
    return migrate(database_url, tmp_path)


@pytest.fixture(name="ready", scope="module")
def _ready(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database at the newest revision, for the checks that are not about it."""
    directory = tmp_path_factory.mktemp("ready")
    return migrate(f"sqlite:///{directory / 'deploybot.sqlite3'}", directory)


def good_settings(slack: FakeSlack, hiveon_url: str, database_url: str) -> dict[str, str]:
    """One workspace in HTTP mode, with every check's settings right."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": hiveon_url,
        "HIVEON_API_KEY": API_KEY,
        "DEPLOYBOT_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "DATABASE_URL": database_url,
    }


def test_help_lists_the_three_commands(tmp_path: Path) -> None:
    """`deploybot --help` names serving (the default), migrate and check, and exits 0."""
    run = deploybot("--help", cwd=tmp_path, settings={})
    assert run.status == 0
    assert run.out.startswith("usage: deploybot")
    for name in ("serve", "migrate", "check"):
        assert f"\n    {name} " in run.out


def test_python_m_bot_is_the_same_command(tmp_path: Path) -> None:
    """`python -m bot --help` prints what `deploybot --help` does: one entry point."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    )
    assert done.stdout == deploybot("--help", cwd=tmp_path, settings={}).out


def test_the_entry_point_leaves_the_garbage_collector_on() -> None:
    """Importing the entry point (as `deploybot`, `python -m bot` and each worker do) turns
    the collector off only while the bot's modules load: it is on again once they have."""
    done = subprocess.run(
        [sys.executable, "-c", "import gc, bot.__main__; print(gc.isenabled())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "True\n"


def test_an_unknown_command_is_refused(tmp_path: Path) -> None:
    """`deploybot deploy` is no command: exit 2 with the usage, and nothing starts."""
    run = deploybot("deploy", cwd=tmp_path, settings={})
    assert run.status == 2
    assert "invalid choice: 'deploy'" in run.err


def test_migrate_creates_the_schema_at_the_newest_revision(
    database_url: str, tmp_path: Path
) -> None:
    """`deploybot migrate` with only DATABASE_URL builds every table at the newest revision,
    as `python -m bot migrate` does, and a second run changes nothing."""
    settings = {"DATABASE_URL": database_url}
    first, second = (deploybot("migrate", cwd=tmp_path, settings=settings) for _ in range(2))
    assert (first.status, first.out, second.status, second.out) == (0, "", 0, "")
    assert f"schema upgraded from revision none to {head()}" in first.err
    assert "upgraded" not in second.err
    assert "deployments" in tables(database_url)
    assert query(database_url, "SELECT version_num FROM alembic_version") == [(head(),)]


def test_check_passes_with_good_settings(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], migrated: str, tmp_path: Path
) -> None:
    """With every setting right, `deploybot check` prints one passing line per check and exits
    0, having asked Slack's auth.test with the bot token and Hiveon about the key."""
    sandbox, hiveon_url = hiveon
    before = len(sandbox.requests)
    slack.reset()
    run = deploybot("check", cwd=tmp_path, settings=good_settings(slack, hiveon_url, migrated))
    assert (run.status, run.err) == (0, "")
    assert list(run.lines) == SUBJECTS
    assert all(run.passed(subject) for subject in SUBJECTS)
    assert f"schema at the newest revision ({head()})" in run.lines["database"]
    assert f"{hiveon_url} accepts HIVEON_API_KEY" in run.lines["hiveon"]
    assert run.lines["encryption key"].endswith("one Fernet key")
    [call] = slack.calls_to("auth.test")
    assert call.headers.get("authorization") == f"Bearer {BOT_TOKEN}"
    [asked] = sandbox.requests[before:]
    assert asked.method == "GET"
    assert asked.headers.get("x-api-key") == API_KEY
    assert_no_secret(run)


def test_a_wrong_slack_token_fails_the_slack_line(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], ready: str, tmp_path: Path
) -> None:
    """A token Slack refuses fails the slack line with Slack's error; the rest pass; exit 1."""
    slack.reset()
    slack.fail("auth.test", "invalid_auth")
    run = deploybot("check", cwd=tmp_path, settings=good_settings(slack, hiveon[1], ready))
    assert run.status == 1
    assert run.lines["slack"].startswith("FAIL")
    assert "auth.test refused SLACK_BOT_TOKEN: invalid_auth" in run.lines["slack"]
    assert [s for s in SUBJECTS if not run.passed(s)] == ["slack"]
    assert_no_secret(run)


def test_a_refused_hiveon_key_fails_the_hiveon_line(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], ready: str, tmp_path: Path
) -> None:
    """A key Hiveon answers 401 to fails the hiveon line, saying so; the rest pass; exit 1."""
    settings = good_settings(slack, hiveon[1], ready) | {"HIVEON_API_KEY": REFUSED_KEY}
    run = deploybot("check", cwd=tmp_path, settings=settings)
    assert run.status == 1
    assert f"{hiveon[1]} refused HIVEON_API_KEY (HTTP 401)" in run.lines["hiveon"]
    assert [s for s in SUBJECTS if not run.passed(s)] == ["hiveon"]
    assert_no_secret(run)


def test_an_unreachable_hiveon_fails_the_hiveon_line(
    slack: FakeSlack, ready: str, tmp_path: Path
) -> None:
    """A Hiveon URL nothing answers on fails the hiveon line: the key could not be checked."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = good_settings(slack, nowhere, ready) | {"HIVEON_TIMEOUT_S": "2"}
    run = deploybot("check", cwd=tmp_path, settings=settings)
    assert run.status == 1
    assert (
        f"{nowhere} could not check HIVEON_API_KEY: Hiveon could not be reached"
        in (run.lines["hiveon"])
    )


def test_no_default_key_passes_when_workspaces_can_store_their_own(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], ready: str, tmp_path: Path
) -> None:
    """Without HIVEON_API_KEY the hiveon line says "no default key", and passes as long as the
    encryption key lets each workspace's admins store one; without both, it fails."""
    settings = good_settings(slack, hiveon[1], ready) | {"HIVEON_API_KEY": ""}
    run = deploybot("check", cwd=tmp_path, settings=settings)
    assert run.status == 0
    assert "no default key (HIVEON_API_KEY is unset)" in run.lines["hiveon"]
    assert "`/deploy api-key`" in run.lines["hiveon"]

    run = deploybot("check", cwd=tmp_path, settings=settings | {"DEPLOYBOT_ENCRYPTION_KEY": ""})
    assert run.status == 1
    assert "no default key (HIVEON_API_KEY is unset)" in run.lines["hiveon"]
    assert "nothing can be deployed" in run.lines["hiveon"]
    assert [s for s in SUBJECTS if not run.passed(s)] == ["hiveon"]


def test_an_unreachable_database_fails_the_database_line(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], tmp_path: Path
) -> None:
    """A PostgreSQL URL nothing listens on fails the database line, its password hidden."""
    url = f"postgresql://deploybot:{DB_PASSWORD}@127.0.0.1:{free_port()}/deploybot"
    run = deploybot("check", cwd=tmp_path, settings=good_settings(slack, hiveon[1], url))
    assert run.status == 1
    assert run.lines["database"].startswith("FAIL")
    assert "postgresql://deploybot:***@127.0.0.1:" in run.lines["database"]
    assert "not reachable" in run.lines["database"]
    assert [s for s in SUBJECTS if not run.passed(s)] == ["database"]
    assert_no_secret(run)


def test_a_database_not_yet_migrated_fails_the_database_line(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], database_url: str, tmp_path: Path
) -> None:
    """A database that was never migrated (an empty one, or a SQLite file not there yet, which
    the check does not create) fails the database line, which says to run `deploybot migrate`."""
    settings = good_settings(slack, hiveon[1], database_url)
    run = deploybot("check", cwd=tmp_path, settings=settings)
    assert run.status == 1
    assert run.lines["database"].startswith("FAIL")
    assert run.lines["database"].endswith("run `deploybot migrate`")
    assert [s for s in SUBJECTS if not run.passed(s)] == ["database"]
    if database_url.startswith("sqlite"):
        assert "no such file" in run.lines["database"]
        assert not Path(database_url.removeprefix("sqlite:///")).exists()
    else:
        assert "holds no schema yet" in run.lines["database"]


async def test_a_database_at_an_older_revision_fails_the_database_line(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], migrated: str, tmp_path: Path
) -> None:
    """A database one revision behind the code fails the database line, naming both revisions."""
    store = Store.from_url(migrated)
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "-1"))
    await store.close()
    [(older,)] = query(migrated, "SELECT version_num FROM alembic_version")
    run = deploybot("check", cwd=tmp_path, settings=good_settings(slack, hiveon[1], migrated))
    assert run.status == 1
    assert f"at revision {older}, not the newest ({head()})" in run.lines["database"]


def test_an_invalid_encryption_key_fails_its_line_and_the_rest_still_run(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], ready: str, tmp_path: Path
) -> None:
    """An encryption key that is no Fernet key fails its own line, without quoting it, while
    the other checks still run and pass; exit 1."""
    bad_key = f"{ENCRYPTION_KEY},{SIGNING_SECRET}"  # the second entry is no Fernet key
    settings = good_settings(slack, hiveon[1], ready) | {"DEPLOYBOT_ENCRYPTION_KEY": bad_key}
    run = deploybot("check", cwd=tmp_path, settings=settings)
    assert run.status == 1
    assert (
        "DEPLOYBOT_ENCRYPTION_KEY is invalid: entry 2 is not a Fernet key"
        in (run.lines["encryption key"])
    )
    assert [s for s in SUBJECTS if not run.passed(s)] == ["encryption key"]
    assert_no_secret(run)


def test_another_invalid_setting_gets_a_line_of_its_own(
    slack: FakeSlack, hiveon: tuple[SandboxVendor, str], ready: str, tmp_path: Path
) -> None:
    """An invalid setting none of the four checks owns (PORT) fails a line of its own."""
    settings = good_settings(slack, hiveon[1], ready) | {"PORT": "eighty"}
    run = deploybot("check", cwd=tmp_path, settings=settings)
    assert run.status == 1
    assert all(run.passed(subject) for subject in SUBJECTS)
    assert run.lines["settings"].startswith("FAIL  settings")
    assert "PORT is invalid" in run.lines["settings"]


def test_no_slack_credentials_fail_the_slack_line(
    hiveon: tuple[SandboxVendor, str], ready: str, tmp_path: Path
) -> None:
    """Without any Slack credential `deploybot` would start the playground: check says so."""
    settings = {"HIVEON_API_URL": "sandbox", "DATABASE_URL": ready}
    run = deploybot("check", cwd=tmp_path, settings=settings)
    assert run.status == 1
    assert "no Slack credentials" in run.lines["slack"]
    assert "the built-in stand-in, which deploys nothing real" in run.lines["hiveon"]
    del hiveon


# --- the checks in-process: OAuth installs need no Slack call ---------------------------------


async def test_oauth_installs_pass_with_their_settings_complete() -> None:
    """OAuth installs pass the slack check without a bot token once the client ID, secret,
    signing secret and encryption key are set; without the encryption key both lines fail."""
    env = {
        "SLACK_CLIENT_ID": "111.222",
        "SLACK_CLIENT_SECRET": "client-secret",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DEPLOYBOT_ENCRYPTION_KEY": ENCRYPTION_KEY,
    }
    settings, invalid = preflight.read_settings(env)
    assert invalid == {}
    assert await preflight.slack(settings) == preflight.Finding(
        "slack", passed=True, detail="OAuth installs of client 111.222, HTTP mode"
    )
    settings, _ = preflight.read_settings(env | {"DEPLOYBOT_ENCRYPTION_KEY": ""})
    assert not (await preflight.slack(settings)).passed
    assert not preflight.encryption_key(settings).passed


async def test_a_token_without_signing_secret_or_app_token_fails_without_calling_slack() -> None:
    """A bot token alone can serve neither HTTP nor Socket Mode: the slack line says which
    setting is missing before any call (the Slack URL here would refuse the connection)."""
    settings, _ = preflight.read_settings(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"}
    )
    finding = await preflight.slack(settings)
    assert not finding.passed
    assert "neither SLACK_SIGNING_SECRET (HTTP mode) nor SLACK_APP_TOKEN" in finding.detail


async def test_a_database_a_newer_release_migrated_is_not_sent_to_migrate(tmp_path: Path) -> None:
    """A database at a revision this release does not know (a newer one ran, then was rolled
    back) fails the database line without saying to migrate, which could not help."""
    url = f"sqlite:///{tmp_path / 'deploybot.sqlite3'}"
    store = Store.from_url(url)
    await store.migrate()
    await store.close()
    query(url, "UPDATE alembic_version SET version_num = '9999'")
    finding = await preflight.database(url)
    assert not finding.passed
    assert f"at revision 9999, which this deploybot does not know (its newest is {head()})" in (
        finding.detail
    )
    assert "deploybot migrate" not in finding.detail


def test_the_encryption_key_line_counts_the_keys_of_a_rotation() -> None:
    """Several comma-separated keys (a rotation) are counted, the first named as the one that
    encrypts."""
    two = f"{Fernet.generate_key().decode()}, {ENCRYPTION_KEY}"
    settings, _ = preflight.read_settings({"DEPLOYBOT_ENCRYPTION_KEY": two})
    assert preflight.encryption_key(settings) == preflight.Finding(
        "encryption key", passed=True, detail="2 Fernet keys; the first encrypts"
    )


def test_invalid_settings_are_set_aside_by_name() -> None:
    """`read_settings` leaves each invalid setting at its default and reports it by name, so
    that every check can still run."""
    settings, invalid = preflight.read_settings(
        {"DEPLOYBOT_ENCRYPTION_KEY": "nope", "PORT": "0", "DATABASE_URL": "sqlite:///x.db"}
    )
    assert set(invalid) == {"DEPLOYBOT_ENCRYPTION_KEY", "PORT"}
    assert invalid["DEPLOYBOT_ENCRYPTION_KEY"].startswith("entry 1 is not a Fernet key")
    assert (settings.encryption_key, settings.port) == (None, 3000)
    assert settings.database_url == "sqlite:///x.db"
