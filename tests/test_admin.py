"""Admin flows through the real Bolt app: keys set, rotated, refused, removed; who may deploy.

Each test builds the bot as the entry point does (`build_bot`) over a fresh SQLite file, feeds
it signed requests shaped like Slack's, and asserts on what the fake Slack and the sandbox
vendor received, and on what the database holds.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from cryptography.fernet import Fernet
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from blocks import admin as admin_blocks
from bot.app import Bot, build_bot
from bot.config import Settings
from bot.crypto import KeyBox
from bot.sandbox import Reply, SandboxVendor
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.seed import form
from bot.testing.slack_requests import (
    FORM,
    SIGNING_SECRET,
    SlackRequest,
    api_key_submission,
    event,
    org_slash_command,
    remove_key_click,
    settings_submission,
    sign,
    slash_command,
    view_submission,
    where,
)
from bot.vendor import HiveonClient
from tests.e2e_support import VENDOR_START

pytestmark = pytest.mark.e2e  # the fake Slack on loopback

ADMIN = "UADMIN"
MEMBER = "UMEMBER"
OPERATOR = "UOPERATOR"
KEY_A = "hk-team-a-0123456789abcdef"
KEY_A2 = "hk-team-a-rotated-99998888"
KEY_B = "hk-team-b-fedcba9876543210"
KEY_ORG = "hk-org-e1-5555555555555555"
REFUSED_KEY = "hk-not-a-hiveon-key-424242"
DEFAULT_KEY = "hk-operator-default-key-01"
FERNET = Fernet.generate_key().decode()
KEY_CHECK = "/vendors/v1/machines/deployments/deploybot-key-check-"


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@dataclass
class Harness:
    """One bot, built as the entry point builds it, over the fake Slack and the sandbox."""

    bot: Bot
    slack: FakeSlack
    sandbox: SandboxVendor
    db_path: Path

    async def send(self, request: SlackRequest) -> BoltResponse:
        """Deliver a signed request to the Bolt app, as the HTTP route does."""
        return await self.bot.app.async_dispatch(
            AsyncBoltRequest(body=request.text, headers=dict(request.headers))
        )

    async def settled(self) -> None:
        """Wait until the background work of the requests so far is done."""
        for _ in range(500):
            if len(self.bot.tasks) == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("background tasks did not finish")

    async def told(self, name: str, count: int = 1) -> list[Call]:
        """The ephemeral answers posted to `response_url(name)`."""
        return await self.slack.async_wait_for(f"response_url:{name}", count=count)

    def vendor(self, path_prefix: str) -> list[Any]:
        """The requests the vendor received on paths starting with `path_prefix`."""
        return [r for r in self.sandbox.requests if r.path.startswith(path_prefix)]

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the database file."""
        with closing(sqlite3.connect(self.db_path)) as db:
            return db.execute(query).fetchall()

    async def set_key(
        self, api_key: str, *, team_id: str = "T111", user_id: str = ADMIN
    ) -> list[Call]:
        """Submit the key modal as `user_id` (made an admin) and wait until it is handled."""
        self.slack.users[user_id] = {"is_admin": True}
        name = f"key-{uuid.uuid4().hex[:8]}"
        metadata = where("C111", self.slack.response_url(name))
        request = api_key_submission(
            api_key, team_id=team_id, user_id=user_id, private_metadata=metadata
        )
        await self.send(request)
        await self.settled()
        return self.slack.calls_to(f"response_url:{name}")

    async def deploy(
        self, *, team_id: str = "T111", user_id: str = MEMBER, channel_id: str = "C111"
    ) -> tuple[str, str]:
        """Submit the deploy modal; the external ID and the response_url's name."""
        values = form()
        name = f"deploy-{uuid.uuid4().hex[:8]}"
        metadata = where(channel_id, self.slack.response_url(name))
        await self.send(
            view_submission(
                values=values, private_metadata=metadata, team_id=team_id, user_id=user_id
            )
        )
        await self.settled()
        return values["external_deployment_id"], name

    def key_used_for(self, external_id: str) -> str | None:
        """The X-API-Key of the start request carrying this external ID, if any."""
        starts = [
            r
            for r in self.vendor(VENDOR_START)
            if isinstance(r.json, dict) and r.json.get("external_deployment_id") == external_id
        ]
        return starts[0].headers["x-api-key"] if starts else None


Make = Callable[..., Awaitable["Harness"]]


@pytest.fixture(name="make")
async def _make(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[Make]:
    """A factory of harnesses with settings on top of the defaults; all stopped at the end."""
    built: list[Harness] = []

    async def make(**env: str) -> Harness:
        slack.reset()
        db_path = tmp_path / f"deploybot-{len(built)}.sqlite3"
        settings = Settings.from_env(
            {
                "SLACK_BOT_TOKEN": "xoxb-single-workspace",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.url,
                "DATABASE_URL": f"sqlite:///{db_path}",
                "HIVEON_API_URL": "https://hiveon.test",
                "DEPLOYBOT_ENCRYPTION_KEY": FERNET,
                "DEPLOYBOT_ADMINS": OPERATOR,
                **env,
            }
        )
        sandbox = SandboxVendor(api_keys={KEY_A, KEY_A2, KEY_B, KEY_ORG, DEFAULT_KEY})
        vendor = HiveonClient(
            base_url="https://hiveon.test",
            timeout_s=2,
            transport=httpx.MockTransport(sandbox.handle),
        )
        bot = build_bot(settings, vendor=vendor)
        await bot.start()
        harness = Harness(bot, slack, sandbox, db_path)
        built.append(harness)
        return harness

    yield make
    for harness in built:
        await harness.bot.stop()


def shown(call: Call) -> str:
    """Everything a call showed, as text."""
    return json.dumps(call.params, ensure_ascii=False)


# --- opening the key modal ---------------------------------------------------------------------


async def test_help_lists_the_admin_subcommands(make: Make) -> None:
    """`/deploy help` shows `api-key` and `settings` with what they do."""
    harness = await make()
    response = await harness.send(slash_command(text="help"))
    text = json.dumps(json.loads(response.body))
    assert "/deploy api-key" in text
    assert "Hiveon API key (admins)" in text
    assert "/deploy settings" in text


async def test_a_member_who_is_no_admin_is_refused_privately(make: Make) -> None:
    """A regular member's `/deploy api-key` is acked, then refused ephemerally; no modal."""
    harness = await make()
    url = harness.slack.response_url("member")
    response = await harness.send(
        slash_command(text="api-key", user_id=MEMBER, response_url=url, trigger_id="1.member")
    )
    assert (response.status, response.body) == (200, "")
    [told] = await harness.told("member")
    assert told.params["response_type"] == "ephemeral"
    assert told.params["text"].startswith("🔒 Only workspace admins and owners")
    [asked] = harness.slack.calls_to("users.info")
    assert asked.params["user"] == MEMBER
    assert harness.slack.calls_to("views.open") == []


@pytest.mark.parametrize(
    ("user_id", "profile"),
    [
        (ADMIN, {"is_admin": True}),
        (ADMIN, {"is_owner": True}),
        (ADMIN, {"is_primary_owner": True}),
        (OPERATOR, {}),
    ],
)
async def test_admins_owners_and_deploybot_admins_open_the_key_modal(
    make: Make, user_id: str, profile: dict[str, Any]
) -> None:
    """Workspace admins, owners and `DEPLOYBOT_ADMINS` get the modal, with an empty key field."""
    harness = await make(HIVEON_API_KEY=DEFAULT_KEY)
    harness.slack.users[user_id] = profile
    await harness.send(slash_command(text="api-key", user_id=user_id, trigger_id="1.admin"))
    [opened] = await harness.slack.async_wait_for("views.open")
    assert opened.params["trigger_id"] == "1.admin"
    view = opened.params["view"]
    assert view["callback_id"] == "api_key_modal"
    assert "use the default key" in view["blocks"][0]["text"]["text"]
    [field] = [b for b in view["blocks"] if b.get("block_id") == "api_key"]
    assert "initial_value" not in field["element"]


# --- setting, rotating, refusing, removing -----------------------------------------------------


async def test_a_key_is_checked_stored_encrypted_and_used(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    """The submission shows "checking" in its ack; Hiveon gets one harmless look-up with the
    key; the key is stored encrypted; the admin is told; deployments then use it."""
    harness = await make(HIVEON_API_KEY=DEFAULT_KEY)
    harness.slack.users[ADMIN] = {"is_admin": True}
    metadata = where("C111", harness.slack.response_url("set"))
    response = await harness.send(api_key_submission(KEY_A, private_metadata=metadata))
    assert json.loads(response.body) == {
        "response_action": "update",
        "view": admin_blocks.checking_view(),
    }
    await harness.settled()

    [check] = harness.vendor(KEY_CHECK)
    assert (check.method, check.headers["x-api-key"], check.json) == ("GET", KEY_A, None)
    assert harness.vendor(VENDOR_START) == []
    [updated] = harness.slack.calls_to("views.update")
    assert updated.params["view_id"] == "VKEY"
    assert updated.params["view"]["blocks"][0]["text"]["text"] == (
        "🔑 You set the workspace's Hiveon API key: ending in `cdef`. Hiveon accepted it; "
        "deployments use it from now on."
    )
    [told] = await harness.told("set")
    assert told.params["response_type"] == "ephemeral"
    assert told.params["text"].startswith("📝 Recorded: <!date^")
    assert told.params["text"].endswith(
        "· <@UADMIN> set the Hiveon API key (ending in `cdef`; Hiveon accepted it)"
    )
    [(team, token, hint, by)] = harness.rows(
        "SELECT team_id, api_key_encrypted, api_key_hint, api_key_set_by FROM workspaces"
    )
    assert (team, hint, by) == ("T111", "cdef", ADMIN)
    assert KeyBox.from_setting(FERNET).decrypt(token) == KEY_A

    external_id, _ = await harness.deploy()
    assert harness.key_used_for(external_id) == KEY_A
    assert KEY_A not in json.dumps([call.params for call in harness.slack.calls])
    assert KEY_A not in caplog.text


async def test_a_key_hiveon_refuses_is_not_stored(make: Make) -> None:
    """A 401 on the check keeps the modal open with the reason; nothing is stored or recorded,
    and deployments keep using what they used."""
    harness = await make(HIVEON_API_KEY=DEFAULT_KEY)
    told = await harness.set_key(REFUSED_KEY)
    assert told == []
    [check] = harness.vendor(KEY_CHECK)
    assert check.headers["x-api-key"] == REFUSED_KEY
    [updated] = harness.slack.calls_to("views.update")
    view = updated.params["view"]
    assert view["callback_id"] == "api_key_modal"
    assert view["blocks"][1]["text"]["text"] == (
        "❌ Hiveon refused this key (HTTP 401), so nothing was saved. Check the key and paste "
        "it again."
    )
    assert any(block.get("block_id") == "api_key" for block in view["blocks"])
    assert harness.rows("SELECT * FROM workspaces") == []
    assert harness.rows("SELECT * FROM workspace_changes") == []
    external_id, _ = await harness.deploy()
    assert harness.key_used_for(external_id) == DEFAULT_KEY


async def test_a_key_that_cannot_be_checked_is_stored_and_the_admin_is_told(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When Hiveon fails the check (a 5xx), the key is stored anyway and the modal says why."""
    harness = await make()
    monkeypatch.setattr(harness.sandbox, "answer", _failing_key_checks(harness.sandbox.answer))
    told = await harness.set_key(KEY_A)
    [updated] = harness.slack.calls_to("views.update")
    assert updated.params["view"]["blocks"][0]["text"]["text"].startswith(
        "⚠️ You set the workspace's Hiveon API key: ending in `cdef`. Hiveon could not check it "
        "(Hiveon answered HTTP 503 (server error)), so it was saved anyway"
    )
    [notice] = told
    assert "Hiveon could not check it" in notice.params["text"]
    external_id, _ = await harness.deploy()
    assert harness.key_used_for(external_id) == KEY_A


def _failing_key_checks(answer: Any) -> Any:
    """The sandbox's `answer`, except that key checks get a 503."""

    def failing(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        if path.startswith(KEY_CHECK):
            return Reply(status=503, content=b"<html>down</html>", content_type="text/html")
        return answer(method, path, headers, body)

    return failing


async def test_rotation_replaces_the_key_and_deployments_follow(make: Make) -> None:
    """A second key replaces the first: recorded with both endings; the next deployment uses
    the new one; the modal shows the new ending and the log."""
    harness = await make()
    await harness.set_key(KEY_A)
    [told] = await harness.set_key(KEY_A2)
    assert told.params["text"].endswith(
        "replaced the Hiveon API key (ending in `cdef` → ending in `8888`; Hiveon accepted it)"
    )
    external_id, _ = await harness.deploy()
    assert harness.key_used_for(external_id) == KEY_A2
    await harness.send(slash_command(text="api-key", user_id=ADMIN, trigger_id="1.again"))
    [opened] = await harness.slack.async_wait_for("views.open")
    text = shown(opened)
    assert "ending in `8888`" in text
    assert "replaced the Hiveon API key" in text
    assert KEY_A2 not in text
    assert len(harness.rows("SELECT * FROM workspace_changes")) == 2


async def test_removing_the_key_falls_back_and_is_recorded(make: Make) -> None:
    """The Remove button deletes the key, shows the modal without it, and tells the admin;
    with no default key, `/deploy` then says an admin must run `/deploy api-key`."""
    harness = await make()
    await harness.set_key(KEY_A)
    metadata = where("C111", harness.slack.response_url("remove"))
    response = await harness.send(remove_key_click(private_metadata=metadata))
    assert response.status == 200
    await harness.settled()
    [told] = await harness.told("remove")
    assert told.params["text"].endswith("removed the Hiveon API key (ending in `cdef`)")
    updated = harness.slack.calls_to("views.update")[-1]
    assert "No key yet: nobody in this workspace can deploy" in shown(updated)
    assert harness.rows("SELECT api_key_encrypted FROM workspaces") == [(None,)]

    url = harness.slack.response_url("after")
    await harness.send(slash_command(user_id=MEMBER, response_url=url, trigger_id="1.nokey"))
    await harness.settled()
    [no_key] = await harness.told("after")
    assert "`/deploy api-key`" in no_key.params["text"]
    assert "HIVEON_API_KEY" in no_key.params["text"]
    assert harness.slack.calls_to("views.open") == []
    _, name = await harness.deploy()
    assert "no Hiveon API key" in (await harness.told(name))[0].params["text"]
    assert harness.vendor(VENDOR_START) == []


async def test_a_member_can_neither_submit_nor_remove_a_key(make: Make) -> None:
    """A submission or a click by a non-admin changes nothing and is refused privately;
    Hiveon is not even asked."""
    harness = await make()
    await harness.set_key(KEY_A)
    checks_before = len(harness.vendor(KEY_CHECK))
    harness.slack.users[MEMBER] = {"is_admin": False}
    metadata = where("C111", harness.slack.response_url("member"))
    await harness.send(api_key_submission(KEY_B, user_id=MEMBER, private_metadata=metadata))
    await harness.send(remove_key_click(user_id=MEMBER, private_metadata=metadata))
    await harness.settled()
    refusals = await harness.told("member", count=2)
    assert all(r.params["text"].startswith("🔒 Only workspace admins") for r in refusals)
    assert len(harness.vendor(KEY_CHECK)) == checks_before
    [(token,)] = harness.rows("SELECT api_key_encrypted FROM workspaces")
    assert KeyBox.from_setting(FERNET).decrypt(token) == KEY_A
    assert len(harness.rows("SELECT * FROM workspace_changes")) == 1


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        (None, "Paste the key."),
        ("   ", "Paste the key."),
        ("hk with spaces", "A Hiveon API key is printable ASCII without spaces"),
    ],
)
async def test_a_malformed_key_is_refused_in_the_ack(
    make: Make, typed: str | None, error: str
) -> None:
    """An empty or unsendable key gets a field error at once; nothing is sent anywhere."""
    harness = await make()
    response = await harness.send(api_key_submission(typed))
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert body["errors"]["api_key"].startswith(error)
    await harness.settled()
    assert harness.sandbox.requests == []
    assert harness.slack.calls_to("users.info") == []


async def test_without_an_encryption_key_keys_cannot_be_stored(make: Make) -> None:
    """No `DEPLOYBOT_ENCRYPTION_KEY`: the modal says so and has no field; a submission is
    refused; the operator's default key still deploys."""
    harness = await make(DEPLOYBOT_ENCRYPTION_KEY="", HIVEON_API_KEY=DEFAULT_KEY)
    harness.slack.users[ADMIN] = {"is_admin": True}
    await harness.send(slash_command(text="api-key", user_id=ADMIN, trigger_id="1.nocrypto"))
    [opened] = await harness.slack.async_wait_for("views.open")
    view = opened.params["view"]
    assert "submit" not in view
    assert "DEPLOYBOT_ENCRYPTION_KEY" in json.dumps(view)
    response = await harness.send(api_key_submission(KEY_A))
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert "DEPLOYBOT_ENCRYPTION_KEY" in body["errors"]["api_key"]
    assert harness.vendor(KEY_CHECK) == []
    external_id, _ = await harness.deploy()
    assert harness.key_used_for(external_id) == DEFAULT_KEY


async def test_a_401_while_deploying_points_to_the_admin_command(make: Make) -> None:
    """When Hiveon refuses the key on a start, the thread says an admin can run
    `/deploy api-key`."""
    harness = await make(HIVEON_API_KEY=DEFAULT_KEY)
    values = form(machine_id="fail-401")
    await harness.send(view_submission(values=values, private_metadata=where("C401", "")))
    await harness.settled()
    [reply] = [
        c
        for c in harness.slack.calls_to("chat.postMessage")
        if c.params.get("channel") == "C401" and "thread_ts" in c.params
    ]
    assert "A workspace admin can set a valid key with `/deploy api-key`" in shown(reply)


# --- workspaces are kept apart -----------------------------------------------------------------


async def test_two_workspaces_deploy_with_their_own_keys(make: Make) -> None:
    """Team A's deployments carry team A's key and team B's carry team B's, in one process."""
    harness = await make()
    await harness.set_key(KEY_A, team_id="T111", user_id="UADMINA")
    await harness.set_key(KEY_B, team_id="T222", user_id="UADMINB")
    from_a, _ = await harness.deploy(team_id="T111")
    from_b, _ = await harness.deploy(team_id="T222")
    assert harness.key_used_for(from_a) == KEY_A
    assert harness.key_used_for(from_b) == KEY_B
    rows = dict(harness.rows("SELECT external_deployment_id, team_id FROM deployments"))
    assert rows == {from_a: "T111", from_b: "T222"}


async def test_a_forged_team_in_the_payload_cannot_pick_another_workspaces_key(
    make: Make,
) -> None:
    """A submission from team A whose body names team B everywhere Slack does not vouch for it
    (the user's team, the view's team, private_metadata, an extra form field) deploys with team
    A's key."""
    harness = await make()
    await harness.set_key(KEY_A, team_id="T111", user_id="UADMINA")
    await harness.set_key(KEY_B, team_id="T222", user_id="UADMINB")
    values = form()
    metadata = json.dumps({"channel_id": "C111", "team_id": "T222", "enterprise_id": "E2"})
    request = view_submission(
        values={**values, "team_id": "T222"}, private_metadata=metadata, team_id="T111"
    )
    payload = json.loads(dict(_form_fields(request.body))["payload"])
    payload["user"]["team_id"] = "T222"
    payload["view"]["team_id"] = "T222"
    await harness.send(_resigned(payload))
    await harness.settled()
    assert harness.key_used_for(values["external_deployment_id"]) == KEY_A


def _form_fields(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode())


def _resigned(payload: dict[str, Any]) -> SlackRequest:
    """A payload signed as Slack would sign it: the forgery is inside, not in the signature."""
    return sign(urlencode({"payload": json.dumps(payload)}).encode(), content_type=FORM)


async def test_an_org_wide_install_keeps_one_key_for_the_org_set_by_org_admins(
    make: Make,
) -> None:
    """With an org-wide install, org admins set one key for every workspace of the org; a
    workspace admin who is no org admin may not."""
    harness = await make()
    harness.slack.users["UWSADMIN"] = {"is_admin": True}
    harness.slack.users["UORGADMIN"] = {"enterprise_user": {"is_admin": True}}
    url = harness.slack.response_url("org")
    await harness.send(
        org_slash_command(
            text="api-key",
            enterprise_id="E1",
            team_id="T333",
            user_id="UWSADMIN",
            response_url=url,
        )
    )
    [refused] = await harness.told("org")
    assert refused.params["text"].startswith("🔒")
    await harness.send(
        org_slash_command(text="api-key", enterprise_id="E1", team_id="T333", user_id="UORGADMIN")
    )
    [opened] = await harness.slack.async_wait_for("views.open")
    assert "your organization's workspaces" in shown(opened)


# --- who may deploy ----------------------------------------------------------------------------


async def test_settings_restrict_deploying_to_channels_and_groups(make: Make) -> None:
    """An admin limits deploying to one channel and one user group: others are refused with
    who to ask, on `/deploy` and on submit, and nothing reaches Hiveon; members may deploy."""
    harness = await make(HIVEON_API_KEY=DEFAULT_KEY)
    harness.slack.users[ADMIN] = {"is_admin": True}
    harness.slack.usergroups["S1"] = {"handle": "oncall", "name": "On-call", "users": ["UONCALL"]}
    await harness.send(slash_command(text="settings", user_id=ADMIN, trigger_id="1.settings"))
    [opened] = await harness.slack.async_wait_for("views.open")
    assert opened.params["view"]["callback_id"] == "deploy_settings_modal"
    assert "@oncall · On-call" in shown(opened)

    metadata = where("C111", harness.slack.response_url("settings"))
    response = await harness.send(
        settings_submission(channels=["CDEPLOY"], usergroups=["S1"], private_metadata=metadata)
    )
    assert (response.status, response.body) == (200, "")
    await harness.settled()
    [saved] = await harness.told("settings")
    assert saved.params["text"].endswith(
        "changed who may deploy: channels any channel → <#CDEPLOY>; "
        "user groups none → <!subteam^S1>"
    )

    async def command(user_id: str, channel_id: str, name: str) -> list[Call]:
        url = harness.slack.response_url(name)
        await harness.send(
            slash_command(user_id=user_id, channel_id=channel_id, response_url=url, trigger_id=name)
        )
        await harness.settled()
        return harness.slack.calls_to(f"response_url:{name}")

    [wrong_channel] = await command(MEMBER, "CRANDOM", "wrong-channel")
    assert "limited to <#CDEPLOY>" in wrong_channel.params["text"]
    assert "Ask <@UADMIN>, who set this" in wrong_channel.params["text"]
    [not_member] = await command(MEMBER, "CDEPLOY", "not-member")
    assert "limited to <!subteam^S1>" in not_member.params["text"]
    assert await command("UONCALL", "CDEPLOY", "oncall") == []
    [opened_for_oncall] = harness.slack.calls_to("views.open")[1:]
    assert opened_for_oncall.params["view"]["callback_id"] == "deploy_modal"

    refused_id, name = await harness.deploy(user_id=MEMBER, channel_id="CDEPLOY")
    assert "limited to <!subteam^S1>" in (await harness.told(name))[0].params["text"]
    elsewhere_id, _ = await harness.deploy(user_id="UONCALL", channel_id="CRANDOM")
    allowed_id, _ = await harness.deploy(user_id="UONCALL", channel_id="CDEPLOY")
    assert harness.key_used_for(refused_id) is None
    assert harness.key_used_for(elsewhere_id) is None
    assert harness.key_used_for(allowed_id) == DEFAULT_KEY


async def test_a_member_cannot_change_who_may_deploy(make: Make) -> None:
    """Opening or submitting the settings as a non-admin is refused and changes nothing."""
    harness = await make()
    url = harness.slack.response_url("member-settings")
    await harness.send(
        slash_command(text="settings", user_id=MEMBER, response_url=url, trigger_id="1.m")
    )
    metadata = where("C111", url)
    await harness.send(
        settings_submission(users=[MEMBER], user_id=MEMBER, private_metadata=metadata)
    )
    await harness.settled()
    refusals = await harness.told("member-settings", count=2)
    assert all(r.params["text"].startswith("🔒 Only workspace admins") for r in refusals)
    assert harness.slack.calls_to("views.open") == []
    assert harness.rows("SELECT * FROM workspace_changes") == []


# --- uninstalling ------------------------------------------------------------------------------


async def test_uninstalling_deletes_that_workspaces_key_only(make: Make) -> None:
    """`app_uninstalled` from team B deletes team B's key and logs it; team A keeps its own;
    a `tokens_revoked` for user tokens only deletes nothing."""
    harness = await make()
    await harness.set_key(KEY_A, team_id="T111", user_id="UADMINA")
    await harness.set_key(KEY_B, team_id="T222", user_id="UADMINB")
    revoked_users = event("tokens_revoked", team_id="T111", details={"tokens": {"oauth": ["U1"]}})
    assert (await harness.send(revoked_users)).status == 200
    response = await harness.send(event("app_uninstalled", team_id="T222"))
    assert response.status == 200
    await harness.settled()
    assert harness.rows("SELECT team_id FROM workspaces") == [("T111",)]
    assert harness.rows(
        "SELECT team_id, user_id, action FROM workspace_changes WHERE action = 'uninstalled'"
    ) == [("T222", "slack", "uninstalled")]
    from_a, _ = await harness.deploy(team_id="T111")
    assert harness.key_used_for(from_a) == KEY_A


async def test_a_revoked_bot_token_deletes_the_key_too(make: Make) -> None:
    """`tokens_revoked` naming the bot token forgets the workspace like an uninstall."""
    harness = await make()
    await harness.set_key(KEY_A)
    await harness.send(
        event("tokens_revoked", team_id="T111", details={"tokens": {"bot": ["UBOT"]}})
    )
    await harness.settled()
    assert harness.rows("SELECT * FROM workspaces") == []


async def test_user_group_members_are_read_once_a_minute_not_per_form(make: Make) -> None:
    """Deploying limited to a user group: three form openings by its members read the group's
    members from Slack once (`usergroups.users.list` is rate-limited to ~20 a minute)."""
    harness = await make(HIVEON_API_KEY=DEFAULT_KEY)
    harness.slack.users[ADMIN] = {"is_admin": True}
    harness.slack.usergroups["S1"] = {"handle": "oncall", "name": "On-call", "users": ["UONCALL"]}
    metadata = where("C111", harness.slack.response_url("settings"))
    await harness.send(settings_submission(usergroups=["S1"], private_metadata=metadata))
    await harness.settled()
    for number in range(3):
        await harness.send(slash_command(user_id="UONCALL", trigger_id=f"{number}.oncall"))
        await harness.settled()
    opened = [c for c in harness.slack.calls_to("views.open") if "oncall" in c.params["trigger_id"]]
    assert len(opened) == 3
    reads = harness.slack.calls_to("usergroups.users.list")
    assert [call.params["usergroup"] for call in reads] == ["S1"]
