"""End to end: the Workflow Builder step "Start a deployment", as signed `function_executed`
events to the real server process, completed through a fake Slack with a fake Hiveon on
loopback; on SQLite and on PostgreSQL."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.modal_context import ModalContext
from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.processes import API_KEY, BOT_TOKEN, BotProcess
from bot.testing.seed import MACHINE_ID, MACHINE_PRICE_ID, form
from bot.testing.slack_requests import function_executed, settings_submission, view_submission
from tests.databases import Databases, query
from tests.e2e_support import channel, hiveon_on_loopback, parent_posts, thread_replies, wait_until

pytestmark = pytest.mark.e2e  # the bot's server process, fake Slack and Hiveon on loopback

RUNNER = "U111"
ADMIN = "USTEPADMIN"  # users.info says is_admin
LOCKED = "TSTEPLOCK"  # a workspace where only #allowed may deploy
ALLOWED_CHANNEL = "CSTEPOK001"
START = "/vendors/v1/machines/deployments/start"


@pytest.fixture(name="slack", scope="module")
def _slack(backend: str) -> Iterator[FakeSlack]:
    del backend  # a fresh fake Slack for each backend's run
    with FakeSlack() as slack:
        slack.users[ADMIN] = {"is_admin": True}
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
        bot.post(settings_submission(channels=[ALLOWED_CHANNEL], team_id=LOCKED, user_id=ADMIN))
        slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == ADMIN)
        yield bot
        assert "Traceback" not in bot.logs


def run_step(bot: BotProcess, inputs: dict[str, Any], *, team_id: str = "T111") -> tuple[str, str]:
    """Workflow Builder runs the step with these inputs; the execution's ID and its token."""
    execution, token = f"Fx{uuid.uuid4().hex[:10].upper()}", f"xwfp-{uuid.uuid4().hex}"
    response = bot.post(
        function_executed(
            callback_id="start_deployment",
            inputs=inputs,
            function_execution_id=execution,
            bot_access_token=token,
            team_id=team_id,
        )
    )
    assert response.status_code == 200
    return execution, token


def completion(slack: FakeSlack, execution: str, token: str) -> Call:
    """The one functions.completeSuccess or completeError of a run, made with its own token."""

    def ended() -> list[Call]:
        return [
            call
            for method in ("functions.completeSuccess", "functions.completeError")
            for call in slack.calls_to(method)
            if call.params["function_execution_id"] == execution
        ]

    wait_until(ended, what=f"the step run {execution} completed")
    [call] = ended()
    assert call.headers["authorization"] == f"Bearer {token}"
    return call


def save_preset(bot: BotProcess, slack: FakeSlack, name: str, **changes: str) -> None:
    """A deployment from the form that saves it as the preset `name`."""
    channel_id = channel()
    where = ModalContext(channel_id=channel_id, response_url=slack.response_url(channel_id))
    values = form(preset_name=name, **changes)
    bot.post(view_submission(values=values, private_metadata=where.dump()))
    slack.wait_for(f"response_url:{channel_id}", timeout=20)


def test_the_step_deploys_from_a_preset_and_completes_with_the_outcome(
    bot: BotProcess, slack: FakeSlack, sandbox: SandboxVendor
) -> None:
    """A preset fills what the inputs leave out; the step posts the channel message and its
    thread as a submission does (with the bot's token), and completes with the run's own
    token, its outputs filled, once Hiveon answered."""
    save_preset(bot, slack, "step-web", docker_server="", docker_login="", docker_password="")
    channel_id = channel()
    execution, token = run_step(
        bot,
        {"preset": "step-web", "ports": "8080", "channel_id": channel_id, "user_id": RUNNER},
    )
    done = completion(slack, execution, token)
    assert done.method == "functions.completeSuccess"
    outputs = done.params["outputs"]
    [created] = [
        d
        for d in sandbox.deployments()
        if d.external_deployment_id == outputs["external_deployment_id"]
    ]
    assert outputs == {
        "deployment_id": created.deployment_id,
        "external_deployment_id": created.external_deployment_id,
        "outcome": "started",
    }
    [start] = [
        r.json
        for r in sandbox.requests
        if r.path == START
        and isinstance(r.json, dict)
        and r.json.get("external_deployment_id") == outputs["external_deployment_id"]
    ]
    assert isinstance(start, dict)
    assert start["machine_id"] == MACHINE_ID
    assert start["machine_price_id"] == MACHINE_PRICE_ID
    assert start["container_config"]["image"] == "nginx:latest"
    assert start["container_config"]["ports"] == [
        {"host_port": 8080, "protocol": "PORT_PROTOCOL_TCP"}
    ]
    assert "docker_auth" not in start["container_config"]
    [parent] = parent_posts(slack, channel_id)
    assert parent.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert parent.params["text"].startswith("⏳ <@U111> is deploying `nginx:latest`")
    [reply] = thread_replies(slack, channel_id)
    assert reply.params["text"].startswith("✅ Deployment started")
    assert query(
        bot.database_url,
        "SELECT user_id, channel_id FROM deployments WHERE external_deployment_id = :id",
        id=outputs["external_deployment_id"],
    ) == [(RUNNER, channel_id)]


def test_the_step_without_a_preset_takes_every_field_from_its_inputs(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """Image, machine, price, ports and environment variables, each in the form's format."""
    channel_id = channel()
    execution, token = run_step(
        bot,
        {
            "image": "redis:7",
            "machine_id": MACHINE_ID,
            "machine_price_id": MACHINE_PRICE_ID,
            "ports": "6379",
            "environment_variables": "MODE=prod\nexport API_TOKEN=t-1",
            "channel_id": channel_id,
            "user_id": RUNNER,
        },
    )
    assert completion(slack, execution, token).method == "functions.completeSuccess"
    [parent] = parent_posts(slack, channel_id)
    assert "redis:7" in parent.params["text"]


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        (
            {"image": "nginx", "machine_id": "m-1", "ports": "70000"},
            (
                "The step's inputs cannot be deployed. Machine price ID: Enter the machine price "
                "ID.; Ports: Port 70000 is out of range: use 1–65535."
            ),
        ),
        (
            {"preset": "no-such-preset"},
            "This workspace has no preset “no-such-preset”. “/deploy presets” lists them.",
        ),
    ],
)
def test_inputs_the_form_would_refuse_fail_the_step_and_start_nothing(
    bot: BotProcess,
    slack: FakeSlack,
    sandbox: SandboxVendor,
    inputs: dict[str, str],
    error: str,
) -> None:
    """The inputs are checked as the form checks them: the step fails with each field's
    problem, nothing is posted and nothing reaches Hiveon."""
    starts = len([r for r in sandbox.requests if r.path == START])
    channel_id = channel()
    execution, token = run_step(bot, {**inputs, "channel_id": channel_id, "user_id": RUNNER})
    done = completion(slack, execution, token)
    assert done.method == "functions.completeError"
    assert done.params["error"] == error
    assert parent_posts(slack, channel_id) == []
    assert len([r for r in sandbox.requests if r.path == START]) == starts


def test_a_preset_with_a_private_registry_fails_the_step_saying_why(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """Its registry password is never kept and the step takes none: it fails, saying so."""
    save_preset(bot, slack, "step-private")
    channel_id = channel()
    execution, token = run_step(
        bot, {"preset": "step-private", "channel_id": channel_id, "user_id": RUNNER}
    )
    done = completion(slack, execution, token)
    assert done.method == "functions.completeError"
    assert done.params["error"] == (
        "The preset “step-private” logs in to the registry docker.private.io as username, and "
        "deploybot never keeps a registry password; the step has no input for one (Workflow "
        "Builder would store it in clear). Use a preset of a public image, or the deploy form."
    )
    assert parent_posts(slack, channel_id) == []


def test_who_may_deploy_applies_to_the_person_the_step_runs_for(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """In a workspace limited to one channel, the step for another channel fails with the
    refusal a user would read, and nothing is posted there."""
    channel_id = channel()
    execution, token = run_step(
        bot,
        {
            "image": "nginx",
            "machine_id": MACHINE_ID,
            "machine_price_id": MACHINE_PRICE_ID,
            "channel_id": channel_id,
            "user_id": RUNNER,
        },
        team_id=LOCKED,
    )
    done = completion(slack, execution, token)
    assert done.method == "functions.completeError"
    assert done.params["error"].startswith(
        f"🔒 Deploying from this workspace is limited to <#{ALLOWED_CHANNEL}>. Nothing was sent "
        "to Hiveon."
    )
    assert parent_posts(slack, channel_id) == []


@pytest.mark.parametrize(
    ("machine", "method", "says"),
    [
        ("fail-404", "functions.completeError", "❌ Machine “fail-404” was not found"),
        ("accept-then-500", "functions.completeSuccess", None),
    ],
)
def test_the_step_completes_once_the_outcome_is_known_even_after_an_unclear_answer(
    bot: BotProcess, slack: FakeSlack, machine: str, method: str, says: str | None
) -> None:
    """A refusal fails the step with the sentence its thread shows; an unclear answer is
    reconciled by external ID first, then the step completes as started."""
    channel_id = channel()
    execution, token = run_step(
        bot,
        {
            "image": "nginx",
            "machine_id": machine,
            "machine_price_id": MACHINE_PRICE_ID,
            "channel_id": channel_id,
            "user_id": RUNNER,
        },
    )
    done = completion(slack, execution, token)
    [reply] = thread_replies(slack, channel_id)
    assert done.method == method
    if says is not None:
        assert done.params["error"].startswith(says)
        assert reply.params["text"].startswith(f"❌ <@{RUNNER}> Machine `fail-404` was not found")
    else:
        assert done.params["outputs"]["outcome"] == "started"
        assert "looked it up by its external ID and found it" in reply.params["text"]


def test_a_step_without_a_channel_or_a_person_fails_saying_so(
    bot: BotProcess, slack: FakeSlack
) -> None:
    """Both are required: without them the step fails at once, saying what to set."""
    execution, token = run_step(bot, {"image": "nginx"})
    done = completion(slack, execution, token)
    assert done.method == "functions.completeError"
    assert done.params["error"] == (
        "The step needs a channel (where the deployment is posted) and a person (whose "
        "permissions apply); set both in Workflow Builder."
    )
