"""Logging set-up: text or JSON lines, quiet libraries, secrets masked, no request body at any
level; deploybot's, Bolt's and uvicorn's records alike go through the one handler."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, Final

from pythonjsonlogger.json import JsonFormatter

from bot.deployment import MASK
from bot.log_context import ContextFilter

# Shorter values would mask ordinary words; real tokens and keys are far longer.
_MIN_SECRET_LENGTH = 4


def _masking(secrets: Iterable[str]) -> list[str]:
    """The secrets to look for, longest first, each also as it reads inside a JSON string."""
    kept = {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}
    kept |= {json.dumps(s)[1:-1] for s in kept}
    return sorted(kept, key=len, reverse=True)


def _masked(line: str, secrets: list[str]) -> str:
    for secret in secrets:
        line = line.replace(secret, MASK)
    return line


class RedactingFormatter(logging.Formatter):
    """Formats a record (traceback included), then replaces each known secret value."""

    def __init__(self, fmt: str, *, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = _masking(secrets)

    def format(self, record: logging.LogRecord) -> str:
        """The usual line, with secrets masked."""
        return _masked(super().format(record), self._secrets)


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, the request's `team_id`,
    `user_id` and `external_deployment_id` where known (`bot.log_context`), a traceback as
    `exc_info`; then each known secret value replaced."""

    def __init__(self, *, secrets: Iterable[str]) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            json_ensure_ascii=False,
        )
        self._secrets = _masking(secrets)

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line, with secrets masked."""
        return _masked(super().format(record), self._secrets)

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """The fields above only: uvicorn's and Bolt's own extras (`color_message`) left out."""
        super().add_fields(log_record, record, message_dict)
        log_record.pop("color_message", None)


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


# slack_sdk decides whether to build a call's debug lines (its parameters, blocks, headers and
# answer, formatted) from these loggers' own level, not the level they inherit: left unset they
# are built on every Web API call, then dropped. They are given their floor explicitly.
SLACK_SDK_CLIENT_LOGGERS: Final = (
    "slack_sdk.web.async_base_client",
    "slack_sdk.webhook.async_client",
    "slack_sdk.socket_mode.aiohttp",
)


class LibraryFloor(logging.Filter):
    """Drops a library's records below its floor.

    Setting the libraries' loggers' levels is not enough: Bolt gives each logger it makes the
    root's level, so at DEBUG its own loggers would print what their parent would not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """True when the record may be written."""
        floor = LIBRARY_FLOORS.get(record.name.partition(".")[0], logging.NOTSET)
        return record.levelno >= floor


def configure(*, secrets: Iterable[str], level: str = "INFO", form: str = "text") -> None:
    """Log to stderr at `level` (a name: `DEBUG`…`ERROR`) as `form` (`text`, or `json`: one
    object per line), secrets masked, libraries floored.

    No level logs a request body: the libraries that would are floored (`LIBRARY_FLOORS`), and
    requests refused at the boundary or no listener takes are logged in one line of the bot's
    own (`bot.server`, `bot.app`).
    """
    threshold = logging.getLevelNamesMapping()[level]
    handler = logging.StreamHandler()
    secrets = list(secrets)
    handler.setFormatter(
        RedactingJsonFormatter(secrets=secrets)
        if form == "json"
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets=secrets)
    )
    handler.addFilter(LibraryFloor())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    for library, floor in LIBRARY_FLOORS.items():
        logging.getLogger(library).setLevel(max(threshold, floor))
    for name in SLACK_SDK_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(max(threshold, LIBRARY_FLOORS["slack_sdk"]))
