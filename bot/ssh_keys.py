"""OpenSSH public keys, one per line: checked by `cryptography`, refused with a reason."""

from __future__ import annotations

import base64
import struct
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

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
        private = (
            "This is a private key: paste the public key (the `.pub` file) "
            "and keep the private one secret."
        )
        return (), [private]
    keys: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(NEWLINE.split(text), start=1):
        if not line.strip():
            continue
        key, problem = _ssh_key(line)
        if problem is not None:
            problems.append(f"Line {number}: {problem}")
        else:
            keys.append(key)
    return tuple(keys), problems


def _ssh_key(line: str) -> tuple[str, str | None]:
    """One key normalised to `type body[ comment]`, or what is wrong with it."""
    key_type, *rest = line.strip().split(maxsplit=2)
    accepted = "use ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or an sk- security key."
    if key_type not in SSH_KEY_TYPES:
        if key_type.startswith("AAAA"):
            return "", (
                "the key type is missing: paste the whole line, e.g. `ssh-ed25519 AAAA… you@host`."
            )
        return "", f"`{snippet(key_type)}` is not a supported key type: {accepted}"
    if not rest:
        return (
            "",
            f"`{key_type}` has no key data after it: paste the whole line from the `.pub` file.",
        )
    body, *comment = rest
    try:
        # The key material itself: the right length, a point on the curve, a sane modulus.
        load_ssh_public_key(f"{key_type} {body}".encode())
    except (ValueError, UnsupportedAlgorithm):
        encoded_type = _encoded_key_type(body)
        if encoded_type is not None and encoded_type != key_type:
            shown = f"`{encoded_type}`" if encoded_type in SSH_KEY_TYPES else "another type"
            return "", f"the key data is {shown}, not `{key_type}`: paste the line unchanged."
        return "", "the key data is not valid: paste the whole line from the `.pub` file."
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
