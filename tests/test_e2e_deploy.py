"""End to end: the real server process, a fake Slack Web API and a fake Hiveon on loopback; the
tests of the bot run twice, on SQLite and on PostgreSQL."""

import concurrent.futures
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import FakeSlack
from bot.testing.processes import API_KEY, BOT_TOKEN, ROOT, BotProcess, PlaygroundProcess
from bot.testing.seed import (
    DB_PASSWORD,
    MACHINE_PRICE_ID,
    REGISTRY_PASSWORD,
    form,
    form_request,
)
from bot.testing.slack_requests import SIGNING_SECRET, slash_command, view_submission
from tests.databases import Databases, everything_stored, query
from tests.e2e_support import (
    VENDOR_START,
    channel,
    hiveon_on_loopback,
    parent_posts,
    thread_replies,
    vendor_starts,
)

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack for each backend's run
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="vendor", scope="module")
def _vendor(backend: str) -> Iterator[tuple[SandboxVendor, str]]:
    del backend  # a fresh fake Hiveon for each backend's run
    with hiveon_on_loopback(api_keys={API_KEY}, pending_s=60, id_factory=deployment_ids) as vendor:
        yield vendor


TWIN = "twin-"  # external IDs for which the fake Hiveon answers one deployment ID for all
TWIN_DEPLOYMENT_ID = "dep-given-twice"


def deployment_ids(key: str) -> str:
    """The fake Hiveon's deployment IDs: a UUID per external ID, one shared by every twin."""
    return TWIN_DEPLOYMENT_ID if key.startswith(TWIN) else str(uuid.uuid5(uuid.NAMESPACE_URL, key))


@pytest.fixture(name="bot", scope="module")
def _bot(
    slack: FakeSlack,
    vendor: tuple[SandboxVendor, str],
    databases: Databases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    settings = {
        "SLACK_API_URL": slack.url,
        "HIVEON_API_URL": vendor[1],
        "HIVEON_TIMEOUT_S": "1",
    }
    workdir = tmp_path_factory.mktemp("bot")
    with BotProcess(workdir, settings, database_url=databases.new()) as bot:
        yield bot


def submit(
    bot: BotProcess,
    slack: FakeSlack,
    values: dict[str, str],
    channel_id: str,
    *,
    minted_id: str | None = None,
) -> httpx.Response:
    """Submit the deploy modal as if it had been opened by `/deploy` in `channel_id` (with
    `minted_id` as the external ID deploybot made for it)."""
    where = ModalContext(
        channel_id=channel_id, response_url=slack.response_url(channel_id), minted_id=minted_id
    )
    return bot.post(view_submission(values=values, private_metadata=where.dump()))


def everything_slack_received(slack: FakeSlack) -> str:
    """All params of all calls, as one text to search for leaks."""
    return json.dumps([call.params for call in slack.calls])


# --- opening the modal -------------------------------------------------------------------------


def test_deploy_opens_the_modal_with_the_request_trigger_id(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """`/deploy` acks with an empty 200 and opens the modal with the command's trigger_id."""
    channel_id = channel()
    request = slash_command(channel_id=channel_id, trigger_id="1234.5678.abcdef")
    response = bot.post(request)
    assert response.status_code == 200
    assert response.text == ""
    [call] = slack.wait_for(
        "views.open", where=lambda c: c.params["trigger_id"] == "1234.5678.abcdef"
    )
    view = call.params["view"]
    assert view["callback_id"] == "deploy_modal"
    assert view["type"] == "modal"
    input_ids = [block["block_id"] for block in view["blocks"] if block["type"] == "input"]
    assert input_ids == [
        "machine_id",
        "machine_price_id",
        "image",
        "ports",
        "environment_variables",
        "ssh_pub_keys",
        "startup_script",
        "docker_server",
        "docker_login",
        "docker_password",
        "external_deployment_id",
        "metadata",
        "stop_after",
        "preset_name",
    ]
    external = next(b for b in view["blocks"] if b.get("block_id") == "external_deployment_id")
    prefilled = external["element"]["initial_value"]
    assert str(uuid.UUID(prefilled)) == prefilled
    context = ModalContext.load(view["private_metadata"])
    assert context.channel_id == channel_id
    # The form remembers the ID it made, so that a submission keeping it needs no look-up.
    assert context.minted_id == prefilled


def test_the_command_text_prefills_the_modal(bot: BotProcess, slack: FakeSlack) -> None:
    """`/deploy IMAGE machine=… price=… ports=…` opens the modal with those fields filled."""
    trigger = "2222.3333.prefill"
    bot.post(
        slash_command(
            text="nginx:latest machine=m-24d7 price=p-3b27 ports=80,443/https", trigger_id=trigger
        )
    )
    [call] = slack.wait_for("views.open", where=lambda c: c.params["trigger_id"] == trigger)
    initial = {
        block["block_id"]: block["element"].get("initial_value")
        for block in call.params["view"]["blocks"]
        if block["type"] == "input"
    }
    assert initial["image"] == "nginx:latest"
    assert initial["machine_id"] == "m-24d7"
    assert initial["machine_price_id"] == "p-3b27"
    assert initial["ports"] == "80,443/https"
    assert initial["docker_password"] is None


def test_help_answers_ephemerally(bot: BotProcess) -> None:
    """`/deploy help` answers in the ack itself, ephemerally, with subcommands and formats."""
    response = bot.post(slash_command(text="help"))
    assert response.status_code == 200
    body = response.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    shown = json.dumps(body["blocks"])
    assert "/deploy help" in shown
    assert "PORT/PROTOCOL" in shown
    assert "KEY=VALUE" in shown


def test_an_unknown_subcommand_gets_a_helpful_answer(bot: BotProcess) -> None:
    """A mistyped subcommand is answered with a suggestion, not silence and not a modal."""
    response = bot.post(slash_command(text="stauts 123"))
    assert response.status_code == 200
    assert "Did you mean `/deploy status`?" in response.json()["text"]


# --- submitting ----------------------------------------------------------------------------


def test_field_errors_keep_the_modal_open_and_send_nothing(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Mistakes come back in the ack under their fields; Hiveon and the channel get nothing."""
    channel_id = channel()
    values = form(ports="80, 70000, 80/ftp", environment_variables="GOOD=1\nBROKEN", image="")
    response = submit(bot, slack, values, channel_id)
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"ports", "environment_variables", "image"}
    assert "70000" in body["errors"]["ports"]
    assert "Line 2" in body["errors"]["environment_variables"]
    # Slack shows these as plain text: quotes, not code marks that would show as backticks.
    assert "`" not in "".join(body["errors"].values())
    assert vendor_starts(sandbox, values["external_deployment_id"]) == []
    assert parent_posts(slack, channel_id) == []


def test_a_valid_submission_starts_the_deployment_and_replies_in_the_thread(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """The modal closes, the parent message names the deploy, Hiveon gets exactly the form, and
    the thread gets the deployment ID."""
    channel_id = channel()
    values = form()
    external_id = values["external_deployment_id"]
    response = submit(bot, slack, values, channel_id)
    assert response.status_code == 200
    assert response.text == ""

    [reply] = thread_replies(slack, channel_id)
    [start] = vendor_starts(sandbox, external_id)
    assert start == form_request(external_id)
    [received] = [r for r in sandbox.requests if r.json is start]
    assert received.headers["x-api-key"] == API_KEY

    [parent] = parent_posts(slack, channel_id)
    assert "<@U111> is deploying `nginx:latest`" in parent.params["text"]
    parent_text = json.dumps(parent.params["blocks"])
    assert "80/tcp, 443/https" in parent_text
    assert MACHINE_PRICE_ID in parent_text
    [deployment] = [d for d in sandbox.deployments() if d.external_deployment_id == external_id]
    assert reply.params["thread_ts"] == slack.messages(channel_id)[0]["ts"]
    assert deployment.deployment_id in reply.params["text"]
    assert external_id in json.dumps(reply.params["blocks"])

    [update] = slack.wait_for("chat.update", where=lambda c: c.params["channel"] == channel_id)
    assert update.params["ts"] == reply.params["thread_ts"]
    assert update.params["text"].startswith("✅")
    assert deployment.deployment_id in json.dumps(update.params["blocks"])


def test_a_minimal_form_sends_no_empty_fields(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Optional fields left empty are left out of the vendor request: no null, no empty objects."""
    channel_id = channel()
    external_id = str(uuid.uuid4())
    values = {
        "machine_id": "m-1",
        "machine_price_id": "p-1",
        "image": "redis",
        "external_deployment_id": external_id,
        "ports": "",
        "docker_server": "",
    }
    submit(bot, slack, values, channel_id)
    thread_replies(slack, channel_id)
    assert vendor_starts(sandbox, external_id) == [
        {
            "machine_id": "m-1",
            "machine_price_id": "p-1",
            "external_deployment_id": external_id,
            "container_config": {"image": "redis"},
        }
    ]


@pytest.mark.parametrize(
    ("machine", "status", "says"),
    [
        ("fail-400", "400", "Hiveon rejected the request"),
        ("fail-401", "401", "refused this workspace's API key"),
        ("fail-403", "403", "lacks the role to deploy on machine `fail-403`"),
        ("fail-404", "404", "Machine `fail-404` was not found"),
        ("fail-429", "429", "rate-limiting"),
        ("fail-500", "500", "Hiveon failed (HTTP 500"),
        ("fail-502", "502", "Hiveon failed (HTTP 502"),
        ("fail-nojson", "200", "Hiveon failed (HTTP 200, unreadable response"),
        ("fail-noid", "200", "Hiveon failed (HTTP 200"),
        ("fail-timeout", "no response", "Hiveon failed"),
        ("fail-reset", "no response", "Hiveon failed"),
        ("accept-then-500", "500", "looked it up by its external ID and found it"),
        ("accept-then-timeout", "no response", "looked it up by its external ID and found it"),
    ],
)
def test_every_vendor_failure_gets_a_clear_thread_reply(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, machine: str, status: str, says: str
) -> None:
    """Each failure is replied in the thread with its status, the external ID and a next step;
    never raw HTML, never a stack trace."""
    channel_id = channel()
    values = form(machine_id=machine)
    external_id = values["external_deployment_id"]
    submit(bot, slack, values, channel_id)
    [reply] = thread_replies(slack, channel_id)
    shown = reply.params["text"] + json.dumps(reply.params["blocks"])
    assert says in shown
    assert f"*HTTP status* {status}" in shown
    assert external_id in shown
    assert "<html" not in shown.lower()
    assert "Traceback" not in shown
    starts = len(vendor_starts(sandbox, external_id))
    if machine.startswith("accept-then"):
        assert "✅" in reply.params["text"]
        assert starts == 1
    else:
        assert "*Next:*" in shown
        assert reply.params["text"].startswith(("❌", "⚠️"))
    if machine == "fail-429":
        assert starts == 3  # the first try and two retries after Retry-After
    if machine == "fail-502":
        assert starts == 2  # a gateway error with nothing found is retried once
    if machine in {"fail-500", "fail-timeout", "fail-reset", "fail-nojson", "fail-noid"}:
        assert starts == 1  # the vendor may have seen it: never started twice


# --- getting the outcome to the user -----------------------------------------------------------


def test_a_public_channel_the_bot_is_not_in_is_joined(bot: BotProcess, slack: FakeSlack) -> None:
    """`not_in_channel` makes the bot join the public channel and post there."""
    channel_id = channel()
    slack.not_joined.add(channel_id)
    submit(bot, slack, form(), channel_id)
    [reply] = thread_replies(slack, channel_id)
    joins = [c for c in slack.calls_to("conversations.join") if c.params["channel"] == channel_id]
    assert len(joins) == 1
    # The channel shows the bot joining, then its one message, the outcome in its thread.
    joined, posted = slack.messages(channel_id)
    assert (joined["subtype"], joined["user"]) == ("channel_join", "UBOT")
    assert posted["ts"] == reply.params["thread_ts"]


def test_a_private_channel_falls_back_to_the_response_url(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """Where the bot cannot post, the command's response_url carries the message and outcome
    to the whole channel."""
    channel_id = channel()
    slack.private_channels.add(channel_id)
    values = form()
    submit(bot, slack, values, channel_id)
    posts = slack.wait_for(f"response_url:{channel_id}", count=2, timeout=20)
    assert [p.params["response_type"] for p in posts] == ["in_channel", "in_channel"]
    assert "is deploying `nginx:latest`" in posts[0].params["text"]
    assert posts[1].params["text"].startswith("✅ Deployment started")
    assert values["external_deployment_id"] in json.dumps(posts[1].params["blocks"])


def test_without_channel_or_response_url_the_user_gets_a_dm(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """When both the channel and the response_url refuse, the outcome goes to the user's DM."""
    channel_id = channel()
    slack.private_channels.add(channel_id)
    slack.fail_response_url(channel_id, status=404, times=None)
    submit(bot, slack, form(), channel_id)
    replies = slack.wait_for(
        "chat.postMessage",
        count=2,
        timeout=20,
        where=lambda c: (
            c.params.get("channel") == "U111"
            or ("thread_ts" in c.params and c.params["channel"].startswith("D"))
        ),
    )
    assert replies[0].params["channel"] == "U111"
    assert replies[1].params["text"].startswith("✅ Deployment started")


def test_a_slack_rate_limit_is_retried_after_retry_after(bot: BotProcess, slack: FakeSlack) -> None:
    """A 429 from Slack on the thread reply is retried after its Retry-After; nothing is lost."""
    channel_id = channel()
    slack.rate_limit(
        "chat.postMessage",
        times=1,
        retry_after=1,
        where=lambda params: params.get("channel") == channel_id and "thread_ts" in params,
    )
    submit(bot, slack, form(), channel_id)
    [first, second] = slack.wait_for(
        "chat.postMessage",
        count=2,
        timeout=20,
        where=lambda c: c.params.get("channel") == channel_id and "thread_ts" in c.params,
    )
    assert second.at - first.at >= 1.0
    assert second.params["text"].startswith("✅")


# --- idempotency, load, safety -----------------------------------------------------------------


def test_the_same_submission_twice_at_once_starts_one_deployment(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """Two concurrent deliveries of one modal start one deployment; the user is told about the
    second."""
    channel_id = channel()
    values = form(machine_id="slow-1")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: submit(bot, slack, values, channel_id), range(2)))
    assert [r.status_code for r in responses] == [200, 200]
    thread_replies(slack, channel_id)
    [notice] = slack.wait_for(f"response_url:{channel_id}")
    assert notice.params["response_type"] == "ephemeral"
    assert "already submitted" in notice.params["text"]
    assert len(vendor_starts(sandbox, values["external_deployment_id"])) == 1
    assert len(parent_posts(slack, channel_id)) == 1


def test_fifty_concurrent_submissions_with_a_slow_vendor_are_all_acked_and_answered(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """50 submissions at once against a vendor taking 2 s: each ack beats Slack's 3-second
    deadline and each thread gets its reply."""
    channel_id = channel()
    forms = [form(machine_id="slow-2") for _ in range(50)]

    def deliver(values: dict[str, str]) -> int:
        # Slack gives up after 3 s: a slower ack fails the test by timing out.
        where = ModalContext(channel_id=channel_id).dump()
        request = view_submission(values=values, private_metadata=where)
        return bot.post(request, timeout=3.0).status_code

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(deliver, forms))
    assert statuses == [200] * 50
    # Outcome replies only (they name the external ID): on a loaded machine a deployment
    # answered early may have its first status reply, 2 s later, before the last outcome.
    replies = slack.wait_for(
        "chat.postMessage",
        count=50,
        timeout=20,
        where=lambda c: (
            c.params.get("channel") == channel_id
            and "thread_ts" in c.params
            and "*external_deployment_id*" in json.dumps(c.params["blocks"])
        ),
    )
    answered = {json.dumps(r.params["blocks"]) for r in replies}
    for values in forms:
        assert any(values["external_deployment_id"] in text for text in answered)
        assert len(vendor_starts(sandbox, values["external_deployment_id"])) == 1


def test_unsigned_and_malformed_requests_get_4xx(bot: BotProcess) -> None:
    """A bad signature is 401, and so is an unsigned body that is not a Slack request: the
    signature is checked before the body is parsed; never a 500."""
    forged = slash_command(signing_secret="not-the-secret")
    assert bot.post(forged).status_code == 401
    stale = slash_command(timestamp=1_600_000_000)
    assert bot.post(stale).status_code == 401
    garbage = bot.http.post(
        "/slack/events",
        content=b"payload=%7Bnot-json",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code == 401
    binary = bot.http.post(
        "/slack/events", content=b"\xff\xfe\xfa", headers={"content-type": "application/json"}
    )
    assert binary.status_code == 401
    assert bot.http.get("/slack/events").status_code == 405


def test_secrets_never_reach_slack_or_the_logs(bot: BotProcess, slack: FakeSlack) -> None:
    """The registry password, secret-named env values, the API key and the Slack token appear in
    no Slack message and no log line."""
    channel_id = channel()
    submit(bot, slack, form(), channel_id)
    submit(bot, slack, form(machine_id="fail-400"), channel_id)
    thread_replies(slack, channel_id, count=2)
    received = everything_slack_received(slack)
    for secret in (REGISTRY_PASSWORD, DB_PASSWORD, API_KEY, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in received
        assert secret not in bot.logs


def test_credentials_outside_the_old_secret_names_are_masked_but_sent_as_typed(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """`DB_PASS`, `SENTRY_DSN` and the password of a URL with credentials, whatever its name,
    reach Hiveon as typed but are masked in the database, in Slack and in the logs."""
    channel_id = channel()
    values = form(
        environment_variables=(
            "DB_PASS=pass-do-not-leak\n"
            "SENTRY_DSN=https://dsn-do-not-leak@sentry.example/1\n"
            "DATABASE_URL=postgres://app:url-pw-do-not-leak@db/app\n"
            "MODE=prod"
        ),
        metadata="SOURCE=https://ci:meta-pw-do-not-leak@ci.example/job",
    )
    submit(bot, slack, values, channel_id)
    [reply] = thread_replies(slack, channel_id)
    assert reply.params["text"].startswith("✅ Deployment started")
    [sent] = vendor_starts(sandbox, values["external_deployment_id"])
    assert sent["container_config"]["environment_variables"] == {
        "DB_PASS": "pass-do-not-leak",
        "SENTRY_DSN": "https://dsn-do-not-leak@sentry.example/1",
        "DATABASE_URL": "postgres://app:url-pw-do-not-leak@db/app",
        "MODE": "prod",
    }
    assert sent["metadata"] == {"SOURCE": "https://ci:meta-pw-do-not-leak@ci.example/job"}
    [(stored,)] = query(
        bot.database_url,
        "SELECT request FROM deployments WHERE external_deployment_id = :id",
        id=values["external_deployment_id"],
    )
    request = json.loads(stored) if isinstance(stored, str) else stored
    assert request["container_config"]["environment_variables"] == {
        "DB_PASS": "••••",
        "SENTRY_DSN": "••••",
        "DATABASE_URL": "postgres://app:••••@db/app",
        "MODE": "prod",
    }
    assert request["metadata"] == {"SOURCE": "https://ci:••••@ci.example/job"}
    for leaked in ("pass-do-not-leak", "dsn-do-not-leak", "url-pw-do-not-leak", "meta-pw-do-not"):
        assert leaked not in everything_slack_received(slack)
        assert leaked not in bot.logs
        assert leaked.encode() not in everything_stored(bot.database_url)


@pytest.mark.parametrize("minted_id", [None, str(uuid.uuid4())])
def test_an_external_id_that_names_a_deployment_of_the_workspace_is_refused_in_the_form(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor, minted_id: str | None
) -> None:
    """Typing a deployment ID the workspace already has as the external ID (which a look-up
    would find instead of this submission) is a field error: the form stays open and nothing
    reaches Hiveon; also over the ID deploybot made for the form (only that one is trusted
    without a look-up)."""
    channel_id = channel()
    first = form()
    submit(bot, slack, first, channel_id)
    thread_replies(slack, channel_id)
    [(deployment_id,)] = query(
        bot.database_url,
        "SELECT deployment_id FROM deployments WHERE external_deployment_id = :id",
        id=first["external_deployment_id"],
    )
    starts = len(sandbox.requests)
    response = submit(
        bot, slack, form(external_deployment_id=deployment_id), channel(), minted_id=minted_id
    )
    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "external_deployment_id": "This is the Hiveon ID of a deployment in this workspace, "
            "so it cannot name a new one: keep the prefilled ID or enter a new one."
        },
    }
    assert vendor_starts(sandbox, deployment_id) == []
    assert all(r.path != VENDOR_START for r in sandbox.requests[starts:])


def test_an_external_id_with_markup_is_refused_in_the_form(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """An external ID outside letters, digits and `._:-` is a field error naming the first
    character that is not allowed; nothing reaches Hiveon."""
    response = submit(bot, slack, form(external_deployment_id="<!channel>"), channel())
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "external_deployment_id": "The deployment ID has “<” in it: use only letters, "
            "digits, “.”, “_”, “:” and “-”, or keep the prefilled one."
        },
    }
    assert vendor_starts(sandbox, "<!channel>") == []


def test_a_deployment_id_hiveon_answers_for_two_submissions_belongs_to_the_first_only(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """When Hiveon answers a second submission with a deployment ID a first one of the workspace
    already holds, the second is recorded without it, as unknown, and its thread says so: its
    buttons can never act on the first one's deployment."""
    channel_id = channel()
    first, second = form(external_deployment_id=f"{TWIN}1"), form(external_deployment_id=f"{TWIN}2")
    submit(bot, slack, first, channel_id)
    thread_replies(slack, channel_id)
    submit(bot, slack, second, channel_id)
    replies = thread_replies(slack, channel_id, count=2)
    assert replies[1].params["text"] == (
        "⚠️ <@U111> The outcome is unknown: Hiveon answered with deployment "
        f"`{TWIN_DEPLOYMENT_ID}`, "
        "which another submission in this workspace already started, so deploybot did not take "
        "it as this one's."
    )
    assert "Stop" not in json.dumps(replies[1].params["blocks"])
    rows = query(
        bot.database_url,
        "SELECT external_deployment_id, deployment_id, status, next_poll_at IS NULL"
        " FROM deployments WHERE external_deployment_id LIKE 'twin-%' ORDER BY id",
    )
    assert rows == [
        (f"{TWIN}1", TWIN_DEPLOYMENT_ID, "started", False),
        (f"{TWIN}2", None, "unknown", True),
    ]
    assert "another submission holds; recorded as unknown" in bot.logs


def test_a_submission_that_names_no_team_is_refused_and_files_nothing(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """A signed submission without a team ID is refused as malformed (400) with one log line;
    no row is filed under an empty team and nothing reaches Hiveon."""
    values = form()
    response = bot.post(view_submission(values=values, team_id="", private_metadata=""))
    assert response.status_code == 400
    assert "refused a request with HTTP 400: it names no workspace" in bot.logs
    assert vendor_starts(sandbox, values["external_deployment_id"]) == []
    assert query(bot.database_url, "SELECT id FROM deployments WHERE team_id = ''") == []
    assert not [c for c in slack.calls if values["external_deployment_id"] in json.dumps(c.params)]


# --- workspaces without a key; no Slack app ----------------------------------------------------


def test_without_an_api_key_nothing_is_sent_and_the_user_is_told(
    slack: FakeSlack, vendor: tuple[SandboxVendor, str], databases: Databases, tmp_path: Path
) -> None:
    """With no key for the workspace, `/deploy` opens no modal and says who must set one."""
    sandbox, origin = vendor
    settings = {"SLACK_API_URL": slack.url, "HIVEON_API_URL": origin, "HIVEON_API_KEY": ""}
    # The module's other bot keeps polling its own deployments here: count what this one sends.
    before = len(sandbox.requests)
    with BotProcess(tmp_path, settings, database_url=databases.new()) as bot:
        channel_id = channel()
        response_url = slack.response_url(channel_id)
        trigger = "9999.no.key"
        assert (
            bot.post(
                slash_command(channel_id=channel_id, response_url=response_url, trigger_id=trigger)
            ).status_code
            == 200
        )
        [told] = slack.wait_for(f"response_url:{channel_id}")
        assert "no Hiveon API key" in told.params["text"]
        assert "HIVEON_API_KEY" in told.params["text"]
        submit(bot, slack, form(), channel_id)
        slack.wait_for(f"response_url:{channel_id}", count=2)
    assert not [c for c in slack.calls_to("views.open") if c.params["trigger_id"] == trigger]
    sent_since = sandbox.requests[before:]
    assert all(r.headers.get("x-api-key") == API_KEY for r in sent_since)
    assert [r for r in sent_since if r.path == VENDOR_START] == []


def test_make_run_without_slack_credentials_starts_the_playground(tmp_path: Path) -> None:
    """With no Slack credentials at all, `make run` serves the local playground on $PORT,
    prints the address to open, and the bot inside reaches the stand-in Slack."""
    with PlaygroundProcess(tmp_path) as playground:
        page = playground.http.get("/")
        logs = playground.logs
    assert f"Open http://localhost:{playground.port}/ and type /deploy" in logs
    assert "README.md" in logs
    assert "connected to Slack workspace deploybot playground" in logs
    assert page.status_code == 200
    assert "<title>deploybot playground</title>" in page.text


def test_incomplete_slack_credentials_explain_the_setup(tmp_path: Path) -> None:
    """Some Slack credentials but too few: the entry point prints what to set and how to
    create the app, and exits 1 (no playground for someone who meant a real Slack)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": BOT_TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    for needed in (
        "manifest.json",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "HIVEON_API_KEY",
    ):
        assert needed in result.stderr
