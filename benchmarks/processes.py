"""The processes a benchmark run starts: the fakes, the bot and the baseline, each on its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from tests.bot_process import API_KEY, BOT_TOKEN, free_port
from tests.slack_requests import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
_SCRUBBED_PREFIXES = ("SLACK_", "HIVEON_", "DEPLOYBOT_")
_SCRUBBED = frozenset({"DATABASE_URL", "PORT"})
_START_TIMEOUT_S = 30.0
_POLL_S = 0.002
_STOP_TIMEOUT_S = 30.0


def _clean_environment() -> dict[str, str]:
    """This process's environment without any setting the bot or Bolt would read."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name not in _SCRUBBED
    }


@dataclass(frozen=True)
class FakeUrls:
    """Where the fakes listen."""

    slack: str
    vendor: str
    control: str


class Fakes:
    """`python -m benchmarks.fakes`: fake Slack and fake Hiveon, stopped by closing its stdin."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.urls = FakeUrls("", "", "")

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fakes"],
            cwd=ROOT,
            env=_clean_environment(),
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


class ServerProcess:
    """An HTTP server process (`python -m <module>`) started like `make run` starts the bot.

    `started_in_s` is the time from `Popen` to the first 200 from `GET /healthz`.
    """

    def __init__(
        self, module: str, *, workdir: Path, settings: Mapping[str, str], name: str
    ) -> None:
        self.name = name
        self.module = module
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self._env = _clean_environment() | {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "HIVEON_API_KEY": API_KEY,
            "DATABASE_URL": f"sqlite:///{workdir / f'{name}.sqlite3'}",
            "PORT": str(self.port),
            "PYTHONPATH": str(ROOT),
            **settings,
        }
        self._process: subprocess.Popen[bytes] | None = None
        self.started_in_s = float("nan")

    @property
    def pid(self) -> int:
        """The process ID."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def __enter__(self) -> Self:
        # The working directory has no .env: only the settings above reach the server.
        with self.log_path.open("ab") as log, httpx.Client(timeout=1) as http:
            started = time.perf_counter()
            self._process = subprocess.Popen(  # noqa: S603 — this interpreter, our own module
                [sys.executable, "-m", self.module],
                cwd=self.workdir,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.started_in_s = self._wait_until_serving(http, started)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def memory_mb(self) -> tuple[float, float]:
        """Resident memory now and its peak so far, in MB (Linux `/proc`)."""
        fields = dict(
            line.split(":", 1)
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines()
            if ":" in line
        )

        def megabytes(name: str) -> float:
            return int(fields[name].split()[0]) / 1024  # the kernel counts in kB

        return megabytes("VmRSS"), megabytes("VmHWM")

    def cpu_s(self) -> float:
        """CPU time the process used so far, user and system, in seconds (Linux `/proc`)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def logs(self) -> str:
        """What the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def _wait_until_serving(self, http: httpx.Client, started: float) -> float:
        deadline = started + _START_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.logs()}")
            try:
                if http.get(f"{self.origin}/healthz").status_code == httpx.codes.OK:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(_POLL_S)
        raise RuntimeError(f"{self.name} did not serve within {_START_TIMEOUT_S} s:\n{self.logs()}")


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
            env=_clean_environment() | {"PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(result.stdout))
    return min(times)
