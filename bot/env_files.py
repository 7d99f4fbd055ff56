"""Environment variables and metadata as `.env` text: read with python-dotenv's parser, and
written back so that reading gives the same values.

The readers need each statement's line and every repeated name to say what is wrong where;
python-dotenv's `dotenv_values` keeps neither, its parser (`dotenv.parser.parse_stream`, which
`dotenv_values` itself uses) does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Final

from dotenv.parser import parse_stream

from blocks import input_errors
from bot.deployment import is_masked
from bot.parsing import NEWLINE, Parsed, snippet

# Values written without quotes when prefilled; anything else is double-quoted and escaped.
_BARE_VALUE: Final = re.compile(r"[A-Za-z0-9_./:@+,-]*")
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def _line_number(original_string: str, first_line: int) -> int:
    """The line a binding's text starts on: dotenv's line is where its leading blank lines begin."""
    leading = original_string[: len(original_string) - len(original_string.lstrip())]
    return first_line + len(NEWLINE.findall(leading))


def read_env(text: str) -> Parsed[dict[str, str]]:
    """`KEY=VALUE` lines as a map, and a problem for each line that cannot be one."""
    values: dict[str, str] = {}
    first_lines: dict[str, int] = {}
    problems: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        line = _line_number(binding.original.string, binding.original.line)
        quoted = snippet(binding.original.string)
        if binding.error or (
            binding.key is not None and binding.value is None and "=" in binding.original.string
        ):
            problems.append(input_errors.env_line_unreadable(line, quoted))
        elif binding.key is None:
            continue  # a comment or blank lines
        elif binding.value is None:
            problems.append(input_errors.env_line_without_equals(line, quoted))
        elif not _ENV_NAME.fullmatch(binding.key):
            problems.append(input_errors.env_name_invalid(line, snippet(binding.key)))
        elif binding.key in values:
            problems.append(
                input_errors.env_name_repeated(line, snippet(binding.key), first_lines[binding.key])
            )
        else:
            values[binding.key] = binding.value
            first_lines[binding.key] = line
    return values, problems


def env_text(values: Mapping[str, str]) -> tuple[str, list[str]]:
    """`KEY=value` lines that the form's .env parser reads back to the same values, and the
    names left out because their stored value had a secret masked out of it."""
    lines = []
    masked = []
    for name, value in values.items():
        if is_masked(value):
            masked.append(name)
        elif _BARE_VALUE.fullmatch(value):
            lines.append(f"{name}={value}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            lines.append(f'{name}="{escaped}"')
    return "\n".join(lines), masked
