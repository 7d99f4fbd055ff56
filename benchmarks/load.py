"""The load generator: signed Slack requests sent over HTTP, ack latencies, replies read back."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

import httpx

from bot.modal_context import ModalContext
from bot.testing.seed import form
from bot.testing.slack_requests import SlackRequest, slash_command, view_submission

_REPLY_POLL_S = 0.05
HTTP_OK = 200


@dataclass(frozen=True)
class Stats:
    """Percentiles of a sample, in milliseconds (nearest rank)."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Stats:
        """The stats of durations given in seconds."""
        ordered = sorted(seconds)
        if not ordered:
            return cls(0, math.nan, math.nan, math.nan, math.nan)

        def rank(p: float) -> float:
            return ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000

        return cls(len(ordered), rank(0.50), rank(0.90), rank(0.99), ordered[-1] * 1000)


@dataclass
class Sent:
    """One request as the driver saw it: when it left (wall clock), its ack latency, success."""

    channel: str
    sent_at: float
    latency_s: float = math.nan
    ok: bool = False


@dataclass
class Acks:
    """The outcome of one series of requests."""

    sent: list[Sent] = field(default_factory=list)
    cpu_s: float = 0.0  # the server's CPU time while they were answered, when measured

    def __iadd__(self, other: Acks) -> Self:
        self.sent += other.sent
        self.cpu_s += other.cpu_s
        return self

    @property
    def cpu_ms_per_request(self) -> float:
        """The server's CPU time per request, in milliseconds."""
        return self.cpu_s / len(self.sent) * 1000 if self.sent else math.nan

    @property
    def latencies(self) -> list[float]:
        """The ack latency of every request that was answered, in seconds."""
        return [s.latency_s for s in self.sent if not math.isnan(s.latency_s)]

    @property
    def failures(self) -> int:
        """Requests that got no answer, an error status, or field errors instead of an ack."""
        return sum(not s.ok for s in self.sent)


def deploy_command(response_url: str) -> tuple[str, SlackRequest]:
    """`/deploy` with no text, in a channel of its own: the modal opens, prefilled if it can."""
    channel = new_channel()
    return channel, slash_command(channel_id=channel, response_url=response_url)


def deploy_submission(response_url: str, *, vendor_latency_s: float) -> tuple[str, SlackRequest]:
    """A complete, valid deploy form whose machine makes the fake vendor answer that late."""
    channel = new_channel()
    values = form(machine_id=f"slow-{vendor_latency_s:g}")
    # As the form deploybot opened carries it: the external ID it made, kept by the user.
    where = ModalContext(
        channel_id=channel,
        response_url=response_url,
        minted_id=values["external_deployment_id"],
    )
    return channel, view_submission(values=values, private_metadata=where.dump())


def new_channel() -> str:
    """A channel ID of its own for each request, so its replies can be told apart."""
    return f"C{uuid.uuid4().hex[:12].upper()}"


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared requests and reads the answers.

    The driver's own cost is part of every latency it measures, and httpx spends about a
    millisecond of CPU per request: at concurrency 50 the driver, not the server, would be
    measured. Requests are encoded before the clock starts; answers are read by
    Content-Length, which is what uvicorn sends for these routes.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, origin: str) -> Connection:
        """Connect to `http://host:port`."""
        host, port = origin.removeprefix("http://").rsplit(":", 1)
        return cls(*await asyncio.open_connection(host, int(port)))

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one encoded request; the status and body of its answer."""
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await self._reader.readexactly(length) if length else b""
        return int(status_line.split(" ", 2)[1]), body

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def encode(origin: str, path: str, request: SlackRequest) -> bytes:
    """The request as it goes on the wire."""
    host = origin.removeprefix("http://")
    headers = {"host": host, "content-length": str(len(request.body)), **request.headers}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {path} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + request.body


async def _send(connection: Connection | str, channel: str, request: bytes) -> Sent:
    """Send one request on `connection`, or on a new connection to that origin, opened on the
    clock (and closed off it)."""
    sent = Sent(channel, time.time())
    started = time.perf_counter()
    live = None
    try:
        live = await Connection.open(connection) if isinstance(connection, str) else connection
        status, body = await live.exchange(request)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        return sent
    else:
        sent.latency_s = time.perf_counter() - started
        # An ack is 200 with an empty body or a text; `response_action: errors` is a failure.
        sent.ok = status == HTTP_OK and b"errors" not in body
        return sent
    finally:
        if isinstance(connection, str) and live is not None:
            await live.close()


async def closed_loop(
    origin: str,
    requests: Sequence[tuple[str, SlackRequest]],
    *,
    concurrency: int,
    path: str = "/slack/events",
) -> Acks:
    """Send `requests` with `concurrency` of them in flight, each next one when one is answered;
    each of the `concurrency` senders keeps its connection."""
    queue = [(channel, encode(origin, path, request)) for channel, request in reversed(requests)]
    acks = Acks()

    async def sender() -> None:
        connection = await Connection.open(origin)
        try:
            while queue:
                channel, request = queue.pop()
                acks.sent.append(await _send(connection, channel, request))
        finally:
            await connection.close()

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return acks


async def open_loop(
    origin: str, requests: Sequence[tuple[str, SlackRequest]], *, spread_s: float
) -> Acks:
    """Send `requests` on a schedule, evenly over `spread_s` (0: all at once), never waiting
    for answers: each on a connection of its own, opened on the clock, as a crowd's requests
    arrive."""
    encoded = [(channel, encode(origin, "/slack/events", r)) for channel, r in requests]
    acks = Acks()
    start = time.perf_counter()

    async def one(index: int, channel: str, request: bytes) -> None:
        delay = start + index * spread_s / len(requests) - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        acks.sent.append(await _send(origin, channel, request))

    await asyncio.gather(*(one(i, c, r) for i, (c, r) in enumerate(encoded)))
    return acks


async def thread_replies(
    control: str, channels: Sequence[str], *, timeout_s: float
) -> dict[str, float]:
    """When the first thread reply reached each channel (wall clock), waiting up to `timeout_s`
    for all of them; channels still without one are left out."""
    wanted = set(channels)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=control, trust_env=False) as http:
        while True:
            first: dict[str, float] = {}
            for channel, thread_ts, at in (await http.get("/posts")).json():
                if thread_ts is not None and channel in wanted:
                    first[channel] = min(at, first.get(channel, at))
            if len(first) == len(wanted) or time.monotonic() >= deadline:
                return first
            await asyncio.sleep(_REPLY_POLL_S)


async def vendor_starts(control: str) -> list[float]:
    """When each start request reached the fake vendor (wall clock)."""
    async with httpx.AsyncClient(base_url=control, trust_env=False) as http:
        starts: list[float] = (await http.get("/vendor-starts")).json()
        return starts


async def reset_fakes(control: str) -> None:
    """Forget what the fake Slack recorded so far."""
    async with httpx.AsyncClient(base_url=control, trust_env=False) as http:
        (await http.post("/reset")).raise_for_status()
