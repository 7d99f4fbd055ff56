"""End to end: one bot process serving two workspaces installed by OAuth, each with its own key.

The real server process (`python -m bot`), Slack's OAuth flow against the fake Slack's
`oauth.v2.access`, the admins' key modal, deployments reaching a fake Hiveon on loopback, and
an uninstall, all as a new operator and their workspace admins would go through them; on
SQLite, then on PostgreSQL.
"""

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import CLIENT_ID, CLIENT_SECRET, Call, FakeSlack
from bot.testing.processes import ROOT, BotProcess
from bot.testing.seed import form
from bot.testing.slack_requests import (
    SIGNING_SECRET,
    api_key_submission,
    event,
    settings_submission,
    slash_command,
    view_submission,
    where,
)
from tests.databases import Databases, everything_stored, query
from tests.e2e_support import channel, hiveon_on_loopback, thread_replies, vendor_starts, wait_until

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback

TEAM_A, TEAM_B, TEAM_NEVER = "TAAAA1111", "TBBBB2222", "TCCCC3333"
TEAM_OLD, TEAM_ORG_MEMBER, ORG = "TDDDD4444", "TEEEE5555", "EORG00001"
DEFAULT_KEY = "hk-operators-default-key-5555"
NOT_SERVED = (
    "⚠️ deploybot is not available in this workspace: it is not installed here, or whoever runs "
    "deploybot does not allow this workspace. A workspace admin can install it again; if that "
    "is refused, ask whoever runs deploybot."
)
TOKEN_A, TOKEN_B = "xoxb-team-a-installed-1111", "xoxb-team-b-installed-2222"
ADMIN_A, ADMIN_B, MEMBER_A = "UADMINA", "UADMINB", "UMEMBERA"
KEY_A = "hk-workspace-a-key-0123456789"
KEY_B = "hk-workspace-b-key-9876543210"
FERNET = Fernet.generate_key().decode()
STATE_COOKIE = "slack-app-oauth-state"


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack for each backend's run: the installs start over
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="vendor", scope="module")
def _vendor(backend: str) -> Iterator[tuple[SandboxVendor, str]]:
    del backend  # a fresh fake Hiveon for each backend's run
    with hiveon_on_loopback(api_keys={KEY_A, KEY_B, DEFAULT_KEY}, pending_s=60) as vendor:
        yield vendor


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    settings = {
        # No bot token: every workspace comes in through /slack/install.
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": vendor[1],
        "HIVEON_API_KEY": "",
        "HIVEON_TIMEOUT_S": "2",
        "DEPLOYBOT_ENCRYPTION_KEY": FERNET,
    }
    workdir = tmp_path_factory.mktemp("bot")
    with BotProcess(workdir, settings, database_url=databases.new()) as bot:
        install(bot, slack, team_id=TEAM_A, token=TOKEN_A, installer=ADMIN_A, code="code-a")
        install(bot, slack, team_id=TEAM_B, token=TOKEN_B, installer=ADMIN_B, code="code-b")
        yield bot


def install(
    bot: BotProcess, slack: FakeSlack, *, team_id: str, token: str, installer: str, code: str
) -> httpx.Response:
    """Go through `/slack/install` and `/slack/oauth_redirect` as the installer's browser does."""
    page = bot.http.get("/slack/install")
    assert page.status_code == 200
    [state] = re.findall(r"state=([0-9a-f-]{36})", page.text)
    assert f"{STATE_COOKIE}={state}" in page.headers["set-cookie"]
    slack.add_oauth_code(code, team_id=team_id, bot_token=token, installer=installer)
    # The cookie is Secure, so an http:// client does not send it back by itself.
    return bot.http.get(
        "/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers={"cookie": f"{STATE_COOKIE}={state}"},
    )


def token_of(call: Call) -> str:
    """The bot token a Web API call was made with."""
    return call.headers["authorization"].removeprefix("Bearer ")


def set_key(
    bot: BotProcess, slack: FakeSlack, api_key: str, *, team_id: str, admin: str
) -> list[Call]:
    """An admin opens the key modal with `/deploy api-key` and submits `api_key`."""
    slack.users[admin] = {"is_admin": True}
    trigger = f"{team_id}.{uuid.uuid4().hex}"
    name = f"key-{trigger}"
    url = slack.response_url(name)
    response = bot.post(
        slash_command(
            text="api-key", team_id=team_id, user_id=admin, response_url=url, trigger_id=trigger
        )
    )
    assert (response.status_code, response.text) == (200, "")
    [opened] = slack.wait_for("views.open", where=lambda c: c.params["trigger_id"] == trigger)
    assert opened.params["view"]["callback_id"] == "api_key_modal"
    submitted = bot.post(
        api_key_submission(
            api_key, team_id=team_id, user_id=admin, private_metadata=where("C1", url)
        )
    )
    assert submitted.json()["response_action"] == "update"
    return [opened, *slack.wait_for(f"response_url:{name}")]


def deploy(bot: BotProcess, slack: FakeSlack, *, team_id: str, channel_id: str) -> str:
    """Submit the deploy modal in a channel of `team_id`; the external ID."""
    values = form()
    url = slack.response_url(channel_id)
    bot.post(
        view_submission(values=values, team_id=team_id, private_metadata=where(channel_id, url))
    )
    return values["external_deployment_id"]


def rows(bot: BotProcess, statement: str, **params: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the bot's database, read while it runs."""
    return query(bot.database_url, statement, **params)


def test_oauth_installs_store_each_workspaces_token_and_welcome_the_installer(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """Both installs exchanged their code with the app's credentials, stored the bot token of
    their workspace, and sent the installer the next steps with that token."""
    exchanges = slack.calls_to("oauth.v2.access")
    assert [call.params["code"] for call in exchanges] == ["code-a", "code-b"]
    assert all(call.headers["authorization"].startswith("Basic ") for call in exchanges)
    installed = rows(bot, "SELECT team_id, bot_token FROM slack_bots ORDER BY team_id")
    decrypted = [
        (team, Fernet(FERNET).decrypt(token.encode()).decode()) for team, token in installed
    ]
    assert decrypted == [(TEAM_A, TOKEN_A), (TEAM_B, TOKEN_B)]
    for installer, token in ((ADMIN_A, TOKEN_A), (ADMIN_B, TOKEN_B)):
        [welcome] = slack.wait_for("chat.postMessage", where=posted_to(installer))
        assert token_of(welcome) == token
        assert "`/deploy api-key`" in welcome.params["text"]


def posted_to(conversation: str) -> Callable[[Call], bool]:
    """Matches the posts to one conversation."""
    return lambda call: call.params.get("channel") == conversation


def test_a_forged_oauth_state_is_refused(bot: BotProcess, slack: FakeSlack) -> None:
    """The redirect needs a state the install page issued: a forged one exchanges no code."""
    slack.add_oauth_code("code-x", team_id=TEAM_NEVER, bot_token="xoxb-never")
    forged = bot.http.get(
        "/slack/oauth_redirect",
        params={"code": "code-x", "state": "forged"},
        headers={"cookie": f"{STATE_COOKIE}=forged"},
    )
    assert forged.status_code == 401
    assert not [c for c in slack.calls_to("oauth.v2.access") if c.params["code"] == "code-x"]
    assert rows(bot, "SELECT * FROM slack_bots WHERE team_id = :team", team=TEAM_NEVER) == []


def test_two_workspaces_deploy_with_their_own_keys_and_tokens(
    bot: BotProcess, slack: FakeSlack, vendor: tuple[SandboxVendor, str]
) -> None:
    """Each workspace's admin sets its key; each workspace's deployment reaches Hiveon with its
    own key and is posted in Slack with its own workspace's bot token."""
    sandbox = vendor[0]
    opened_a, told_a = set_key(bot, slack, KEY_A, team_id=TEAM_A, admin=ADMIN_A)
    opened_b, told_b = set_key(bot, slack, KEY_B, team_id=TEAM_B, admin=ADMIN_B)
    assert (token_of(opened_a), token_of(opened_b)) == (TOKEN_A, TOKEN_B)
    assert told_a.params["text"].endswith(
        "set the Hiveon API key (ending in `6789`; Hiveon accepted it)"
    )
    assert "ending in `3210`" in told_b.params["text"]

    channel_a, channel_b = channel(), channel()
    from_a = deploy(bot, slack, team_id=TEAM_A, channel_id=channel_a)
    from_b = deploy(bot, slack, team_id=TEAM_B, channel_id=channel_b)
    [reply_a] = thread_replies(slack, channel_a)
    [reply_b] = thread_replies(slack, channel_b)
    assert reply_a.params["text"].startswith("✅")
    assert reply_b.params["text"].startswith("✅")
    [start_a] = [r for r in sandbox.requests if r.json == vendor_starts(sandbox, from_a)[0]]
    [start_b] = [r for r in sandbox.requests if r.json == vendor_starts(sandbox, from_b)[0]]
    assert start_a.headers["x-api-key"] == KEY_A
    assert start_b.headers["x-api-key"] == KEY_B
    assert (token_of(reply_a), token_of(reply_b)) == (TOKEN_A, TOKEN_B)


def test_a_forged_team_in_the_body_cannot_use_another_workspaces_key(
    bot: BotProcess, slack: FakeSlack, vendor: tuple[SandboxVendor, str]
) -> None:
    """A signed submission from workspace A that names workspace B in its private_metadata and
    in an extra form field still deploys with A's key."""
    sandbox = vendor[0]
    set_key(bot, slack, KEY_A, team_id=TEAM_A, admin=ADMIN_A)
    set_key(bot, slack, KEY_B, team_id=TEAM_B, admin=ADMIN_B)
    channel_id = channel()
    values = form()
    metadata = json.dumps({"channel_id": channel_id, "team_id": TEAM_B})
    bot.post(
        view_submission(
            values={**values, "team_id": TEAM_B}, team_id=TEAM_A, private_metadata=metadata
        )
    )
    thread_replies(slack, channel_id)
    [start] = vendor_starts(sandbox, values["external_deployment_id"])
    [request] = [r for r in sandbox.requests if r.json is start]
    assert request.headers["x-api-key"] == KEY_A


def test_a_member_cannot_set_the_key(bot: BotProcess, slack: FakeSlack) -> None:
    """A member who is no admin is refused privately and no modal opens."""
    url = slack.response_url("member-a")
    trigger = "member.a.open"
    bot.post(
        slash_command(
            text="api-key",
            team_id=TEAM_A,
            user_id=MEMBER_A,
            response_url=url,
            trigger_id=trigger,
        )
    )
    [told] = slack.wait_for("response_url:member-a")
    assert told.params["text"].startswith("🔒 Only workspace admins")
    assert not [c for c in slack.calls_to("views.open") if c.params["trigger_id"] == trigger]


def test_keys_are_encrypted_at_rest_and_never_logged(bot: BotProcess, slack: FakeSlack) -> None:
    """Neither workspace's key is in the database, the log, or anything Slack received."""
    set_key(bot, slack, KEY_A, team_id=TEAM_A, admin=ADMIN_A)
    set_key(bot, slack, KEY_B, team_id=TEAM_B, admin=ADMIN_B)
    stored = dict(rows(bot, "SELECT team_id, api_key_encrypted FROM workspaces"))
    assert Fernet(FERNET).decrypt(str(stored[TEAM_A]).encode()).decode() == KEY_A
    stored_bytes = everything_stored(bot.database_url)
    received = json.dumps([call.params for call in slack.calls])
    for key in (KEY_A, KEY_B):
        assert key.encode() not in stored_bytes
        assert key not in bot.logs
        assert key not in received
    for token in (TOKEN_A, TOKEN_B, CLIENT_SECRET):
        assert token not in bot.logs
        assert token.encode() not in stored_bytes


def test_a_workspace_that_never_installed_is_not_served(
    bot: BotProcess, vendor: tuple[SandboxVendor, str]
) -> None:
    """A signed request from a team with no installation reaches no listener and no vendor."""
    before = len(vendor[0].requests)
    response = bot.post(
        view_submission(values=form(), team_id=TEAM_NEVER, private_metadata=where("C9", ""))
    )
    assert response.status_code == 200
    assert response.text == NOT_SERVED
    assert len(vendor[0].requests) == before


def test_each_workspace_has_its_own_settings(
    bot: BotProcess, slack: FakeSlack, vendor: tuple[SandboxVendor, str]
) -> None:
    """Workspace A limits deploying to one channel; that refuses A's other channels and leaves
    workspace B, in the same process, as it was."""
    sandbox = vendor[0]
    set_key(bot, slack, KEY_A, team_id=TEAM_A, admin=ADMIN_A)
    set_key(bot, slack, KEY_B, team_id=TEAM_B, admin=ADMIN_B)
    allowed = channel()
    url = slack.response_url("settings-a")
    bot.post(
        settings_submission(
            channels=[allowed], team_id=TEAM_A, user_id=ADMIN_A, private_metadata=where("C1", url)
        )
    )
    [saved] = slack.wait_for("response_url:settings-a")
    assert f"channels any channel → <#{allowed}>" in saved.params["text"]

    elsewhere_a, elsewhere_b = channel(), channel()
    refused = deploy(bot, slack, team_id=TEAM_A, channel_id=elsewhere_a)
    [told] = slack.wait_for(f"response_url:{elsewhere_a}")
    assert f"limited to <#{allowed}>" in told.params["text"]
    assert f"<@{ADMIN_A}>" in told.params["text"]
    from_b = deploy(bot, slack, team_id=TEAM_B, channel_id=elsewhere_b)
    thread_replies(slack, elsewhere_b)
    assert vendor_starts(sandbox, refused) == []
    assert len(vendor_starts(sandbox, from_b)) == 1
    # Everyone may deploy again, as the tests after this one expect.
    bot.post(
        settings_submission(team_id=TEAM_A, user_id=ADMIN_A, private_metadata=where("C1", url))
    )
    slack.wait_for("response_url:settings-a", count=2)


def test_uninstalling_deletes_the_installation_and_the_key(
    bot: BotProcess, slack: FakeSlack, vendor: tuple[SandboxVendor, str]
) -> None:
    """`app_uninstalled` deletes workspace B's installation and key (recorded); B's requests
    are no longer served; workspace A deploys on. (B stays uninstalled: this test comes last.)"""
    sandbox = vendor[0]
    set_key(bot, slack, KEY_B, team_id=TEAM_B, admin=ADMIN_B)
    assert bot.post(event("app_uninstalled", team_id=TEAM_B)).status_code == 200
    wait_until(
        lambda: not rows(bot, "SELECT * FROM workspaces WHERE team_id = :t", t=TEAM_B),
        what="workspace B's key to be deleted",
    )
    assert rows(bot, "SELECT * FROM slack_bots WHERE team_id = :t", t=TEAM_B) == []
    assert rows(bot, "SELECT * FROM slack_installations WHERE team_id = :t", t=TEAM_B) == []
    uninstalls = rows(
        bot,
        "SELECT user_id, detail FROM workspace_changes WHERE team_id = :t AND action = :action",
        t=TEAM_B,
        action="uninstalled",
    )
    # SQLite hands JSON back as text, PostgreSQL's driver as the value.
    assert [(who, json.loads(d) if isinstance(d, str) else d) for who, d in uninstalls] == [
        ("slack", {"event": "app_uninstalled", "key_deleted": True})
    ]
    before = len(sandbox.requests)
    refused = bot.post(
        view_submission(values=form(), team_id=TEAM_B, private_metadata=where("C9", ""))
    )
    assert refused.text == NOT_SERVED
    assert len(sandbox.requests) == before
    channel_a = channel()
    from_a = deploy(bot, slack, team_id=TEAM_A, channel_id=channel_a)
    thread_replies(slack, channel_a)
    [start] = vendor_starts(sandbox, from_a)
    [request] = [r for r in sandbox.requests if r.json is start]
    assert request.headers["x-api-key"] == KEY_A


# --- the operator's default key and the allowed workspaces ---------------------------------------


def oauth_settings(slack: FakeSlack, origin: str, **more: str) -> dict[str, str]:
    """An OAuth deploybot on the fake Slack and Hiveon, with the operator's default key."""
    return {
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": origin,
        "HIVEON_API_KEY": DEFAULT_KEY,
        "HIVEON_TIMEOUT_S": "2",
        "DEPLOYBOT_ENCRYPTION_KEY": FERNET,
        **more,
    }


@pytest.fixture(name="guarded", scope="module")
def _guarded(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    """An OAuth deploybot whose default key serves workspace A only, which only A, B and the
    members of org ORG may use; workspace OLD installed before that list was set."""
    database_url = databases.new()
    before = oauth_settings(slack, vendor[1])
    with BotProcess(tmp_path_factory.mktemp("bot"), before, database_url=database_url) as open_bot:
        install(
            open_bot, slack, team_id=TEAM_OLD, token="xoxb-old-1", installer="UOLD", code="c-old"
        )
    settings = oauth_settings(
        slack,
        vendor[1],
        DEPLOYBOT_DEFAULT_KEY_TEAMS=TEAM_A,
        DEPLOYBOT_ALLOWED_TEAMS=f"{TEAM_A}, {TEAM_B} {ORG}",
    )
    with BotProcess(tmp_path_factory.mktemp("bot"), settings, database_url=database_url) as bot:
        install(bot, slack, team_id=TEAM_A, token="xoxb-guarded-a", installer=ADMIN_A, code="g-a")
        install(bot, slack, team_id=TEAM_B, token="xoxb-guarded-b", installer=ADMIN_B, code="g-b")
        yield bot


def test_the_default_key_serves_only_the_workspaces_listed_for_it(
    guarded: BotProcess, slack: FakeSlack, vendor: tuple[SandboxVendor, str]
) -> None:
    """With OAuth installs, workspace A (listed in DEPLOYBOT_DEFAULT_KEY_TEAMS) deploys on the
    operator's key; workspace B, installed but not listed and without a key of its own, is told
    an admin must set one: no form opens and a submission sends nothing to Hiveon."""
    sandbox = vendor[0]
    channel_a = channel()
    from_a = deploy(guarded, slack, team_id=TEAM_A, channel_id=channel_a)
    thread_replies(slack, channel_a)
    [start] = vendor_starts(sandbox, from_a)
    [request] = [r for r in sandbox.requests if r.json is start]
    assert request.headers["x-api-key"] == DEFAULT_KEY

    channel_b = channel()
    url = slack.response_url(channel_b)
    trigger = f"{TEAM_B}.{uuid.uuid4().hex}"
    guarded.post(
        slash_command(team_id=TEAM_B, channel_id=channel_b, response_url=url, trigger_id=trigger)
    )
    [told] = slack.wait_for(f"response_url:{channel_b}")
    assert told.params["text"].startswith(
        "❌ This workspace has no Hiveon API key, so nothing was sent to Hiveon. A workspace "
        "admin must set one with `/deploy api-key`"
    )
    assert not [c for c in slack.calls_to("views.open") if c.params["trigger_id"] == trigger]
    refused = deploy(guarded, slack, team_id=TEAM_B, channel_id=channel_b)
    slack.wait_for(f"response_url:{channel_b}", count=2)
    assert vendor_starts(sandbox, refused) == []


def test_an_install_from_a_workspace_not_allowed_is_refused_with_a_page(
    guarded: BotProcess, slack: FakeSlack
) -> None:
    """An install from a workspace DEPLOYBOT_ALLOWED_TEAMS leaves out ends on a clear 403 page;
    deploybot uninstalls itself from that workspace with the token Slack just issued, stores
    nothing of it and welcomes nobody."""
    page = install(
        guarded, slack, team_id=TEAM_NEVER, token="xoxb-never-1", installer="UX", code="n"
    )
    assert page.status_code == 403
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "deploybot cannot be installed here" in page.text
    assert f"<code>{TEAM_NEVER}</code>" in page.text
    assert "DEPLOYBOT_ALLOWED_TEAMS" in page.text
    [uninstall] = slack.wait_for("apps.uninstall")
    assert token_of(uninstall) == "xoxb-never-1"
    assert (uninstall.params["client_id"], uninstall.params["client_secret"]) == (
        CLIENT_ID,
        CLIENT_SECRET,
    )
    assert rows(guarded, "SELECT id FROM slack_bots WHERE team_id = :t", t=TEAM_NEVER) == []
    assert (
        rows(guarded, "SELECT id FROM slack_installations WHERE team_id = :t", t=TEAM_NEVER) == []
    )
    assert not [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "UX"]
    assert "refused an install from team TCCCC3333" in guarded.logs


def test_a_member_of_an_allowed_org_may_install(guarded: BotProcess, slack: FakeSlack) -> None:
    """A workspace of an org listed in DEPLOYBOT_ALLOWED_TEAMS installs like a listed team."""
    slack.add_oauth_code(
        "g-org", team_id=TEAM_ORG_MEMBER, bot_token="xoxb-org-member", enterprise_id=ORG
    )
    page = guarded.http.get("/slack/install")
    [state] = re.findall(r"state=([0-9a-f-]{36})", page.text)
    done = guarded.http.get(
        "/slack/oauth_redirect",
        params={"code": "g-org", "state": state},
        headers={"cookie": f"{STATE_COOKIE}={state}"},
    )
    assert done.status_code == 200
    assert rows(guarded, "SELECT team_id FROM slack_bots WHERE team_id = :t", t=TEAM_ORG_MEMBER)


def test_requests_from_an_installation_the_allowlist_leaves_out_are_refused(
    guarded: BotProcess, slack: FakeSlack, vendor: tuple[SandboxVendor, str]
) -> None:
    """A workspace installed before DEPLOYBOT_ALLOWED_TEAMS left it out is refused as if never
    installed: its command opens nothing, its submission reaches no listener and no vendor."""
    before = len(vendor[0].requests)
    trigger = f"{TEAM_OLD}.{uuid.uuid4().hex}"
    url = slack.response_url(trigger)
    response = guarded.post(slash_command(team_id=TEAM_OLD, trigger_id=trigger, response_url=url))
    assert (response.status_code, response.text) == (200, "")
    [told] = slack.wait_for(f"response_url:{trigger}")
    assert told.params["text"] == NOT_SERVED
    submitted = guarded.post(
        view_submission(values=form(), team_id=TEAM_OLD, private_metadata=where("C9", ""))
    )
    assert (submitted.status_code, submitted.text) == (200, NOT_SERVED)
    assert len(vendor[0].requests) == before
    assert not [c for c in slack.calls_to("views.open") if c.params["trigger_id"] == trigger]
    assert f"refused a request from team {TEAM_OLD}: not in DEPLOYBOT_ALLOWED_TEAMS" in guarded.logs


def test_a_request_that_names_no_team_is_refused_and_files_nothing(
    guarded: BotProcess, vendor: tuple[SandboxVendor, str]
) -> None:
    """A signed submission without a team ID is refused as malformed (400); nothing is recorded
    under an empty team and nothing reaches Hiveon."""
    before = len(vendor[0].requests)
    response = guarded.post(view_submission(values=form(), team_id="", private_metadata=""))
    assert response.status_code == 400
    assert len(vendor[0].requests) == before
    assert rows(guarded, "SELECT id FROM deployments WHERE team_id = ''") == []
    assert "refused a request with HTTP 400: it names no workspace" in guarded.logs


def test_the_install_page_purges_expired_oauth_states(guarded: BotProcess) -> None:
    """Each visit of /slack/install leaves one fresh state and removes the expired ones, so
    visits never pile up in the database."""
    expired = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    for number in range(3):
        query(
            guarded.database_url,
            "INSERT INTO slack_oauth_states (state, expire_at) VALUES (:state, :at)",
            state=f"stale-{number}",
            at=expired,
        )
    page = guarded.http.get("/slack/install")
    [state] = re.findall(r"state=([0-9a-f-]{36})", page.text)
    left = [found for (found,) in rows(guarded, "SELECT state FROM slack_oauth_states")]
    assert state in left
    assert not [found for found in left if found.startswith("stale-")]


def test_every_workspace_on_the_default_key_is_warned_about_at_start_up(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path: Path,
) -> None:
    """`DEPLOYBOT_DEFAULT_KEY_TEAMS=*` lets every installed workspace deploy on the operator's
    key, and says so loudly at start-up."""
    settings = oauth_settings(slack, vendor[1], DEPLOYBOT_DEFAULT_KEY_TEAMS="*")
    with BotProcess(tmp_path, settings, database_url=databases.new()) as bot:
        install(bot, slack, team_id=TEAM_B, token="xoxb-star-b", installer=ADMIN_B, code="s-b")
        channel_b = channel()
        from_b = deploy(bot, slack, team_id=TEAM_B, channel_id=channel_b)
        thread_replies(slack, channel_b)
    [start] = vendor_starts(vendor[0], from_b)
    [request] = [r for r in vendor[0].requests if r.json is start]
    assert request.headers["x-api-key"] == DEFAULT_KEY
    [warning] = [line for line in bot.logs.splitlines() if "DEPLOYBOT_DEFAULT_KEY_TEAMS" in line]
    assert " WARNING " in warning
    assert "every workspace that installs deploybot deploys on HIVEON_API_KEY" in warning


# --- bot tokens at rest ---------------------------------------------------------------------------


def workdir(tmp_path: Path, name: str) -> Path:
    """A working directory of its own for one of a test's bot processes."""
    path = tmp_path / name
    path.mkdir()
    return path


def stored_tokens(database_url: str) -> list[str]:
    """Every token column's value in both installation tables, as stored."""
    found = query(
        database_url,
        "SELECT bot_token FROM slack_bots UNION ALL SELECT bot_token FROM slack_installations",
    )
    return [str(token) for (token,) in found]


def test_bot_tokens_are_encrypted_and_rotate_with_the_encryption_key(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], databases: Databases, tmp_path: Path
) -> None:
    """Installed bot tokens are stored under DEPLOYBOT_ENCRYPTION_KEY; with a new key first and
    the old one after it, the next start re-encrypts them under the new key, so the old key
    can go and the workspace is still served with its token."""
    database_url = databases.new()
    settings = oauth_settings(slack, vendor[1], DEPLOYBOT_DEFAULT_KEY_TEAMS=f"{TEAM_A} {TEAM_B}")
    with BotProcess(workdir(tmp_path, "one"), settings, database_url=database_url) as bot:
        install(bot, slack, team_id=TEAM_A, token="xoxb-rotated-a", installer=ADMIN_A, code="r-a")
    old_tokens = stored_tokens(database_url)
    assert {Fernet(FERNET).decrypt(t.encode()).decode() for t in old_tokens} == {"xoxb-rotated-a"}
    new_key = Fernet.generate_key().decode()
    rotating = {**settings, "DEPLOYBOT_ENCRYPTION_KEY": f"{new_key},{FERNET}"}
    with BotProcess(workdir(tmp_path, "two"), rotating, database_url=database_url) as bot:
        assert "encrypted the Slack tokens of 2 installations under the current key" in bot.logs
    rotated = stored_tokens(database_url)
    assert {Fernet(new_key.encode()).decrypt(t.encode()).decode() for t in rotated} == {
        "xoxb-rotated-a"
    }
    only_new = {**settings, "DEPLOYBOT_ENCRYPTION_KEY": new_key}
    with BotProcess(workdir(tmp_path, "three"), only_new, database_url=database_url) as bot:
        channel_a = channel()
        deploy(bot, slack, team_id=TEAM_A, channel_id=channel_a)
        [reply] = thread_replies(slack, channel_a)
    assert token_of(reply) == "xoxb-rotated-a"


def test_a_token_stored_in_clear_by_an_older_version_is_encrypted_at_start_up(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], databases: Databases, tmp_path: Path
) -> None:
    """A database an earlier deploybot wrote, with bot tokens in clear, has them encrypted the
    next time deploybot starts; the workspace keeps being served with its token."""
    database_url = databases.new()
    settings = oauth_settings(slack, vendor[1], DEPLOYBOT_DEFAULT_KEY_TEAMS=f"{TEAM_A} {TEAM_B}")
    with BotProcess(workdir(tmp_path, "one"), settings, database_url=database_url) as bot:
        install(bot, slack, team_id=TEAM_B, token="xoxb-legacy-b", installer=ADMIN_B, code="l-b")
    query(database_url, "UPDATE slack_bots SET bot_token = 'xoxb-legacy-b'")
    query(database_url, "UPDATE slack_installations SET bot_token = 'xoxb-legacy-b'")
    with BotProcess(workdir(tmp_path, "two"), settings, database_url=database_url) as bot:
        tokens = stored_tokens(database_url)
        assert len(tokens) == 2
        assert {Fernet(FERNET).decrypt(t.encode()).decode() for t in tokens} == {"xoxb-legacy-b"}
        channel_b = channel()
        deploy(bot, slack, team_id=TEAM_B, channel_id=channel_b)
        [reply] = thread_replies(slack, channel_b)
    assert token_of(reply) == "xoxb-legacy-b"


def test_oauth_without_an_encryption_key_stops_at_start_up_and_says_why(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], tmp_path: Path
) -> None:
    """OAuth installs without DEPLOYBOT_ENCRYPTION_KEY would store bot tokens in clear: the bot
    refuses to start, with one line saying what to set and how to make a key."""
    settings = {**oauth_settings(slack, vendor[1]), "DEPLOYBOT_ENCRYPTION_KEY": ""}
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploybot.sqlite3'}",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        **{name: value for name, value in settings.items() if value},
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(
        "deploybot: OAuth installs (SLACK_CLIENT_ID) store each workspace's bot token, encrypted: "
        "set DEPLOYBOT_ENCRYPTION_KEY to a Fernet key. Generate one with python -c"
    )
    assert CLIENT_SECRET not in done.stderr
