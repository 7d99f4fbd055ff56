"""The benchmark's own process, the fakes, and import timing; servers start as tests start them.

The bot and the baseline app run as `bot.testing.processes.ServerProcess`, the starter the
end-to-end tests use too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Self

from bot.testing.processes import ROOT, clean_environment

_STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FakeUrls:
    """Where the fakes listen, and a response_url of the fake Slack for every request."""

    slack: str
    vendor: str
    control: str
    response_url: str


class Fakes:
    """`python -m benchmarks.fakes`: fake Slack and fake Hiveon, stopped by closing its stdin."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.urls = FakeUrls("", "", "", "")

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fakes"],
            cwd=ROOT,
            env=clean_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stdout: IO[str] | None = self._process.stdout
        if stdout is None:
            raise RuntimeError("the fakes' stdout is not a pipe")
        line = stdout.readline()
        if not line:
            raise RuntimeError("the fakes exited before serving")
        self.urls = FakeUrls(**json.loads(line))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def import_time_s(module: str, *, runs: int = 3) -> float:
    """The fastest of `runs` fresh interpreters importing `module` (its .pyc files warm)."""
    code = (
        "import time; started = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - started)"
    )
    times: list[float] = []
    for _ in range(runs):
        result = subprocess.run(  # noqa: S603 — our own interpreter and a fixed module name
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=clean_environment() | {"PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(result.stdout))
    return min(times)
