"""What a benchmark run measures, phase by phase, each figure beside its target.

- `acks`: ack latency of `/deploy` and of a modal submission at each concurrency, the bot
  against the bare Bolt app in turns, plus an empty Starlette handler (the floor);
- `overhead`: submission → thread reply at a steady rate, beyond the vendor's own latency;
- `burst`: 200 submissions at once with a vendor that takes 2 s;
- `scale-out`: the burst on PostgreSQL with one server process, then with `--workers` of them.

Each cell of `acks`, the overhead run and the burst get a bot process of their own, so
deployments followed by one phase never load the next, and every start is timed.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import load
from benchmarks.load import Acks, Stats
from benchmarks.processes import Fakes
from benchmarks.report import Figure
from bot.testing import postgres
from bot.testing.processes import ROOT, ServerProcess, clean_environment
from bot.testing.slack_requests import SlackRequest

# The targets.
ACK_P50_MS = 4.0
ACK_P99_MS = 20.0
ACK_RATIO = 0.35  # × the bare Bolt app's p50, measured in the same run
# At concurrency 50, × the bare Bolt app's, measured in the same run.
LOADED_P50_RATIO = 1.0
LOADED_P99_RATIO = 0.8
BURST_SIZE = 200
BURST_VENDOR_S = 2.0
BURST_WALL_S = BURST_VENDOR_S + 0.5
BURST_CPU_MS = 4.5
BURST_ACK_S = 1.0
SLACK_DEADLINE_S = 3.0
OVERHEAD_P50_MS = 20.0
START_S = 0.8
RSS_MB = 100.0

KINDS = ("/deploy", "submission")
PATH = "/slack/events"
_PY_SPY = shutil.which("py-spy", path=Path(sys.executable).parent) or "py-spy"
_PY_SPY_ATTACH_S = 1.0
# Start-up is a figure: /healthz is polled often enough to time it to the millisecond.
_START_POLL_S = 0.002

Builder = Callable[[], tuple[str, SlackRequest]]


@dataclass(frozen=True)
class Options:
    """What the command line chose."""

    requests: int
    rounds: int
    concurrency: tuple[int, ...]
    vendor_latency_s: float
    overhead_requests: int
    overhead_rate: float
    burst_spread_s: float
    phases: tuple[str, ...]
    workers: int
    output: Path
    profile: Path | None


@dataclass
class Results:
    """Everything a run measured: figures with targets, the latency table, raw details."""

    figures: list[Figure] = field(default_factory=list)
    latency_table: list[list[str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class Run:
    """One benchmark run: the options, the fakes, a working directory, fresh bots."""

    def __init__(self, options: Options, fakes: Fakes, workdir: Path) -> None:
        self.options = options
        self.fakes = fakes
        self.workdir = workdir
        self.response_url = fakes.urls.response_url
        # The bot's own defaults for everything else, as `make run` would have them.
        self.settings = {"SLACK_API_URL": fakes.urls.slack, "HIVEON_API_URL": fakes.urls.vendor}
        self.starts: list[float] = []
        self.first_start: float | None = None
        self._bots = 0

    @contextmanager
    def bot(self, *, database_url: str | None = None, workers: int = 1) -> Iterator[ServerProcess]:
        """A fresh bot process, with a SQLite database of its own unless `database_url` names
        one. Its start-up time is kept when it is one process on SQLite, as `make run` starts:
        the run's first bot on an empty database (it creates the schema), every later one on a
        database `python -m bot migrate` made first, as any start after the first finds it."""
        self._bots += 1
        workdir = self.workdir / f"bot-{self._bots}"
        workdir.mkdir()
        spy = None
        settings = dict(self.settings)
        if workers > 1:
            settings["DEPLOYBOT_WORKERS"] = str(workers)
        timed = database_url is None and workers == 1
        first = timed and self.first_start is None
        server = ServerProcess(workdir, settings, database_url=database_url, poll_s=_START_POLL_S)
        if not first:
            _migrate(server.database_url)
        with server as bot:
            if first:
                self.first_start = bot.started_in_s
            elif timed:
                self.starts.append(bot.started_in_s)
            if self.options.profile is not None:
                spy = _py_spy(bot.pid, self.options.profile / f"bot-{self._bots}.speedscope.json")
            yield bot
        if spy is not None:
            spy.wait(timeout=60)  # it writes the profile once the bot has exited

    def baseline(self) -> ServerProcess:
        """The bare Bolt app's process, started like the bot (not yet started)."""
        workdir = self.workdir / "baseline"
        workdir.mkdir()
        return ServerProcess(
            workdir,
            self.settings,
            module="benchmarks.baseline_app",
            name="baseline",
            poll_s=_START_POLL_S,
        )

    def builder(self, kind: str) -> Builder:
        """Makes the next request of a kind, with a channel of its own."""
        if kind == "/deploy":
            return lambda: load.deploy_command(self.response_url)
        latency = self.options.vendor_latency_s
        return lambda: load.deploy_submission(self.response_url, vendor_latency_s=latency)


def _migrate(database_url: str) -> None:
    """`python -m bot migrate`, as a platform's release phase runs it before the bot starts."""
    subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=ROOT,
        env=clean_environment() | {"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=True,
        timeout=60,
    )


def _py_spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling a process (while it holds the GIL) until it exits."""
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [_PY_SPY, "record", "--pid", str(pid), "--rate", "500", "--gil", "--nonblocking"]
    spy = subprocess.Popen(  # noqa: S603 — py-spy beside this interpreter, our own arguments
        [*command, "--format", "speedscope", "--output", str(output)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(_PY_SPY_ATTACH_S)  # attached before the load begins
    return spy


def _acks(server: ServerProcess, build: Builder, count: int, concurrency: int, path: str) -> Acks:
    """`count` requests at `concurrency`, with the server's CPU time for them."""
    requests = [build() for _ in range(count)]
    cpu_before = server.cpu_s()
    acks = asyncio.run(
        load.closed_loop(server.origin, requests, concurrency=concurrency, path=path)
    )
    acks.cpu_s = server.cpu_s() - cpu_before
    return acks


def _warm_up(server: ServerProcess, build: Builder, concurrency: int, path: str = PATH) -> None:
    _acks(server, build, 2 * concurrency + 20, concurrency, path)


def _row(name: str, acks: Acks) -> list[str]:
    stats = Stats.of(acks.latencies)
    values = (stats.p50, stats.p90, stats.p99, stats.max, acks.cpu_ms_per_request)
    return [name, str(stats.count), *(f"{v:.2f}" for v in values)]


LATENCY_HEADER = ["ack latency, ms", "n", "p50", "p90", "p99", "max", "server CPU/request"]


def measure_acks(run: Run, results: Results) -> None:
    """Ack latency of each kind at each concurrency: the bot and the bare Bolt app in turns."""
    options = run.options
    cells: dict[str, Any] = results.details.setdefault("ack_latency_ms", {})
    with run.baseline() as baseline:
        results.figures.append(
            Figure("bare Bolt app: start → /healthz", baseline.started_in_s, "s")
        )
        build = run.builder("/deploy")
        for concurrency in options.concurrency:
            _warm_up(baseline, build, concurrency, "/floor")
            floor = _acks(baseline, build, options.requests, concurrency, "/floor")
            where = f"empty Starlette handler, c={concurrency}"
            results.latency_table.append(_row(where, floor))
            cells[where] = asdict(Stats.of(floor.latencies)) | {"cpu_ms": floor.cpu_ms_per_request}
        for kind in KINDS:
            for concurrency in options.concurrency:
                print(f"… {kind} acks at concurrency {concurrency}", flush=True)
                _ack_cell(run, baseline, kind, concurrency, results)


def _ack_cell(
    run: Run, baseline: ServerProcess, kind: str, concurrency: int, results: Results
) -> None:
    """One cell: a fresh bot and the baseline warmed up, then measured in alternating rounds,
    so whatever else the machine does weighs on both."""
    build = run.builder(kind)
    per_round = max(1, run.options.requests // run.options.rounds)
    bot_acks, base_acks = Acks(), Acks()
    with run.bot() as deploybot:
        for server in (deploybot, baseline):
            _warm_up(server, build, concurrency)
        for _ in range(run.options.rounds):
            base_acks += _acks(baseline, build, per_round, concurrency, PATH)
            bot_acks += _acks(deploybot, build, per_round, concurrency, PATH)
    bot, base = Stats.of(bot_acks.latencies), Stats.of(base_acks.latencies)
    ratios = {
        name: getattr(bot, name) / getattr(base, name) for name in ("p50", "p90", "p99", "max")
    }
    where = f"{kind} ack, c={concurrency}"
    results.latency_table += [
        _row(f"{where}: bare Bolt", base_acks),
        _row(f"{where}: deploybot", bot_acks),
        [f"{where}: deploybot ÷ bare Bolt", "", *(f"{r:.2f}" for r in ratios.values()), ""],
    ]
    results.details["ack_latency_ms"][where] = {
        "deploybot": asdict(bot) | {"cpu_ms": bot_acks.cpu_ms_per_request},
        "bare_bolt": asdict(base) | {"cpu_ms": base_acks.cpu_ms_per_request},
        "ratio": ratios,
        "failed": {"deploybot": bot_acks.failures, "bare_bolt": base_acks.failures},
    }
    if concurrency == 1:
        results.figures += [
            Figure(f"{where}: p50", bot.p50, "ms", ACK_P50_MS),
            Figure(f"{where}: p99", bot.p99, "ms", ACK_P99_MS),
            Figure(f"{where}: p50 ÷ bare Bolt p50", ratios["p50"], "×", ACK_RATIO),
        ]
    else:
        # Under load both apps are CPU-bound, and the bot also does its real work (the modal,
        # the deployment) on the same two cores.
        results.figures += [
            Figure(f"{where}: p50 ÷ bare Bolt p50", ratios["p50"], "×", LOADED_P50_RATIO),
            Figure(f"{where}: p99 ÷ bare Bolt p99", ratios["p99"], "×", LOADED_P99_RATIO),
            Figure(f"{where}: slowest", bot.max / 1000, "s", BURST_ACK_S),
        ]
    results.figures.append(Figure(f"{where}: failed", bot_acks.failures, "", 0))


def measure_overhead(run: Run, results: Results) -> None:
    """Submissions at a steady rate: when the thread reply arrives, beyond the vendor."""
    options = run.options
    print(
        f"… {options.overhead_requests} submissions at {options.overhead_rate:g}/s, "
        f"vendor {options.vendor_latency_s:g} s",
        flush=True,
    )
    requests = [run.builder("submission")() for _ in range(options.overhead_requests)]
    spread = options.overhead_requests / options.overhead_rate
    with run.bot() as bot:
        asyncio.run(load.reset_fakes(run.fakes.urls.control))
        acks = asyncio.run(load.open_loop(bot.origin, requests, spread_s=spread))
        channels = [channel for channel, _ in requests]
        replies = asyncio.run(
            load.thread_replies(run.fakes.urls.control, channels, timeout_s=30 + spread)
        )
    extra = [
        replies[s.channel] - s.sent_at - options.vendor_latency_s
        for s in acks.sent
        if s.channel in replies
    ]
    stats = Stats.of(extra)
    results.details["overhead_ms"] = asdict(stats)
    wanted = options.overhead_requests
    results.figures += [
        Figure("submission → reply, beyond the vendor: p50", stats.p50, "ms", OVERHEAD_P50_MS),
        Figure("submission → reply, beyond the vendor: p99", stats.p99, "ms"),
        Figure("submission → reply: replies", len(replies), f"of {wanted}", wanted, at_most=False),
    ]


@dataclass(frozen=True)
class Burst:
    """What the burst measured; times are seconds from the first request sent."""

    replies: int
    sent_within_s: float
    acked_by_s: float
    first_vendor_call_s: float
    last_vendor_call_s: float
    first_reply_s: float
    wall_s: float
    bot_cpu_s: float
    rss_before_mb: float
    peak_rss_mb: float
    rss_after_mb: float

    @property
    def cpu_ms_per_submission(self) -> float:
        """The bot's CPU time through the burst, per submission."""
        return self.bot_cpu_s / BURST_SIZE * 1000

    @property
    def started_per_s(self) -> float:
        """Throughput: submissions the vendor was asked to start per second, from the first
        request sent to the last start call."""
        return BURST_SIZE / self.last_vendor_call_s if self.last_vendor_call_s > 0 else math.nan


def _burst(run: Run, bot: ServerProcess) -> tuple[Burst, Acks]:
    """200 submissions at once (or over `--burst-spread`) to a started bot, a 2-s vendor."""
    requests = [
        load.deploy_submission(run.response_url, vendor_latency_s=BURST_VENDOR_S)
        for _ in range(BURST_SIZE)
    ]
    control = run.fakes.urls.control
    # A bot in service has answered a request or two before the incident: one per worker.
    warm_up = [run.builder("/deploy")() for _ in range(4)]
    asyncio.run(load.closed_loop(bot.origin, warm_up, concurrency=1))
    asyncio.run(load.reset_fakes(control))
    cpu_before = bot.cpu_s()
    rss_before, _ = bot.memory_mb()
    acks = asyncio.run(load.open_loop(bot.origin, requests, spread_s=run.options.burst_spread_s))
    replies = asyncio.run(load.thread_replies(control, [c for c, _ in requests], timeout_s=30))
    cpu = bot.cpu_s() - cpu_before
    rss_after, peak_rss = bot.memory_mb()
    vendor_calls = asyncio.run(load.vendor_starts(control))
    first = min(s.sent_at for s in acks.sent)
    result = Burst(
        replies=len(replies),
        sent_within_s=max(s.sent_at for s in acks.sent) - first,
        acked_by_s=max(s.sent_at + s.latency_s for s in acks.sent) - first,
        first_vendor_call_s=min(vendor_calls, default=math.nan) - first,
        last_vendor_call_s=max(vendor_calls, default=math.nan) - first,
        first_reply_s=min(replies.values(), default=math.nan) - first,
        wall_s=max(replies.values(), default=math.nan) - first,
        bot_cpu_s=cpu,
        rss_before_mb=rss_before,
        peak_rss_mb=peak_rss,
        rss_after_mb=rss_after,
    )
    print(
        f"  acked by {result.acked_by_s:.2f} s; vendor called from "
        f"{result.first_vendor_call_s:.2f} s to {result.last_vendor_call_s:.2f} s; replies from "
        f"{result.first_reply_s:.2f} s to {result.wall_s:.2f} s; bot CPU {cpu:.2f} s "
        f"({result.cpu_ms_per_submission:.1f} ms per submission)",
        flush=True,
    )
    return result, acks


def measure_burst(run: Run, results: Results) -> None:
    """The incident: 200 submissions at once (or over `--burst-spread`), a 2-s vendor."""
    print(f"… burst of {BURST_SIZE} submissions, vendor {BURST_VENDOR_S:g} s", flush=True)
    with run.bot() as bot:
        result, acks = _burst(run, bot)
    latencies, failed = acks.latencies, acks.failures
    stats = Stats.of(latencies)
    results.details["burst"] = asdict(result) | {"ack_latency_ms": asdict(stats), "failed": failed}
    late = sum(t > BURST_ACK_S for t in latencies)
    too_late = sum(t > SLACK_DEADLINE_S for t in latencies)
    results.figures += [
        Figure("burst: all sent within", result.sent_within_s, "s", 1.0),
        Figure("burst: acks over 1 s (or none)", late + failed, "", 0),
        Figure("burst: acks over 3 s (or none)", too_late + failed, "", 0),
        Figure("burst: slowest ack", stats.max / 1000, "s"),
        Figure(
            "burst: thread replies", result.replies, f"of {BURST_SIZE}", BURST_SIZE, at_most=False
        ),
        Figure("burst: wall time, first sent → last reply", result.wall_s, "s", BURST_WALL_S),
        Figure(
            "burst: bot CPU per submission",
            result.cpu_ms_per_submission,
            "ms",
            BURST_CPU_MS,
        ),
        Figure("burst: peak RSS of the bot", result.peak_rss_mb, "MB", RSS_MB),
        # What it held already, started and warmed up: the rest is the burst's.
        Figure("burst: RSS of the bot before it", result.rss_before_mb, "MB"),
    ]


def measure_scale_out(run: Run, results: Results) -> None:
    """The burst on PostgreSQL with one server process, then with `--workers` of them
    (`DEPLOYBOT_WORKERS`) on one port: how throughput grows with workers."""
    details: dict[str, Any] = results.details.setdefault("scale_out", {})
    with postgres.server() as admin_url:
        if admin_url is None:
            raise SystemExit(f"the scale-out phase runs on PostgreSQL.\n{postgres.MISSING}")
        for workers in sorted({1, run.options.workers}):
            print(
                f"… burst of {BURST_SIZE} on PostgreSQL, {workers} worker(s), "
                f"vendor {BURST_VENDOR_S:g} s",
                flush=True,
            )
            database_url = postgres.create_database(admin_url)
            try:
                with run.bot(database_url=database_url, workers=workers) as bot:
                    result, acks = _burst(run, bot)
            finally:
                postgres.drop_database(admin_url, database_url)
            stats = Stats.of(acks.latencies)
            where = f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}"
            details[str(workers)] = asdict(result) | {
                "ack_latency_ms": asdict(stats),
                "failed": acks.failures,
                "started_per_s": result.started_per_s,
            }
            results.figures += [
                Figure(
                    f"{where}: thread replies",
                    result.replies,
                    f"of {BURST_SIZE}",
                    BURST_SIZE,
                    at_most=False,
                ),
                Figure(f"{where}: slowest ack", stats.max / 1000, "s", BURST_ACK_S),
                Figure(f"{where}: vendor called for all by", result.last_vendor_call_s, "s"),
                Figure(f"{where}: submissions started per second", result.started_per_s, "/s"),
                Figure(f"{where}: wall time, first sent → last reply", result.wall_s, "s"),
                Figure(f"{where}: CPU per submission", result.cpu_ms_per_submission, "ms"),
                Figure(f"{where}: peak RSS, all processes", result.peak_rss_mb, "MB"),
            ]


PHASES: dict[str, Callable[[Run, Results], None]] = {
    "acks": measure_acks,
    "overhead": measure_overhead,
    "burst": measure_burst,
    "scale-out": measure_scale_out,
}
