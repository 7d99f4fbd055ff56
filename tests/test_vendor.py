"""Tests of the Hiveon client over `httpx.MockTransport`: the wire format and every outcome."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot import vendor
from bot.deployment import MASK, StartDeploymentRequest
from bot.http_transport import UntrustedCertificateError
from bot.sandbox import SLACK_MARKUP, SandboxVendor
from bot.testing.seed import EXTERNAL_ID, MACHINE_ID, MACHINE_PRICE_ID, start_body
from bot.vendor import (
    DeploymentStatus,
    FailReason,
    HiveonClient,
    HiveonError,
    HiveonRejectedError,
    HiveonUncertainError,
    HiveonUnreachableError,
    StartedDeployment,
)

API_KEY = "hk_live_0123456789abcdef"
REGISTRY_PASSWORD = "registry-pa55word"
DB_PASSWORD = "db-hunter2-secret"
BASE_URL = "https://api.hiveon.test"
START_URL = f"{BASE_URL}/vendors/v1/machines/deployments/start"
DEPLOYMENT_ID = "a1b2c3d4-5678-90ef-ghij-klmnopqrstuv"
HTML_PAGE = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"

Handler = Callable[[httpx.Request], httpx.Response]
AsyncHandler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]
MIB = 1024 * 1024


def full_request() -> StartDeploymentRequest:
    """The documented example request, with an SSH key, a registry password and an
    environment variable worth hiding."""
    return StartDeploymentRequest.model_validate(
        start_body(
            ssh_pub_keys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB alice@example"],
            container_config__docker_auth__password=REGISTRY_PASSWORD,
            container_config__environment_variables={
                "ENV_VAR1": "value1",
                "DB_PASSWORD": DB_PASSWORD,
            },
        )
    )


def minimal_request() -> StartDeploymentRequest:
    return StartDeploymentRequest.model_validate(
        {
            "machine_id": "machine-1",
            "machine_price_id": "price-1",
            "container_config": {"image": "nginx:latest"},
        }
    )


class Recorder:
    """A MockTransport handler that records requests and plays back canned responses."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class Sleeps(list[float]):
    """An injectable `sleep` that records the delays instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def started(deployment_id: str = DEPLOYMENT_ID) -> httpx.Response:
    return httpx.Response(200, json={"deployment_id": deployment_id})


def client_for(
    handler: Handler | AsyncHandler | SandboxVendor,
    *,
    base_url: str = BASE_URL,
    sleep: Sleeps | None = None,
    timeout_s: float = 5,
) -> HiveonClient:
    transport = httpx.MockTransport(
        handler.handle if isinstance(handler, SandboxVendor) else handler
    )
    return HiveonClient(
        base_url=base_url,
        timeout_s=timeout_s,
        transport=transport,
        sleep=Sleeps() if sleep is None else sleep,
    )


async def start_with(*responses: httpx.Response | Exception, **options: Any) -> StartedDeployment:
    async with client_for(Recorder(*responses), **options) as client:
        return await client.start_deployment(minimal_request(), api_key=API_KEY)


class TestStartRequest:
    async def test_headers(self) -> None:
        """A start carries the API key, JSON content negotiation and the bot's user agent."""
        recorder = Recorder(started())
        async with client_for(recorder) as client:
            await client.start_deployment(minimal_request(), api_key=API_KEY)

        (request,) = recorder.requests
        assert request.method == "POST"
        assert str(request.url) == START_URL
        assert request.headers["X-API-Key"] == API_KEY
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Accept-Encoding"] == "identity"
        assert request.headers["User-Agent"] == "deploybot/0.1"

    async def test_full_body(self) -> None:
        """Every field of a full request reaches the vendor as the seed spells it."""
        recorder = Recorder(started())
        async with client_for(recorder) as client:
            await client.start_deployment(full_request(), api_key=API_KEY)

        body = json.loads(recorder.requests[0].content)
        assert body["machine_id"] == MACHINE_ID
        assert body["machine_price_id"] == MACHINE_PRICE_ID
        assert body["external_deployment_id"] == EXTERNAL_ID
        assert body["ssh_pub_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB alice@example"]
        assert body["metadata"] == {"additional_key": "additional_value"}
        config = body["container_config"]
        assert config["image"] == "nginx:latest"
        assert config["docker_auth"] == {
            "server": "docker.private.io",
            "login": "username",
            "password": REGISTRY_PASSWORD,
        }
        assert config["ports"] == [
            {"host_port": 80, "protocol": "PORT_PROTOCOL_TCP"},
            {"host_port": 443, "protocol": "PORT_PROTOCOL_HTTPS"},
        ]
        assert config["startup_script"] == "echo 'Hello, World!' > /var/www/html/index.html"
        assert config["environment_variables"] == {"ENV_VAR1": "value1", "DB_PASSWORD": DB_PASSWORD}
        assert set(body) == {
            "machine_id",
            "machine_price_id",
            "external_deployment_id",
            "ssh_pub_keys",
            "container_config",
            "metadata",
        }

    async def test_minimal_body(self) -> None:
        """A minimal request sends only the required fields: no null, no empty objects."""
        recorder = Recorder(started())
        async with client_for(recorder) as client:
            await client.start_deployment(minimal_request(), api_key=API_KEY)

        content = recorder.requests[0].content
        assert json.loads(content) == {
            "machine_id": "machine-1",
            "machine_price_id": "price-1",
            "container_config": {"image": "nginx:latest"},
        }
        assert b"null" not in content
        assert b"docker_auth" not in content

    @pytest.mark.parametrize(
        ("base_url", "root"),
        [
            ("https://api.hiveon.test", "https://api.hiveon.test"),
            ("https://api.hiveon.test/", "https://api.hiveon.test"),
            ("http://proxy.test/hiveon", "http://proxy.test/hiveon"),
            ("http://proxy.test/hiveon/", "http://proxy.test/hiveon"),
        ],
    )
    async def test_base_url_joining(self, base_url: str, root: str) -> None:
        """The vendor path is appended to the base URL with exactly one slash, prefix kept."""
        recorder = Recorder(started())
        async with client_for(recorder, base_url=base_url) as client:
            await client.start_deployment(minimal_request(), api_key=API_KEY)

        assert str(recorder.requests[0].url) == f"{root}/vendors/v1/machines/deployments/start"

    async def test_unsendable_key(self) -> None:
        """A key a header cannot carry is refused before sending, without quoting it."""
        recorder = Recorder(started())
        async with client_for(recorder) as client:
            with pytest.raises(ValueError, match="api_key") as caught:
                await client.start_deployment(minimal_request(), api_key="abc\r\ndef")

        assert "abc" not in str(caught.value)
        assert recorder.requests == []


class TestStartOutcomes:
    async def test_started(self) -> None:
        """A 200 with a deployment_id is a started deployment."""
        assert await start_with(started("dep-1")) == StartedDeployment("dep-1")

    @pytest.mark.parametrize(
        ("response", "message"),
        [
            (
                httpx.Response(400, json={"error": "image must not be empty"}),
                "image must not be empty",
            ),
            (httpx.Response(401, json={"message": "unauthorized"}), "unauthorized"),
            (httpx.Response(403, text="missing role vendor.deploy"), "missing role vendor.deploy"),
            (httpx.Response(404, json={"error": "machine not found"}), "machine not found"),
            (httpx.Response(409, json={"error": "  already\n  exists "}), "already exists"),
            (httpx.Response(422, json={"error": ["not", "text"]}), None),
            (httpx.Response(400, json=["error"]), None),
            (httpx.Response(400, text="x" * 301), None),
            (httpx.Response(400, text="one\ntwo\nthree\nfour"), None),
            (httpx.Response(400, text="bell\x07"), None),
            (httpx.Response(400, json={"error": "<b>bold</b> move"}), None),
            (httpx.Response(404, html=HTML_PAGE), None),
            (httpx.Response(400, content=b"plain but untyped"), None),
        ],
    )
    async def test_rejected(self, response: httpx.Response, message: str | None) -> None:
        """A 4xx is a rejection quoting the vendor's text only when it is short plain text."""
        with pytest.raises(HiveonRejectedError) as caught:
            await start_with(response)

        assert caught.value.status_code == response.status_code
        assert caught.value.message == message
        assert "<" not in str(caught.value)

    async def test_rate_limit_retried(self) -> None:
        """A 429 is retried after its Retry-After, and the retry's answer counts."""
        sleeps = Sleeps()
        recorder = Recorder(httpx.Response(429, headers={"Retry-After": "3"}), started())
        async with client_for(recorder, sleep=sleeps) as client:
            result = await client.start_deployment(minimal_request(), api_key=API_KEY)

        assert result == StartedDeployment(DEPLOYMENT_ID)
        assert sleeps == [3.0]
        assert len(recorder.requests) == 2

    async def test_rate_limit_exhausted(self) -> None:
        """After two retries a 429 is a rejection; a missing Retry-After means one second."""
        sleeps = Sleeps()
        recorder = Recorder(httpx.Response(429, json={"error": "slow down"}))
        async with client_for(recorder, sleep=sleeps) as client:
            with pytest.raises(HiveonRejectedError) as caught:
                await client.start_deployment(minimal_request(), api_key=API_KEY)

        assert (caught.value.status_code, caught.value.message) == (429, "slow down")
        assert sleeps == [1.0, 1.0]
        assert len(recorder.requests) == 3

    @pytest.mark.parametrize(
        ("retry_after", "expected"),
        [
            ("0", 0.0),
            ("2.5", 2.5),
            ("3600", 10.0),
            ("soon", 1.0),
            ("nan", 1.0),
            ("-5", 0.0),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
            ("Fri, 01 Jan 2100 00:00:00 GMT", 10.0),
        ],
    )
    async def test_retry_after_forms(self, retry_after: str, expected: float) -> None:
        """Retry-After is read as seconds or an HTTP-date, never negative, capped at the maximum."""
        sleeps = Sleeps()
        await start_with(
            httpx.Response(429, headers={"Retry-After": retry_after}), started(), sleep=sleeps
        )

        assert sleeps == [expected]

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    async def test_server_error_uncertain(self, status: int) -> None:
        """A 5xx may have been processed: uncertain, and its HTML page is never quoted."""
        with pytest.raises(HiveonUncertainError) as caught:
            await start_with(httpx.Response(status, html=HTML_PAGE))

        assert caught.value.status_code == status
        assert caught.value.reason == "server error"
        assert "<" not in str(caught.value)

    @pytest.mark.parametrize(
        "response",
        [
            httpx.Response(200, text="OK"),
            httpx.Response(200, html=HTML_PAGE),
            httpx.Response(200, json={}),
            httpx.Response(200, json={"deployment_id": ""}),
            httpx.Response(200, json={"deployment_id": 42}),
            httpx.Response(200, json=["dep-1"]),
            httpx.Response(201, content=b"\xff\xfe"),
        ],
    )
    async def test_unreadable_success_uncertain(self, response: httpx.Response) -> None:
        """A 2xx without a readable deployment_id leaves the outcome unknown."""
        with pytest.raises(HiveonUncertainError) as caught:
            await start_with(response)

        assert caught.value.status_code == response.status_code
        assert caught.value.reason == "unreadable response"

    async def test_redirect_uncertain(self) -> None:
        """A redirect is not followed (a POST must not be replayed) and is reported uncertain."""
        with pytest.raises(HiveonUncertainError) as caught:
            await start_with(httpx.Response(307, headers={"Location": "https://elsewhere.test/"}))

        assert caught.value.status_code == 307

    @pytest.mark.parametrize(
        ("error", "expected"),
        [
            (httpx.ConnectError("refused"), HiveonUnreachableError),
            (httpx.ConnectTimeout("slow connect"), HiveonUnreachableError),
            (httpx.PoolTimeout("pool"), HiveonUnreachableError),
            (httpx.ReadTimeout("no answer"), HiveonUncertainError),
            (httpx.WriteTimeout("stuck"), HiveonUncertainError),
            (httpx.ReadError("reset by peer"), HiveonUncertainError),
            (httpx.RemoteProtocolError("server disconnected"), HiveonUncertainError),
            (httpx.DecodingError("bad gzip"), HiveonUncertainError),
        ],
    )
    async def test_transport_errors(self, error: Exception, expected: type[HiveonError]) -> None:
        """Errors before sending are unreachable, after sending uncertain; the cause is kept."""
        with pytest.raises(expected) as caught:
            await start_with(error)

        assert caught.value.__cause__ is error
        assert getattr(caught.value, "status_code", None) is None

    @pytest.mark.parametrize(
        ("error", "untrusted"),
        [
            (UntrustedCertificateError("certificate verify failed"), True),
            (httpx.ConnectError("refused"), False),
            (httpx.ConnectTimeout("slow connect"), False),
        ],
    )
    async def test_only_a_certificate_failure_is_untrusted(
        self, error: Exception, *, untrusted: bool
    ) -> None:
        """Of the errors before sending, only an unverified certificate is marked untrusted:
        the one a retry cannot get past."""
        with pytest.raises(HiveonUnreachableError) as caught:
            await start_with(error)

        assert caught.value.untrusted is untrusted

    def test_every_transport_error_classified(self) -> None:
        """Each concrete httpx transport error (the transport's own among them) is explicitly
        sorted into sent or not sent."""
        # httpx's groupings, never raised themselves: every other class in the tree may be.
        groupings = {
            httpx.TransportError,
            httpx.TimeoutException,
            httpx.NetworkError,
            httpx.ProtocolError,
        }
        concrete: list[type[httpx.TransportError]] = []
        pending: list[type[httpx.TransportError]] = [httpx.TransportError]
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            if cls not in groupings:
                concrete.append(cls)

        assert sorted(cls.__name__ for cls in concrete) == sorted(
            cls.__name__ for cls in vendor._TRANSPORT_ERRORS
        )


class TestSecrets:
    @pytest.mark.parametrize(
        "outcome",
        [
            httpx.Response(400, json={"error": f"bad key {API_KEY} or {REGISTRY_PASSWORD}"}),
            httpx.Response(401, text=f"key {API_KEY} unknown; {DB_PASSWORD} too"),
            httpx.Response(429, json={"error": f"quota of {API_KEY} exceeded"}),
            httpx.Response(500, text=f"trace: headers={{'X-API-Key': '{API_KEY}'}}"),
            httpx.Response(200, text=API_KEY),
            httpx.LocalProtocolError(f"Illegal header value b'{API_KEY}'"),
            httpx.ConnectError(f"failed with {API_KEY}"),
            httpx.ReadTimeout(f"timed out sending {REGISTRY_PASSWORD}"),
        ],
    )
    async def test_never_in_errors(
        self, outcome: httpx.Response | Exception, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No secret reaches an exception's str or repr, nor any log record, whatever happens."""
        caplog.set_level(logging.DEBUG)
        with pytest.raises(HiveonError) as caught:
            async with client_for(Recorder(outcome)) as client:
                await client.start_deployment(full_request(), api_key=API_KEY)

        shown = [str(caught.value), repr(caught.value), caplog.text]
        for secret in (API_KEY, REGISTRY_PASSWORD, DB_PASSWORD):
            assert not any(secret in text for text in shown)

    async def test_echoed_secret_masked(self) -> None:
        """A vendor message echoing a secret is still quoted, with the secret masked."""
        with pytest.raises(HiveonRejectedError) as caught:
            async with client_for(
                Recorder(
                    httpx.Response(400, json={"error": f"login failed for {REGISTRY_PASSWORD}"})
                )
            ) as client:
                await client.start_deployment(full_request(), api_key=API_KEY)

        assert caught.value.message == f"login failed for {MASK}"

    async def test_logs_method_path_status(self, caplog: pytest.LogCaptureFixture) -> None:
        """Each exchange is logged with method, path and status on the `bot.vendor` logger."""
        caplog.set_level(logging.DEBUG, logger="bot.vendor")
        await start_with(httpx.Response(429), started())

        messages = [r.getMessage() for r in caplog.records if r.name == "bot.vendor"]
        assert messages[0].startswith("POST /vendors/v1/machines/deployments/start -> 429 in ")
        assert (
            messages[1]
            == "POST /vendors/v1/machines/deployments/start rate-limited; retry 1 in 1.0 s"
        )
        assert messages[2].startswith("POST /vendors/v1/machines/deployments/start -> 200 in ")


class TestGetDeployment:
    async def test_found(self) -> None:
        """A status body is read field by field; unknown statuses and fields are kept or ignored."""
        recorder = Recorder(
            httpx.Response(
                200,
                json={
                    "deployment_id": DEPLOYMENT_ID,
                    "machine_id": "machine-1",
                    "external_deployment_id": EXTERNAL_ID,
                    "status": "STATUS_HIBERNATING",
                    "metadata": {"k": "v"},
                    "created_at": "2026-01-01T00:00:00Z",
                },
            )
        )
        async with client_for(recorder) as client:
            status = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)

        assert status == DeploymentStatus(
            deployment_id=DEPLOYMENT_ID,
            machine_id="machine-1",
            external_deployment_id=EXTERNAL_ID,
            status="STATUS_HIBERNATING",
            fail_reason=None,
            metadata={"k": "v"},
        )
        (request,) = recorder.requests
        assert request.method == "GET"
        assert str(request.url) == f"{BASE_URL}/vendors/v1/machines/deployments/{EXTERNAL_ID}"
        assert request.headers["X-API-Key"] == API_KEY
        assert request.content == b""

    async def test_not_found(self) -> None:
        """A 404 means the vendor knows no such deployment: None."""
        recorder = Recorder(httpx.Response(404, json={"error": "deployment not found"}))
        async with client_for(recorder) as client:
            assert await client.get_deployment("nope", api_key=API_KEY) is None

    @pytest.mark.parametrize(
        ("fail_reason", "expected"),
        [
            (
                {"code": 3, "message": "image pull failed"},
                FailReason(code=3, message="image pull failed"),
            ),
            ({"code": "7"}, FailReason(code=7, message=None)),
            ("out of memory", FailReason(code=None, message="out of memory")),
            ("", None),
            (None, None),
        ],
    )
    async def test_fail_reason(self, fail_reason: object, expected: FailReason | None) -> None:
        """fail_reason is read as the documented object, or as the older plain string."""
        body = {"deployment_id": "d", "status": "STATUS_FAILED", "fail_reason": fail_reason}
        async with client_for(Recorder(httpx.Response(200, json=body))) as client:
            status = await client.get_deployment("d", api_key=API_KEY)

        assert status is not None
        assert status.fail_reason == expected

    async def test_proto3_defaults(self) -> None:
        """Omitted fields take proto3 defaults: unspecified status, no metadata."""
        body = {"deployment_id": "d", "metadata": None}
        async with client_for(Recorder(httpx.Response(200, json=body))) as client:
            status = await client.get_deployment("d", api_key=API_KEY)

        assert status == DeploymentStatus(deployment_id="d", status="STATUS_UNSPECIFIED")

    async def test_id_is_quoted(self) -> None:
        """An ID is one path segment: slashes, spaces and query marks are percent-encoded."""
        recorder = Recorder(httpx.Response(404))
        async with client_for(recorder) as client:
            await client.get_deployment("a/b c?d#e", api_key=API_KEY)

        assert recorder.requests[0].url.raw_path == (
            b"/vendors/v1/machines/deployments/a%2Fb%20c%3Fd%23e"
        )

    @pytest.mark.parametrize("deployment_id", ["", ".", ".."])
    async def test_unaddressable_id(self, deployment_id: str) -> None:
        """An ID that would address another URL is refused before sending."""
        recorder = Recorder(httpx.Response(404))
        async with client_for(recorder) as client:
            with pytest.raises(ValueError, match="deployment ID"):
                await client.get_deployment(deployment_id, api_key=API_KEY)

        assert recorder.requests == []

    @pytest.mark.parametrize(
        ("response", "expected"),
        [
            (httpx.Response(401, json={"error": "invalid API key"}), HiveonRejectedError),
            (httpx.Response(503, html=HTML_PAGE), HiveonUncertainError),
            (httpx.Response(200, json={"status": "STATUS_RUNNING"}), HiveonUncertainError),
            (httpx.Response(200, text="OK"), HiveonUncertainError),
        ],
    )
    async def test_errors(self, response: httpx.Response, expected: type[HiveonError]) -> None:
        """Other failures of a lookup raise like a start's; a body without an ID is unreadable."""
        async with client_for(Recorder(response)) as client:
            with pytest.raises(expected):
                await client.get_deployment("d", api_key=API_KEY)


class TestStopDeployment:
    async def test_stop(self) -> None:
        """A stop posts an empty metadata object to the deployment's stop path."""
        recorder = Recorder(httpx.Response(200, json={"deployment_id": "dep-1"}))
        async with client_for(recorder) as client:
            assert await client.stop_deployment("dep-1", api_key=API_KEY) == "dep-1"

        (request,) = recorder.requests
        assert request.method == "POST"
        assert request.url.raw_path == b"/vendors/v1/machines/deployments/dep-1/stop"
        assert request.headers["X-API-Key"] == API_KEY
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.content) == {"metadata": {}}

    async def test_stop_id_is_quoted(self) -> None:
        """A stored ID is one path segment of the stop URL: a slash is percent-encoded."""
        recorder = Recorder(httpx.Response(404, json={"error": "deployment not found"}))
        async with client_for(recorder) as client:
            with pytest.raises(HiveonRejectedError):
                await client.stop_deployment("d/1", api_key=API_KEY)

        assert recorder.requests[0].url.raw_path == b"/vendors/v1/machines/deployments/d%2F1/stop"

    async def test_stop_metadata(self) -> None:
        """The caller's metadata is sent as the stop body's metadata."""
        recorder = Recorder(httpx.Response(200, json={"deployment_id": "d"}))
        async with client_for(recorder) as client:
            await client.stop_deployment("d", api_key=API_KEY, metadata={"reason": "incident"})

        assert json.loads(recorder.requests[0].content) == {"metadata": {"reason": "incident"}}

    async def test_stop_unknown(self) -> None:
        """Stopping an unknown deployment is a 404 rejection."""
        recorder = Recorder(httpx.Response(404, json={"error": "deployment not found"}))
        async with client_for(recorder) as client:
            with pytest.raises(HiveonRejectedError) as caught:
                await client.stop_deployment("d", api_key=API_KEY)

        assert (caught.value.status_code, caught.value.message) == (404, "deployment not found")


class TestAgainstSandbox:
    async def test_round_trip(self) -> None:
        """Start, look up by external ID, and stop against the sandbox vendor."""
        sandbox = SandboxVendor(api_keys={API_KEY}, pending_s=0)
        async with client_for(sandbox) as client:
            deployment = await client.start_deployment(full_request(), api_key=API_KEY)
            running = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)
            stopped_id = await client.stop_deployment(deployment.deployment_id, api_key=API_KEY)
            stopped = await client.get_deployment(deployment.deployment_id, api_key=API_KEY)

        assert running is not None
        assert running.deployment_id == deployment.deployment_id
        assert running.status == "STATUS_RUNNING"
        assert stopped_id == deployment.deployment_id
        assert stopped is not None
        assert stopped.status == "STATUS_STOPPED"
        assert sandbox.requests[0].json == full_request().to_payload()
        assert sandbox.requests[0].headers["x-api-key"] == API_KEY

    async def test_uncertain_then_reconciled(self) -> None:
        """A 500 after the vendor accepted is uncertain; the external ID then finds it."""
        sandbox = SandboxVendor()
        request = full_request().model_copy(update={"machine_id": "accept-then-500"})
        async with client_for(sandbox) as client:
            with pytest.raises(HiveonUncertainError):
                await client.start_deployment(request, api_key=API_KEY)
            found = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)

        assert found is not None
        assert found.machine_id == "accept-then-500"
        assert sandbox.start_count == 1

    async def test_wrong_key(self) -> None:
        """A key the sandbox does not know is a 401 rejection with the vendor's message."""
        sandbox = SandboxVendor(api_keys={API_KEY})
        async with client_for(sandbox) as client:
            with pytest.raises(HiveonRejectedError) as caught:
                await client.start_deployment(minimal_request(), api_key="hk_other")

        assert (caught.value.status_code, caught.value.message) == (401, "invalid API key")


class PacedBody(httpx.AsyncByteStream):
    """A response body sent in pieces, `pause_s` apart, counting the bytes the client took."""

    def __init__(self, content: bytes, *, piece: int, pause_s: float = 0.0) -> None:
        self.content = content
        self.piece = piece
        self.pause_s = pause_s
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.content), self.piece):
            if start and self.pause_s:
                await asyncio.sleep(self.pause_s)
            chunk = self.content[start : start + self.piece]
            self.taken += len(chunk)
            yield chunk


class StalledTransport(httpx.AsyncBaseTransport):
    """Reports httpcore's trace events up to a point, then stalls; gives up after 5 s with
    `error`, as httpx would, so a client without a deadline of its own still ends."""

    def __init__(self, events: tuple[str, ...], error: httpx.TransportError) -> None:
        self.events = events
        self.error = error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = request.extensions["trace"]
        for event in self.events:
            await trace(event, {})
        await asyncio.sleep(5)
        raise self.error


def hostile(machine_id: str) -> StartDeploymentRequest:
    return full_request().model_copy(update={"machine_id": machine_id})


def status_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "deployment_id": DEPLOYMENT_ID,
        "external_deployment_id": EXTERNAL_ID,
        "status": "STATUS_FAILED",
    }
    body.update(changes)
    return body


class TestDeadline:
    async def test_a_trickling_answer_ends_at_the_deadline(self) -> None:
        """A start whose answer trickles in is cut when the attempt's deadline runs out, and the
        outcome is unknown (the vendor did create it)."""
        sandbox = SandboxVendor()
        async with client_for(sandbox, timeout_s=0.3) as client:
            with pytest.raises(HiveonUncertainError) as caught:
                await client.start_deployment(hostile("hostile-trickle"), api_key=API_KEY)

        assert (caught.value.status_code, caught.value.reason) == (
            None,
            "no complete answer within 0.3 s",
        )
        assert sandbox.start_count == 1
        [streamed] = sandbox.streams
        assert streamed.ended == "cut"
        assert 0 < streamed.sent < len(b'{"deployment_id": ""}')

    @pytest.mark.e2e  # the sandbox served on loopback
    async def test_the_deadline_spans_reads_that_each_arrive_in_time(self) -> None:
        """Over real HTTP, a byte a second never trips httpx's timeout per read (1.5 s), but the
        deadline for the whole exchange does, and the vendor sees the client hang up."""
        sandbox = SandboxVendor()
        runner = web.AppRunner(sandbox.aiohttp_app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            async with HiveonClient(base_url=f"http://{host}:{port}", timeout_s=1.5) as client:
                with pytest.raises(HiveonUncertainError) as caught:
                    await client.start_deployment(hostile("hostile-trickle"), api_key=API_KEY)
            [streamed] = sandbox.streams
            for _ in range(100):  # the sandbox notices at its next byte, a second at most
                if streamed.ended is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            await runner.cleanup()

        assert caught.value.reason == "no complete answer within 1.5 s"
        assert isinstance(caught.value.__cause__, TimeoutError)
        assert streamed.ended == "cut"
        assert 0 < streamed.sent < len(b'{"deployment_id": ""}')

    async def test_each_attempt_has_its_own_deadline(self) -> None:
        """A 429's retry is a new attempt with a deadline of its own: a slow 429 does not use up
        the retry's time, and a retry that trickles is cut like any attempt."""
        body = PacedBody(b'{"deployment_id": "dep-1"}', piece=1, pause_s=0.5)
        answers: list[httpx.Response] = [
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, headers={"Content-Type": "application/json"}, stream=body),
        ]
        requests: list[httpx.Request] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            await asyncio.sleep(0.2)
            return answers.pop(0)

        sleeps = Sleeps()
        async with client_for(handler, timeout_s=0.3, sleep=sleeps) as client:
            with pytest.raises(HiveonUncertainError) as caught:
                await client.start_deployment(minimal_request(), api_key=API_KEY)

        assert caught.value.reason == "no complete answer within 0.3 s"
        assert len(requests) == 2
        assert sleeps == [0.0]
        assert 0 < body.taken < len(body.content)

    @pytest.mark.parametrize(
        ("events", "error", "expected", "reason"),
        [
            (
                ("connection.connect_tcp.started",),
                httpx.ConnectTimeout("no connection"),
                HiveonUnreachableError,
                "no connection within 0.3 s",
            ),
            (
                (
                    "connection.connect_tcp.started",
                    "connection.connect_tcp.complete",
                    "http11.send_request_headers.started",
                ),
                httpx.ReadTimeout("no answer"),
                HiveonUncertainError,
                "no complete answer within 0.3 s",
            ),
            (
                (),
                httpx.ReadTimeout("no answer"),
                HiveonUncertainError,
                "no complete answer within 0.3 s",
            ),
        ],
    )
    async def test_where_the_deadline_ran_out_decides_what_it_means(
        self,
        events: tuple[str, ...],
        error: httpx.TransportError,
        expected: type[HiveonError],
        reason: str,
    ) -> None:
        """A deadline met while still connecting sent nothing (unreachable, safe to retry); met
        once the request was being sent, or with no trace to tell, it may have been processed."""
        transport = StalledTransport(events, error)
        async with HiveonClient(base_url=BASE_URL, timeout_s=0.3, transport=transport) as client:
            with pytest.raises(expected) as caught:
                await client.start_deployment(minimal_request(), api_key=API_KEY)

        assert getattr(caught.value, "reason", None) == reason


class TestSizeCap:
    async def test_an_answer_over_one_mib_is_cut(self) -> None:
        """A 40 MiB status answer is read no further than 1 MiB: unknown, never parsed."""
        sandbox = SandboxVendor()
        async with client_for(sandbox) as client:
            with pytest.raises(HiveonUncertainError):
                await client.start_deployment(hostile("hostile-huge-status"), api_key=API_KEY)
            with pytest.raises(HiveonUncertainError) as caught:
                await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)

        assert (caught.value.status_code, caught.value.reason) == (200, "answer larger than 1 MiB")
        [streamed] = sandbox.streams
        assert streamed.ended == "cut"
        assert MIB < streamed.sent < 2 * MIB

    async def test_a_declared_length_over_one_mib_is_refused_unread(self) -> None:
        """`Content-Length` over 1 MiB is refused at once, before a byte of the body is read."""
        body = PacedBody(b"x" * (2 * MIB), piece=64 * 1024)
        headers = {"Content-Type": "application/json", "Content-Length": str(2 * MIB)}
        async with client_for(
            lambda _: httpx.Response(200, headers=headers, stream=body)
        ) as client:
            with pytest.raises(HiveonUncertainError) as caught:
                await client.get_deployment(DEPLOYMENT_ID, api_key=API_KEY)

        assert (caught.value.status_code, caught.value.reason) == (200, "answer larger than 1 MiB")
        assert body.taken == 0

    @pytest.mark.parametrize("declared", ["9" * 5000, "1e9", "12, 12", "-1"])
    async def test_a_content_length_that_is_no_number_is_not_trusted(self, declared: str) -> None:
        """A `Content-Length` that is huge or not a plain number neither crashes the client nor
        replaces counting: a short body is read, a long one is still cut."""
        headers = {"Content-Type": "application/json", "Content-Length": declared}
        short = PacedBody(b'{"deployment_id": "dep-1"}', piece=8)
        answer = httpx.Response(200, headers=headers, stream=short)
        if len(declared) > len(str(vendor.MAX_RESPONSE_BYTES)):
            with pytest.raises(HiveonUncertainError, match="larger than 1 MiB"):
                await start_with(answer)
            assert short.taken == 0
        else:
            assert await start_with(answer) == StartedDeployment("dep-1")

    async def test_a_compressed_answer_is_refused(self) -> None:
        """An answer compressed although identity was asked for is not inflated: 40 KiB of gzip
        could be 40 MiB of memory."""
        inflated = json.dumps({"deployment_id": "dep-1", "padding": "0" * (40 * MIB)}).encode()
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        bomb = httpx.Response(200, headers=headers, content=gzip.compress(inflated))
        with pytest.raises(HiveonUncertainError) as caught:
            await start_with(bomb)

        assert (caught.value.status_code, caught.value.reason) == (
            200,
            "answer in an encoding not asked for",
        )


class TestPlainAnswers:
    @pytest.mark.parametrize(
        "deployment_id",
        [
            SLACK_MARKUP,
            "<https://evil.example|click here>",
            "dep 1",
            "dep/1",
            "dep-1\n",
            "dép-1",
            "x" * 129,
        ],
    )
    async def test_a_start_answering_an_unplain_id_is_unreadable(self, deployment_id: str) -> None:
        """A start's `deployment_id` that is not `[A-Za-z0-9._:-]{1,128}` is never taken: the
        outcome is unknown, to be reconciled by external ID."""
        with pytest.raises(HiveonUncertainError) as caught:
            await start_with(started(deployment_id))

        assert (caught.value.status_code, caught.value.reason) == (200, "unreadable response")

    @pytest.mark.parametrize("deployment_id", ["x" * 128, "Az09._:-", DEPLOYMENT_ID])
    async def test_plain_ids_are_taken(self, deployment_id: str) -> None:
        """Letters, digits, `.`, `_`, `:` and `-`, up to 128 of them, make a plain ID."""
        assert await start_with(started(deployment_id)) == StartedDeployment(deployment_id)

    async def test_a_stop_confirming_an_unplain_id_is_unclear(self) -> None:
        """A stop's answer is held to the same rule as a start's."""
        recorder = Recorder(httpx.Response(200, json={"deployment_id": SLACK_MARKUP}))
        async with client_for(recorder) as client:
            with pytest.raises(HiveonUncertainError):
                await client.stop_deployment(DEPLOYMENT_ID, api_key=API_KEY)

    @pytest.mark.parametrize(
        "body",
        [
            status_body(deployment_id=SLACK_MARKUP),
            status_body(deployment_id="x" * 129),
            status_body(status=SLACK_MARKUP),
            status_body(status="STATUS_FAILED <https://evil.example|x>"),
            status_body(status=""),
            status_body(status="STATUS_" + "X" * 122),
            status_body(fail_reason={"code": 2**31, "message": "x"}),
        ],
    )
    async def test_a_status_answer_that_is_not_plain_is_unreadable(
        self, body: dict[str, object]
    ) -> None:
        """A status answer with a `deployment_id` or `status` that is not plain (or a fail code
        outside int32) is unreadable as a whole: nothing of it is taken."""
        async with client_for(Recorder(httpx.Response(200, json=body))) as client:
            with pytest.raises(HiveonUncertainError) as caught:
                await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)

        assert (caught.value.status_code, caught.value.reason) == (200, "unreadable response")

    async def test_a_plain_status_of_128_characters_is_taken(self) -> None:
        """A status is held to the plain-ID rule only: 128 plain characters are taken (and
        stored, as `deployments.vendor_status` holds 128)."""
        status_word = "STATUS_" + "X" * 121
        body = status_body(status=status_word)
        async with client_for(Recorder(httpx.Response(200, json=body))) as client:
            status = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)
        assert status is not None
        assert status.status == status_word

    async def test_a_fail_reason_is_one_line_of_at_most_300_characters(self) -> None:
        """The vendor's fail_reason text becomes one printable line cut to 300 characters; its
        markup is left for whoever shows it to escape."""
        message = "<https://evil.example|click here>\n& more\x07\u202e " + "spam " * 990
        body = status_body(fail_reason={"code": 13, "message": message})
        async with client_for(Recorder(httpx.Response(200, json=body))) as client:
            status = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)

        assert status is not None
        assert status.fail_reason is not None
        shown = status.fail_reason.message
        assert shown is not None
        assert len(shown) == vendor.MAX_MESSAGE_CHARS
        assert shown.startswith("<https://evil.example|click here> & more spam spam ")
        assert shown.endswith("…")
        assert shown.isprintable()
        assert status.fail_reason.code == 13
