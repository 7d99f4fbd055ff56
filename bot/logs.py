"""Logging set-up: one format, quiet libraries, and known secrets masked in every line."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.deployment import MASK

# Shorter values would mask ordinary words; real tokens and keys are far longer.
_MIN_SECRET_LENGTH = 4


class RedactingFormatter(logging.Formatter):
    """Formats a record (traceback included), then replaces each known secret value."""

    def __init__(self, fmt: str, *, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = sorted(
            {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True
        )

    def format(self, record: logging.LogRecord) -> str:
        """The usual line, with secrets masked."""
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, MASK)
        return line


def configure(*, secrets: Iterable[str], level: int = logging.INFO) -> None:
    """Log to stderr with secrets masked; libraries that log SQL or bodies stay quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets=secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiosqlite", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    for chatty in ("slack_bolt", "slack_sdk"):
        logging.getLogger(chatty).setLevel(max(level, logging.INFO))
