"""Tests of the vendor client's transport over aiohttp, against servers on loopback that answer
well, badly or not at all: what reaches the wire, and what each failure becomes."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.deployment import StartDeploymentRequest
from bot.http_transport import (
    CONNECTING,
    SENDING,
    AiohttpTransport,
    UntrustedCertificateError,
    httpx_error,
)
from bot.testing.processes import ROOT, clean_environment, free_port
from bot.vendor import (
    START_PATH,
    USER_AGENT,
    HiveonClient,
    HiveonUncertainError,
    HiveonUnreachableError,
)

API_KEY = "hk_transport_test"
MAX_CONNECTIONS = 10
ANSWER = b'{"deployment_id": "dep-1"}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(ANSWER),
    ANSWER,
)

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Wire:
    """What a loopback server received: each request's head and body, and its connections."""

    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    connections: int = 0


async def _read_request(reader: asyncio.StreamReader, wire: Wire) -> bool:
    """One request off the connection into `wire`; False when the peer closed first."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return False
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    wire.heads.append(head)
    wire.bodies.append(await reader.readexactly(length))
    return True


@asynccontextmanager
async def loopback(
    answer: Behaviour, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, Wire]]:
    """A server on loopback (over TLS with `tls`) that reads each request, then behaves as
    `answer` says; its origin and what it received."""
    wire = Wire()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        wire.connections += 1
        try:
            if tls is not None:
                await writer.start_tls(tls)  # a connection counts before its handshake
            while await _read_request(reader, wire):
                await answer(reader, writer)
                if writer.is_closing():
                    break
        except (ssl.SSLError, ConnectionError):
            pass  # a handshake the client gave up on
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", wire


async def answers_ok(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A well-formed 200 with a deployment ID, the connection kept open."""
    writer.write(OK)
    await writer.drain()


async def hangs_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The request is read, then the connection closes without a word."""
    writer.close()


async def answers_half(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The head and part of the body promised, then the connection closes."""
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"deploy')
    await writer.drain()
    writer.close()


async def answers_no_http(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Something that is not HTTP at all."""
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await writer.drain()
    writer.close()


async def answers_huge(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A 200 declaring a body of 10 MiB, sent in pieces."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n")
    for _ in range(10 * 16):
        writer.write(b"x" * 65536)
        await writer.drain()


def request() -> StartDeploymentRequest:
    """A minimal valid start."""
    return StartDeploymentRequest.model_validate(
        {
            "machine_id": "m-1",
            "machine_price_id": "p-1",
            "external_deployment_id": "ext-1",
            "container_config": {"image": "redis:7"},
        }
    )


def client(origin: str, *, timeout_s: float = 2.0, retries: int = 0) -> HiveonClient:
    """The vendor client on the transport under test."""
    return HiveonClient(
        base_url=origin,
        timeout_s=timeout_s,
        transport=AiohttpTransport(max_connections=MAX_CONNECTIONS, retries=retries),
    )


@pytest.mark.e2e  # a server on loopback
async def test_a_start_reaches_the_wire_as_httpx_built_it() -> None:
    """Method, path, headers and the JSON body arrive as the client made them; the answer's
    deployment ID comes back."""
    async with loopback(answers_ok) as (origin, wire), client(origin) as hiveon:
        started = await hiveon.start_deployment(request(), api_key=API_KEY)
    assert started.deployment_id == "dep-1"
    [head] = wire.heads
    lines = head.decode().split("\r\n")
    assert lines[0] == f"POST {START_PATH} HTTP/1.1"
    headers = {
        name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:-2])
    }
    assert headers["x-api-key"] == API_KEY
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["accept-encoding"] == "identity"
    assert headers["user-agent"] == USER_AGENT
    assert headers["host"] == origin.removeprefix("http://")
    assert json.loads(wire.bodies[0]) == request().to_payload()
    assert int(headers["content-length"]) == len(wire.bodies[0])


@pytest.mark.e2e  # a server on loopback
async def test_connections_are_reused_for_answers_read_whole() -> None:
    """Three calls in turn share one connection."""
    async with loopback(answers_ok) as (origin, wire), client(origin) as hiveon:
        for _ in range(3):
            await hiveon.start_deployment(request(), api_key=API_KEY)
    assert (len(wire.heads), wire.connections) == (3, 1)


@pytest.mark.e2e  # a server on loopback
async def test_an_answer_cut_short_closes_its_connection() -> None:
    """An answer over the size cap is abandoned: its connection is closed, not pooled with the
    rest of the body still on it, so the next call opens a new one."""
    async with loopback(answers_huge) as (origin, wire), client(origin) as hiveon:
        for _ in range(2):
            with pytest.raises(HiveonUncertainError):
                await hiveon.start_deployment(request(), api_key=API_KEY)
    assert (len(wire.heads), wire.connections) == (2, 2)


@pytest.mark.e2e  # a server on loopback
async def test_a_refused_connection_is_unreachable_after_its_retries() -> None:
    """Nobody listening: each attempt only tries to connect, and the call is unreachable."""
    port = free_port()
    events: list[str] = []

    async def trace(event: str, _info: Mapping[str, Any]) -> None:
        events.append(event)

    transport = AiohttpTransport(max_connections=MAX_CONNECTIONS, retries=2)
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/", extensions={"trace": trace})
    assert events == [CONNECTING] * 3
    async with client(f"http://127.0.0.1:{port}") as hiveon:
        with pytest.raises(HiveonUnreachableError):
            await hiveon.start_deployment(request(), api_key=API_KEY)


@pytest.mark.e2e  # a server on loopback
@pytest.mark.parametrize("answer", [hangs_up, answers_half, answers_no_http])
async def test_a_request_sent_then_not_answered_whole_is_uncertain(answer: Behaviour) -> None:
    """A hang-up after the request arrived, half an answer, or no HTTP at all: the vendor may
    have acted, so the start is uncertain (reconciled), never retried as unsent."""
    async with loopback(answer) as (origin, wire), client(origin, retries=2) as hiveon:
        with pytest.raises(HiveonUncertainError):
            await hiveon.start_deployment(request(), api_key=API_KEY)
    assert len(wire.heads) == 1  # sent once, not again


@pytest.mark.e2e  # a server on loopback
async def test_the_trace_tells_connecting_then_sending_and_reuse() -> None:
    """A new connection is traced as connecting, then sending; a reused one as sending only."""
    events: list[str] = []

    async def trace(event: str, _info: Mapping[str, Any]) -> None:
        events.append(event)

    async with loopback(answers_ok) as (origin, _wire):
        transport = AiohttpTransport(max_connections=MAX_CONNECTIONS)
        async with httpx.AsyncClient(transport=transport) as http:
            for _ in range(2):
                response = await http.post(origin, content=b"{}", extensions={"trace": trace})
                assert response.content == ANSWER
    assert events == [CONNECTING, SENDING, SENDING]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aiohttp.ConnectionTimeoutError("slow connect"), httpx.ConnectTimeout),
        (
            aiohttp.ClientConnectorDNSError(
                aiohttp.client_reqrep.ConnectionKey(
                    "h",
                    80,
                    is_ssl=False,
                    ssl=True,
                    proxy=None,
                    proxy_auth=None,
                    proxy_headers_hash=None,
                ),
                OSError("no such host"),
            ),
            httpx.ConnectError,
        ),
        (
            aiohttp.ClientConnectorCertificateError(
                aiohttp.client_reqrep.ConnectionKey(
                    "h",
                    443,
                    is_ssl=True,
                    ssl=True,
                    proxy=None,
                    proxy_auth=None,
                    proxy_headers_hash=None,
                ),
                ssl.SSLCertVerificationError("certificate verify failed"),
            ),
            UntrustedCertificateError,
        ),
        (aiohttp.SocketTimeoutError("no answer"), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset by peer"), httpx.ReadError),
        (aiohttp.ClientConnectionResetError("reset"), httpx.ReadError),
        (aiohttp.ClientError("anything else"), httpx.ReadError),
    ],
)
def test_each_aiohttp_error_becomes_the_httpx_error_that_says_if_it_was_sent(
    error: Exception, expected: type[httpx.RequestError]
) -> None:
    """Connect-phase errors become connect errors (nothing sent); every other one a read or
    protocol error (the vendor may have acted), unknown ones included."""
    mapped = httpx_error(error, httpx.Request("POST", "http://vendor.test/"))
    assert type(mapped) is expected


def loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (a CA no system trusts) and its key, as files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deploybot test CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "ca.pem", directory / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_path, key_path


# A fresh interpreter: OpenSSL reads SSL_CERT_FILE when aiohttp makes its context, on import.
START_OVER_TLS = """
import asyncio, sys
from bot.vendor import HiveonClient, HiveonError
from tests.test_http_transport import API_KEY, request

async def main() -> None:
    async with HiveonClient(base_url=sys.argv[1], timeout_s=5) as hiveon:
        try:
            started = await hiveon.start_deployment(request(), api_key=API_KEY)
        except HiveonError as exc:
            print(type(exc).__name__, exc)
        else:
            print("started", started.deployment_id)

asyncio.run(main())
"""


async def start_over_tls(origin: str, environment: Mapping[str, str]) -> str:
    """What a start against `origin` printed, made by a bot process with `environment`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        START_OVER_TLS,
        origin,
        cwd=ROOT,
        env={**clean_environment(), "PYTHONPATH": str(ROOT), **environment},
        stdout=asyncio.subprocess.PIPE,
    )
    printed, _ = await process.communicate()
    return printed.decode().strip()


@pytest.mark.e2e  # a TLS server on loopback, a client in a process of its own
async def test_hiveon_is_trusted_by_the_systems_store_or_the_ca_ssl_cert_file_names(
    tmp_path: Path,
) -> None:
    """Over TLS, Hiveon's certificate is checked as Slack's is: one signed by a CA the machine
    does not trust is refused before anything is sent, said so, and not tried again (the bot's
    own transport retries a refused connection); the start goes through once
    SSL_CERT_FILE names that CA."""
    certificate, key = loopback_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate, key)
    async with loopback(answers_ok, tls=tls) as (origin, wire):
        refused = await start_over_tls(origin, {})
        assert (wire.heads, wire.connections) == ([], 1)
        trusted = await start_over_tls(origin, {"SSL_CERT_FILE": str(certificate)})
    assert refused == (
        "HiveonUnreachableError Hiveon could not be reached: "
        "its TLS certificate could not be verified"
    )
    assert trusted == "started dep-1"
    assert wire.connections == 2
    [head] = wire.heads
    assert head.startswith(f"POST {START_PATH} HTTP/1.1".encode())
