"""Server processes started as `make run` starts the bot: the bot, the playground, any app.

`ServerProcess` runs `python -m <module>` with a clean environment (no `SLACK_*`, `HIVEON_*`,
`DEPLOYBOT_*` of whoever runs it), made-up credentials, a SQLite file in its working directory
and the settings it is given, and waits until `GET /healthz` answers 200. Its output goes to a
log file, for assertions and for the message of a failed test.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import httpx

from bot.testing.clock import SharedClock
from bot.testing.slack_requests import SIGNING_SECRET, SlackRequest

ROOT: Final = Path(__file__).resolve().parents[2]
BOT_TOKEN: Final = "xoxb-test-bot-token-1234567890"  # noqa: S105 — the tests' made-up token
API_KEY: Final = "hk-test-api-key-0987654321"
_SCRUBBED_PREFIXES: Final = ("SLACK_", "HIVEON_", "DEPLOYBOT_")
_SCRUBBED: Final = frozenset({"DATABASE_URL", "PORT"})
_START_TIMEOUT_S: Final = 30.0
_STOP_TIMEOUT_S: Final = 30.0
_KILL_TIMEOUT_S: Final = 10.0
# Local mode makes up its own Slack credentials and database: none of these may be set.
_NOT_IN_LOCAL_MODE: Final = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "HIVEON_API_KEY",
    "DATABASE_URL",
)


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment() -> dict[str, str]:
    """This process's environment without any setting the bot or Bolt would read."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name not in _SCRUBBED
    }


class ServerProcess:
    """`python -m <module>` (the bot by default) in HTTP mode with the given settings.

    Its database is `database_url` when given (several processes may share one, as replicas
    do), else a SQLite file in `workdir`. `started_in_s` is the time from starting it to the
    first 200 from `GET /healthz`, which is polled every `poll_s`.
    """

    def __init__(  # noqa: PLR0913 — where, what and how, all but the first two keyword-only
        self,
        workdir: Path,
        settings: Mapping[str, str],
        *,
        module: str = "bot",
        name: str = "bot",
        database_url: str | None = None,
        poll_s: float = 0.05,
        arguments: Sequence[str] = (),
    ) -> None:
        self.module = module
        self.arguments = tuple(arguments)
        self.name = name
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.database_url = database_url or f"sqlite:///{workdir / f'{name}.sqlite3'}"
        self._env = clean_environment() | {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "HIVEON_API_KEY": API_KEY,
            "DATABASE_URL": self.database_url,
            "PORT": str(self.port),
            "PYTHONPATH": str(ROOT),
            **settings,
        }
        self._poll_s = poll_s
        self._process: subprocess.Popen[bytes] | None = None
        self.started_in_s = float("nan")
        self.http = httpx.Client(base_url=self.origin, timeout=10)

    def __enter__(self) -> Self:
        # The working directory has no .env: only the settings above reach the server.
        with self.log_path.open("ab") as log:
            started = time.perf_counter()
            self._process = subprocess.Popen(  # noqa: S603 — this interpreter, our own module
                [sys.executable, "-m", self.module, *self.arguments],
                cwd=self.workdir,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started_in_s = self._wait_until_serving(started)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.http.close()
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def terminate(self, *, within_s: float) -> int:
        """SIGTERM the process, as a platform stops it, and wait for it to exit; its exit status.

        AssertionError (and a SIGKILL) when it is still running after `within_s` seconds.
        """
        process = self._running_process()
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=within_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(
                f"{self.name} still ran {within_s:g} s after SIGTERM:\n{self.logs}"
            ) from None

    def kill(self) -> None:
        """SIGKILL the process and wait for it: a crash, with no shutdown code run at all."""
        self._running_process().send_signal(signal.SIGKILL)
        self._running_process().wait(timeout=_KILL_TIMEOUT_S)

    @property
    def logs(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    @property
    def replica(self) -> str:
        """The name the bot leases rows under (`lease_owner`), as it logged at start."""
        found = re.search(r"replica (\S+) \(leases of", self.logs)
        if found is None:
            raise AssertionError(f"the bot logged no replica name:\n{self.logs}")
        return found.group(1)

    @property
    def pid(self) -> int:
        """The process ID, to read its memory in /proc."""
        return self._running_process().pid

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended."""
        return None if self._process is None else self._process.poll()

    def post(self, request: SlackRequest, *, timeout: float = 10.0) -> httpx.Response:
        """Deliver a Slack request to `POST /slack/events`, as Slack does."""
        return self.http.post(
            "/slack/events", content=request.body, headers=request.headers, timeout=timeout
        )

    def memory_mb(self) -> tuple[float, float]:
        """Resident memory now and its peak so far, in MB (Linux `/proc`), of the process and
        its children (the workers of `DEPLOYBOT_WORKERS`): the sum of each one's peak."""
        now = peak = 0.0
        for pid in self._tree():
            fields = _status(pid)
            now += _kilobytes(fields, "VmRSS") / 1024  # the kernel counts in kB
            peak += _kilobytes(fields, "VmHWM") / 1024
        return now, peak

    def cpu_s(self) -> float:
        """CPU time the process and its children used so far, user and system, in seconds
        (Linux `/proc`)."""
        total = 0
        for pid in self._tree():
            fields = _stat(pid)
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def _tree(self) -> list[int]:
        """This process and every live descendant."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int(_stat(int(entry.name))[1])
                except (OSError, IndexError, ValueError):
                    continue  # it exited meanwhile
                children.setdefault(parent, []).append(int(entry.name))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        return tree

    def _running_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError(f"{self.name} was never started: use it as a context manager")
        return self._process

    def _wait_until_serving(self, started: float) -> float:
        deadline = started + _START_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.logs}")
            try:
                if self.http.get("/healthz", timeout=1).status_code == httpx.codes.OK:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(self._poll_s)
        raise AssertionError(f"{self.name} did not serve within {_START_TIMEOUT_S} s:\n{self.logs}")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which is in parentheses and may
    hold spaces): state first, then the parent's PID."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def _status(pid: int) -> dict[str, str]:
    return dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )


def _kilobytes(fields: dict[str, str], name: str) -> int:
    return int(fields[name].split()[0])


class BotProcess(ServerProcess):
    """`python -m bot` in HTTP mode: the bot's real server process. With `clock`, the
    guardrails' time comes from that `SharedClock`'s file, which the test moves
    (`python -m bot.testing.clocked`; everything else is the same process)."""

    def __init__(
        self,
        workdir: Path,
        settings: Mapping[str, str],
        *,
        database_url: str | None = None,
        clock: SharedClock | None = None,
    ) -> None:
        super().__init__(
            workdir,
            settings,
            database_url=database_url,
            module="bot" if clock is None else "bot.testing.clocked",
            arguments=() if clock is None else (str(clock.path),),
        )


class PlaygroundProcess(ServerProcess):
    """`python -m bot` with no Slack credentials, as a newcomer runs it: the bot with the
    playground; ready once it has printed the page's address."""

    def __init__(self, workdir: Path, settings: Mapping[str, str] | None = None) -> None:
        super().__init__(workdir, settings or {}, name="playground")
        for name in _NOT_IN_LOCAL_MODE:
            self._env.pop(name, None)
        self.url = f"http://localhost:{self.port}/"

    def __enter__(self) -> Self:
        super().__enter__()
        # /healthz answers as soon as the port listens; the address is printed once the bot
        # has started behind it.
        deadline = time.monotonic() + _START_TIMEOUT_S
        while f"Open {self.url}" not in self.logs:
            if time.monotonic() > deadline:
                raise AssertionError(f"the playground never printed {self.url}:\n{self.logs}")
            time.sleep(self._poll_s)
        return self
