"""Logging set-up: one format, quiet libraries, secrets masked, no request body at any level."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

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


# The lowest level each library logs at, whatever LOG_LEVEL says. Below these, the database
# libraries print SQL and parameters; Bolt the events it skips and the bodies it answers
# with; slack_sdk every Web API call's parameters.
LIBRARY_FLOORS: Final = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "alembic": logging.WARNING,
    "slack_bolt": logging.INFO,
    "slack_sdk": logging.INFO,
}


class LibraryFloor(logging.Filter):
    """Drops a library's records below its floor.

    Setting the libraries' loggers' levels is not enough: Bolt gives each logger it makes the
    root's level, so at DEBUG its own loggers would print what their parent would not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """True when the record may be written."""
        floor = LIBRARY_FLOORS.get(record.name.partition(".")[0], logging.NOTSET)
        return record.levelno >= floor


def configure(*, secrets: Iterable[str], level: str = "INFO") -> None:
    """Log to stderr at `level` (a name: `DEBUG`…`ERROR`), secrets masked, libraries floored.

    No level logs a request body: the libraries that would are floored (`LIBRARY_FLOORS`), and
    requests refused at the boundary or no listener takes are logged in one line of the bot's
    own (`bot.server`, `bot.app`).
    """
    threshold = logging.getLevelNamesMapping()[level]
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets=secrets)
    )
    handler.addFilter(LibraryFloor())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    for library, floor in LIBRARY_FLOORS.items():
        logging.getLogger(library).setLevel(max(threshold, floor))
