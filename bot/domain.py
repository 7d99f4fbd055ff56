"""What deploybot knows of a workspace: its scope, who may deploy there, its key as shown, and
the changes admins made. Plain data, no I/O.

A workspace is known by the team ID in Bolt's verified context, never by anything a payload's
body or a form says. An Enterprise Grid org that installed deploybot org-wide has one scope for
the whole org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# A hint shorter than this would give away too much of a short key.
_MIN_KEY_LENGTH_FOR_HINT = 12
_HINT_CHARS = 4


@dataclass(frozen=True)
class Scope:
    """Whose key and settings: one workspace, or a whole Grid org installed org-wide."""

    enterprise_id: str | None
    team_id: str | None  # None only for an org-wide install

    @classmethod
    def of(
        cls, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool
    ) -> Scope | None:
        """The scope of a request, from Bolt's context; None when Slack named no team or org."""
        if is_enterprise_install and enterprise_id:
            return cls(enterprise_id, None)
        if team_id:
            return cls(enterprise_id or None, team_id)
        return None

    @property
    def key(self) -> str:
        """The row's primary key: team IDs are unique across Slack, org scopes are prefixed."""
        return self.team_id or f"org:{self.enterprise_id}"

    @property
    def org_wide(self) -> bool:
        """True for an org-wide install's scope."""
        return self.team_id is None


def lookup_keys(enterprise_id: str | None, team_id: str | None) -> list[str]:
    """Where a request's key and settings may live, most specific first."""
    keys = [team_id] if team_id else []
    if enterprise_id:
        keys.append(Scope(enterprise_id, None).key)
    return keys


def key_hint(api_key: str) -> str | None:
    """The last 4 characters, the only part of a key ever shown; None for a short key."""
    if len(api_key) < _MIN_KEY_LENGTH_FOR_HINT:
        return None
    return api_key[-_HINT_CHARS:]


class Action(StrEnum):
    """What a change did; its detail says how."""

    KEY_SET = "api_key_set"
    KEY_ROTATED = "api_key_rotated"
    KEY_REMOVED = "api_key_removed"
    ACCESS_CHANGED = "access_changed"
    GUARDRAILS_CHANGED = "guardrails_changed"
    FROZEN = "deploys_frozen"
    UNFROZEN = "deploys_unfrozen"
    UNINSTALLED = "uninstalled"
    PRESET_SAVED = "preset_saved"
    PRESET_REPLACED = "preset_replaced"
    PRESET_DELETED = "preset_deleted"


@dataclass(frozen=True)
class Change:
    """A recorded change, as shown to admins."""

    user_id: str
    at: datetime
    action: Action
    detail: dict[str, Any]


@dataclass(frozen=True)
class StoredKey:
    """What may be shown about a stored key: its last characters, who set it and when."""

    hint: str | None
    set_by: str
    set_at: datetime
    readable: bool


@dataclass(frozen=True)
class Access:
    """Who may deploy: empty means no restriction; channels and people restrict independently."""

    channels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    usergroups: tuple[str, ...] = ()
    set_by: str | None = field(default=None, compare=False)
    set_at: datetime | None = field(default=None, compare=False)

    @property
    def restricts_people(self) -> bool:
        """True when only listed users or members of listed groups may deploy."""
        return bool(self.users or self.usergroups)

    def differences(self, new: Access) -> dict[str, list[list[str]]]:
        """`{"channels": [old, new], …}` for each list that differs."""
        pairs = {
            "channels": (self.channels, new.channels),
            "users": (self.users, new.users),
            "usergroups": (self.usergroups, new.usergroups),
        }
        return {
            name: [list(old), list(now)]
            for name, (old, now) in pairs.items()
            if set(old) != set(now)
        }


@dataclass(frozen=True)
class Guardrails:
    """Whether deployments wait for a second person's approval, and whose (empty: admins), and
    how long they run before deploybot stops them: the default, and the longest allowed."""

    require_approval: bool = False
    approvers: tuple[str, ...] = ()
    default_stop_after_s: int | None = None
    max_stop_after_s: int | None = None

    def differences(self, new: Guardrails) -> dict[str, list[Any]]:
        """`{"require_approval": [old, new], …}` for each setting that differs."""
        pairs: dict[str, tuple[Any, Any]] = {
            "require_approval": (self.require_approval, new.require_approval),
            "approvers": (list(self.approvers), list(new.approvers)),
            "default_stop_after_s": (self.default_stop_after_s, new.default_stop_after_s),
            "max_stop_after_s": (self.max_stop_after_s, new.max_stop_after_s),
        }
        return {
            name: [old, now]
            for name, (old, now) in pairs.items()
            if (set(old) != set(now) if isinstance(old, list) else old != now)
        }


@dataclass(frozen=True)
class Freeze:
    """A deploy freeze: who froze, since when, until when (None: until someone lifts it), why."""

    by: str
    at: datetime
    until: datetime | None
    reason: str

    def holds(self, now: datetime) -> bool:
        """True while the freeze lasts."""
        return self.until is None or now < self.until


@dataclass(frozen=True)
class Workspace:
    """A workspace's key (as shown) and settings."""

    scope: Scope
    key: StoredKey | None
    access: Access
    guardrails: Guardrails = Guardrails()
    freeze: Freeze | None = None


class KeysNotStorableError(Exception):
    """No encryption key is configured, so workspace keys cannot be stored."""


@dataclass(frozen=True)
class Preset:
    """A named deploy form saved for a workspace: its request without any secret (no registry
    password, secret values masked), who saved it last, when, and when a deployment from it
    last started."""

    name: str
    user_id: str
    request: dict[str, Any]
    saved_at: datetime
    last_used_at: datetime | None = None

    @property
    def image(self) -> str:
        """The image it deploys."""
        return str((self.request.get("container_config") or {}).get("image", ""))

    @property
    def machine_id(self) -> str:
        """The machine it deploys on."""
        return str(self.request.get("machine_id", ""))
