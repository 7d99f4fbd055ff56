"""Workspace keys and settings: encryption at rest, the lookup order, the change log, key checks;
the store's tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event

from bot.config import Mode, Settings, fernet_keys
from bot.crypto import KeyBox, UndecryptableError, dev_key_box
from bot.domain import (
    Access,
    Action,
    Freeze,
    Guardrails,
    KeysNotStorableError,
    Scope,
    key_hint,
)
from bot.key_check import KeyCheck, Verdict, check_api_key
from bot.sandbox import SandboxVendor
from bot.store import Store
from bot.vendor import HiveonClient
from bot.workspaces import Workspaces, key_box_for
from tests.databases import everything_stored, query

KEY_A = "hk-team-a-0123456789abcdef"
KEY_B = "hk-team-b-fedcba9876543210"
KEY_ORG = "hk-org-e1-5555555555555555"
DEFAULT_KEY = "hk-default-operator-key-42"
FERNET = Fernet.generate_key().decode()
ACCEPTED = KeyCheck(Verdict.ACCEPTED, 404)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEAM_A = Scope(None, "TA")
TEAM_B = Scope(None, "TB")
GRID_TEAM = Scope("E1", "TG")
ORG = Scope("E1", None)


@pytest.fixture(name="store")
async def _store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


def workspaces(
    store: Store, *, box: KeyBox | None = None, default_key: str | None = None
) -> Workspaces:
    """Workspaces over the store, encrypting with FERNET unless told otherwise, at NOW."""
    return Workspaces(
        store.engine,
        box=box if box is not None else KeyBox.from_setting(FERNET),
        default_key=default_key,
        clock=lambda: NOW,
    )


# --- scopes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enterprise_id", "team_id", "org_install", "expected"),
    [
        (None, "T1", False, Scope(None, "T1")),
        ("E1", "T1", False, Scope("E1", "T1")),
        ("E1", "T1", True, Scope("E1", None)),
        ("E1", None, True, Scope("E1", None)),
        ("E1", None, False, None),
        (None, None, False, None),
        (None, "", False, None),
    ],
)
def test_scope_comes_from_the_verified_team_and_org(
    enterprise_id: str | None, team_id: str | None, *, org_install: bool, expected: Scope | None
) -> None:
    """A workspace install is its team; an org-wide install is the whole org; none is unknown."""
    scope = Scope.of(
        enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_install
    )
    assert scope == expected


def test_scope_keys_are_team_ids_or_prefixed_orgs() -> None:
    """Team IDs are unique across Slack, so a workspace's row survives joining an org."""
    assert Scope(None, "T1").key == Scope("E1", "T1").key == "T1"
    assert Scope("E1", None).key == "org:E1"


def test_only_the_last_four_characters_of_a_long_key_are_ever_kept() -> None:
    """The hint is 4 characters of a key of 12 or more, and nothing of a shorter one."""
    assert key_hint("hk-0123456789abcd") == "abcd"
    assert key_hint("short-key") is None


# --- encryption ----------------------------------------------------------------------------------


def test_fernet_keys_accepts_several_comma_separated_keys() -> None:
    """Several keys rotate: spaces around commas are fine."""
    second = Fernet.generate_key().decode()
    assert fernet_keys(f" {FERNET} , {second} ") == [FERNET.encode(), second.encode()]


@pytest.mark.parametrize("setting", ["", " , ", "not-a-key", f"{FERNET},short", "é" * 44])
def test_fernet_keys_refuses_what_is_not_a_fernet_key_without_quoting_it(setting: str) -> None:
    """The error says which entry is wrong and how to generate one, never the value."""
    with pytest.raises(ValueError, match="Fernet") as caught:
        fernet_keys(setting)
    if setting.strip(" ,"):
        assert setting.rsplit(",", maxsplit=1)[-1] not in str(caught.value)


def test_an_invalid_encryption_key_stops_the_settings_without_printing_it() -> None:
    """`DEPLOYBOT_ENCRYPTION_KEY` is checked at start-up; the message hides the input."""
    with pytest.raises(ValueError, match="DEPLOYBOT_ENCRYPTION_KEY") as caught:
        Settings.from_env({"DEPLOYBOT_ENCRYPTION_KEY": "secret-but-wrong"})
    assert "secret-but-wrong" not in str(caught.value)


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    """Rotation: a token of the old key still opens; rotating moves it to the new key."""
    old = KeyBox.from_setting(FERNET)
    token = old.encrypt(KEY_A)
    new_key = Fernet.generate_key().decode()
    both = KeyBox.from_setting(f"{new_key},{FERNET}")
    assert both.decrypt(token) == KEY_A
    assert not both.is_current(token)
    rotated = both.rotate(token)
    assert both.is_current(rotated)
    assert KeyBox.from_setting(new_key).decrypt(rotated) == KEY_A
    with pytest.raises(UndecryptableError):
        KeyBox.from_setting(Fernet.generate_key().decode()).decrypt(token)


def test_a_dev_key_file_is_generated_owner_only_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Local trials get a generated key file with mode 0600, a loud warning, and the same key
    the next time."""
    path = tmp_path / "deploybot.key"
    token = dev_key_box(path).encrypt(KEY_A)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "DEPLOYBOT_ENCRYPTION_KEY is not set" in caplog.text
    assert str(path) in caplog.text
    assert dev_key_box(path).decrypt(token) == KEY_A


def test_a_dev_key_file_readable_by_others_is_locked_down(tmp_path: Path) -> None:
    """A key file someone made world-readable is set back to 0600."""
    path = tmp_path / "deploybot.key"
    path.write_text(FERNET + "\n")
    path.chmod(0o644)
    dev_key_box(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("env", "box", "key_file"),
    [
        ({"DEPLOYBOT_ENCRYPTION_KEY": FERNET}, True, False),
        ({"HIVEON_API_URL": "sandbox"}, True, True),
        ({}, False, False),
    ],
)
def test_where_the_encryption_key_comes_from(
    tmp_path: Path, env: dict[str, str], *, box: bool, key_file: bool
) -> None:
    """The configured key; in sandbox trials a key file beside the database; else none."""
    db = tmp_path / "deploybot.sqlite3"
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{db}", **env})
    assert (key_box_for(settings) is not None) is box
    assert (tmp_path / "deploybot.key").exists() is key_file


# --- keys ----------------------------------------------------------------------------------------


async def test_a_stored_key_is_encrypted_in_the_database(store: Store, database_url: str) -> None:
    """The database holds a Fernet token and the hint, never the key in clear text."""
    change, stored = await workspaces(store).set_key(TEAM_A, KEY_A, by="UADMIN", check=ACCEPTED)
    assert change.action is Action.KEY_SET
    assert stored.hint == "cdef"
    [(token, hint)] = query(database_url, "SELECT api_key_encrypted, api_key_hint FROM workspaces")
    assert KeyBox.from_setting(FERNET).decrypt(token) == KEY_A
    assert hint == "cdef"
    await store.close()
    assert KEY_A.encode() not in everything_stored(database_url)


async def test_each_workspace_deploys_with_its_own_key(store: Store) -> None:
    """Two workspaces, two keys: a lookup never crosses from one to the other."""
    spaces = workspaces(store, default_key=DEFAULT_KEY)
    await spaces.set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    await spaces.set_key(TEAM_B, KEY_B, by="UB", check=ACCEPTED)
    assert await spaces.api_key_for(None, "TA") == KEY_A
    assert await spaces.api_key_for(None, "TB") == KEY_B
    assert await spaces.api_key_for(None, "TC") == DEFAULT_KEY
    assert await spaces.api_key_for("E9", "TC") == DEFAULT_KEY


async def test_without_a_key_or_default_there_is_nothing_to_deploy_with(store: Store) -> None:
    """No key of its own and no default: None, so nothing is sent."""
    assert await workspaces(store).api_key_for(None, "TA") is None


async def test_an_org_wide_key_serves_its_workspaces_and_a_workspace_key_wins(
    store: Store,
) -> None:
    """A Grid workspace uses its own key, else its org's org-wide key; other orgs never."""
    spaces = workspaces(store, default_key=DEFAULT_KEY)
    await spaces.set_key(ORG, KEY_ORG, by="UORG", check=ACCEPTED)
    assert await spaces.api_key_for("E1", "TG") == KEY_ORG
    assert await spaces.api_key_for("E1", "") == KEY_ORG
    assert await spaces.api_key_for("E2", "TG2") == DEFAULT_KEY
    assert await spaces.api_key_for(None, "TG") == DEFAULT_KEY
    await spaces.set_key(GRID_TEAM, KEY_A, by="UADMIN", check=ACCEPTED)
    assert await spaces.api_key_for("E1", "TG") == KEY_A


async def test_an_undecryptable_key_is_not_replaced_by_the_default(store: Store) -> None:
    """A key the current encryption key cannot open gives no key, not the operator's."""
    await workspaces(store).set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    other = KeyBox.from_setting(Fernet.generate_key().decode())
    changed = workspaces(store, box=other, default_key=DEFAULT_KEY)
    assert await changed.api_key_for(None, "TA") is None
    shown = await changed.get(TEAM_A)
    assert shown.key is not None
    assert shown.key.readable is False


async def test_rotation_replaces_the_key_and_records_both_hints(store: Store) -> None:
    """Setting a key over another is a rotation; the log names both by their last 4 only."""
    spaces = workspaces(store)
    await spaces.set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    change, _ = await spaces.set_key(TEAM_A, KEY_B, by="UA2", check=ACCEPTED)
    assert change.action is Action.KEY_ROTATED
    assert change.detail == {"hint": "3210", "previous_hint": "cdef", "check": "accepted"}
    assert await spaces.api_key_for(None, "TA") == KEY_B


async def test_removal_deletes_the_key_and_records_it(store: Store, database_url: str) -> None:
    """A removed key is gone from the database; the default serves again; the log says who."""
    spaces = workspaces(store, default_key=DEFAULT_KEY)
    await spaces.set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    change = await spaces.remove_key(TEAM_A, by="UA2")
    assert change is not None
    assert (change.action, change.user_id, change.detail) == (
        Action.KEY_REMOVED,
        "UA2",
        {"hint": "cdef"},
    )
    assert await spaces.remove_key(TEAM_A, by="UA2") is None
    assert await spaces.api_key_for(None, "TA") == DEFAULT_KEY
    assert (await spaces.get(TEAM_A)).key is None
    [(token,)] = query(database_url, "SELECT api_key_encrypted FROM workspaces")
    assert token is None


async def test_without_an_encryption_key_nothing_is_stored(store: Store) -> None:
    """No box, no storing; the default key still serves."""
    spaces = Workspaces(store.engine, box=None, default_key=DEFAULT_KEY)
    assert not spaces.can_store_keys
    with pytest.raises(KeysNotStorableError):
        await spaces.set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    assert await spaces.api_key_for(None, "TA") == DEFAULT_KEY


async def test_reencrypt_moves_every_key_to_the_current_encryption_key(
    store: Store, database_url: str
) -> None:
    """After rotating DEPLOYBOT_ENCRYPTION_KEY, start-up re-encrypts; the old key can go."""
    await workspaces(store).set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    new_key = Fernet.generate_key().decode()
    both = Workspaces(
        store.engine, box=KeyBox.from_setting(f"{new_key},{FERNET}"), default_key=None
    )
    assert await both.reencrypt() == 1
    assert await both.reencrypt() == 0
    only_new = Workspaces(store.engine, box=KeyBox.from_setting(new_key), default_key=None)
    assert await only_new.api_key_for(None, "TA") == KEY_A
    await store.close()
    assert KEY_A.encode() not in everything_stored(database_url)


# --- who may deploy, the change log, uninstalls -------------------------------------------------


async def test_access_defaults_to_everyone_and_records_what_changed(store: Store) -> None:
    """No settings: everyone; a change is logged with old and new lists; saving the same again
    records nothing."""
    spaces = workspaces(store)
    assert await spaces.access_for(None, "TA") == Access()
    chosen = Access(channels=("C1", "C2"), users=("U1",), usergroups=())
    change = await spaces.set_access(TEAM_A, chosen, by="UADMIN")
    assert change is not None
    assert change.detail == {"channels": [[], ["C1", "C2"]], "users": [[], ["U1"]]}
    stored = await spaces.access_for(None, "TA")
    assert stored == chosen
    assert (stored.set_by, stored.set_at) == ("UADMIN", NOW)
    assert await spaces.set_access(TEAM_A, chosen, by="UADMIN") is None
    assert await spaces.access_for(None, "TB") == Access()


async def test_the_change_log_is_newest_first_and_never_holds_a_key(
    store: Store, database_url: str
) -> None:
    """Every change is recorded with who and when; no row of the log contains the key."""
    spaces = workspaces(store)
    await spaces.set_key(TEAM_A, KEY_A, by="U1", check=ACCEPTED)
    await spaces.set_access(TEAM_A, Access(channels=("C1",)), by="U2")
    await spaces.remove_key(TEAM_A, by="U3")
    history = await spaces.history(TEAM_A)
    assert [(c.user_id, c.action, c.at) for c in history] == [
        ("U3", Action.KEY_REMOVED, NOW),
        ("U2", Action.ACCESS_CHANGED, NOW),
        ("U1", Action.KEY_SET, NOW),
    ]
    assert await spaces.history(TEAM_B) == []
    logged = query(database_url, "SELECT detail FROM workspace_changes")
    assert len(logged) == 3
    assert KEY_A not in repr(logged)


async def test_guardrails_default_to_none_and_record_what_changed(store: Store) -> None:
    """No settings: no approval, no automatic stop; a change is logged with old and new values
    (approvers as lists); saving the same again records nothing."""
    spaces = workspaces(store)
    assert await spaces.guardrails_for(None, "TA") == Guardrails()
    chosen = Guardrails(
        require_approval=True,
        approvers=("U1", "U2"),
        default_stop_after_s=4 * 3600,
        max_stop_after_s=86400,
    )
    change = await spaces.set_guardrails(TEAM_A, chosen, by="UADMIN")
    assert change is not None
    assert (change.action, change.user_id, change.at) == (Action.GUARDRAILS_CHANGED, "UADMIN", NOW)
    assert change.detail == {
        "require_approval": [False, True],
        "approvers": [[], ["U1", "U2"]],
        "default_stop_after_s": [None, 14400],
        "max_stop_after_s": [None, 86400],
    }
    assert await spaces.guardrails_for(None, "TA") == chosen
    assert (await spaces.get(TEAM_A)).guardrails == chosen
    assert await spaces.set_guardrails(TEAM_A, chosen, by="UADMIN") is None
    assert await spaces.guardrails_for(None, "TB") == Guardrails()


async def test_an_org_wide_guardrail_applies_until_a_workspace_sets_its_own(store: Store) -> None:
    """The org's approval rule holds in its workspaces, until one saves settings of its own."""
    spaces = workspaces(store)
    await spaces.set_guardrails(ORG, Guardrails(require_approval=True), by="UORG")
    assert (await spaces.guardrails_for("E1", "TG")).require_approval
    await spaces.set_access(GRID_TEAM, Access(channels=("C1",)), by="UTEAM")
    assert not (await spaces.guardrails_for("E1", "TG")).require_approval


async def test_a_freeze_holds_until_lifted_or_its_time_runs_out(store: Store) -> None:
    """A freeze holds from its start, is logged with its reason and end; lifting it is logged
    too; one given an end stops holding then, and lifting it later finds nothing."""
    now = [NOW]
    spaces = Workspaces(store.engine, box=None, default_key=None, clock=lambda: now[0])
    assert await spaces.freeze_for(None, "TA") is None
    change, freeze = await spaces.freeze(TEAM_A, by="ULEAD", reason="incident 42", lasting=None)
    assert freeze == Freeze("ULEAD", NOW, None, "incident 42")
    assert change.detail == {"reason": "incident 42", "until": None}
    assert await spaces.freeze_for(None, "TA") == freeze
    assert (await spaces.get(TEAM_A)).freeze == freeze
    assert await spaces.freeze_for(None, "TB") is None
    now[0] = NOW + timedelta(days=3)
    lifted = await spaces.unfreeze(TEAM_A, by="UOTHER")
    assert lifted is not None
    assert (lifted[0].action, lifted[0].user_id, lifted[1]) == (Action.UNFROZEN, "UOTHER", freeze)
    assert await spaces.freeze_for(None, "TA") is None
    assert await spaces.unfreeze(TEAM_A, by="UOTHER") is None

    until = now[0] + timedelta(hours=2)
    await spaces.freeze(TEAM_A, by="ULEAD", reason="release", lasting=timedelta(hours=2))
    assert await spaces.freeze_for(None, "TA") is not None
    now[0] = until
    assert await spaces.freeze_for(None, "TA") is None
    assert (await spaces.get(TEAM_A)).freeze is None
    assert await spaces.unfreeze(TEAM_A, by="ULEAD") is None
    actions = [c.action for c in await spaces.history(TEAM_A)]
    assert actions == [Action.FROZEN, Action.UNFROZEN, Action.FROZEN]


async def test_an_org_freeze_holds_every_workspace_of_the_org(store: Store) -> None:
    """Frozen org-wide, the org's workspaces are frozen; other workspaces are not."""
    spaces = workspaces(store)
    await spaces.freeze(ORG, by="UORG", reason="audit", lasting=None)
    frozen = await spaces.freeze_for("E1", "TG")
    assert frozen is not None
    assert frozen.reason == "audit"
    assert await spaces.freeze_for(None, "TA") is None


async def test_forget_deletes_the_key_and_settings_of_one_workspace_only(store: Store) -> None:
    """An uninstall deletes that workspace's row and logs it; the other workspace keeps its key."""
    spaces = workspaces(store, default_key=DEFAULT_KEY)
    await spaces.set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    await spaces.set_key(TEAM_B, KEY_B, by="UB", check=ACCEPTED)
    await spaces.set_access(TEAM_A, Access(users=("UA",)), by="UA")
    await spaces.forget(TEAM_A, event="app_uninstalled")
    assert await spaces.api_key_for(None, "TA") == DEFAULT_KEY
    assert await spaces.access_for(None, "TA") == Access()
    assert await spaces.api_key_for(None, "TB") == KEY_B
    [latest, *_] = await spaces.history(TEAM_A)
    assert (latest.action, latest.user_id) == (Action.UNINSTALLED, "slack")
    assert latest.detail == {"event": "app_uninstalled", "key_deleted": True}


# --- checking a key with Hiveon ------------------------------------------------------------------


def vendor(handler: Callable[[httpx.Request], httpx.Response]) -> HiveonClient:
    """The real client over a handler, with no waiting on 429s."""

    async def no_sleep(_seconds: float) -> None:
        return None

    async def handle(request: httpx.Request) -> httpx.Response:
        return handler(request)

    return HiveonClient(
        base_url="https://hiveon.test",
        timeout_s=5,
        transport=httpx.MockTransport(handle),
        sleep=no_sleep,
    )


async def test_a_key_check_looks_up_a_deployment_that_cannot_exist() -> None:
    """The check is one GET of a random deployment ID with the key; 404 means accepted."""
    sandbox = SandboxVendor(api_keys={KEY_A})
    async with HiveonClient(
        base_url="https://hiveon.test", timeout_s=5, transport=httpx.MockTransport(sandbox.handle)
    ) as client:
        assert await check_api_key(client, KEY_A) == KeyCheck(Verdict.ACCEPTED, 404)
        refused = await check_api_key(client, KEY_B)
    assert refused == KeyCheck(Verdict.REFUSED, 401)
    assert [r.method for r in sandbox.requests] == ["GET", "GET"]
    assert all(
        r.path.startswith("/vendors/v1/machines/deployments/deploybot-key-check-")
        for r in sandbox.requests
    )
    assert [r.headers["x-api-key"] for r in sandbox.requests] == [KEY_A, KEY_B]
    assert sandbox.requests[0].path != sandbox.requests[1].path
    assert sandbox.start_count == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(403, json={"error": "forbidden"}), KeyCheck(Verdict.REFUSED, 403)),
        (
            httpx.Response(500, text="<html>down</html>"),
            KeyCheck(Verdict.UNCHECKED, None, "Hiveon answered HTTP 500 (server error)"),
        ),
        (
            httpx.Response(429, json={"error": "slow down"}),
            KeyCheck(Verdict.UNCHECKED, 429, "Hiveon answered HTTP 429"),
        ),
        (
            httpx.Response(200, json={"deployment_id": "d-1"}),
            KeyCheck(Verdict.ACCEPTED, 200),
        ),
    ],
)
async def test_a_key_check_tells_refused_from_unchecked(
    answer: httpx.Response, expected: KeyCheck
) -> None:
    """401/403 refuse the key; other failures leave it unchecked, with a reason to show."""
    async with vendor(lambda _request: answer) as client:
        assert await check_api_key(client, KEY_A) == expected


async def test_a_key_check_that_cannot_reach_hiveon_is_unchecked() -> None:
    """A connection failure leaves the key unchecked, and the reason never holds the key."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with vendor(refuse) as client:
        check = await check_api_key(client, KEY_A)
    assert check == KeyCheck(
        Verdict.UNCHECKED, None, "Hiveon could not be reached (connection failed)"
    )


async def test_a_key_check_gives_up_after_its_timeout() -> None:
    """A vendor slower than the check's timeout leaves the key unchecked."""
    sandbox = SandboxVendor(latency_s=1.0)
    async with HiveonClient(
        base_url="https://hiveon.test", timeout_s=5, transport=httpx.MockTransport(sandbox.handle)
    ) as client:
        check = await check_api_key(client, KEY_A, timeout_s=0.05)
    assert check == KeyCheck(Verdict.UNCHECKED, None, "no answer within 0.05 s")


def test_oauth_credentials_alone_make_an_http_bot() -> None:
    """With a client ID, secret and signing secret, no bot token is needed: OAuth installs."""
    oauth = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_SIGNING_SECRET": "x"}
    settings = Settings.from_env(oauth)
    assert settings.oauth_enabled
    assert settings.mode is Mode.HTTP
    assert Settings.from_env({**oauth, "SLACK_CLIENT_SECRET": ""}).mode is Mode.UNCONFIGURED


async def test_a_burst_of_lookups_reads_the_database_once_and_changes_show_at_once(
    store: Store,
) -> None:
    """Concurrent deployments share one read of their workspace; a change made by this process
    is seen by the very next lookup."""
    spaces = workspaces(store, default_key=DEFAULT_KEY)
    await spaces.set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
    reads: list[str] = []

    def count(*args: object) -> None:
        statement = str(args[2])
        if "FROM workspaces" in statement:
            reads.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    keys = await asyncio.gather(*(spaces.api_key_for(None, "TA") for _ in range(50)))
    accesses = await asyncio.gather(*(spaces.access_for(None, "TA") for _ in range(50)))
    assert set(keys) == {KEY_A}
    assert set(accesses) == {Access()}
    assert len(reads) == 1
    await spaces.set_key(TEAM_A, KEY_B, by="UA", check=ACCEPTED)
    assert await spaces.api_key_for(None, "TA") == KEY_B
    await spaces.remove_key(TEAM_A, by="UA")
    assert await spaces.api_key_for(None, "TA") == DEFAULT_KEY


async def test_a_change_through_one_replica_applies_on_another_at_once(
    database_url: str,
) -> None:
    """Two replicas on one database, each with its own Workspaces, as build_bot wires them for
    PostgreSQL (no cache): a key and settings set through one are what the other's very next
    lookup returns, however recently it looked."""
    first, second = Store.from_url(database_url), Store.from_url(database_url)
    await first.migrate()
    try:
        here = Workspaces(first.engine, box=KeyBox.from_setting(FERNET), default_key=DEFAULT_KEY)
        there = Workspaces(
            second.engine,
            box=KeyBox.from_setting(FERNET),
            default_key=DEFAULT_KEY,
            cache_ttl_s=0,
        )
        assert await there.api_key_for(None, "TA") == DEFAULT_KEY
        assert await there.access_for(None, "TA") == Access()
        await here.set_key(TEAM_A, KEY_A, by="UA", check=ACCEPTED)
        await here.set_access(TEAM_A, Access(channels=("C1",)), by="UA")
        assert await there.api_key_for(None, "TA") == KEY_A
        assert (await there.access_for(None, "TA")).channels == ("C1",)
        await here.remove_key(TEAM_A, by="UA")
        assert await there.api_key_for(None, "TA") == DEFAULT_KEY
    finally:
        await first.close()
        await second.close()
