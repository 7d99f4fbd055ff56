"""What the form's readers share: a value with its problems, and user text quoted back briefly."""

from __future__ import annotations

import re
from typing import Final, TypeVar

T = TypeVar("T")

Parsed = tuple[T, list[str]]
"""A value read from user text, and the problems found in it (each one sentence)."""

# The same line breaks python-dotenv counts, so line numbers agree between the fields.
NEWLINE: Final = re.compile(r"\r\n|\n|\r")
WHITESPACE: Final = re.compile(r"\s")
_SNIPPET_LENGTH: Final = 40


def snippet(text: str) -> str:
    """The first line of `text`, short enough to quote in a message."""
    first_line = NEWLINE.split(text.strip(), maxsplit=1)[0]
    if len(first_line) <= _SNIPPET_LENGTH:
        return first_line
    return first_line[: _SNIPPET_LENGTH - 1] + "…"
