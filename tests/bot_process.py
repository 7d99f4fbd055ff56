"""The bot's real server process, started as `make run` starts it, for end-to-end tests."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from tests.slack_requests import SIGNING_SECRET, SlackRequest

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "xoxb-test-bot-token-1234567890"
API_KEY = "hk-test-api-key-0987654321"
_SCRUBBED = ("SLACK_", "HIVEON_", "DEPLOYBOT_")
_START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """`python -m bot` in HTTP mode with the given settings; logs kept for inspection.

    Its database is `database_url` when given (several processes may share one, as replicas
    do), else a SQLite file in `workdir`.
    """

    def __init__(
        self, workdir: Path, settings: Mapping[str, str], *, database_url: str | None = None
    ) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self.database_url = database_url or f"sqlite:///{workdir / 'deploybot.sqlite3'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
        env.update(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "HIVEON_API_KEY": API_KEY,
                "DATABASE_URL": self.database_url,
                "PORT": str(self.port),
                "PYTHONPATH": str(ROOT),
            }
        )
        env.update(settings)
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def __enter__(self) -> Self:
        # The working directory has no .env: only the settings above reach the bot.
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.workdir,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_serving()
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
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def kill(self) -> None:
        """SIGKILL the process and wait for it: a crash, with no shutdown code run at all."""
        if self._process is None:
            raise RuntimeError("the bot was never started: use it as a context manager")
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=10)

    @property
    def logs(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    @property
    def replica(self) -> str:
        """The name this process leases rows under (`lease_owner`), as it logged at start."""
        found = re.search(r"replica (\S+) \(leases of", self.logs)
        if found is None:
            raise AssertionError(f"the bot logged no replica name:\n{self.logs}")
        return found.group(1)

    @property
    def pid(self) -> int:
        """The process ID, to read its memory in /proc."""
        if self._process is None:
            raise RuntimeError("the bot was never started: use it as a context manager")
        return self._process.pid

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def post(self, request: SlackRequest, *, timeout: float = 10.0) -> httpx.Response:
        """Deliver a Slack request to `POST /slack/events`, as Slack does."""
        return self.http.post(
            "/slack/events", content=request.body, headers=request.headers, timeout=timeout
        )

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise AssertionError(f"the bot exited early:\n{self.logs}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.05)
        raise AssertionError(f"the bot did not serve within {_START_TIMEOUT_S} s:\n{self.logs}")
