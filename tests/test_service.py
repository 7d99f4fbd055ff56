"""The deployment service with real parts: SQLite store, Hiveon client, fake Slack on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.deployment import MASK, StartDeploymentRequest
from bot.follow import Follower
from bot.http_transport import UntrustedCertificateError
from bot.messenger import Messenger
from bot.models import Deployment
from bot.sandbox import SandboxVendor
from bot.service import DeploymentService, Submission
from bot.store import Store
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.seed import EXTERNAL_ID, MACHINE_ID, start_body
from bot.vendor import HiveonClient

pytestmark = pytest.mark.e2e  # the fake Slack on loopback

API_KEY = "hk_test_0123456789abcdef"
REGISTRY_PASSWORD = "registry-pa55word-never-stored"
DB_PASSWORD = "db-hunter2-never-stored"
METADATA_TOKEN = "meta-token-never-stored"
SECRETS = (API_KEY, REGISTRY_PASSWORD, DB_PASSWORD, METADATA_TOKEN)
BASE_URL = "https://api.hiveon.test"
START = "/vendors/v1/machines/deployments/start"
LOOKUP = f"/vendors/v1/machines/deployments/{EXTERNAL_ID}"
DEPLOYMENT_ID = "dep-7f3a"
TEAM = "T111"
ENTERPRISE = "E111"
USER = "U111"
CHANNEL = "C0DEPLOY"
HTML_PAGE = "<html><body><h1>503 Service Unavailable</h1></body></html>"

Answer: TypeAlias = httpx.Response | Exception
Handler: TypeAlias = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]


def full_request(external_id: str = EXTERNAL_ID) -> StartDeploymentRequest:
    """The documented example request, with a private registry and secret-named values."""
    return StartDeploymentRequest.model_validate(sent_payload(external_id))


def sent_payload(external_id: str = EXTERNAL_ID) -> dict[str, Any]:
    """What Hiveon must receive for `full_request()`: every secret in clear."""
    return start_body(
        external_deployment_id=external_id,
        ssh_pub_keys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB alice@example"],
        container_config__docker_auth__password=REGISTRY_PASSWORD,
        container_config__environment_variables={"ENV_VAR1": "value1", "DB_PASSWORD": DB_PASSWORD},
        metadata={"team": "infra", "API_TOKEN": METADATA_TOKEN},
    )


def submission(external_id: str = EXTERNAL_ID) -> Submission:
    return Submission(
        team_id=TEAM,
        enterprise_id=ENTERPRISE,
        user_id=USER,
        channel_id=CHANNEL,
        request=full_request(external_id),
    )


def started(deployment_id: str = DEPLOYMENT_ID) -> httpx.Response:
    return httpx.Response(200, json={"deployment_id": deployment_id})


def found(deployment_id: str = DEPLOYMENT_ID) -> httpx.Response:
    """The look-up's answer when the start did happen."""
    return httpx.Response(
        200,
        json={
            "deployment_id": deployment_id,
            "machine_id": MACHINE_ID,
            "external_deployment_id": EXTERNAL_ID,
            "status": "STATUS_PENDING",
        },
    )


def not_found() -> httpx.Response:
    return httpx.Response(404, json={"error": "not found"})


def server_error(status: int = 500) -> httpx.Response:
    return httpx.Response(status, text=HTML_PAGE, headers={"Content-Type": "text/html"})


class ScriptedVendor:
    """A MockTransport handler: each path plays its own answers in order; any extra call fails."""

    def __init__(self, scripts: Mapping[str, Sequence[Answer]]) -> None:
        self._scripts = {path: list(answers) for path, answers in scripts.items()}
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        script = self._scripts.get(request.url.path)
        if not script:
            # Not an httpx error, so it escapes the client and fails the test loudly.
            raise AssertionError(f"unexpected {request.method} {request.url.path}")
        answer = script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def to(self, path: str) -> list[httpx.Request]:
        """The requests to one path, oldest first."""
        return [request for request in self.requests if request.url.path == path]

    @property
    def unplayed(self) -> dict[str, list[Answer]]:
        """Scripted answers nobody asked for."""
        return {path: answers for path, answers in self._scripts.items() if answers}


@dataclass
class Harness:
    """One deploybot without Bolt: the service over a store file, a vendor and the fake Slack."""

    store: Store
    db_path: Path
    slack: FakeSlack
    web: AsyncWebClient
    stack: AsyncExitStack
    key_lookups: list[tuple[str | None, str]] = field(default_factory=list)
    vendor_sleeps: list[float] = field(default_factory=list)

    async def service(
        self, vendor: ScriptedVendor | SandboxVendor | Handler, *, api_key: str | None = API_KEY
    ) -> DeploymentService:
        """A service calling `vendor` through the real client, closed when the test ends."""
        handler = vendor.handle if isinstance(vendor, SandboxVendor) else vendor
        client = HiveonClient(
            base_url=BASE_URL,
            timeout_s=5,
            transport=httpx.MockTransport(handler),
            sleep=self._record_sleep,
        )
        self.stack.push_async_callback(client.aclose)

        async def api_key_for(enterprise_id: str | None, team_id: str) -> str | None:
            self.key_lookups.append((enterprise_id, team_id))
            return api_key

        async def client_for(_enterprise_id: str | None, _team_id: str) -> AsyncWebClient:
            return self.web

        follower = Follower(
            store=self.store, vendor=client, api_key_for=api_key_for, client_for=client_for
        )
        return DeploymentService(
            store=self.store,
            vendor=client,
            api_key_for=api_key_for,
            client_for=client_for,
            follower=follower,
            reconcile_delays=(0, 0, 0),
        )

    def messenger(self, name: str = "cmd") -> Messenger:
        """The submitting user's messenger, with the response_url `name` of the fake Slack."""
        return Messenger(self.web, user_id=USER, response_url=self.slack.response_url(name))

    async def deploy(
        self,
        vendor: ScriptedVendor | SandboxVendor | Handler,
        *,
        api_key: str | None = API_KEY,
        external_id: str = EXTERNAL_ID,
    ) -> None:
        """Submit `submission(external_id)` once and wait until it is reported."""
        service = await self.service(vendor, api_key=api_key)
        await service.submit(submission(external_id), self.messenger())

    async def row(self, external_id: str = EXTERNAL_ID) -> Deployment:
        """The stored row of `submission(external_id)`."""
        row = await self.store.find(team_id=TEAM, external_deployment_id=external_id)
        assert row is not None
        return row

    def row_count(self) -> int:
        """Rows in the deployments table, read from the file by plain sqlite3."""
        with closing(sqlite3.connect(self.db_path)) as db:
            [(count,)] = db.execute("SELECT count(*) FROM deployments").fetchall()
        return int(count)

    def file_bytes(self) -> bytes:
        """Everything SQLite wrote to disk: the database, its WAL and shared memory files."""
        files = sorted(self.db_path.parent.glob(f"{self.db_path.name}*"))
        assert self.db_path in files
        return b"".join(path.read_bytes() for path in files)

    async def _record_sleep(self, seconds: float) -> None:
        self.vendor_sleeps.append(seconds)


@pytest.fixture(name="slack", scope="module")
def _slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(name="bot")
async def _bot(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[Harness]:
    slack.reset()
    db_path = tmp_path / "db.sqlite3"
    store = Store.from_url(f"sqlite:///{db_path}")
    await store.migrate()
    web = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(store.close)
        yield Harness(store, db_path, slack, web, stack)


def parents(slack: FakeSlack) -> list[Call]:
    """Top-level chat.postMessage calls."""
    return [call for call in slack.calls_to("chat.postMessage") if "thread_ts" not in call.params]


def replies(slack: FakeSlack) -> list[Call]:
    """Threaded chat.postMessage calls."""
    return [call for call in slack.calls_to("chat.postMessage") if "thread_ts" in call.params]


def shown(call: Call) -> str:
    """A message's text and blocks as one searchable string."""
    return str(call.params["text"]) + json.dumps(call.params.get("blocks", []), ensure_ascii=False)


def only_reply(slack: FakeSlack) -> Call:
    """The one thread reply, checked to sit under the one parent message in the channel."""
    [parent] = parents(slack)
    [reply] = replies(slack)
    # A start stays in the thread; anything else is shown in the channel too.
    started = reply.params["text"].startswith("✅")
    shown_parent, *broadcast = slack.messages(CHANNEL)
    assert reply.params.get("reply_broadcast") is (None if started else True)
    assert [(m["subtype"], m["text"]) for m in broadcast] == (
        [] if started else [("thread_broadcast", reply.params["text"])]
    )
    assert parent.params["channel"] == reply.params["channel"] == CHANNEL
    assert reply.params["thread_ts"] == shown_parent["ts"]
    assert reply.params["unfurl_links"] is False
    return reply


# --- the happy path ----------------------------------------------------------------------------


async def test_a_start_is_recorded_sent_posted_and_replied(bot: Harness) -> None:
    """A valid submission reaches Hiveon in full, posts a parent, replies the deployment ID in its
    thread, updates the parent and leaves a `started` row with where the message is."""
    sandbox = SandboxVendor(api_keys={API_KEY})
    await bot.deploy(sandbox)

    [deployment] = sandbox.deployments()
    [sent] = sandbox.requests
    assert (sent.method, sent.path) == ("POST", START)
    assert sent.headers["x-api-key"] == API_KEY
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == sent_payload()
    assert bot.key_lookups == [(ENTERPRISE, TEAM)]

    [parent] = parents(bot.slack)
    assert parent.params["channel"] == CHANNEL
    assert parent.params["unfurl_links"] is False
    assert parent.params["text"].startswith(f"⏳ <@{USER}> is deploying `nginx:latest`")
    assert EXTERNAL_ID in shown(parent)
    assert "80/tcp, 443/https" in shown(parent)
    reply = only_reply(bot.slack)
    assert reply.params["text"] == f"✅ Deployment started: `{deployment.deployment_id}`."
    assert "*HTTP status* 200" in shown(reply)
    assert f"*external_deployment_id* `{EXTERNAL_ID}`" in shown(reply)
    [update] = bot.slack.calls_to("chat.update")
    assert update.params["channel"] == CHANNEL
    assert update.params["ts"] == reply.params["thread_ts"]
    assert update.params["text"].startswith(f"✅ <@{USER}> started `nginx:latest`")
    assert deployment.deployment_id in shown(update)
    assert bot.slack.calls_to("response_url:cmd") == []

    row = await bot.row()
    assert row.status == "started"
    assert row.deployment_id == deployment.deployment_id
    assert row.http_status == 200
    assert row.error is None
    assert (row.team_id, row.enterprise_id, row.user_id, row.channel_id) == (
        TEAM,
        ENTERPRISE,
        USER,
        CHANNEL,
    )
    assert row.message_channel == CHANNEL
    assert row.message_ts == reply.params["thread_ts"]


async def test_the_stored_request_is_redacted_and_no_secret_reaches_the_file(
    bot: Harness,
) -> None:
    """The row keeps the request with the registry password and secret-named values masked, and
    the SQLite files on disk hold none of the secrets."""
    await bot.deploy(SandboxVendor(api_keys={API_KEY}))

    row = await bot.row()
    expected = sent_payload()
    expected["container_config"]["docker_auth"]["password"] = MASK
    expected["container_config"]["environment_variables"]["DB_PASSWORD"] = MASK
    expected["metadata"]["API_TOKEN"] = MASK
    assert row.request == expected

    on_disk = bot.file_bytes()
    # The row is on disk (a check that could not fail otherwise), its secrets are not.
    assert EXTERNAL_ID.encode() in on_disk
    assert b"docker.private.io" in on_disk
    for secret in SECRETS:
        assert secret.encode() not in on_disk
    slack_saw = json.dumps([call.params for call in bot.slack.calls])
    for secret in SECRETS:
        assert secret not in slack_saw


async def test_the_row_is_written_before_hiveon_is_called(bot: Harness) -> None:
    """When the vendor receives the start, the submission is already stored as `submitting`."""
    seen: list[str | None] = []

    async def vendor(request: httpx.Request) -> httpx.Response:
        assert request.url.path == START
        row = await bot.store.find(team_id=TEAM, external_deployment_id=EXTERNAL_ID)
        seen.append(None if row is None else row.status)
        return started()

    await bot.deploy(vendor)

    assert seen == ["submitting"]
    assert (await bot.row()).status == "started"


# --- idempotency -------------------------------------------------------------------------------


async def test_the_same_submission_twice_starts_once(bot: Harness) -> None:
    """A second delivery of a submitted form starts nothing and tells its user, ephemerally."""
    sandbox = SandboxVendor(api_keys={API_KEY})
    service = await bot.service(sandbox)

    await service.submit(submission(), bot.messenger("first"))
    await service.submit(submission(), bot.messenger("second"))

    assert sandbox.starts_for(EXTERNAL_ID) == 1
    assert len(sandbox.requests) == 1
    assert bot.row_count() == 1
    assert len(parents(bot.slack)) == 1
    assert len(replies(bot.slack)) == 1
    assert bot.slack.calls_to("response_url:first") == []
    [notice] = bot.slack.calls_to("response_url:second")
    assert notice.params["response_type"] == "ephemeral"
    assert notice.params["replace_original"] is False
    assert "already submitted" in notice.params["text"]
    assert f"`{EXTERNAL_ID}`" in notice.params["text"]
    assert (await bot.row()).status == "started"


async def test_the_same_submission_twice_at_once_starts_once(bot: Harness) -> None:
    """Two concurrent deliveries of one form make one row and one start; one user is told."""
    sandbox = SandboxVendor(api_keys={API_KEY})
    service = await bot.service(sandbox)

    await asyncio.gather(
        service.submit(submission(), bot.messenger("first")),
        service.submit(submission(), bot.messenger("second")),
    )

    assert sandbox.starts_for(EXTERNAL_ID) == 1
    assert bot.row_count() == 1
    assert len(parents(bot.slack)) == 1
    assert len(replies(bot.slack)) == 1
    [notice] = bot.slack.calls_to("response_url:first") + bot.slack.calls_to("response_url:second")
    assert notice.params["response_type"] == "ephemeral"
    assert "already submitted" in notice.params["text"]
    row = await bot.row()
    assert (row.status, row.deployment_id) == ("started", sandbox.deployments()[0].deployment_id)


# --- unclear answers: retry and reconcile ------------------------------------------------------


async def test_unreachable_once_is_retried_and_starts(bot: Harness) -> None:
    """A connection that never opened is retried once with the same body, without a look-up."""
    vendor = ScriptedVendor({START: [httpx.ConnectError("connection refused"), started()]})
    await bot.deploy(vendor)

    first, second = vendor.to(START)
    assert json.loads(first.content) == json.loads(second.content) == sent_payload()
    assert vendor.to(LOOKUP) == []
    assert vendor.unplayed == {}
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "started",
        DEPLOYMENT_ID,
        200,
        None,
    )
    assert only_reply(bot.slack).params["text"] == f"✅ Deployment started: `{DEPLOYMENT_ID}`."


@pytest.mark.parametrize(
    ("errors", "stored", "headline", "next_step"),
    [
        (
            [httpx.ConnectError("refused"), httpx.ConnectError("refused")],
            "connection failed",
            "Hiveon could not be reached (connection failed), so nothing was started.",
            "It is safe to retry: run `/deploy` again",
        ),
        (
            # Not tried again: the second attempt would meet the same certificate.
            [UntrustedCertificateError("certificate verify failed: self-signed certificate")],
            "its TLS certificate could not be verified",
            (
                "Hiveon's TLS certificate could not be verified, so nothing was sent and nothing "
                "was started."
            ),
            (
                "Retrying will not help until whoever runs deploybot makes the certificate "
                "trusted (the machine's CA certificates, or `SSL_CERT_FILE`): tell them."
            ),
        ),
    ],
    ids=["refused-twice", "untrusted-certificate"],
)
async def test_unreachable_fails_after_its_attempts_with_the_next_step(
    bot: Harness, errors: list[Exception], stored: str, headline: str, next_step: str
) -> None:
    """A connection that failed twice, or once on a certificate that could not be verified,
    ends the submission as failed, saying why and what to do next."""
    vendor = ScriptedVendor({START: errors})
    await bot.deploy(vendor)

    assert len(vendor.to(START)) == len(errors)
    assert vendor.to(LOOKUP) == []
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "failed",
        None,
        None,
        stored,
    )
    reply = only_reply(bot.slack)
    assert reply.params["text"] == f"❌ <@{USER}> {headline}"
    assert reply.params["reply_broadcast"] is True
    assert next_step in shown(reply)
    assert "*HTTP status* no response" in shown(reply)
    [update] = bot.slack.calls_to("chat.update")
    assert update.params["text"].startswith(f"❌ <@{USER}>'s `nginx:latest` failed")


async def test_a_gateway_error_not_found_by_look_up_is_retried_once(bot: Harness) -> None:
    """A 503 whose look-up finds nothing is started again, once, and that start is reported."""
    vendor = ScriptedVendor({START: [server_error(503), started()], LOOKUP: [not_found()]})
    await bot.deploy(vendor)

    assert [request.url.path for request in vendor.requests] == [START, LOOKUP, START]
    [lookup] = vendor.to(LOOKUP)
    assert lookup.method == "GET"
    assert lookup.headers["x-api-key"] == API_KEY
    assert vendor.unplayed == {}
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status) == ("started", DEPLOYMENT_ID, 200)
    assert only_reply(bot.slack).params["text"] == f"✅ Deployment started: `{DEPLOYMENT_ID}`."


async def test_a_server_error_not_found_by_look_up_is_not_retried(bot: Harness) -> None:
    """A 500 may have started something, so a look-up that finds nothing ends it as failed."""
    vendor = ScriptedVendor({START: [server_error(500)], LOOKUP: [not_found()]})
    await bot.deploy(vendor)

    assert [request.url.path for request in vendor.requests] == [START, LOOKUP]
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "failed",
        None,
        500,
        "HTTP 500, server error",
    )
    reply = only_reply(bot.slack)
    assert reply.params["text"] == (
        f"❌ <@{USER}> Hiveon failed (HTTP 500, server error) and a look-up by external ID found "
        "nothing, so nothing was started."
    )
    assert "*HTTP status* 500" in shown(reply)
    assert "<html" not in shown(reply)


async def test_a_server_error_found_by_look_up_is_reported_started(bot: Harness) -> None:
    """A 500 for a start the look-up finds is reported as started, keeping the 500, never resent."""
    vendor = ScriptedVendor({START: [server_error(500)], LOOKUP: [found("dep-found")]})
    await bot.deploy(vendor)

    assert len(vendor.to(START)) == 1
    assert len(vendor.to(LOOKUP)) == 1
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "started",
        "dep-found",
        500,
        None,
    )
    reply = only_reply(bot.slack)
    assert reply.params["text"].startswith("✅ Deployment started: `dep-found`.")
    assert "looked it up by its external ID and found it" in reply.params["text"]
    assert "*HTTP status* 500" in shown(reply)


async def test_a_timeout_whose_look_ups_fail_is_unknown(bot: Harness) -> None:
    """A timeout followed by three failed look-ups is stored `unknown` and the user is told to
    look the deployment up before deploying again."""
    lookups: list[Answer] = [server_error(500), server_error(500), server_error(500)]
    vendor = ScriptedVendor({START: [httpx.ReadTimeout("no answer")], LOOKUP: lookups})
    await bot.deploy(vendor)

    assert len(vendor.to(START)) == 1
    assert len(vendor.to(LOOKUP)) == 3
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "unknown",
        None,
        None,
        "no answer in time",
    )
    reply = only_reply(bot.slack)
    assert reply.params["text"].startswith(f"⚠️ <@{USER}> The outcome is unknown")
    assert (
        f"Do not deploy again blindly: look up `{EXTERNAL_ID}` in Hiveon first; "
        "if it is not there, run `/deploy` again."
    ) in shown(reply)
    [update] = bot.slack.calls_to("chat.update")
    assert update.params["text"].startswith("⚠️")


async def test_a_look_up_that_fails_is_tried_again(bot: Harness) -> None:
    """Look-ups that fail are repeated until one answers; the one that finds it settles it."""
    lookups: list[Answer] = [httpx.ConnectError("refused"), server_error(502), found()]
    vendor = ScriptedVendor({START: [httpx.RemoteProtocolError("reset")], LOOKUP: lookups})
    await bot.deploy(vendor)

    assert len(vendor.to(START)) == 1
    assert vendor.unplayed == {}
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status) == ("started", DEPLOYMENT_ID, None)
    assert "*HTTP status* no response" in shown(only_reply(bot.slack))


@pytest.mark.parametrize("external_id", [".", ".."])
async def test_an_external_id_that_cannot_be_looked_up_is_unknown(
    bot: Harness, external_id: str
) -> None:
    """An unclear answer for an external ID no look-up URL can address (the form accepts `.`)
    still settles the row as unknown and tells the user, instead of leaving it `submitting`."""
    vendor = ScriptedVendor({START: [server_error(500)]})
    await bot.deploy(vendor, external_id=external_id)

    assert len(vendor.requests) == 1
    row = await bot.row(external_id)
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "unknown",
        None,
        500,
        "HTTP 500, server error",
    )
    reply = only_reply(bot.slack)
    assert reply.params["text"].startswith(f"⚠️ <@{USER}> The outcome is unknown")
    assert f"look up `{external_id}` in Hiveon first" in shown(reply)


# --- answers that are not this submission's, or not plain -------------------------------------


@pytest.mark.parametrize(
    "answered_external_id",
    [
        pytest.param({"external_deployment_id": "someone-elses-external-id"}, id="another"),
        pytest.param({}, id="none"),
    ],
)
async def test_a_look_up_finding_another_submissions_deployment_does_not_take_it(
    bot: Harness, caplog: pytest.LogCaptureFixture, answered_external_id: dict[str, str]
) -> None:
    """The vendor's look-up also matches deployment IDs: a deployment it finds whose own
    external ID is not this submission's is not recorded; the outcome is unknown, at once."""
    theirs = {"deployment_id": "dep-someone-else", "status": "STATUS_RUNNING"}
    lookup = httpx.Response(200, json={**theirs, **answered_external_id})
    vendor = ScriptedVendor({START: [server_error(500)], LOOKUP: [lookup]})
    caplog.set_level(logging.WARNING, logger="bot.service")
    await bot.deploy(vendor)

    assert len(vendor.to(START)) == 1
    assert len(vendor.to(LOOKUP)) == 1
    row = await bot.row()
    assert (row.status, row.deployment_id, row.next_poll_at) == ("unknown", None, None)
    reply = only_reply(bot.slack)
    assert reply.params["text"].startswith(f"⚠️ <@{USER}> The outcome is unknown")
    assert "dep-someone-else" not in json.dumps([call.params for call in bot.slack.calls])
    [warning] = [r.getMessage() for r in caplog.records if r.name == "bot.service"]
    assert warning == (
        f"look-up of {EXTERNAL_ID} answered deployment dep-someone-else, started under another "
        "external ID; the outcome stays unknown"
    )


async def test_a_start_answering_an_id_of_slack_markup_is_reconciled(bot: Harness) -> None:
    """A 200 whose `deployment_id` is Slack markup is unclear, like a 200 without one: the
    look-up by external ID finds the real, plain ID, which alone is stored and shown."""
    markup = httpx.Response(200, json={"deployment_id": "<!channel>"})
    vendor = ScriptedVendor({START: [markup], LOOKUP: [found()]})
    await bot.deploy(vendor)

    assert len(vendor.to(START)) == 1
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status) == ("started", DEPLOYMENT_ID, 200)
    reply = only_reply(bot.slack)
    assert reply.params["text"].startswith(f"✅ Deployment started: `{DEPLOYMENT_ID}`.")
    assert "unreadable response" in reply.params["text"]
    assert "<!channel>" not in json.dumps([call.params for call in bot.slack.calls])


async def test_a_look_up_answering_slack_markup_is_unknown_after_its_retries(
    bot: Harness,
) -> None:
    """Look-ups whose answers carry a `deployment_id` of Slack markup are unclear; after the
    retries the outcome is unknown and nothing of them is stored or shown."""
    markup = {"deployment_id": "<!channel>", "external_deployment_id": EXTERNAL_ID}
    lookups: list[Answer] = [httpx.Response(200, json=markup) for _ in range(3)]
    vendor = ScriptedVendor({START: [server_error(500)], LOOKUP: lookups})
    await bot.deploy(vendor)

    assert vendor.unplayed == {}
    row = await bot.row()
    assert (row.status, row.deployment_id) == ("unknown", None)
    assert only_reply(bot.slack).params["text"].startswith(f"⚠️ <@{USER}> The outcome is unknown")
    assert "<!channel>" not in json.dumps([call.params for call in bot.slack.calls])


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error", "says"),
    [
        (
            httpx.Response(400, json={"error": "machine_price_id does not belong to machine"}),
            "HTTP 400: machine_price_id does not belong to machine",
            (
                f"❌ <@{USER}> Hiveon rejected the request, nothing was started. Hiveon says: "
                "“machine_price_id does not belong to machine”"
            ),
        ),
        (
            httpx.Response(401, json={"error": "invalid API key"}),
            "HTTP 401: invalid API key",
            f"❌ <@{USER}> Hiveon refused this workspace's API key, nothing was started.",
        ),
        (
            httpx.Response(403, json={"message": "forbidden"}),
            "HTTP 403: forbidden",
            (
                f"❌ <@{USER}> This workspace's API key lacks the role to deploy on machine "
                f"`{MACHINE_ID}`; nothing started."
            ),
        ),
        (
            httpx.Response(404, json={"error": "machine not found"}),
            "HTTP 404: machine not found",
            f"❌ <@{USER}> Machine `{MACHINE_ID}` was not found, nothing was started.",
        ),
        (
            httpx.Response(400, text=HTML_PAGE, headers={"Content-Type": "text/html"}),
            "HTTP 400",
            f"❌ <@{USER}> Hiveon rejected the request, nothing was started.",
        ),
    ],
)
async def test_a_refusal_is_stored_and_replied(
    bot: Harness, answer: httpx.Response, error: str, says: str
) -> None:
    """A 4xx ends the submission as failed after one start: its status and short vendor text
    are stored and shown, with a next step."""
    vendor = ScriptedVendor({START: [answer]})
    await bot.deploy(vendor)

    assert len(vendor.requests) == 1
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status, row.error) == (
        "failed",
        None,
        answer.status_code,
        error,
    )
    reply = only_reply(bot.slack)
    assert reply.params["text"].startswith(says)
    assert "*Next:*" in shown(reply)
    assert f"*HTTP status* {answer.status_code}" in shown(reply)
    assert f"`{EXTERNAL_ID}`" in shown(reply)
    assert "<html" not in shown(reply)


async def test_a_rate_limit_is_retried_by_the_client_then_reported(bot: Harness) -> None:
    """429s are retried after Retry-After by the client; still limited, the row fails with 429."""
    limited = [
        httpx.Response(429, json={"error": "rate limit exceeded"}, headers={"Retry-After": "2"})
        for _ in range(3)
    ]
    vendor = ScriptedVendor({START: limited})
    await bot.deploy(vendor)

    assert len(vendor.to(START)) == 3
    assert bot.vendor_sleeps == [2.0, 2.0]
    row = await bot.row()
    assert (row.status, row.http_status, row.error) == (
        "failed",
        429,
        "HTTP 429: rate limit exceeded",
    )
    assert "rate-limiting" in only_reply(bot.slack).params["text"]


async def test_a_vendor_echoing_a_secret_leaves_it_out_of_the_row_and_slack(bot: Harness) -> None:
    """A vendor error quoting the registry password is stored and shown with it masked."""
    echo = httpx.Response(400, json={"error": f"cannot log in with {REGISTRY_PASSWORD}"})
    await bot.deploy(ScriptedVendor({START: [echo]}))

    row = await bot.row()
    assert row.error == f"HTTP 400: cannot log in with {MASK}"
    assert REGISTRY_PASSWORD.encode() not in bot.file_bytes()
    assert REGISTRY_PASSWORD not in json.dumps([call.params for call in bot.slack.calls])


async def test_without_an_api_key_nothing_is_sent_stored_or_posted(bot: Harness) -> None:
    """A workspace without a key sends nothing to Hiveon, stores nothing, posts nothing in the
    channel, and its user is told ephemerally who must set a key."""
    vendor = ScriptedVendor({})
    await bot.deploy(vendor, api_key=None)

    assert vendor.requests == []
    assert bot.key_lookups == [(ENTERPRISE, TEAM)]
    assert bot.row_count() == 0
    assert bot.slack.calls_to("chat.postMessage") == []
    [told] = bot.slack.calls_to("response_url:cmd")
    assert told.params["response_type"] == "ephemeral"
    assert told.params["text"] == (
        "❌ This workspace has no Hiveon API key, so nothing was sent to Hiveon. "
        "A workspace admin must set one with `/deploy api-key` (or whoever runs deploybot, "
        "a default `HIVEON_API_KEY`)."
    )


# --- Slack failures never lose the outcome -----------------------------------------------------


async def test_a_channel_that_refuses_the_bot_falls_back_to_the_response_url(
    bot: Harness,
) -> None:
    """`channel_not_found` sends the parent and the outcome through the response_url, in channel."""
    bot.slack.private_channels.add(CHANNEL)
    await bot.deploy(ScriptedVendor({START: [started()]}))

    [refused] = bot.slack.calls_to("chat.postMessage")
    assert refused.params["channel"] == CHANNEL
    assert bot.slack.calls_to("conversations.join") == []
    parent, outcome = bot.slack.calls_to("response_url:cmd")
    assert parent.params["response_type"] == outcome.params["response_type"] == "in_channel"
    assert parent.params["replace_original"] is outcome.params["replace_original"] is False
    assert parent.params["text"].startswith(f"⏳ <@{USER}> is deploying `nginx:latest`")
    assert outcome.params["text"] == f"✅ Deployment started: `{DEPLOYMENT_ID}`."
    assert bot.slack.calls_to("chat.update") == []
    row = await bot.row()
    assert (row.status, row.deployment_id) == ("started", DEPLOYMENT_ID)
    assert (row.message_channel, row.message_ts) == (None, None)


async def test_when_the_response_url_fails_too_the_user_gets_a_dm(bot: Harness) -> None:
    """With the channel and the response_url both refusing, parent and reply go to the user's DM."""
    bot.slack.private_channels.add(CHANNEL)
    bot.slack.fail_response_url("cmd", status=404, times=None)
    await bot.deploy(ScriptedVendor({START: [started()]}))

    refused, dm_parent, dm_reply = bot.slack.calls_to("chat.postMessage")
    assert refused.params["channel"] == CHANNEL
    assert dm_parent.params["channel"] == USER
    assert dm_parent.params["text"].startswith(f"⏳ <@{USER}> is deploying")
    [dm] = bot.slack.messages(dm_reply.params["channel"])
    assert dm_reply.params["thread_ts"] == dm["ts"]
    assert dm_reply.params["text"] == f"✅ Deployment started: `{DEPLOYMENT_ID}`."
    assert len(bot.slack.calls_to("response_url:cmd")) == 1
    [update] = bot.slack.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (dm_reply.params["channel"], dm["ts"])
    row = await bot.row()
    assert row.status == "started"
    assert (row.message_channel, row.message_ts) == (dm_reply.params["channel"], dm["ts"])
    assert row.message_channel != CHANNEL


async def test_a_failed_thread_reply_falls_back_to_the_response_url(bot: Harness) -> None:
    """When only the thread reply is refused, the outcome goes through the response_url."""
    bot.slack.fail(
        "chat.postMessage", "channel_not_found", where=lambda params: "thread_ts" in params
    )
    await bot.deploy(ScriptedVendor({START: [started()]}))

    [parent] = parents(bot.slack)
    [refused] = replies(bot.slack)
    assert refused.params["thread_ts"] == bot.slack.messages(CHANNEL)[0]["ts"]
    [outcome] = bot.slack.calls_to("response_url:cmd")
    assert outcome.params["response_type"] == "in_channel"
    assert outcome.params["text"] == f"✅ Deployment started: `{DEPLOYMENT_ID}`."
    [update] = bot.slack.calls_to("chat.update")
    assert update.params["ts"] == refused.params["thread_ts"]
    row = await bot.row()
    assert row.status == "started"
    assert (row.message_channel, row.message_ts) == (CHANNEL, refused.params["thread_ts"])
    assert parent.params["channel"] == CHANNEL


async def test_a_failed_parent_update_is_logged_and_the_reply_stands(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused chat.update is logged as a warning; the thread reply has already been delivered."""
    bot.slack.fail("chat.update", "message_not_found")
    with caplog.at_level(logging.WARNING, logger="bot.messenger"):
        await bot.deploy(ScriptedVendor({START: [started()]}))

    reply = only_reply(bot.slack)
    assert reply.params["text"] == f"✅ Deployment started: `{DEPLOYMENT_ID}`."
    [update] = bot.slack.calls_to("chat.update")
    assert update.params["ts"] == reply.params["thread_ts"]
    assert [record.getMessage() for record in caplog.records] == [
        "updating the parent message failed"
    ]
    assert bot.slack.calls_to("response_url:cmd") == []
    assert (await bot.row()).status == "started"


async def test_when_slack_refuses_everything_the_outcome_is_still_stored(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """With every way to the user refused, the start still happens and its row records it."""
    bot.slack.fail("chat.postMessage", "channel_not_found", times=None)
    bot.slack.fail_response_url("cmd", status=410, times=None)
    with caplog.at_level(logging.ERROR, logger="bot.messenger"):
        await bot.deploy(ScriptedVendor({START: [started()]}))

    assert [call.params["channel"] for call in bot.slack.calls_to("chat.postMessage")] == [
        CHANNEL,
        USER,
        USER,
    ]
    assert len(bot.slack.calls_to("response_url:cmd")) == 2
    assert bot.slack.calls_to("chat.update") == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"could not reach user {USER} by any way; the outcome is only in the log"
    ] * 2
    row = await bot.row()
    assert (row.status, row.deployment_id, row.http_status) == ("started", DEPLOYMENT_ID, 200)
    assert (row.message_channel, row.message_ts) == (None, None)


async def test_only_the_external_id_deploybot_made_skips_the_deployment_id_check(
    bot: Harness,
) -> None:
    """A workspace's deployment ID typed as the external ID is refused, even over a form whose
    own ID deploybot made; the ID deploybot made is taken without reading the database (shown
    here by a contrived collision the look-up would have refused)."""
    sandbox = SandboxVendor(api_keys={API_KEY})
    await bot.deploy(sandbox)
    [deployment] = sandbox.deployments()
    service = await bot.service(sandbox)
    typed = full_request(external_id=deployment.deployment_id)

    refused = await service.check_submission(TEAM, typed, minted_id="a-fresh-uuid")
    taken = await service.check_submission(TEAM, typed, minted_id=deployment.deployment_id)

    assert refused == {
        "external_deployment_id": "This is the Hiveon ID of a deployment in this workspace, so "
        "it cannot name a new one: keep the prefilled ID or enter a new one."
    }
    assert taken == typed
