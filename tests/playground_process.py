"""`make run` with no Slack credentials, as a newcomer runs it: the bot with the playground."""

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from tests.bot_process import BotProcess

# Local mode makes up its own Slack credentials and database: none of these may be set.
_NOT_SET = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "HIVEON_API_KEY", "DATABASE_URL")
_ANNOUNCE_TIMEOUT_S = 20.0


class PlaygroundProcess(BotProcess):
    """`python -m bot` in local mode; ready once it has printed the page's address."""

    def __init__(self, workdir: Path, settings: Mapping[str, str] | None = None) -> None:
        super().__init__(workdir, settings or {})
        for name in _NOT_SET:
            self._env.pop(name, None)
        self.url = f"http://localhost:{self.port}/"

    def __enter__(self) -> Self:
        super().__enter__()
        # /healthz answers as soon as the port listens; the address is printed once the bot
        # has started behind it.
        deadline = time.monotonic() + _ANNOUNCE_TIMEOUT_S
        while f"Open {self.url}" not in self.logs:
            if time.monotonic() > deadline:
                raise AssertionError(f"the playground never printed {self.url}:\n{self.logs}")
            time.sleep(0.05)
        return self

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended."""
        return None if self._process is None else self._process.poll()
