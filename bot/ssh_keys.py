"""OpenSSH public keys, one per line: checked by `cryptography`, refused with a reason."""

from __future__ import annotations

import base64
import struct
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from blocks import input_errors
from bot.parsing import NEWLINE, Parsed, snippet

SSH_KEY_TYPES: Final = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
_SSH_LENGTH: Final = struct.Struct(">I")  # the uint32 before each string in an SSH key blob


def read_ssh_keys(text: str) -> Parsed[tuple[str, ...]]:
    """Each key normalised to `type body[ comment]`, and a problem for each bad line."""
    if "PRIVATE KEY-----" in text:
        # Never echo any of it back: it is a secret pasted by mistake.
        return (), [input_errors.PRIVATE_SSH_KEY]
    keys: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(NEWLINE.split(text), start=1):
        if not line.strip():
            continue
        key, problem = _ssh_key(line)
        if problem is not None:
            problems.append(input_errors.on_line(number, problem))
        else:
            keys.append(key)
    return tuple(keys), problems


def _ssh_key(line: str) -> tuple[str, str | None]:
    """One key normalised to `type body[ comment]`, or what is wrong with it."""
    key_type, *rest = line.strip().split(maxsplit=2)
    if key_type not in SSH_KEY_TYPES:
        if key_type.startswith("AAAA"):
            return "", input_errors.SSH_KEY_TYPE_MISSING
        return "", input_errors.ssh_key_type_unsupported(snippet(key_type))
    if not rest:
        return "", input_errors.ssh_key_data_missing(key_type)
    body, *comment = rest
    try:
        # The key material itself: the right length, a point on the curve, a sane modulus.
        load_ssh_public_key(f"{key_type} {body}".encode())
    except (ValueError, UnsupportedAlgorithm):
        encoded_type = _encoded_key_type(body)
        if encoded_type is not None and encoded_type != key_type:
            known = encoded_type if encoded_type in SSH_KEY_TYPES else None
            return "", input_errors.ssh_key_type_mismatch(known, key_type)
        return "", input_errors.SSH_KEY_DATA_INVALID
    return " ".join([key_type, body, *comment]), None


def _encoded_key_type(body: str) -> str | None:
    """The key type a base64 body names first (an SSH string: uint32 length, then bytes)."""
    try:
        data = base64.b64decode(body, validate=True)
    except ValueError:  # binascii.Error, and non-ASCII text
        return None
    if len(data) < _SSH_LENGTH.size:
        return None
    (length,) = _SSH_LENGTH.unpack_from(data)
    name = data[_SSH_LENGTH.size : _SSH_LENGTH.size + length]
    return name.decode("ascii", errors="replace") if len(name) == length else None
