"""Container image references, read as `docker pull` reads them (distribution/reference)."""

from __future__ import annotations

import re
from typing import Final

from blocks import input_errors
from bot.parsing import WHITESPACE, Parsed, snippet

MAX_IMAGE_NAME: Final = 255
# The reference grammar of distribution/reference (what `docker pull` accepts), ASCII only.
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?"
_IMAGE_REFERENCE: Final = re.compile(_REFERENCE, re.ASCII)
# Matches what differs from a valid reference only by capitals in the repository path.
_IMAGE_REFERENCE_ANY_CASE: Final = re.compile(_REFERENCE, re.ASCII | re.IGNORECASE)
# Longer than any valid reference (name, tag and a sha512 digest): not worth matching.
_MAX_IMAGE_REFERENCE: Final = 1024


def read_image(text: str) -> Parsed[str]:
    """The image reference, trimmed, and what is wrong with it."""
    value = text.strip()
    if not value:
        return value, [input_errors.image_missing()]
    if WHITESPACE.search(value):
        return value, [input_errors.image_has_spaces()]
    match = _IMAGE_REFERENCE.fullmatch(value) if len(value) <= _MAX_IMAGE_REFERENCE else None
    if match is None:
        if len(value) <= _MAX_IMAGE_REFERENCE and _IMAGE_REFERENCE_ANY_CASE.fullmatch(value):
            return value, [input_errors.image_not_lowercase(snippet(value))]
        return value, [input_errors.not_an_image(snippet(value))]
    name_length = len(match["name"])
    if name_length > MAX_IMAGE_NAME:
        return value, [
            input_errors.too_long(input_errors.IMAGE_NAME_LABEL, name_length, MAX_IMAGE_NAME)
        ]
    return value, []
