"""A clock shared by the tests and the bot's server processes: the time plus an offset in a file.

The guardrails (approval expiry, reminders, automatic stops, freezes) keep hours and days; a
test cannot wait that long. The bot's processes started by `bot.testing.clocked` read their
guardrails' time from a `SharedClock`; the test moves it with `advance`, and every replica
reading the same file sees the same time. Leases and polls keep the real clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from bot.models import utc_now


class SharedClock:
    """Now, moved on by whatever `advance` added to the file at `path` (none: the real time)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> datetime:
        """The real time plus the offset in the file."""
        try:
            offset = float(self.path.read_text() or 0)
        except FileNotFoundError:
            offset = 0.0
        return utc_now() + timedelta(seconds=offset)

    def advance(self, span: timedelta) -> None:
        """Let `span` pass for every process reading this clock."""
        try:
            offset = float(self.path.read_text() or 0)
        except FileNotFoundError:
            offset = 0.0
        # Written whole, then renamed: a reader never sees half a number.
        partial = self.path.with_suffix(".partial")
        partial.write_text(str(offset + span.total_seconds()))
        partial.replace(self.path)
