"""A deployment's start request as a `curl` command for a POSIX shell, with no secret in it.

The command is built from the request as deploybot stored it (`StartDeploymentRequest
.redacted()`: the registry password and every secret value already masked), and sends what
`bot.vendor` sent: the same URL, headers and compact JSON body. Everything masked becomes a
shell variable the reader sets first: the API key `$HIVEON_API_KEY`, the registry password
`$REGISTRY_PASSWORD`, each environment variable or metadata entry with a masked value
`$NAME` (the whole value: a masked URL's password cannot be told apart from the rest). A
startup script is kept for whoever started the deployment and is `$STARTUP_SCRIPT` for anyone
else, as Redeploy withholds it (scripts hold tokens).

Every literal part is quoted with `shlex.quote`, so nothing a user typed (a `$(…)`, a quote, a
backtick) is ever run by the shell that pastes it; a variable's value is put between the JSON
body's quotes as it is, so it must not hold `"` or `\\`.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.deployment import MASK
from bot.vendor import START_PATH

API_KEY_VARIABLE: Final = "HIVEON_API_KEY"
PASSWORD_VARIABLE: Final = "REGISTRY_PASSWORD"  # noqa: S105 — a variable's name, not a secret
SCRIPT_VARIABLE: Final = "STARTUP_SCRIPT"
_OURS: Final = frozenset({API_KEY_VARIABLE, PASSWORD_VARIABLE, SCRIPT_VARIABLE})
# Headers deploybot's vendor client sends besides the key (bot.vendor): what the body is, and
# what it accepts back.
_HEADERS: Final = ("Accept: application/json", "Content-Type: application/json")


@dataclass(frozen=True)
class CurlCommand:
    """The command, and the shell variables it needs, in the order they appear."""

    text: str
    variables: tuple[str, ...]


def curl_command(request: Mapping[str, Any], *, base_url: str, with_script: bool) -> CurlCommand:
    """The stored start request as a curl command; `with_script` keeps its startup script."""
    # Each masked value is swapped for a marker no user can type (a fresh random word), which
    # the quoting below turns into the variable's expansion.
    marker = f"deploybot-{secrets.token_hex(8)}"
    body, variables = _with_markers(request, marker, with_script=with_script)
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    url = base_url.rstrip("/") + START_PATH
    lines = [
        f"curl -X POST {shlex.quote(url)}",
        *(f"-H {shlex.quote(header)}" for header in _HEADERS),
        f'-H "X-API-Key: ${API_KEY_VARIABLE}"',
        f"--data-binary {_shell_word(encoded, marker)}",
    ]
    return CurlCommand(" \\\n  ".join(lines), (API_KEY_VARIABLE, *variables))


def _with_markers(
    request: Mapping[str, Any], marker: str, *, with_script: bool
) -> tuple[dict[str, Any], list[str]]:
    """A copy of the request whose masked values are markers, and the variables they name."""
    body: dict[str, Any] = json.loads(json.dumps(request))
    variables: list[str] = []

    def variable(name: str) -> str:
        variables.append(name)
        return f"{marker}:{name}:{marker}"

    config = body.get("container_config")
    if isinstance(config, dict):
        auth = config.get("docker_auth")
        if isinstance(auth, dict) and "password" in auth:
            auth["password"] = variable(PASSWORD_VARIABLE)
        if config.get("startup_script") and not with_script:
            config["startup_script"] = variable(SCRIPT_VARIABLE)
        environment = config.get("environment_variables")
        if isinstance(environment, dict):
            _mask(environment, variable, taken=_OURS, prefix="ENV_")
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        names = (
            set(config.get("environment_variables") or {}) if isinstance(config, dict) else set()
        )
        _mask(metadata, variable, taken=_OURS | names, prefix="METADATA_")
    return body, variables


def _mask(
    values: dict[str, Any], variable: Callable[[str], str], *, taken: frozenset[str], prefix: str
) -> None:
    """Replace each masked value by its variable: the name itself, prefixed when taken."""
    for name, value in values.items():
        if isinstance(value, str) and MASK in value:
            values[name] = variable(f"{prefix}{name}" if name in taken else name)


def _shell_word(text: str, marker: str) -> str:
    """`text` as one shell word: literal parts single-quoted, each marker the variable's
    expansion in double quotes."""
    parts = re.split(f"{marker}:([A-Za-z_][A-Za-z0-9_]*):{marker}", text)
    # re.split alternates literal text and captured names: literal, name, literal, …
    word = []
    for index, part in enumerate(parts):
        if index % 2:
            word.append(f'"${part}"')
        elif part:
            word.append(shlex.quote(part))
    return "".join(word) or "''"
