"""Logging masks known secrets wherever they appear, tracebacks included."""

from __future__ import annotations

import logging

from bot.logs import RedactingFormatter


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
