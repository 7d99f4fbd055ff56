"""Tests of the sandbox vendor: the seed's rules, magic machines, lifecycle, HTTP adapter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.deployment import StartDeploymentRequest
from bot.sandbox import Reply, SandboxVendor
from bot.testing.seed import DELETE, EXTERNAL_ID, start_body
from bot.vendor import (
    FailReason,
    HiveonClient,
    HiveonRejectedError,
    HiveonUncertainError,
)

API_KEY = "hk_sandbox_key"
START = "/vendors/v1/machines/deployments/start"
DEPLOYMENTS = "/vendors/v1/machines/deployments"
# The documented example request, verbatim.
SEED_BODY = start_body()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def call(
    sandbox: SandboxVendor,
    method: str,
    path: str,
    body: object = None,
    *,
    api_key: str | None = API_KEY,
) -> tuple[int, Any]:
    """Ask the sandbox's core directly and decode its JSON answer."""
    content = (
        b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    )
    headers = {} if api_key is None else {"X-API-Key": api_key}
    reply = sandbox.answer(method, path, headers, content)
    return reply.status, json.loads(reply.content) if reply.content else None


def start(sandbox: SandboxVendor, **changes: object) -> str:
    status, data = call(sandbox, "POST", START, start_body(**changes))
    assert status == 200, data
    deployment_id: str = data["deployment_id"]
    return deployment_id


def request_for(machine_id: str) -> StartDeploymentRequest:
    return StartDeploymentRequest.model_validate(
        {
            "machine_id": machine_id,
            "machine_price_id": "price-1",
            "external_deployment_id": EXTERNAL_ID,
            "container_config": {"image": "nginx:latest"},
        }
    )


class TestValidation:
    def test_seed_example_accepted(self) -> None:
        """The seed's own example body starts a deployment."""
        sandbox = SandboxVendor()

        status, data = call(sandbox, "POST", START, SEED_BODY)

        assert status == 200
        assert data == {"deployment_id": sandbox.deployments()[0].deployment_id}
        assert sandbox.deployments()[0].request == SEED_BODY

    def test_minimal_accepted(self) -> None:
        """Only machine_id, machine_price_id and container_config.image are required."""
        body = {"machine_id": "m", "machine_price_id": "p", "container_config": {"image": "i"}}

        assert call(SandboxVendor(), "POST", START, body)[0] == 200

    def test_hundred_ports_accepted(self) -> None:
        """Exactly 100 port mappings is within the limit, and both ends of the port range too."""
        ports = [{"host_port": 1, "protocol": "PORT_PROTOCOL_TCP"}] * 99 + [
            {"host_port": 65535, "protocol": "PORT_PROTOCOL_HTTPS"}
        ]

        assert (
            call(SandboxVendor(), "POST", START, start_body(container_config__ports=ports))[0]
            == 200
        )

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            (b"{not json", "body must be a JSON object"),
            (["machine_id"], "body must be a JSON object"),
            (start_body(machine_id=DELETE), "machine_id is required"),
            (start_body(machine_id=""), "machine_id must be a non-empty string"),
            (start_body(machine_id=42), "machine_id must be a non-empty string"),
            (start_body(machine_price_id=DELETE), "machine_price_id is required"),
            (start_body(machine_price_id=""), "machine_price_id must be a non-empty string"),
            (start_body(external_deployment_id=7), "external_deployment_id must be a string"),
            (start_body(external_deployment_id=None), "external_deployment_id must not be null"),
            (start_body(owner="alice"), "unknown field owner"),
            (start_body(ssh_pub_keys="ssh-rsa AAAA"), "ssh_pub_keys must be an array of strings"),
            (
                start_body(ssh_pub_keys=["ssh-rsa AAAA", 1]),
                "ssh_pub_keys must be an array of strings",
            ),
            (start_body(metadata={"a": True}), "metadata must be an object of string values"),
            (start_body(metadata=["a=b"]), "metadata must be an object of string values"),
            (start_body(container_config=DELETE), "container_config is required"),
            (start_body(container_config="nginx"), "container_config must be a JSON object"),
            (start_body(container_config__image=DELETE), "container_config.image is required"),
            (
                start_body(container_config__image=""),
                "container_config.image must be a non-empty string",
            ),
            (
                start_body(container_config__container_port=80),
                "unknown field container_config.container_port",
            ),
            (
                start_body(container_config__startup_script=None),
                "container_config.startup_script must not be null",
            ),
            (
                start_body(container_config__startup_script=["echo"]),
                "container_config.startup_script must be a string",
            ),
            (
                start_body(container_config__environment_variables={"PORT": 80}),
                "container_config.environment_variables must be an object of string values",
            ),
            (
                start_body(container_config__docker_auth="user:pw"),
                "container_config.docker_auth must be a JSON object",
            ),
            (
                start_body(container_config__docker_auth__password=123),
                "container_config.docker_auth.password must be a string",
            ),
            (
                start_body(container_config__docker_auth__server=None),
                "container_config.docker_auth.server must not be null",
            ),
            (
                start_body(container_config__docker_auth__token="t"),
                "unknown field container_config.docker_auth.token",
            ),
            (
                start_body(container_config__ports={"host_port": 80}),
                "container_config.ports must be an array",
            ),
            (
                start_body(
                    container_config__ports=[{"host_port": 80, "protocol": "PORT_PROTOCOL_TCP"}]
                    * 101
                ),
                "container_config.ports must have at most 100 items",
            ),
            (
                start_body(container_config__ports=[80, 443]),
                "container_config.ports[0] must be a JSON object",
            ),
        ],
    )
    def test_refused(self, body: object, error: str) -> None:
        """A body breaking one of the seed's rules is a 400 saying what is wrong; nothing starts."""
        sandbox = SandboxVendor()

        assert call(sandbox, "POST", START, body) == (400, {"error": error})
        assert sandbox.start_count == 0

    @pytest.mark.parametrize(
        ("port", "error"),
        [
            ({"host_port": 0, "protocol": "PORT_PROTOCOL_TCP"}, "host_port must be an integer"),
            ({"host_port": 65536, "protocol": "PORT_PROTOCOL_TCP"}, "host_port must be an integer"),
            ({"host_port": "80", "protocol": "PORT_PROTOCOL_TCP"}, "host_port must be an integer"),
            ({"host_port": 80.5, "protocol": "PORT_PROTOCOL_TCP"}, "host_port must be an integer"),
            ({"host_port": True, "protocol": "PORT_PROTOCOL_TCP"}, "host_port must be an integer"),
            ({"protocol": "PORT_PROTOCOL_TCP"}, "host_port must be an integer"),
            ({"host_port": 80}, "protocol must be one of"),
            ({"host_port": 80, "protocol": "PORT_PROTOCOL_UNSPECIFIED"}, "protocol must be one of"),
            ({"host_port": 80, "protocol": "tcp"}, "protocol must be one of"),
            ({"host_port": 80, "protocol": None}, "protocol must not be null"),
        ],
    )
    def test_port_refused(self, port: dict[str, Any], error: str) -> None:
        """Each port needs host_port 1–65535 and a TCP or HTTPS protocol."""
        ports = [{"host_port": 22, "protocol": "PORT_PROTOCOL_TCP"}, port]

        status, data = call(
            SandboxVendor(), "POST", START, start_body(container_config__ports=ports)
        )

        assert status == 400
        assert data["error"].startswith(f"container_config.ports[1].{error}")

    def test_port_unknown_field(self) -> None:
        """A port mapping has no container-side port, nor any other undocumented field."""
        ports = [{"host_port": 80, "protocol": "PORT_PROTOCOL_TCP", "container_port": 8080}]

        assert call(SandboxVendor(), "POST", START, start_body(container_config__ports=ports)) == (
            400,
            {"error": "unknown field container_config.ports[0].container_port"},
        )


class TestAuthAndRouting:
    @pytest.mark.parametrize("api_key", [None, "", "hk_other"])
    @pytest.mark.parametrize(
        ("method", "path"),
        [("POST", START), ("GET", f"{DEPLOYMENTS}/x"), ("POST", f"{DEPLOYMENTS}/x/stop")],
    )
    def test_bad_key(self, api_key: str | None, method: str, path: str) -> None:
        """A missing, empty or unknown X-API-Key is a 401 on every endpoint."""
        sandbox = SandboxVendor(api_keys={API_KEY})

        assert call(sandbox, method, path, SEED_BODY, api_key=api_key) == (
            401,
            {"error": "invalid API key"},
        )
        assert sandbox.start_count == 0

    def test_any_key_by_default(self) -> None:
        """Without a key list any non-empty key is accepted, but never an empty one."""
        sandbox = SandboxVendor()

        assert call(sandbox, "POST", START, SEED_BODY, api_key="anything")[0] == 200
        assert call(sandbox, "POST", START, SEED_BODY, api_key="")[0] == 401

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/", 404),
            ("POST", "/vendors/v1/machines/start", 404),
            ("POST", f"{DEPLOYMENTS}/", 404),
            ("POST", f"{DEPLOYMENTS}/x/y/stop", 404),
            ("PUT", START, 405),
            ("DELETE", f"{DEPLOYMENTS}/x", 405),
            ("GET", f"{DEPLOYMENTS}/x/stop", 405),
        ],
    )
    def test_routing(self, method: str, path: str, status: int) -> None:
        """Unknown paths are 404 and known paths with another method 405, key or not."""
        assert call(SandboxVendor(), method, path, api_key=None)[0] == status

    def test_records_requests(self) -> None:
        """Every request is recorded with lower-case header names, JSON and raw body."""
        sandbox = SandboxVendor()
        content = json.dumps(SEED_BODY).encode()

        sandbox.answer("POST", f"{START}?trace=1", {"X-API-Key": API_KEY}, content)
        sandbox.answer("GET", f"{DEPLOYMENTS}/x", {}, b"")

        first, second = sandbox.requests
        assert (first.method, first.path, first.json, first.body) == (
            "POST",
            START,
            SEED_BODY,
            content,
        )
        assert first.headers == {"x-api-key": API_KEY}
        assert (second.method, second.path, second.json, second.body) == (
            "GET",
            f"{DEPLOYMENTS}/x",
            None,
            b"",
        )


class TestMagicMachines:
    @pytest.mark.parametrize(
        ("machine_id", "status", "message"),
        [
            ("fail-400", 400, "machine_price_id does not belong to machine"),
            ("fail-401", 401, "invalid API key"),
            ("fail-403", 403, "API key lacks the role to deploy on this machine"),
            ("fail-404", 404, "machine not found"),
            ("missing-24d7", 404, "machine not found"),
            ("fail-429", 429, None),
        ],
    )
    async def test_rejections(self, machine_id: str, status: int, message: str | None) -> None:
        """Magic machines reproduce each documented 4xx, through the real client."""
        sandbox = SandboxVendor()
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        async with HiveonClient(
            base_url="http://sandbox",
            timeout_s=1,
            transport=httpx.MockTransport(sandbox.handle),
            sleep=sleep,
        ) as client:
            with pytest.raises(HiveonRejectedError) as caught:
                await client.start_deployment(request_for(machine_id), api_key=API_KEY)

        assert caught.value.status_code == status
        if message is not None:
            assert caught.value.message == message
        assert sleeps == ([1.0, 1.0] if status == 429 else [])
        assert sandbox.start_count == 0

    @pytest.mark.parametrize(
        ("machine_id", "status", "creations"),
        [
            ("fail-500", 500, 0),
            ("fail-502", 502, 0),
            ("fail-timeout", None, 0),
            ("fail-reset", None, 0),
            ("fail-nojson", 200, 0),
            ("fail-noid", 200, 0),
            ("accept-then-500", 500, 1),
            ("accept-then-timeout", None, 1),
        ],
    )
    async def test_uncertain(self, machine_id: str, status: int | None, creations: int) -> None:
        """Magic machines reproduce each unknown outcome; `accept-then-…` ones did start."""
        sandbox = SandboxVendor()

        async with HiveonClient(
            base_url="http://sandbox", timeout_s=1, transport=httpx.MockTransport(sandbox.handle)
        ) as client:
            with pytest.raises(HiveonUncertainError) as caught:
                await client.start_deployment(request_for(machine_id), api_key=API_KEY)
            found = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)

        assert caught.value.status_code == status
        assert (found is not None) == (creations == 1)
        assert sandbox.start_count == creations

    def test_error_pages_are_html(self) -> None:
        """The 5xx magic machines answer HTML pages, as a proxy in front of the vendor would."""
        sandbox = SandboxVendor()

        for machine_id in ("fail-500", "fail-502", "accept-then-500"):
            reply = sandbox.answer(
                "POST",
                START,
                {"X-API-Key": API_KEY},
                json.dumps(start_body(machine_id=machine_id)).encode(),
            )
            assert reply.content_type.startswith("text/html")
            assert reply.content.startswith(b"<html>")

    def test_faults(self) -> None:
        """Timeouts and resets are faults of the reply, not statuses."""
        sandbox = SandboxVendor()

        def fault(machine_id: str) -> str | None:
            body = json.dumps(start_body(machine_id=machine_id, external_deployment_id=machine_id))
            return sandbox.answer("POST", START, {"X-API-Key": API_KEY}, body.encode()).fault

        assert [fault(m) for m in ("fail-timeout", "accept-then-timeout", "fail-reset", "x")] == [
            "timeout",
            "timeout",
            "reset",
            None,
        ]

    def test_slow_and_latency(self) -> None:
        """`slow-<s>` delays the normal answer by s seconds, on top of every answer's latency."""
        sandbox = SandboxVendor(latency_s=0.25)

        def reply(method: str, path: str, body: object = None) -> Reply:
            return sandbox.answer(method, path, {"X-API-Key": API_KEY}, json.dumps(body).encode())

        slow = reply("POST", START, start_body(machine_id="slow-2"))
        assert (slow.status, slow.delay_s) == (200, 2.25)
        assert reply("GET", f"{DEPLOYMENTS}/nope").delay_s == 0.25
        assert sandbox.start_count == 1

    async def test_fail_later(self) -> None:
        """`fail-later` starts, stays pending, then fails with an image-pull reason."""
        clock = Clock()
        sandbox = SandboxVendor(clock=clock, pending_s=3)
        deployment_id = start(sandbox, machine_id="fail-later")

        async with HiveonClient(
            base_url="http://sandbox", timeout_s=1, transport=httpx.MockTransport(sandbox.handle)
        ) as client:
            pending = await client.get_deployment(deployment_id, api_key=API_KEY)
            clock.now += 3
            failed = await client.get_deployment(deployment_id, api_key=API_KEY)

        assert pending is not None
        assert (pending.status, pending.fail_reason) == ("STATUS_PENDING", None)
        assert failed is not None
        assert failed.status == "STATUS_FAILED"
        assert failed.fail_reason == FailReason(
            code=3, message="image pull failed: manifest unknown"
        )


class TestLifecycle:
    def test_pending_then_running(self) -> None:
        """A deployment is pending for pending_s on the clock, then running."""
        clock = Clock()
        sandbox = SandboxVendor(clock=clock, pending_s=3)
        deployment_id = start(sandbox)

        statuses = []
        for step in (0, 2.9, 0.1, 100):
            clock.now += step
            statuses.append(call(sandbox, "GET", f"{DEPLOYMENTS}/{deployment_id}")[1]["status"])

        assert statuses == ["STATUS_PENDING", "STATUS_PENDING", "STATUS_RUNNING", "STATUS_RUNNING"]

    def test_status_body(self) -> None:
        """A status answer carries the documented fields, and is found by either ID."""
        sandbox = SandboxVendor(pending_s=0)
        deployment_id = start(sandbox)

        by_id = call(sandbox, "GET", f"{DEPLOYMENTS}/{deployment_id}")
        by_external_id = call(sandbox, "GET", f"{DEPLOYMENTS}/{EXTERNAL_ID}")

        assert by_id == by_external_id
        assert by_id == (
            200,
            {
                "deployment_id": deployment_id,
                "machine_id": SEED_BODY["machine_id"],
                "external_deployment_id": EXTERNAL_ID,
                "status": "STATUS_RUNNING",
                "metadata": {"additional_key": "additional_value"},
            },
        )

    def test_status_without_external_id(self) -> None:
        """A deployment started without an external ID has none in its status."""
        sandbox = SandboxVendor()
        deployment_id = start(sandbox, external_deployment_id=DELETE, metadata=DELETE)

        status, data = call(sandbox, "GET", f"{DEPLOYMENTS}/{deployment_id}")

        assert status == 200
        assert "external_deployment_id" not in data
        assert data["metadata"] == {}

    def test_unknown_deployment(self) -> None:
        """Looking up an ID nobody started is a 404."""
        assert call(SandboxVendor(), "GET", f"{DEPLOYMENTS}/nope") == (
            404,
            {"error": "deployment not found"},
        )

    def test_stop_progression(self) -> None:
        """A stop makes a running deployment stopping, then stopped after pending_s."""
        clock = Clock()
        sandbox = SandboxVendor(clock=clock, pending_s=3)
        deployment_id = start(sandbox)
        clock.now += 3

        answer = call(sandbox, "POST", f"{DEPLOYMENTS}/{deployment_id}/stop", {"metadata": {}})
        stopping = call(sandbox, "GET", f"{DEPLOYMENTS}/{deployment_id}")[1]["status"]
        clock.now += 3
        stopped = call(sandbox, "GET", f"{DEPLOYMENTS}/{deployment_id}")[1]["status"]

        assert answer == (200, {"deployment_id": deployment_id})
        assert (stopping, stopped) == ("STATUS_STOPPING", "STATUS_STOPPED")

    def test_stop_is_idempotent(self) -> None:
        """Stopping twice, without a body or after a failure, answers 200 and changes nothing."""
        clock = Clock()
        sandbox = SandboxVendor(clock=clock, pending_s=1)
        running = start(sandbox)
        failed = start(sandbox, machine_id="fail-later", external_deployment_id="other")
        clock.now += 1
        call(sandbox, "POST", f"{DEPLOYMENTS}/{running}/stop")
        clock.now += 1

        again = call(sandbox, "POST", f"{DEPLOYMENTS}/{running}/stop")
        on_failed = call(sandbox, "POST", f"{DEPLOYMENTS}/{failed}/stop")
        clock.now += 0.5

        assert again == (200, {"deployment_id": running})
        assert on_failed == (200, {"deployment_id": failed})
        assert call(sandbox, "GET", f"{DEPLOYMENTS}/{running}")[1]["status"] == "STATUS_STOPPED"
        assert call(sandbox, "GET", f"{DEPLOYMENTS}/{failed}")[1]["status"] == "STATUS_FAILED"

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"metadata": {"reason": "incident"}}, 200),
            (b"not json", 400),
            ({"metadata": {"reason": 1}}, 400),
            ({"reason": "x"}, 400),
        ],
    )
    def test_stop_body(self, body: object, status: int) -> None:
        """The stop body, when sent, must be `{"metadata": {string: string}}`."""
        sandbox = SandboxVendor()
        deployment_id = start(sandbox)

        assert call(sandbox, "POST", f"{DEPLOYMENTS}/{deployment_id}/stop", body)[0] == status

    def test_stop_unknown_or_external_id(self) -> None:
        """Stop takes a deployment_id only: an unknown or external ID is a 404."""
        sandbox = SandboxVendor()
        start(sandbox)

        assert call(sandbox, "POST", f"{DEPLOYMENTS}/nope/stop")[0] == 404
        assert call(sandbox, "POST", f"{DEPLOYMENTS}/{EXTERNAL_ID}/stop")[0] == 404


class TestIdentity:
    def test_same_external_id_same_deployment(self) -> None:
        """A second start with the same external ID returns the first deployment, creating none."""
        sandbox = SandboxVendor()

        first = start(sandbox)
        second = start(sandbox, machine_id="another-machine")

        assert first == second
        assert sandbox.start_count == 1
        assert sandbox.starts_for(EXTERNAL_ID) == 2
        assert sandbox.starts_for("other") == 0

    def test_deterministic_ids(self) -> None:
        """IDs derive from the external ID, or from a start counter, the same in every sandbox."""
        first, second = SandboxVendor(), SandboxVendor()

        assert start(first) == start(second)
        assert start(first, external_deployment_id=DELETE) == start(
            second, external_deployment_id=DELETE
        )
        assert start(first, external_deployment_id="") != start(first, external_deployment_id="")
        assert len({d.deployment_id for d in first.deployments()}) == 4

    def test_id_factory(self) -> None:
        """An injected id_factory names deployments from the external ID or the start count."""
        sandbox = SandboxVendor(id_factory=lambda key: f"dep-{key}")

        assert start(sandbox) == f"dep-{EXTERNAL_ID}"
        assert start(sandbox, external_deployment_id=DELETE) == "dep-start-2"


@pytest.fixture(name="served")
async def _served() -> AsyncIterator[tuple[SandboxVendor, str]]:
    """The sandbox served over real HTTP on a free loopback port."""
    sandbox = SandboxVendor(api_keys={API_KEY}, pending_s=0)
    runner = web.AppRunner(sandbox.aiohttp_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield sandbox, f"http://{host}:{port}/"
    await runner.cleanup()


@pytest.mark.e2e  # the sandbox served on loopback
class TestOverHttp:
    async def test_start_and_status(self, served: tuple[SandboxVendor, str]) -> None:
        """A start and a lookup work over real HTTP with the client's default transport."""
        sandbox, base_url = served

        async with HiveonClient(base_url=base_url, timeout_s=5) as client:
            started = await client.start_deployment(request_for("m-1"), api_key=API_KEY)
            status = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)

        assert status is not None
        assert (status.deployment_id, status.status) == (started.deployment_id, "STATUS_RUNNING")
        assert sandbox.requests[0].headers["content-type"] == "application/json"
        assert sandbox.requests[0].json == request_for("m-1").to_payload()

    async def test_rejection(self, served: tuple[SandboxVendor, str]) -> None:
        """A 400 crosses the wire with its message."""
        _, base_url = served

        async with HiveonClient(base_url=base_url, timeout_s=5) as client:
            with pytest.raises(HiveonRejectedError) as caught:
                await client.start_deployment(request_for("fail-400"), api_key=API_KEY)

        assert caught.value.message == "machine_price_id does not belong to machine"

    @pytest.mark.parametrize(
        ("machine_id", "timeout_s"), [("fail-reset", 5), ("fail-timeout", 0.1)]
    )
    async def test_no_answer(
        self, served: tuple[SandboxVendor, str], machine_id: str, timeout_s: float
    ) -> None:
        """A reset connection or a vendor that never answers leaves the outcome unknown."""
        _, base_url = served

        async with HiveonClient(base_url=base_url, timeout_s=timeout_s) as client:
            with pytest.raises(HiveonUncertainError) as caught:
                await client.start_deployment(request_for(machine_id), api_key=API_KEY)

        assert caught.value.status_code is None
        # A hung answer meets the client's deadline for the whole exchange.
        assert isinstance(caught.value.__cause__, httpx.TransportError | TimeoutError)

    async def test_shutdown_releases_hung_request(self) -> None:
        """Stopping the server ends a request that is still waiting for its answer."""
        arrived = asyncio.Event()

        def named(key: str) -> str:
            arrived.set()
            return key

        sandbox = SandboxVendor(id_factory=named)
        runner = web.AppRunner(sandbox.aiohttp_app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]

        async with HiveonClient(base_url=f"http://{host}:{port}", timeout_s=30) as client:
            waiting = asyncio.create_task(
                client.start_deployment(request_for("accept-then-timeout"), api_key=API_KEY)
            )
            await arrived.wait()
            await runner.cleanup()
            with pytest.raises(HiveonUncertainError):
                await waiting
