"""One fake, two ways in: the sandbox keeps the same contract in-process and over real HTTP.

Every documented outcome is driven through the real vendor client twice, once over
`httpx.MockTransport` (the tests' and the playground's way) and once over a loopback socket
(the end-to-end tests' way), and both must agree: same result, same status, same message, same
deployments created. Status, stop and the seed's validation are checked over the wire too.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.deployment import StartDeploymentRequest
from bot.sandbox import MAGIC_MACHINES, SandboxVendor
from bot.vendor import HiveonClient, HiveonError, StartedDeployment

API_KEY = "hk_contract_key"
EXTERNAL_ID = "0b6f4c1e-2a51-4f5e-9d5c-7b1e9c3a2f10"
DEPLOYMENTS = "/vendors/v1/machines/deployments"
# The sandbox's documented machine IDs (bot/sandbox.py) and a normal one.
MACHINES = [
    "m-normal",
    "fail-400",
    "fail-401",
    "fail-403",
    "fail-404",
    "missing-24d7",
    "fail-429",
    "fail-500",
    "fail-502",
    "fail-timeout",
    "fail-reset",
    "fail-nojson",
    "fail-noid",
    "accept-then-500",
    "accept-then-timeout",
    "slow-0.1",
    "fail-later",
]


@dataclass(frozen=True)
class Seen:
    """What the client made of a start, and what a look-up by external ID found after it."""

    result: str
    status_code: int | None
    message: str | None
    found: bool
    created: int


async def no_sleep(_seconds: float) -> None:
    """Retry-After waits skipped: the contract is the answers, not the clock."""


def request_for(machine_id: str) -> StartDeploymentRequest:
    return StartDeploymentRequest.model_validate(
        {
            "machine_id": machine_id,
            "machine_price_id": "price-1",
            "external_deployment_id": EXTERNAL_ID,
            "container_config": {"image": "nginx:latest", "ports": [{"host_port": 80}]},
        }
    )


async def start(client: HiveonClient, sandbox: SandboxVendor, machine_id: str) -> Seen:
    try:
        started = await client.start_deployment(request_for(machine_id), api_key=API_KEY)
    except HiveonError as exc:
        result = type(exc).__name__
        status_code = getattr(exc, "status_code", None)
        message = getattr(exc, "message", None)
    else:
        assert isinstance(started, StartedDeployment)
        result, status_code, message = "started", 200, None
    found = await client.get_deployment(EXTERNAL_ID, api_key=API_KEY)
    return Seen(result, status_code, message, found is not None, sandbox.start_count)


@pytest.fixture(name="over_http")
async def _over_http() -> AsyncIterator[tuple[SandboxVendor, str]]:
    """A fresh sandbox on a loopback port, in the test's own event loop."""
    sandbox = SandboxVendor(api_keys={API_KEY}, pending_s=0.2)
    runner = web.AppRunner(sandbox.aiohttp_app(), shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield sandbox, f"http://{host}:{port}"
    await runner.cleanup()


@pytest.mark.e2e  # the sandbox served on loopback
@pytest.mark.parametrize("machine_id", MACHINES)
async def test_every_outcome_is_the_same_both_ways(
    machine_id: str, over_http: tuple[SandboxVendor, str]
) -> None:
    """Through the real client, each machine ID gives the same outcome in-process and on the
    wire: the exception (or start), its status and message, and what was created."""
    in_process = SandboxVendor(api_keys={API_KEY}, pending_s=0.2)
    async with HiveonClient(
        base_url="http://sandbox.invalid",
        timeout_s=0.5,
        transport=httpx.MockTransport(in_process.handle),
        sleep=no_sleep,
    ) as client:
        direct = await start(client, in_process, machine_id)
    sandbox, base_url = over_http
    async with HiveonClient(base_url=base_url, timeout_s=0.5, sleep=no_sleep) as client:
        wired = await start(client, sandbox, machine_id)
    assert wired == direct
    creates = machine_id == "fail-later" or not machine_id.startswith(("fail-", "missing-"))
    assert direct.created == int(creates)


@pytest.mark.e2e  # the sandbox served on loopback
async def test_status_and_stop_over_the_wire(over_http: tuple[SandboxVendor, str]) -> None:
    """Status by deployment ID and by external ID, and stop, answer over HTTP as in-process."""
    sandbox, base_url = over_http
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        started = await http.post(f"{DEPLOYMENTS}/start", json=request_for("m-1").to_payload())
        deployment_id = started.json()["deployment_id"]
        by_id = await http.get(f"{DEPLOYMENTS}/{deployment_id}")
        by_external_id = await http.get(f"{DEPLOYMENTS}/{EXTERNAL_ID}")
        stopped = await http.post(f"{DEPLOYMENTS}/{deployment_id}/stop", json={"metadata": {}})
        after = await http.get(f"{DEPLOYMENTS}/{deployment_id}")
        unknown = await http.get(f"{DEPLOYMENTS}/nope")
        stop_by_external_id = await http.post(f"{DEPLOYMENTS}/{EXTERNAL_ID}/stop")
    assert started.status_code == 200
    assert by_id.json() == by_external_id.json()
    assert by_id.json()["status"] == "STATUS_PENDING"
    assert (stopped.status_code, stopped.json()) == (200, {"deployment_id": deployment_id})
    assert after.json()["status"] == "STATUS_STOPPING"
    assert (unknown.status_code, unknown.json()) == (404, {"error": "deployment not found"})
    assert stop_by_external_id.status_code == 404
    assert sandbox.start_count == 1


@pytest.mark.e2e  # the sandbox served on loopback
@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "error"),
    [
        ("POST", "/start", {"machine_id": "m"}, {}, 400, "machine_price_id is required"),
        (
            "POST",
            "/start",
            {"machine_id": "m", "machine_price_id": "p", "container_config": {"image": ""}},
            {},
            400,
            "container_config.image must be a non-empty string",
        ),
        (
            "POST",
            "/start",
            {
                "machine_id": "m",
                "machine_price_id": "p",
                "container_config": {"image": "i", "ports": [{"host_port": 70000}]},
            },
            {},
            400,
            "container_config.ports[0].host_port must be an integer from 1 to 65535",
        ),
        ("POST", "/start", {}, {"X-API-Key": "hk_wrong"}, 401, "invalid API key"),
        ("PUT", "/start", {}, {}, 405, "method not allowed"),
    ],
)
async def test_the_seeds_rules_over_the_wire(
    over_http: tuple[SandboxVendor, str],
    method: str,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    """Bodies breaking the seed's rules, wrong keys and methods get their status over HTTP."""
    sandbox, base_url = over_http
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        answer = await http.request(
            method, f"{DEPLOYMENTS}{path}", content=json.dumps(body), headers=headers
        )
    assert (answer.status_code, answer.json()) == (status, {"error": error})
    assert sandbox.start_count == 0


async def test_the_playground_lists_machines_the_sandbox_knows() -> None:
    """Every magic machine the page offers makes the sandbox answer other than normally."""
    normal = await outcome_of("m-normal")
    for machine in MAGIC_MACHINES:
        seen = await outcome_of(machine.machine_id)
        if machine.machine_id == "any-other-id":
            assert seen == normal
        else:
            assert seen != normal, machine.machine_id


async def outcome_of(machine_id: str) -> tuple[str, int | None, str | None, float, float, int]:
    """A start's answer, its delay and pace, and the deployment's state right after
    (pending_s=0); a streamed status answer counts as a state of its own."""
    sandbox = SandboxVendor(pending_s=0)
    body = json.dumps(request_for(machine_id).to_payload()).encode()
    reply = sandbox.answer("POST", f"{DEPLOYMENTS}/start", {"X-API-Key": API_KEY}, body)
    status = sandbox.answer("GET", f"{DEPLOYMENTS}/{EXTERNAL_ID}", {"X-API-Key": API_KEY}, b"")
    state = None
    if status.pieces is not None:
        state = "streamed"
    elif status.status == 200:
        state = json.loads(status.content).get("status")
    pace = reply.pause_s
    return (str(reply.fault), reply.status, state, reply.delay_s, pace, sandbox.start_count)
