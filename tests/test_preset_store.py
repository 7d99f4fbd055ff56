"""Presets in the database: one per name and workspace, owners, the cap, the change log and
what is never stored; on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from bot.deployment import ContainerConfig, DockerAuth, StartDeploymentRequest
from bot.domain import Action, Scope
from bot.preset_store import PresetStore, Saved, SaveResult
from bot.store import Store
from bot.testing.seed import MACHINE_ID, MACHINE_PRICE_ID
from bot.workspaces import Workspaces
from tests.databases import everything_stored

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEAM = Scope(None, "TA")
OTHER_TEAM = Scope(None, "TB")
SECRET_PASSWORD = "registry-password-do-not-store"
SECRET_VALUE = "db-password-do-not-store"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(name="store")
async def _store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


def request(image: str = "nginx:latest") -> StartDeploymentRequest:
    """A start request with a registry login and a secret environment value."""
    return StartDeploymentRequest(
        machine_id=MACHINE_ID,
        machine_price_id=MACHINE_PRICE_ID,
        external_deployment_id="ext-1",
        container_config=ContainerConfig(
            image=image,
            docker_auth=DockerAuth(
                server="ghcr.io", login="robot", password=SecretStr(SECRET_PASSWORD)
            ),
            environment_variables={"MODE": "prod", "DB_PASSWORD": SECRET_VALUE},
        ),
    )


def test_a_preset_keeps_no_password_no_secret_value_and_no_external_id() -> None:
    """What a preset keeps: the request without the registry password (not even masked), with
    secret values masked, and without the external ID each deployment gets afresh."""
    assert request().for_preset() == {
        "machine_id": MACHINE_ID,
        "machine_price_id": MACHINE_PRICE_ID,
        "container_config": {
            "image": "nginx:latest",
            "docker_auth": {"server": "ghcr.io", "login": "robot"},
            "environment_variables": {"MODE": "prod", "DB_PASSWORD": "••••"},
        },
    }


async def test_a_saved_preset_is_read_back_with_its_owner_and_nothing_secret_is_stored(
    store: Store, database_url: str
) -> None:
    """A save is read back by name in its workspace only; no table holds the password or the
    secret value."""
    presets = PresetStore(store.engine, clock=lambda: NOW)
    result = await presets.save(
        TEAM, name="web", request=request().for_preset(), by="U1", may_replace=False
    )
    assert result == SaveResult(Saved.SAVED)
    preset = await presets.get("TA", "web")
    assert preset is not None
    assert (preset.name, preset.user_id, preset.image, preset.machine_id) == (
        "web",
        "U1",
        "nginx:latest",
        MACHINE_ID,
    )
    assert preset.saved_at == NOW
    assert preset.last_used_at is None
    assert await presets.get("TB", "web") is None
    stored = everything_stored(database_url)
    assert SECRET_PASSWORD.encode() not in stored
    assert SECRET_VALUE.encode() not in stored


async def test_someone_elses_name_is_taken_unless_the_saver_may_replace_it(store: Store) -> None:
    """Saving under a name another person holds is refused naming them; the owner replaces
    their own, an admin anyone's, and the preset is then the replacer's."""
    presets = PresetStore(store.engine, clock=lambda: NOW)
    await presets.save(TEAM, name="web", request=request().for_preset(), by="U1", may_replace=False)
    taken = await presets.save(
        TEAM, name="web", request=request("redis:7").for_preset(), by="U2", may_replace=False
    )
    assert taken == SaveResult(Saved.TAKEN, "U1")
    preset = await presets.get("TA", "web")
    assert preset is not None
    assert preset.image == "nginx:latest"
    mine = await presets.save(
        TEAM, name="web", request=request("nginx:1.27").for_preset(), by="U1", may_replace=False
    )
    assert mine == SaveResult(Saved.REPLACED, "U1")
    admin = await presets.save(
        TEAM, name="web", request=request("redis:7").for_preset(), by="UADMIN", may_replace=True
    )
    assert admin == SaveResult(Saved.REPLACED, "U1")
    preset = await presets.get("TA", "web")
    assert preset is not None
    assert (preset.user_id, preset.image) == ("UADMIN", "redis:7")
    other = await presets.save(
        OTHER_TEAM, name="web", request=request().for_preset(), by="U9", may_replace=False
    )
    assert other == SaveResult(Saved.SAVED)


async def test_a_workspace_keeps_at_most_its_cap_of_presets(store: Store) -> None:
    """Past the cap a new name is refused; an existing one may still be replaced, and other
    workspaces are not counted."""
    presets = PresetStore(store.engine, clock=lambda: NOW, max_presets=3)
    for name in ("a", "b", "c"):
        await presets.save(
            TEAM, name=name, request=request().for_preset(), by="U1", may_replace=False
        )
    full = await presets.save(
        TEAM, name="d", request=request().for_preset(), by="U1", may_replace=False
    )
    assert full == SaveResult(Saved.FULL)
    assert await presets.count("TA") == 3
    again = await presets.save(
        TEAM, name="b", request=request().for_preset(), by="U1", may_replace=False
    )
    assert again.saved is Saved.REPLACED
    elsewhere = await presets.save(
        OTHER_TEAM, name="d", request=request().for_preset(), by="U1", may_replace=False
    )
    assert elsewhere.saved is Saved.SAVED


async def test_two_saves_of_one_new_name_at_once_keep_one_preset(store: Store) -> None:
    """Two people saving the same new name at the same moment: one saves it, the other finds
    it taken; the workspace has one preset by that name."""
    presets = PresetStore(store.engine, clock=lambda: NOW)
    results = await asyncio.gather(
        presets.save(TEAM, name="web", request=request().for_preset(), by="U1", may_replace=False),
        presets.save(TEAM, name="web", request=request().for_preset(), by="U2", may_replace=False),
    )
    assert sorted(result.saved for result in results) == [Saved.SAVED, Saved.TAKEN]
    assert await presets.count("TA") == 1


async def test_the_list_filters_by_name_or_image_most_recently_used_first(store: Store) -> None:
    """`find` matches name or image in any case, lists the last used (else saved) first, and
    counts every match beyond its limit."""
    clock = Clock()
    presets = PresetStore(store.engine, clock=clock)
    for minutes, (name, image) in enumerate(
        [("api", "ghcr.io/acme/api:1"), ("web", "nginx:latest"), ("cache", "redis:7")]
    ):
        clock.now = NOW + timedelta(minutes=minutes)
        await presets.save(
            TEAM, name=name, request=request(image).for_preset(), by="U1", may_replace=False
        )
    clock.now = NOW + timedelta(hours=1)
    await presets.mark_used("TA", "api")
    page = await presets.find("TA")
    assert [preset.name for preset in page.presets] == ["api", "cache", "web"]
    assert page.total == 3
    assert page.presets[0].last_used_at == NOW + timedelta(hours=1)
    assert [p.name for p in (await presets.find("TA", containing="NGINX")).presets] == ["web"]
    assert [p.name for p in (await presets.find("TA", containing="ac")).presets] == [
        "api",
        "cache",
    ]
    limited = await presets.find("TA", limit=1)
    assert ([p.name for p in limited.presets], limited.total) == (["api"], 3)
    assert (await presets.find("TB")).total == 0


async def test_every_save_replacement_and_deletion_is_in_the_change_log(store: Store) -> None:
    """The workspace's change log records who saved, replaced and deleted which preset."""
    presets = PresetStore(store.engine, clock=lambda: NOW)
    await presets.save(TEAM, name="web", request=request().for_preset(), by="U1", may_replace=False)
    await presets.save(
        TEAM, name="web", request=request("redis:7").for_preset(), by="UADMIN", may_replace=True
    )
    gone = await presets.delete(TEAM, "web", by="U3")
    assert gone is not None
    assert gone.user_id == "UADMIN"
    assert await presets.delete(TEAM, "web", by="U3") is None
    assert await presets.get("TA", "web") is None
    history = await Workspaces(store.engine, box=None, default_key=None).history(TEAM, limit=10)
    assert [(change.user_id, change.action, change.detail) for change in history] == [
        ("U3", Action.PRESET_DELETED, {"name": "web", "image": "redis:7", "owner": "UADMIN"}),
        ("UADMIN", Action.PRESET_REPLACED, {"name": "web", "image": "redis:7", "owner": "U1"}),
        ("U1", Action.PRESET_SAVED, {"name": "web", "image": "nginx:latest"}),
    ]
