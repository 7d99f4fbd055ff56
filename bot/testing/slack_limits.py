"""Slack's documented Block Kit limits: the stand-in refuses what Slack would refuse.

Only limits Slack documents (its Block Kit reference for blocks, elements and views) are
checked: a message or view the stand-in accepts may still break a rule Slack keeps to itself,
but one it refuses would be refused by Slack too. Each problem reads like Slack's own
`response_metadata.messages` lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

MESSAGE_BLOCKS: Final = 50
VIEW_BLOCKS: Final = 100
MESSAGE_TEXT: Final = 40_000
PRIVATE_METADATA: Final = 3000
_ID: Final = 255
_VIEW_BUTTON: Final = 24
_SECTION_TEXT: Final = 3000
_FIELDS: Final = 10
_FIELD_TEXT: Final = 2000
_HEADER_TEXT: Final = 150
_CONTEXT_ELEMENTS: Final = 10
_ACTION_ELEMENTS: Final = 25
_BUTTON_TEXT: Final = 75
_BUTTON_VALUE: Final = 2000
_BUTTON_URL: Final = 3000
_LABEL: Final = 2000
_PLACEHOLDER: Final = 150
_INPUT_LENGTH: Final = 3000
_OPTIONS: Final = 100
_OPTION_TEXT: Final = 75
_OPTION_VALUE: Final = 150
_CONFIRM: Final = {"title": 100, "text": 300, "confirm": 30, "deny": 30}

Block = Mapping[str, Any]


def message_problems(blocks: object) -> list[str]:
    """What Slack would refuse in a message's `blocks` (`invalid_blocks`); empty when fine."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return ["[ERROR] blocks must be an array"]
    problems = [] if len(blocks) <= MESSAGE_BLOCKS else [_too_many("blocks", MESSAGE_BLOCKS)]
    return problems + list(_blocks(blocks, "blocks"))


def view_problems(view: Mapping[str, Any]) -> list[str]:
    """What Slack would refuse in a modal or Home tab view (`invalid_arguments`)."""
    kind = view.get("type")
    if kind not in {"modal", "home"}:
        return ["[ERROR] must be either `modal` or `home` [json-pointer:/view/type]"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["[ERROR] missing required field: blocks [json-pointer:/view/blocks]"]
    problems = [] if len(blocks) <= VIEW_BLOCKS else [_too_many("view/blocks", VIEW_BLOCKS)]
    if kind == "modal":
        problems += _modal_frame(view, has_inputs=any(_is_input(block) for block in blocks))
    metadata = view.get("private_metadata", "")
    if isinstance(metadata, str) and len(metadata) > PRIVATE_METADATA:
        problems.append(_too_long("view/private_metadata", PRIVATE_METADATA))
    for name in ("callback_id", "external_id"):
        value = view.get(name, "")
        if isinstance(value, str) and len(value) > _ID:
            problems.append(_too_long(f"view/{name}", _ID))
    return problems + list(_blocks(blocks, "view/blocks"))


def _modal_frame(view: Mapping[str, Any], *, has_inputs: bool) -> list[str]:
    problems: list[str] = []
    if not _text_of(view.get("title")):
        problems.append("[ERROR] missing required field: title [json-pointer:/view/title]")
    if has_inputs and not _text_of(view.get("submit")):
        problems.append(
            "[ERROR] a view with input blocks needs a submit button [json-pointer:/view/submit]"
        )
    for name in ("title", "submit", "close"):
        problems.extend(_text_limit(view.get(name), f"view/{name}", _VIEW_BUTTON))
    return problems


def _blocks(blocks: Sequence[object], where: str) -> Iterator[str]:
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{where}/{index}"
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            yield f"[ERROR] missing required field: type [json-pointer:/{at}]"
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen:
                yield f"[ERROR] duplicate block_id `{block_id}` [json-pointer:/{at}/block_id]"
            seen.add(block_id)
            if len(block_id) > _ID:
                yield _too_long(f"{at}/block_id", _ID)
        yield from _block(block, at)


def _block(block: Block, at: str) -> Iterator[str]:
    check = _BLOCK_CHECKS.get(block["type"])
    if check is not None:
        yield from check(block, at)


def _section(block: Block, at: str) -> Iterator[str]:
    yield from _text_limit(block.get("text"), f"{at}/text", _SECTION_TEXT)
    fields = block.get("fields") or []
    if len(fields) > _FIELDS:
        yield _too_many(f"{at}/fields", _FIELDS)
    for index, field in enumerate(fields):
        yield from _text_limit(field, f"{at}/fields/{index}", _FIELD_TEXT)
    if isinstance(block.get("accessory"), Mapping):
        yield from _element(block["accessory"], f"{at}/accessory")


def _header(block: Block, at: str) -> Iterator[str]:
    yield from _text_limit(block.get("text"), f"{at}/text", _HEADER_TEXT)


def _context(block: Block, at: str) -> Iterator[str]:
    if len(block.get("elements") or []) > _CONTEXT_ELEMENTS:
        yield _too_many(f"{at}/elements", _CONTEXT_ELEMENTS)


def _actions(block: Block, at: str) -> Iterator[str]:
    elements = block.get("elements") or []
    if len(elements) > _ACTION_ELEMENTS:
        yield _too_many(f"{at}/elements", _ACTION_ELEMENTS)
    for index, element in enumerate(elements):
        if isinstance(element, Mapping):
            yield from _element(element, f"{at}/elements/{index}")


def _input(block: Block, at: str) -> Iterator[str]:
    if not _text_of(block.get("label")):
        yield f"[ERROR] missing required field: label [json-pointer:/{at}/label]"
    for name in ("label", "hint"):
        yield from _text_limit(block.get(name), f"{at}/{name}", _LABEL)
    if not isinstance(block.get("element"), Mapping):
        yield f"[ERROR] missing required field: element [json-pointer:/{at}/element]"
    else:
        yield from _element(block["element"], f"{at}/element")


_BLOCK_CHECKS: Final[Mapping[str, Callable[[Block, str], Iterator[str]]]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "input": _input,
}


def _element(element: Block, at: str) -> Iterator[str]:
    yield from _string_limit(element, "action_id", at, _ID)
    yield from _text_limit(element.get("placeholder"), f"{at}/placeholder", _PLACEHOLDER)
    if element.get("type") == "button":
        yield from _text_limit(element.get("text"), f"{at}/text", _BUTTON_TEXT)
        yield from _string_limit(element, "value", at, _BUTTON_VALUE)
        yield from _string_limit(element, "url", at, _BUTTON_URL)
    for name in ("min_length", "max_length"):
        value = element.get(name)
        if isinstance(value, int) and not 0 <= value <= _INPUT_LENGTH:
            yield f"[ERROR] must be at most {_INPUT_LENGTH} [json-pointer:/{at}/{name}]"
    options = element.get("options")
    if isinstance(options, list):
        if len(options) > _OPTIONS:
            yield _too_many(f"{at}/options", _OPTIONS)
        for index, option in enumerate(options):
            if isinstance(option, Mapping):
                yield from _option(option, f"{at}/options/{index}")
    if isinstance(element.get("confirm"), Mapping):
        for name, limit in _CONFIRM.items():
            yield from _text_limit(element["confirm"].get(name), f"{at}/confirm/{name}", limit)


def _option(option: Block, at: str) -> Iterator[str]:
    yield from _text_limit(option.get("text"), f"{at}/text", _OPTION_TEXT)
    yield from _string_limit(option, "value", at, _OPTION_VALUE)


def _string_limit(owner: Block, name: str, at: str, limit: int) -> Iterator[str]:
    value = owner.get(name)
    if isinstance(value, str) and len(value) > limit:
        yield _too_long(f"{at}/{name}", limit)


def _is_input(block: object) -> bool:
    return isinstance(block, Mapping) and block.get("type") == "input"


def _text_of(text_object: object) -> str:
    if isinstance(text_object, Mapping) and isinstance(text_object.get("text"), str):
        return str(text_object["text"])
    return ""


def _text_limit(text_object: object, at: str, limit: int) -> Iterator[str]:
    """`at` points at the text object; Slack's pointer names its `text`."""
    if len(_text_of(text_object)) > limit:
        yield _too_long(f"{at}/text", limit)


def _too_long(at: str, limit: int) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:/{at}]"


def _too_many(at: str, limit: int) -> str:
    return f"[ERROR] must contain at most {limit} items [json-pointer:/{at}]"
