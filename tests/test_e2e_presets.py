"""End to end: presets (saved by a started deployment, opened by name, picked in the form, listed,
deleted) and "Copy as curl", through the real server process with a fake Slack and a fake
Hiveon on loopback; on SQLite and on PostgreSQL."""

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.processes import API_KEY, BotProcess
from bot.testing.seed import (
    DB_PASSWORD,
    MACHINE_ID,
    MACHINE_PRICE_ID,
    REGISTRY_PASSWORD,
    STARTUP_SCRIPT,
    form,
    ssh_key,
)
from bot.testing.slack_requests import (
    app_home_opened,
    block_action,
    block_suggestion,
    modal_view,
    slash_command,
    view_action,
    view_submission,
)
from tests.databases import Databases, query
from tests.e2e_support import (
    channel,
    hiveon_on_loopback,
    initial_values,
    opened_modal,
    thread_replies,
    vendor_starts,
    wait_until,
)

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback

OWNER = "U111"
OTHER = "UOTHER"
ADMIN = "UPRESETADMIN"  # users.info says is_admin
MASK = "••••"
# What a preset of `form()` keeps: no external ID, no registry password, secrets masked.
FORM_PRESET = {
    "machine_id": MACHINE_ID,
    "machine_price_id": MACHINE_PRICE_ID,
    "ssh_pub_keys": [ssh_key()],
    "container_config": {
        "image": "nginx:latest",
        "docker_auth": {"server": "docker.private.io", "login": "username"},
        "ports": [
            {"host_port": 80, "protocol": "PORT_PROTOCOL_TCP"},
            {"host_port": 443, "protocol": "PORT_PROTOCOL_HTTPS"},
        ],
        "startup_script": STARTUP_SCRIPT,
        "environment_variables": {"ENV_VAR1": "value1", "DB_PASSWORD": MASK},
    },
    "metadata": {"additional_key": MASK},
}


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack for each backend's run
    with FakeSlack() as slack:
        slack.users[ADMIN] = {"is_admin": True}
        slack.users[OWNER] = {"profile": {"display_name": "alice", "real_name": "Alice"}}
        yield slack


@pytest.fixture(name="vendor", scope="module")
def _vendor(backend: str) -> Iterator[tuple[SandboxVendor, str]]:
    del backend  # a fresh fake Hiveon for each backend's run
    with hiveon_on_loopback(api_keys={API_KEY}, pending_s=60) as vendor:
        yield vendor


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    settings = {"SLACK_API_URL": slack.url, "HIVEON_API_URL": vendor[1], "HIVEON_TIMEOUT_S": "2"}
    workdir = tmp_path_factory.mktemp("bot")
    with BotProcess(workdir, settings, database_url=databases.new()) as bot:
        yield bot
        assert "Traceback" not in bot.logs


# --- helpers -----------------------------------------------------------------------------------


def submit(
    bot: BotProcess, slack: FakeSlack, values: dict[str, str], channel_id: str, user_id: str
) -> dict[str, Any]:
    """Submit the deploy form as opened by `/deploy` in `channel_id`; the ack's JSON, if any."""
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    response = bot.post(
        view_submission(values=values, private_metadata=where.dump(), user_id=user_id)
    )
    assert response.status_code == 200
    return response.json() if response.text else {}


def deploy(
    bot: BotProcess, slack: FakeSlack, user_id: str = OWNER, **changes: str
) -> tuple[str, str]:
    """Submit a form in a channel of its own and wait for its outcome; its channel and
    external ID."""
    channel_id, values = channel(), form(**changes)
    assert submit(bot, slack, values, channel_id, user_id) == {}
    thread_replies(slack, channel_id)
    return channel_id, values["external_deployment_id"]


def saved_notice(slack: FakeSlack, channel_id: str) -> Call:
    """The private answer about the preset, through the form's response_url."""
    [call] = slack.wait_for(f"response_url:{channel_id}", timeout=20)
    assert call.params["response_type"] == "ephemeral"
    return call


def stored_presets(bot: BotProcess, team_id: str = "T111") -> dict[str, tuple[str, Any]]:
    """The workspace's presets in the database: name -> (owner, request)."""
    rows = query(
        bot.database_url,
        "SELECT name, user_id, request FROM presets WHERE team_id = :team",
        team=team_id,
    )
    return {
        name: (owner, json.loads(request) if isinstance(request, str) else request)
        for name, owner, request in rows
    }


def changes(bot: BotProcess, name: str) -> list[tuple[str, str]]:
    """Who did what to one preset, oldest first, as the change log keeps it."""
    rows = query(
        bot.database_url,
        "SELECT user_id, action, detail FROM workspace_changes ORDER BY id",
    )
    return [
        (user, action)
        for user, action, detail in rows
        if (json.loads(detail) if isinstance(detail, str) else detail).get("name") == name
    ]


def ephemeral(slack: FakeSlack, name: str, count: int = 1) -> Call:
    """Wait for `count` posts to `slack.response_url(name)`; the last, ephemeral."""
    calls = slack.wait_for(f"response_url:{name}", count=count, timeout=20)
    assert calls[-1].params["response_type"] == "ephemeral"
    return calls[-1]


def preset_select(view: dict[str, Any]) -> dict[str, Any]:
    """The form's preset select element."""
    [block] = [b for b in view["blocks"] if b.get("block_id") == "preset"]
    assert block["type"] == "input"
    assert block["dispatch_action"] is True
    element: dict[str, Any] = block["element"]
    assert element["type"] == "external_select"
    return element


def open_form(bot: BotProcess, slack: FakeSlack, text: str, user_id: str = OWNER) -> dict[str, Any]:
    """`/deploy <text>` in a channel; the form it opens."""
    trigger = f"{uuid.uuid4().hex}.preset"
    name = f"open-{uuid.uuid4().hex[:8]}"
    response = bot.post(
        slash_command(
            text=text,
            user_id=user_id,
            trigger_id=trigger,
            response_url=slack.response_url(name),
        )
    )
    assert response.status_code == 200
    assert response.text == ""
    return opened_modal(slack, trigger)


# --- saving ------------------------------------------------------------------------------------


def test_a_started_deployment_saves_its_form_as_a_preset_without_any_secret(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """ "Save as preset" keeps the form once Hiveon started it: everything but the registry
    password and secret values, owned by whoever submitted it, in the change log; the user is
    told privately how to open it again."""
    channel_id, _ = deploy(bot, slack, preset_name="web-prod")
    notice = saved_notice(slack, channel_id)
    assert notice.params["text"] == (
        "📌 You saved this form as the preset `web-prod` for this workspace (the registry "
        "password and secret values are never kept). `/deploy web-prod` opens it again."
    )
    owner, request = stored_presets(bot)["web-prod"]
    assert owner == OWNER
    assert request == FORM_PRESET
    stored = json.dumps(query(bot.database_url, "SELECT * FROM presets"), default=str)
    assert REGISTRY_PASSWORD not in stored
    assert DB_PASSWORD not in stored
    assert changes(bot, "web-prod") == [(OWNER, "preset_saved")]


def test_a_deployment_that_did_not_start_saves_no_preset_and_says_so(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """A form whose start Hiveon refused is not saved; the user is told why."""
    channel_id, _ = deploy(bot, slack, machine_id="fail-404", preset_name="never-saved")
    notice = saved_notice(slack, channel_id)
    assert notice.params["text"] == (
        "The preset `never-saved` was not saved: the deployment did not start. Run `/deploy` "
        "again to save it under another name."
    )
    assert "never-saved" not in stored_presets(bot)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (
            "Web Prod",
            (
                "A preset name is 1–32 lowercase letters, digits and dashes, starting with a "
                "letter or a digit ([a-z0-9][a-z0-9-]{0,31}), e.g. “api-prod”."
            ),
        ),
        ("presets", "“presets” is a /deploy subcommand: pick another name."),
        (
            "stat",
            (
                "“stat” is too close to the subcommand “status”: /deploy stat would be taken for "
                "it. Pick another name."
            ),
        ),
    ],
)
def test_a_name_deploy_could_not_open_is_a_field_error_and_nothing_starts(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, name: str, error: str
) -> None:
    """Names `/deploy NAME` could not open (not lowercase, a subcommand, near one) are refused
    under the field; the form stays open and nothing reaches Hiveon."""
    values = form(preset_name=name)
    ack = submit(bot, slack, values, channel(), OWNER)
    assert ack == {"response_action": "errors", "errors": {"preset_name": error}}
    assert vendor_starts(sandbox, values["external_deployment_id"]) == []


def test_someone_elses_name_is_a_field_error_naming_them_and_an_admin_replaces_it(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Another person's preset name is refused under the field, naming its owner as Slack
    shows them, and nothing starts; an admin's form replaces it, and the log says whose it
    was."""
    first, _ = deploy(bot, slack, preset_name="shared-api")
    saved_notice(slack, first)
    values = form(preset_name="shared-api", image="redis:7")
    ack = submit(bot, slack, values, channel(), OTHER)
    assert ack == {
        "response_action": "errors",
        "errors": {
            "preset_name": "“shared-api” is alice's preset: pick another name, or ask them or "
            "a workspace admin to replace it."
        },
    }
    assert vendor_starts(sandbox, values["external_deployment_id"]) == []

    replaced, _ = deploy(bot, slack, ADMIN, preset_name="shared-api", image="redis:7")
    assert (
        saved_notice(slack, replaced)
        .params["text"]
        .startswith("📌 You replaced <@U111>'s preset `shared-api` for this workspace")
    )
    owner, request = stored_presets(bot)["shared-api"]
    assert (owner, request["container_config"]["image"]) == (ADMIN, "redis:7")
    assert changes(bot, "shared-api") == [(OWNER, "preset_saved"), (ADMIN, "preset_replaced")]


# --- opening -----------------------------------------------------------------------------------


def test_deploy_name_opens_the_form_from_the_preset_with_a_fresh_external_id(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """`/deploy NAME` opens the form filled from the preset (secrets left empty, said why),
    with a fresh external ID, the preset chosen in the select and remembered."""
    channel_id, external_id = deploy(bot, slack, preset_name="open-me")
    saved_notice(slack, channel_id)
    view = open_form(bot, slack, "open-me")
    initial = initial_values(view)
    fresh = initial.pop("external_deployment_id")
    assert fresh is not None
    assert str(uuid.UUID(fresh)) == fresh
    assert fresh != external_id
    assert initial == {
        "machine_id": MACHINE_ID,
        "machine_price_id": MACHINE_PRICE_ID,
        "image": "nginx:latest",
        "ports": "80/tcp, 443/https",
        "environment_variables": "ENV_VAR1=value1",
        "ssh_pub_keys": ssh_key(),
        "startup_script": STARTUP_SCRIPT,
        "docker_server": "docker.private.io",
        "docker_login": "username",
        "docker_password": None,
        "metadata": None,
        "stop_after": None,
        "preset_name": None,
    }
    assert preset_select(view)["initial_option"] == {
        "text": {"type": "plain_text", "text": "open-me"},
        "value": "open-me",
    }
    assert ModalContext.load(view["private_metadata"]).preset == "open-me"
    note = view["blocks"][0]["elements"][0]["text"]
    assert note.startswith("🔒 Left empty: the secret values of `DB_PASSWORD`, `additional_key`")


def test_options_override_a_preset_and_image_names_an_image_instead(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """`/deploy preset NAME ports=…` overrides the preset's ports; `/deploy image=NAME` deploys
    an image by that name; an unknown preset is answered privately."""
    channel_id, _ = deploy(bot, slack, preset_name="nginx")
    saved_notice(slack, channel_id)
    overridden = initial_values(open_form(bot, slack, "preset nginx ports=8080"))
    assert (overridden["image"], overridden["ports"]) == ("nginx:latest", "8080")
    assert initial_values(open_form(bot, slack, "nginx"))["image"] == "nginx:latest"
    image = open_form(bot, slack, "image=nginx")
    assert initial_values(image)["image"] == "nginx"
    assert "initial_option" not in preset_select(image)

    bot.post(slash_command(text="preset nope", response_url=slack.response_url("nope")))
    answer = ephemeral(slack, "nope")
    assert answer.params["text"] == (
        "This workspace has no preset `nope`. `/deploy presets` lists them."
    )


def test_the_preset_select_offers_presets_as_you_type(bot: BotProcess, slack: FakeSlack) -> None:
    """Slack's `block_suggestion` is answered in the ack with the presets whose name or image
    holds what was typed, each "name · image"."""
    for name, image in (("sugg-api", "ghcr.io/acme/api:1"), ("sugg-cache", "redis:7")):
        channel_id, _ = deploy(bot, slack, preset_name=name, image=image)
        saved_notice(slack, channel_id)
    response = bot.post(block_suggestion(action_id="preset", value="SUGG"))
    assert response.status_code == 200
    assert response.json() == {
        "options": [
            {"text": {"type": "plain_text", "text": "sugg-cache · redis:7"}, "value": "sugg-cache"},
            {
                "text": {"type": "plain_text", "text": "sugg-api · ghcr.io/acme/api:1"},
                "value": "sugg-api",
            },
        ]
    }
    by_image = bot.post(block_suggestion(action_id="preset", value="redis:7")).json()
    assert "sugg-cache" in [option["value"] for option in by_image["options"]]
    assert "sugg-api" not in [option["value"] for option in by_image["options"]]


def test_picking_a_preset_refills_the_form_keeping_what_was_typed_where_it_is_empty(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Picking a preset updates the open form in place (its hash guards the update): the
    preset's fields replace what was there, what someone typed in fields it leaves empty (here
    the startup script it withholds from them, and metadata) stays; the form then deploys as
    shown and marks the preset used."""
    channel_id, _ = deploy(bot, slack, preset_name="refill")
    saved_notice(slack, channel_id)
    target = channel()
    opened = open_form(bot, slack, "", user_id=OTHER)
    where = ModalContext(channel_id=target, response_url=slack.response_url(target))
    typed = {
        "image": "typed:1",
        "startup_script": "echo typed",
        "metadata": "team=payments",
        "external_deployment_id": str(uuid.uuid4()),
    }
    shown = modal_view(
        values=typed, private_metadata=where.dump(), view_id="VREFILL", blocks=opened["blocks"]
    )
    selected = {"text": {"type": "plain_text", "text": "refill"}, "value": "refill"}
    response = bot.post(
        view_action(
            action={
                "type": "external_select",
                "action_id": "preset",
                "block_id": "preset",
                "selected_option": selected,
            },
            view=shown,
            user_id=OTHER,
        )
    )
    assert response.status_code == 200
    [update] = slack.wait_for("views.update", where=lambda c: c.params["view_id"] == "VREFILL")
    assert update.params["hash"] == shown["hash"]
    view = update.params["view"]
    refilled = {
        block["block_id"]: block["element"]
        for block in view["blocks"]
        if block["type"] == "input" and block["element"]["type"] == "plain_text_input"
    }
    # New action_ids, so that Slack shows the new values rather than what was typed.
    assert refilled["image"]["action_id"] == "image.1"
    assert refilled["docker_password"]["action_id"] == "docker_password"
    assert {block: element.get("initial_value") for block, element in refilled.items()} == {
        "machine_id": MACHINE_ID,
        "machine_price_id": MACHINE_PRICE_ID,
        "image": "nginx:latest",
        "ports": "80/tcp, 443/https",
        "environment_variables": "ENV_VAR1=value1",
        "ssh_pub_keys": ssh_key(),
        "startup_script": "echo typed",
        "docker_server": "docker.private.io",
        "docker_login": "username",
        "docker_password": None,
        "external_deployment_id": typed["external_deployment_id"],
        "metadata": "team=payments",
        "stop_after": None,
        "preset_name": None,
    }
    context = ModalContext.load(view["private_metadata"])
    assert (context.channel_id, context.preset, context.revision) == (target, "refill", 1)

    # The refilled form submitted as shown: its inputs answer under their new action_ids.
    state = {
        block: {
            element["action_id"]: {
                "type": "plain_text_input",
                "value": element.get("initial_value"),
            }
        }
        for block, element in refilled.items()
    }
    state["docker_password"]["docker_password"]["value"] = REGISTRY_PASSWORD
    submitted = dict(view, id="VREFILL", state={"values": state})
    assert bot.post(view_submission(view=submitted, user_id=OTHER)).text == ""
    thread_replies(slack, target)
    [start] = vendor_starts(sandbox, typed["external_deployment_id"])
    assert start["container_config"]["startup_script"] == "echo typed"
    assert start["container_config"]["image"] == "nginx:latest"
    assert start["metadata"] == {"team": "payments"}
    assert start["container_config"]["docker_auth"]["password"] == REGISTRY_PASSWORD
    wait_until(
        lambda: (
            query(bot.database_url, "SELECT last_used_at FROM presets WHERE name = 'refill'")[0][0]
            is not None
        ),
        what="the preset marked used",
    )


# --- the list ----------------------------------------------------------------------------------


def test_presets_lists_them_and_delete_is_for_the_owner_or_an_admin(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """`/deploy presets WORD` lists the matching presets privately with Deploy and a confirmed
    Delete; someone else's Delete is refused naming the owner, the owner's replaces the list
    without it, and the change log records it."""
    for name in ("list-a", "list-b"):
        channel_id, _ = deploy(bot, slack, preset_name=name)
        saved_notice(slack, channel_id)
    bot.post(slash_command(text="presets list-", response_url=slack.response_url("list")))
    listed = ephemeral(slack, "list")
    blocks = listed.params["blocks"]
    assert (
        blocks[0]["text"]["text"]
        == "*The workspace's presets whose name or image contains `list-`*"
    )
    lines = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    assert [line.split(" · ")[0] for line in lines] == ["*list-b*", "*list-a*"]
    assert "saved by <@U111>" in lines[0]
    assert "last used never" in lines[0]
    [deploy_button, delete_button] = blocks[2]["elements"]
    assert (deploy_button["action_id"], deploy_button["value"]) == ("deploy_preset", "list-b")
    assert (delete_button["action_id"], delete_button["value"]) == ("delete_preset", "list-b")
    assert delete_button["confirm"]["title"]["text"] == "Delete this preset?"

    bot.post(
        block_action(
            action_id="delete_preset",
            value="list-b",
            user_id=OTHER,
            response_url=slack.response_url("delete-other"),
        )
    )
    assert ephemeral(slack, "delete-other").params["text"] == (
        "Only <@U111>, who saved the preset `list-b`, or a workspace admin can delete it. Ask "
        "one of them."
    )
    assert "list-b" in stored_presets(bot)

    bot.post(
        block_action(
            action_id="delete_preset",
            value="list-b",
            user_id=OWNER,
            response_url=slack.response_url("delete-owner"),
        )
    )
    [replaced] = slack.wait_for("response_url:delete-owner", timeout=20)
    assert replaced.params["replace_original"] is True
    shown = json.dumps(replaced.params["blocks"])
    assert "Deleted the preset `list-b`" in shown
    assert "list-a" in shown
    assert "*list-b*" not in shown
    assert "list-b" not in stored_presets(bot)
    assert changes(bot, "list-b") == [(OWNER, "preset_saved"), (OWNER, "preset_deleted")]


def test_a_presets_deploy_button_opens_its_form_for_that_channel(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """Deploy on the list opens the form from the preset, reporting in the list's channel."""
    channel_id, _ = deploy(bot, slack, preset_name="button")
    saved_notice(slack, channel_id)
    here, trigger = channel(), f"{uuid.uuid4().hex}.deploy-preset"
    bot.post(
        block_action(action_id="deploy_preset", value="button", channel_id=here, trigger_id=trigger)
    )
    view = opened_modal(slack, trigger)
    assert initial_values(view)["image"] == "nginx:latest"
    where = ModalContext.load(view["private_metadata"])
    assert (where.channel_id, where.preset) == (here, "button")


def test_the_app_home_shows_the_workspaces_presets_with_deploy_buttons(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """The Home tab ends with the workspace's presets, each with a Deploy button."""
    channel_id, _ = deploy(bot, slack, preset_name="home-shown")
    saved_notice(slack, channel_id)
    bot.post(app_home_opened(user_id="UHOMEPRESETS"))
    [published] = slack.wait_for(
        "views.publish", timeout=20, where=lambda c: c.params["user_id"] == "UHOMEPRESETS"
    )
    blocks = published.params["view"]["blocks"]
    title = blocks.index(
        {"type": "section", "text": {"type": "mrkdwn", "text": "*The workspace's presets*"}}
    )
    buttons = [b["accessory"] for b in blocks[title + 1 :] if "accessory" in b]
    assert {"action_id": "deploy_preset", "value": "home-shown"}.items() <= next(
        b for b in buttons if b["value"] == "home-shown"
    ).items()


# --- Copy as curl ------------------------------------------------------------------------------


def run_curl(command: str, environment: dict[str, str], workdir: Path) -> list[str]:
    """Run the command in a POSIX shell whose `curl` only prints the arguments it was given."""
    script = workdir / "curl.sh"
    script.write_text(
        'curl() { for argument in "$@"; do printf \'%s\\0\' "$argument"; done; }\n' + command
    )
    done = subprocess.run(  # noqa: S603 — the system's sh, running the command under test
        ["/bin/sh", str(script)],
        env={"PATH": os.environ["PATH"], **environment},
        cwd=workdir,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().split("\0")[:-1]


def curl_of(call: Call) -> str:
    """The command in a Copy as curl answer: its one preformatted rich text block."""
    [rich] = [b for b in call.params["blocks"] if b["type"] == "rich_text"]
    [preformatted] = rich["elements"]
    assert preformatted["type"] == "rich_text_preformatted"
    [text] = preformatted["elements"]
    return str(text["text"])


def test_copy_as_curl_is_the_exact_start_request_with_every_secret_a_variable(
    bot: BotProcess, slack: FakeSlack, vendor: tuple[SandboxVendor, str], tmp_path: Path
) -> None:
    """Copy as curl answers privately with a command that, run in sh with the variables it
    names set, sends exactly what Hiveon received; no secret is in it, and nothing a user
    typed is run by the shell."""
    marker = tmp_path / "pwned"
    script = f"echo \"$(touch {marker})\" 'it''s' `touch {marker}` \\ & done"
    channel_id, external_id = deploy(
        bot, slack, startup_script=script, environment_variables="MODE=prod\nAPI_TOKEN=tok-secret-1"
    )
    bot.post(
        block_action(
            action_id="copy_as_curl",
            value=external_id,
            channel_id=channel_id,
            response_url=slack.response_url("curl"),
        )
    )
    answer = ephemeral(slack, "curl")
    received = json.dumps(answer.params)
    for secret in (REGISTRY_PASSWORD, "tok-secret-1", API_KEY, "additional_value"):
        assert secret not in received
    assert "`HIVEON_API_KEY` (the workspace's Hiveon API key), `REGISTRY_PASSWORD`" in received
    command = curl_of(answer)
    sandbox, origin = vendor
    start_url = f"{origin}/vendors/v1/machines/deployments/start"

    arguments = run_curl(
        command,
        {
            "HIVEON_API_KEY": API_KEY,
            "REGISTRY_PASSWORD": REGISTRY_PASSWORD,
            "API_TOKEN": "tok-secret-1",
            "additional_key": "additional_value",
        },
        tmp_path,
    )
    assert not marker.exists()
    [start] = vendor_starts(sandbox, external_id)
    assert arguments[:3] == ["-X", "POST", start_url]
    assert arguments[3:-2] == [
        "-H",
        "Accept: application/json",
        "-H",
        "Content-Type: application/json",
        "-H",
        f"X-API-Key: {API_KEY}",
    ]
    assert arguments[-2] == "--data-binary"
    assert json.loads(arguments[-1]) == start
    assert start["container_config"]["startup_script"] == script


def test_curl_for_someone_elses_deployment_leaves_their_startup_script_a_variable(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """`/deploy curl ID` by anyone but the requester gives the startup script as
    `$STARTUP_SCRIPT` (scripts hold tokens) and says whose it is."""
    _, external_id = deploy(bot, slack, startup_script="export GH_TOKEN=ghp-not-for-others")
    bot.post(
        slash_command(
            text=f"curl {external_id}", user_id=OTHER, response_url=slack.response_url("curl-other")
        )
    )
    answer = ephemeral(slack, "curl-other")
    assert "ghp-not-for-others" not in json.dumps(answer.params)
    assert '"startup_script":"\'"$STARTUP_SCRIPT"\'"' in curl_of(answer)
    assert "only <@U111>, who started this deployment, gets it back" in json.dumps(answer.params)
