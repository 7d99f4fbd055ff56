"""`make bench`: the bot's real server process measured against its performance targets.

Four kinds of process: the fakes (fake Slack Web API and fake Hiveon on loopback,
`benchmarks/fakes.py`); the bot (`python -m bot` in HTTP mode, as `make run` starts it, with
SQLite in a temporary directory); the baseline (`benchmarks/baseline_app.py`, a bare Bolt
`AsyncApp` that only acks, behind the same Starlette and uvicorn); and this one, which sends
them signed Slack-shaped requests over HTTP and reads what reached the fakes.

Prints every figure beside its target, writes them to `benchmarks/results/latest.json` and
exits 1 when a target is missed. `--help` lists the knobs; `--profile DIR` records each bot
with py-spy (installed apart: `pip install py-spy`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.phases import LATENCY_HEADER, PHASES, START_S, Options, Results, Run
from benchmarks.processes import Fakes, import_time_s
from benchmarks.report import Figure, machine, table, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def parse_options(argv: list[str]) -> Options:
    """The command line."""
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="per app and cell (600)")
    parser.add_argument("--rounds", type=int, default=3, help="bot/baseline turns per cell (3)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    parser.add_argument(
        "--vendor-latency", type=float, default=0.2, help="seconds, outside the burst (0.2)"
    )
    parser.add_argument("--overhead-requests", type=int, default=100)
    parser.add_argument("--overhead-rate", type=float, default=20.0, help="per second (20)")
    parser.add_argument(
        "--burst-spread", type=float, default=0.0, help="send the burst over this many seconds"
    )
    parser.add_argument("--phases", nargs="+", choices=list(PHASES), default=list(PHASES))
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server processes (DEPLOYBOT_WORKERS) beside one in the scale-out phase (2)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy profiles of the bots")
    args = parser.parse_args(argv)
    return Options(
        requests=args.requests,
        rounds=args.rounds,
        concurrency=tuple(args.concurrency),
        vendor_latency_s=args.vendor_latency,
        overhead_requests=args.overhead_requests,
        overhead_rate=args.overhead_rate,
        burst_spread_s=args.burst_spread,
        phases=tuple(args.phases),
        workers=args.workers,
        output=args.output,
        profile=args.profile,
    )


def main(argv: list[str]) -> int:
    """Run the phases, print the figures, write the JSON; 1 when a target is missed."""
    options = parse_options(argv)
    began = time.perf_counter()
    host = machine()
    print(
        f"deploybot benchmark: {host['cpus']} × {host['cpu_model']}, Python {host['python']}, "
        f"load average {host['load_average'][0]:.2f} at the start",
        flush=True,
    )
    results = Results(details={"machine": host, "options": asdict(options)})
    with tempfile.TemporaryDirectory(prefix="deploybot-bench-") as tmp, Fakes() as fakes:
        run = Run(options, fakes, Path(tmp))
        for phase in options.phases:
            PHASES[phase](run, results)
    if run.starts:
        results.figures += [
            Figure(
                f"bot: start → /healthz, worst of {len(run.starts)}",
                max(run.starts),
                "s",
                START_S,
            ),
            Figure("bot: start → /healthz, median", statistics.median(run.starts), "s"),
        ]
    if run.first_start is not None:
        results.figures.append(
            Figure("bot: first start, empty database → /healthz", run.first_start, "s")
        )
    results.figures.append(
        Figure("bot: import time of bot.__main__", import_time_s("bot.__main__"), "s")
    )
    results.details |= {
        "starts_s": run.starts,
        "first_start_s": run.first_start,
        "duration_s": time.perf_counter() - began,
    }
    if results.latency_table:
        print(f"\n{table(results.latency_table, LATENCY_HEADER)}")
    print(f"\n{table([f.row() for f in results.figures], ['figure', 'value', 'target', ''])}")
    write_json(options.output, figures=results.figures, details=results.details)
    missed = [f for f in results.figures if f.ok is False]
    targets = [f for f in results.figures if f.ok is not None]
    print(
        f"\n{len(targets) - len(missed)} of {len(targets)} targets met "
        f"in {results.details['duration_s']:.0f} s; figures in {options.output}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
