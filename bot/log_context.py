"""What a log line is about: the request's workspace and user and the deployment's external ID,
carried in context variables to every line logged while handling it (JSON logs show them).

asyncio copies the context into each task it creates, so work handed to a background task
after the ack still logs the request's workspace and user.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

FIELDS = ("team_id", "user_id", "external_deployment_id")
_VALUES: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"deploybot_{name}", default=None) for name in FIELDS
}


def bind(**values: str | None) -> None:
    """Set some of the fields for the rest of the current task (and the tasks it starts)."""
    for name, value in values.items():
        _VALUES[name].set(value or None)


class ContextFilter(logging.Filter):
    """Puts the bound fields on each record, where a formatter can show them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields that are set; keep every record."""
        for name, variable in _VALUES.items():
            value = variable.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True
