"""Reads the durations people type: `30m`, `4h`, `2d`, and combinations such as `1h30m`. No I/O.

"Stop after" in the deploy form, the settings' default and maximum, `/deploy freeze` and
`/deploy extend` all take one. Units are minutes (`m`, `min`), hours (`h`) and days (`d`), in
any case, largest first or not, with spaces or none; a duration is 1 minute to 30 days.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from blocks import input_errors
from bot.parsing import Parsed, snippet

SHORTEST: Final = timedelta(minutes=1)
LONGEST: Final = timedelta(days=30)
_UNITS: Final = {"m": 60, "min": 60, "mins": 60, "h": 3600, "d": 86400}
_PART: Final = re.compile(r"\s*([0-9]{1,6})\s*(mins|min|m|h|d)", re.IGNORECASE | re.ASCII)


def read_duration(text: str) -> Parsed[timedelta | None]:
    """The duration in `text`: None (and no problem) when it is empty, else the duration, or
    the problem with it."""
    stripped = text.strip()
    if not stripped:
        return None, []
    seconds = 0
    position = 0
    for match in _PART.finditer(stripped):
        if match.start() != position:
            break
        seconds += int(match[1]) * _UNITS[match[2].lower()]
        position = match.end()
    if position == 0 or position != len(stripped):
        return None, [input_errors.duration_unreadable(snippet(stripped))]
    duration = timedelta(seconds=seconds)
    if duration < SHORTEST:
        return None, [input_errors.duration_too_short(snippet(stripped))]
    if duration > LONGEST:
        return None, [input_errors.duration_too_long(snippet(stripped))]
    return duration, []


def looks_like_a_duration(word: str) -> bool:
    """True when `word` reads as a duration of the allowed length (`/deploy freeze 2h …`)."""
    value, problems = read_duration(word)
    return value is not None and not problems
