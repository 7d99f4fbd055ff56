"""Text for Block Kit: text objects, mrkdwn escaping, inline code, mentions and truncation."""

import re
from typing import Any, Final

ELLIPSIS: Final = "…"
# Stands in for a backtick inside inline code, where a real one would end the code span.
BACKTICK_STAND_IN: Final = "ˋ"
# The longest escape `escape` writes is "&amp;": a cut may leave up to 4 of its characters.
_LONGEST_PARTIAL_ENTITY: Final = len("&amp")


def plain_text(text: str) -> dict[str, Any]:
    """A `plain_text` text object: shown as written, never parsed for mentions or links."""
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    """A `mrkdwn` text object; the caller has escaped any user text in it."""
    return {"type": "mrkdwn", "text": text}


def escape(text: str) -> str:
    """Escape &, < and > so user text cannot mention (<!channel>), link or fake Slack syntax."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> str:
    """A user mention, `<@U123>`; the id is escaped so it cannot close the mention early."""
    return f"<@{escape(user_id)}>"


def truncate(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters ending in …, never inside an escape like `&amp;`."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    # A half-written escape ("&am") would show as literal text; drop it whole.
    ampersand = cut.rfind("&", max(0, len(cut) - _LONGEST_PARTIAL_ENTITY))
    if ampersand != -1 and ";" not in cut[ampersand:]:
        cut = cut[:ampersand]
    return cut + ELLIPSIS


def plain_quotes(text: str) -> str:
    """`x` → “x”: for plain-text surfaces (modal field errors), where backticks show as is."""
    return _INLINE_CODE.sub(r"“\1”", text)


_INLINE_CODE: Final = re.compile(r"`([^`\n]*)`")


def code(text: str, *, limit: int | None = None) -> str:
    """Inline code for user text: escaped, on one line, backticks swapped; at most `limit` chars."""
    inner = escape(" ".join(text.replace("`", BACKTICK_STAND_IN).splitlines()))
    if limit is not None:
        inner = truncate(inner, limit - len("``"))
    return f"`{inner}`"


_SPAN_UNITS: Final = (("day", 86400), ("hour", 3600), ("minute", 60))


def span(seconds: float) -> str:
    """A duration in words, largest units first: `4 hours`, `1 day 2 hours`, `30 minutes`;
    whole minutes (anything shorter reads `less than a minute`)."""
    left = int(seconds) // 60 * 60
    parts = []
    for unit, size in _SPAN_UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "less than a minute"


def short_span(seconds: float) -> str:
    """A duration as a user types it: `4h`, `1d2h`, `90m` → `1h30m`."""
    left = int(seconds) // 60 * 60
    parts = []
    for unit, size in _SPAN_UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit[0]}")
    return "".join(parts) or "0m"


_FENCE: Final = "```"


def code_block(text: str, *, limit: int) -> str:
    """A preformatted block for user text: escaped, its fences broken, at most `limit` chars."""
    inner = escape(text).replace(_FENCE, BACKTICK_STAND_IN * 3)
    inner = truncate(inner, limit - 2 * len(_FENCE) - 2)
    return f"{_FENCE}\n{inner}\n{_FENCE}"
