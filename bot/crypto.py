"""Encryption at rest of workspace API keys: Fernet under `DEPLOYBOT_ENCRYPTION_KEY`, rotatable.

`DEPLOYBOT_ENCRYPTION_KEY` holds one Fernet key, or several separated by commas: the first
encrypts, every one decrypts (`MultiFernet`). To rotate, put a new key first and keep the old
ones after it; at start-up deploybot re-encrypts every stored key under the first one, after
which the old keys can be dropped.
"""

from __future__ import annotations

import binascii
import logging
import stat
from base64 import urlsafe_b64decode
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

_FERNET_KEY_BYTES = 32
_OWNER_ONLY = 0o600
GENERATE_HINT = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class UndecryptableError(Exception):
    """A stored value none of the configured keys can decrypt (the key was changed or lost)."""


def parse_keys(setting: str) -> list[bytes]:
    """The Fernet keys in a comma-separated setting; ValueError (never quoting a key) if invalid."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if not entries:
        raise ValueError(f"must hold at least one Fernet key; generate one with {GENERATE_HINT}")
    for position, entry in enumerate(entries, start=1):
        try:
            raw = urlsafe_b64decode(entry.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != _FERNET_KEY_BYTES:
            raise ValueError(
                f"entry {position} is not a Fernet key (32 bytes, url-safe base64); "
                f"generate one with {GENERATE_HINT}"
            )
    return [entry.encode("ascii") for entry in entries]


class KeyBox:
    """Encrypts with the first key and decrypts with any, so keys can be rotated."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("a KeyBox needs at least one key")
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_setting(cls, setting: str) -> KeyBox:
        """The box for a `DEPLOYBOT_ENCRYPTION_KEY` value."""
        return cls(parse_keys(setting))

    def encrypt(self, plaintext: str) -> str:
        """A token only these keys can read; a fresh one each time."""
        return self._primary.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext of a token; UndecryptableError when no configured key opens it."""
        try:
            return self._all.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise UndecryptableError("no configured encryption key opens this value") from exc

    def is_current(self, token: str) -> bool:
        """True when the first (current) key encrypted this token."""
        try:
            self._primary.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same plaintext encrypted under the current key; UndecryptableError if unreadable."""
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise UndecryptableError("no configured encryption key opens this value") from exc


def dev_key_box(path: Path) -> KeyBox:
    """A box whose key lives in a generated file readable by its owner only (local trials)."""
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & ~_OWNER_ONLY:
            log.warning("%s is readable by others (mode %o); making it 0600", path, mode)
            path.chmod(_OWNER_ONLY)
        key = path.read_text().strip()
    else:
        key = Fernet.generate_key().decode("ascii")
        path.touch(mode=_OWNER_ONLY, exist_ok=False)
        path.chmod(_OWNER_ONLY)  # touch's mode passes through the umask; be explicit
        path.write_text(key + "\n")
    log.warning(
        "\n%s\nDEPLOYBOT_ENCRYPTION_KEY is not set: workspace API keys are encrypted with a\n"
        "generated key in %s (mode 0600).\nThat is for local trials only: whoever can read the "
        "file can read the stored keys.\nSet DEPLOYBOT_ENCRYPTION_KEY before storing real keys."
        "\n%s",
        "!" * 78,
        path,
        "!" * 78,
    )
    return KeyBox(parse_keys(key))
