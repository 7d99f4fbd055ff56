"""Encryption at rest of workspace API keys and Slack bot tokens: Fernet, rotatable.

`DEPLOYBOT_ENCRYPTION_KEY` holds one Fernet key, or several separated by commas: the first
encrypts, every one decrypts (`MultiFernet`). To rotate, put a new key first and keep the old
ones after it; at start-up deploybot re-encrypts every stored key under the first one, after
which the old keys can be dropped.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

_OWNER_ONLY = 0o600


class UndecryptableError(Exception):
    """A stored value none of the configured keys can decrypt (the key was changed or lost)."""


class KeyBox:
    """Encrypts with the first key and decrypts with any, so keys can be rotated."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("a KeyBox needs at least one key")
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_setting(cls, setting: str) -> KeyBox:
        """The box for a `DEPLOYBOT_ENCRYPTION_KEY` value (checked by `bot.config`)."""
        return cls([entry.strip().encode("ascii") for entry in setting.split(",") if entry.strip()])

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
    return KeyBox.from_setting(key)
