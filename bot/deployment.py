"""The start-deployment request, mirroring the Hiveon seed field for field, and its redaction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

MASK = "••••"
# What an ID must look like to be stored, looked up and shown: an external ID a user types, and
# a deployment ID or status Hiveon answers. Nothing in it can be Slack markup or a URL path.
PLAIN_ID_CHARACTERS = "A-Za-z0-9._:-"
MAX_PLAIN_ID = 128
_PLAIN_ID = re.compile(f"[{PLAIN_ID_CHARACTERS}]{{1,{MAX_PLAIN_ID}}}")
MAX_PORTS = 100
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_USER_MAPS = frozenset({"environment_variables", "metadata"})
# Parts of a name that say its value is a secret: DB_PASSWORD, PGPASS, MYSQL_PWD, SENTRY_DSN,
# BASIC_AUTH, SSH_PRIVATE_KEY, TLS_CERT, SESSION_SECRET, COOKIE_SALT, GITHUB_TOKEN, API_KEY…
SECRET_NAME_PARTS = (
    "PASS",
    "PWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "DSN",
    "AUTH",
    "PRIVATE",
    "CERT",
    "SESSION",
    "COOKIE",
)
_SECRET_NAME = re.compile("|".join(SECRET_NAME_PARTS), re.IGNORECASE)
# The password of a URL with credentials, `scheme://user:password@host`, whatever the name.
_URL_PASSWORD = re.compile(
    r"(?P<before>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:)(?P<password>[^\s/?#@]+)@"
)


class PortProtocol(StrEnum):
    """The seed's protocol enum; `PORT_PROTOCOL_UNSPECIFIED` is refused by the vendor."""

    TCP = "PORT_PROTOCOL_TCP"
    HTTPS = "PORT_PROTOCOL_HTTPS"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class PortMapping(_Model):
    """One `container_config.ports[]` item."""

    host_port: int = Field(ge=1, le=65535)
    protocol: PortProtocol = PortProtocol.TCP


def format_ports(ports: Sequence[PortMapping]) -> list[str]:
    """Ports as users write them: `80/tcp`, `443/https`."""
    return [f"{port.host_port}/{port.protocol.name.lower()}" for port in ports]


class DockerAuth(_Model):
    """`container_config.docker_auth`: private-registry login."""

    server: str = Field(min_length=1)
    login: str = Field(min_length=1)
    password: SecretStr


class ContainerConfig(_Model):
    """`container_config`."""

    image: str = Field(min_length=1)
    docker_auth: DockerAuth | None = None
    ports: tuple[PortMapping, ...] = Field(default=(), max_length=MAX_PORTS)
    startup_script: str | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)


class StartDeploymentRequest(_Model):
    """The body of `POST /vendors/v1/machines/deployments/start`."""

    machine_id: str = Field(min_length=1)
    machine_price_id: str = Field(min_length=1)
    external_deployment_id: str | None = None
    ssh_pub_keys: tuple[str, ...] = ()
    container_config: ContainerConfig
    metadata: dict[str, str] = Field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """The JSON body for the vendor: secrets revealed, empty optional fields left out."""
        return _without_empty(self._as_dict(reveal=True))

    def redacted(self) -> dict[str, Any]:
        """The same body with every secret masked: safe for logs, storage and Slack."""
        return _without_empty(self._as_dict(reveal=False))

    def for_preset(self) -> dict[str, Any]:
        """What a preset keeps of the request: the redacted body without the registry password
        (never stored, not even masked) or the external ID (each deployment gets its own)."""
        kept = self.redacted()
        kept.pop("external_deployment_id", None)
        auth = kept.get("container_config", {}).get("docker_auth")
        if isinstance(auth, dict):
            auth.pop("password", None)
        return kept

    def _as_dict(self, *, reveal: bool) -> dict[str, Any]:
        config = self.container_config
        auth = config.docker_auth
        return {
            "machine_id": self.machine_id,
            "machine_price_id": self.machine_price_id,
            "external_deployment_id": self.external_deployment_id,
            "ssh_pub_keys": list(self.ssh_pub_keys),
            "container_config": {
                "image": config.image,
                "docker_auth": None
                if auth is None
                else {
                    "server": auth.server,
                    "login": auth.login,
                    "password": auth.password.get_secret_value() if reveal else MASK,
                },
                "ports": [
                    {"host_port": port.host_port, "protocol": port.protocol.value}
                    for port in config.ports
                ],
                "startup_script": config.startup_script,
                "environment_variables": config.environment_variables
                if reveal
                else mask_secret_values(config.environment_variables),
            },
            "metadata": self.metadata if reveal else mask_secret_values(self.metadata),
        }


def is_plain_id(value: str) -> bool:
    """True for 1–128 letters, digits and `.`, `_`, `:`, `-`: safe as data, text and a path."""
    return _PLAIN_ID.fullmatch(value) is not None


def is_secret_name(name: str) -> bool:
    """True for names like `DB_PASSWORD`, `API_KEY`, `SENTRY_DSN` whose values are secrets."""
    return _SECRET_NAME.search(name) is not None


def mask_value(name: str, value: str) -> str:
    """The value as deploybot may store, log, show or prefill it: `••••` for a secret name,
    else with the password of every URL in it masked (`postgres://app:••••@db/app`)."""
    if is_secret_name(name):
        return MASK
    return _URL_PASSWORD.sub(lambda match: f"{match['before']}{MASK}@", value)


def mask_secret_values(values: dict[str, str]) -> dict[str, str]:
    """Every value as `mask_value` shows it."""
    return {name: mask_value(name, value) for name, value in values.items()}


def secret_values(values: dict[str, str]) -> list[str]:
    """What `mask_secret_values` hides: whole values of secret names and URL passwords."""
    found: list[str] = []
    for name, value in values.items():
        if is_secret_name(name):
            found.append(value)
        else:
            found.extend(match["password"] for match in _URL_PASSWORD.finditer(value))
    return found


def is_masked(value: str) -> bool:
    """True when a stored value had a secret masked out of it: it cannot be sent again."""
    return MASK in value


def _without_empty(value: dict[str, Any]) -> dict[str, Any]:
    """Drop `None`, empty strings, lists and objects, recursively: the vendor gets no `null`."""
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        # Maps the user filled (env vars, metadata) keep their keys even with empty values.
        kept = _without_empty(item) if isinstance(item, dict) and key not in _USER_MAPS else item
        if kept is None or kept in ("", [], {}):
            continue
        cleaned[key] = kept
    return cleaned
