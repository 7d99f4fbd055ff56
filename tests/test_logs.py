"""Logging masks known secrets wherever they appear, tracebacks included, and keeps libraries
that print bodies at DEBUG above it, whatever level their loggers were given."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import log_context
from bot.log_context import ContextFilter
from bot.logs import LibraryFloor, RedactingFormatter, RedactingJsonFormatter, configure


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.INFO, __file__, 1, message, args, exc_info)


def test_secrets_in_messages_and_arguments_are_masked() -> None:
    """A token passed as an argument or written in the message is replaced by ••••."""
    formatter = RedactingFormatter("%(message)s", secrets=["xoxb-secret-token", "hk-key-123"])
    line = formatter.format(_record("token %s and hk-key-123", "xoxb-secret-token"))
    assert line == "token •••• and ••••"


def test_secrets_in_tracebacks_are_masked() -> None:
    """An exception whose text carries a key is masked in the formatted traceback."""
    formatter = RedactingFormatter("%(message)s", secrets=["hk-key-123"])
    try:
        raise RuntimeError("refused hk-key-123")  # noqa: TRY301 — the traceback is the subject
    except RuntimeError as exc:
        line = formatter.format(_record("failed", exc=exc))
    assert "hk-key-123" not in line
    assert "RuntimeError: refused ••••" in line


def test_short_values_are_not_treated_as_secrets() -> None:
    """Values too short to be real secrets do not mask ordinary words."""
    formatter = RedactingFormatter("%(message)s", secrets=["a", ""])
    assert formatter.format(_record("a cat")) == "a cat"


@pytest.fixture(name="restore_logging")
def _restore_logging() -> Iterator[None]:
    """Put the root logger and the libraries' levels back after a test configures logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = ("slack_bolt", "slack_sdk", "sqlalchemy")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    root.handlers[:], root.level = handlers, level
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


@pytest.mark.usefixtures("restore_logging")
def test_debug_reaches_the_bot_but_not_the_libraries_that_print_bodies() -> None:
    """At DEBUG the bot's own debug lines pass; Bolt's and slack_sdk's do not, even from a
    logger Bolt set to DEBUG itself (it copies the root's level), nor SQLAlchemy's below
    WARNING."""
    configure(secrets=[], level="DEBUG")
    [handler] = logging.getLogger().handlers
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    bolt.setLevel(logging.DEBUG)  # as Bolt's get_bolt_logger does with the root's level

    def passes(name: str, level: int) -> bool:
        record = logging.LogRecord(name, level, __file__, 1, "m", (), None)
        return bool(handler.filter(record)) and logging.getLogger(name).isEnabledFor(level)

    assert passes("bot.server", logging.DEBUG)
    assert not passes("slack_bolt.AsyncApp", logging.DEBUG)
    assert passes("slack_bolt.AsyncApp", logging.INFO)
    assert not passes("slack_sdk.web.async_base_client", logging.DEBUG)
    assert not passes("sqlalchemy.engine.Engine", logging.INFO)
    assert any(isinstance(f, LibraryFloor) for f in handler.filters)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
async def test_slack_sdk_builds_no_debug_line_it_would_drop(level: str) -> None:
    """slack_sdk formats a call's parameters and answer for its debug line when its client's
    logger's own level allows it: at any level its clients' loggers say otherwise, so no
    call pays for a line that is never written."""
    configure(secrets=[], level=level)
    clients = (
        AsyncWebClient(token="xoxb-test"),
        AsyncWebhookClient("https://hooks.slack.com/services/T/B/x"),
    )
    for client in clients:
        assert client.logger.level > logging.DEBUG, client.logger.name
        assert not client.logger.isEnabledFor(logging.DEBUG)


@pytest.mark.usefixtures("restore_logging")
def test_the_level_is_a_threshold_for_the_libraries_too() -> None:
    """At ERROR, Bolt's warnings are dropped like the bot's own."""
    configure(secrets=[], level="ERROR")
    assert not logging.getLogger("bot.server").isEnabledFor(logging.WARNING)
    assert not logging.getLogger("slack_bolt").isEnabledFor(logging.WARNING)
    assert logging.getLogger("slack_bolt").isEnabledFor(logging.ERROR)


def test_json_lines_carry_the_fields_and_mask_secrets_even_json_escaped() -> None:
    """A JSON line has time, level, logger and message, a traceback as exc_info, and masks a
    secret however JSON escapes it (a password with a quote in it)."""
    secret = 'pass"word-123'
    formatter = RedactingJsonFormatter(secrets=[secret, "hk-key-123"])
    try:
        raise RuntimeError(f"refused {secret}")  # noqa: TRY301 — the traceback is the subject
    except RuntimeError as exc:
        line = formatter.format(_record("key %s failed", "hk-key-123", exc=exc))
    record = json.loads(line)
    assert {"time", "level", "logger", "message", "exc_info"} <= record.keys()
    assert (record["level"], record["logger"], record["message"]) == (
        "INFO",
        "t",
        "key •••• failed",
    )
    assert "RuntimeError: refused ••••" in record["exc_info"]
    assert "word-123" not in line


async def test_the_context_of_a_request_reaches_its_log_lines() -> None:
    """Fields bound in a task appear on the records logged in it and in the tasks it starts,
    and not in other tasks."""
    seen: list[logging.LogRecord] = []
    context = ContextFilter()

    async def handled() -> None:
        log_context.bind(team_id="T1", user_id="U1")

        async def later() -> None:
            log_context.bind(external_deployment_id="ext-1")
            record = _record("after the ack")
            context.filter(record)
            seen.append(record)

        await asyncio.create_task(later())

    async def elsewhere() -> None:
        record = _record("another request")
        context.filter(record)
        seen.append(record)

    await asyncio.gather(handled(), elsewhere())
    fields = [{n: getattr(r, n, None) for n in log_context.FIELDS} for r in seen]
    assert {"team_id": "T1", "user_id": "U1", "external_deployment_id": "ext-1"} in fields
    assert {"team_id": None, "user_id": None, "external_deployment_id": None} in fields
