"""The `/deploy` command text: help, a subcommand, or what to prefill in the deploy modal; and
which preset names the command can open (`/deploy NAME`)."""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from blocks import ids, input_errors
from blocks import presets as preset_words
from bot.durations import looks_like_a_duration, read_duration
from bot.parsing import snippet

SUBCOMMANDS: Final = (
    "status",
    "stop",
    "history",
    "api-key",
    "settings",
    "presets",
    "preset",
    "curl",
    "extend",
    "freeze",
    "unfreeze",
)
_HELP_WORDS: Final = frozenset({"help", "-h", "--help", "?"})
PRESET_NAME_PATTERN: Final = "[a-z0-9][a-z0-9-]{0,31}"
_PRESET_NAME: Final = re.compile(PRESET_NAME_PATTERN)
_NEAR_MISS: Final = 0.75
_IMAGE_CHARACTERS: Final = frozenset(":/@.")
_OPTIONS: Final = {
    "machine": ids.MACHINE_ID,
    "machine_id": ids.MACHINE_ID,
    "price": ids.MACHINE_PRICE_ID,
    "price_id": ids.MACHINE_PRICE_ID,
    "machine_price_id": ids.MACHINE_PRICE_ID,
    "ports": ids.PORTS,
    "port": ids.PORTS,
    "image": ids.IMAGE,
    "id": ids.EXTERNAL_DEPLOYMENT_ID,
    "external_id": ids.EXTERNAL_DEPLOYMENT_ID,
    "external_deployment_id": ids.EXTERNAL_DEPLOYMENT_ID,
    "server": ids.DOCKER_SERVER,
    "docker_server": ids.DOCKER_SERVER,
    "login": ids.DOCKER_LOGIN,
    "docker_login": ids.DOCKER_LOGIN,
    "stop": ids.STOP_AFTER,
    "stop_after": ids.STOP_AFTER,
}
_SHOWN_OPTIONS: Final = "machine, price, image, ports, id, server, login, stop"
_SECRET_OPTIONS: Final = frozenset({"password", "docker_password"})
# Slack clients may turn typed quotes into typographic ones; shlex only knows ASCII quotes.
_TYPOGRAPHIC_QUOTES: Final = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class OpenModal:
    """Open the deploy modal with these fields filled in (block id -> text).

    `preset` is a bare word that may name a preset: when the workspace has one by that name,
    the form opens from it (the other fields overriding it) instead of the word as the image.
    """

    prefill: dict[str, str] = field(default_factory=dict)
    preset: str | None = None


@dataclass(frozen=True)
class ShowHelp:
    """Show the command's help."""


@dataclass(frozen=True)
class Subcommand:
    """Run a subcommand such as `status` or `stop` with the words after it."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unusable:
    """The text cannot be used; tell the user why, privately."""

    message: str


Command = OpenModal | ShowHelp | Subcommand | Unusable

# A freeze's reason is shown to everyone who is refused: one line, not an essay.
MAX_FREEZE_REASON: Final = 300


@dataclass(frozen=True)
class FreezeOrder:
    """`/deploy freeze [duration] <reason>`: why, and for how long (None: until lifted)."""

    reason: str
    lasting: timedelta | None = None


@dataclass(frozen=True)
class ExtendOrder:
    """`/deploy extend <ID> <duration>`: which deployment, by how long."""

    deployment: str
    by: timedelta


def read_freeze(args: tuple[str, ...]) -> FreezeOrder | None:
    """The freeze asked for; None without a reason (a lone duration is no reason)."""
    lasting = None
    if args and looks_like_a_duration(args[0]):
        lasting, _ = read_duration(args[0])
        args = args[1:]
    reason = " ".join(" ".join(args).split())[:MAX_FREEZE_REASON]
    return FreezeOrder(reason, lasting) if reason else None


def read_extend(args: tuple[str, ...]) -> ExtendOrder | str | None:
    """The extension asked for; the problem with its duration; None when a part is missing."""
    if len(args) < 2:  # noqa: PLR2004 — the deployment, then the duration
        return None
    by, problems = read_duration(" ".join(args[1:]))
    if problems:
        return problems[0]
    if by is None:
        return None
    return ExtendOrder(args[0], by)


def parse_command_text(text: str, *, command: str = "/deploy") -> Command:
    """Read what follows the slash command: help, a subcommand, or what to prefill in the modal."""
    try:
        words = shlex.split(text.translate(_TYPOGRAPHIC_QUOTES))
    except ValueError:
        return Unusable(input_errors.unclosed_quote(command))
    if not words:
        return OpenModal({})
    first = words[0].lower()
    if first in _HELP_WORDS:
        return ShowHelp()
    if first in SUBCOMMANDS:
        return Subcommand(first, tuple(words[1:]))
    prefill: dict[str, str] = {}
    for position, word in enumerate(words):
        key, equals, value = word.partition("=")
        if equals:
            problem = _command_option(key, value, prefill, command)
        else:
            problem = _command_image(word, position=position, prefill=prefill, command=command)
        if problem is not None:
            return Unusable(problem)
    return OpenModal(prefill, preset=_preset_candidate(words, prefill))


def preset_name_problem(name: str, *, command: str = "/deploy") -> str | None:
    """Why `name` cannot be a preset's (`/deploy NAME` must open it), in plain text; None if
    it can."""
    if not _PRESET_NAME.fullmatch(name):
        return preset_words.name_not_allowed(pattern=PRESET_NAME_PATTERN, length=32)
    if name in SUBCOMMANDS or name in _HELP_WORDS:
        return preset_words.name_is_a_subcommand(name=name, command=command)
    close = difflib.get_close_matches(name, [*SUBCOMMANDS, "help"], n=1, cutoff=_NEAR_MISS)
    if close:
        return preset_words.name_near_a_subcommand(name=name, subcommand=close[0], command=command)
    return None


def _preset_candidate(words: list[str], prefill: dict[str, str]) -> str | None:
    """The bare word given as the image, when it could be a preset's name."""
    image = prefill.get(ids.IMAGE)
    if image is None or image not in words or not _PRESET_NAME.fullmatch(image):
        return None
    return image


def _command_option(key: str, value: str, prefill: dict[str, str], command: str) -> str | None:
    """Record one `key=value` word; the problem with it, if any."""
    name = key.lower().replace("-", "_")
    if name in _SECRET_OPTIONS:
        return input_errors.TYPE_IT_IN_THE_FORM
    block_id = _OPTIONS.get(name)
    if block_id is None:
        return input_errors.unknown_option(snippet(key), options=_SHOWN_OPTIONS, command=command)
    if block_id in prefill:
        return input_errors.option_twice(snippet(key))
    if value:
        prefill[block_id] = value
    return None


def _command_image(
    word: str, *, position: int, prefill: dict[str, str], command: str
) -> str | None:
    """Record the bare word as the image; the problem with it, if any."""
    looks_like_image = not _IMAGE_CHARACTERS.isdisjoint(word)
    if word.startswith("-"):
        return input_errors.dash_option(snippet(word))
    if position == 0 and not looks_like_image:
        close = difflib.get_close_matches(
            word.lower(), [*SUBCOMMANDS, "help"], n=1, cutoff=_NEAR_MISS
        )
        if close:
            return input_errors.unknown_subcommand(
                snippet(word), suggestion=close[0], command=command
            )
    if ids.IMAGE in prefill:
        return input_errors.one_image_only(command)
    prefill[ids.IMAGE] = word
    return None
