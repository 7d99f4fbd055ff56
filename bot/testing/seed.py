"""Hiveon's documented example start request: the ordinary deployment of tests and benchmarks.

The vendor's documentation shows one start request. `start_body()` is that body, verbatim, with
whatever a test changes; `form()` is the deploy modal filled in to ask for the same deployment
(with an external ID of its own, secrets worth hiding and a well-formed SSH key).
"""

from __future__ import annotations

import base64
import copy
import struct
import uuid
from typing import Any, Final

MACHINE_ID: Final = "24d71100-7532-11ef-bd52-3a629d609f79"
MACHINE_PRICE_ID: Final = "3b2772f0-7533-11ef-930e-3a629d609f79"
EXTERNAL_ID: Final = "e8ee1cb1-cad1-4d90-a69d-79097a9572c8"
IMAGE: Final = "nginx:latest"
STARTUP_SCRIPT: Final = "echo 'Hello, World!' > /var/www/html/index.html"
REGISTRY_PASSWORD: Final = "registry-password-do-not-leak"  # noqa: S105 — one to look for
DB_PASSWORD: Final = "db-password-do-not-leak"  # noqa: S105 — one to look for
# `start_body(field=DELETE)` leaves the field out.
DELETE: Final = object()

_START_BODY: Final[dict[str, Any]] = {
    "machine_id": MACHINE_ID,
    "machine_price_id": MACHINE_PRICE_ID,
    "external_deployment_id": EXTERNAL_ID,
    "ssh_pub_keys": ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC..."],
    "container_config": {
        "image": IMAGE,
        "docker_auth": {
            "server": "docker.private.io",
            "login": "username",
            "password": "password123",
        },
        "ports": [
            {"host_port": 80, "protocol": "PORT_PROTOCOL_TCP"},
            {"host_port": 443, "protocol": "PORT_PROTOCOL_HTTPS"},
        ],
        "startup_script": STARTUP_SCRIPT,
        "environment_variables": {"ENV_VAR1": "value1", "ENV_VAR2": "value2"},
    },
    "metadata": {"additional_key": "additional_value"},
}


def start_body(**changes: object) -> dict[str, Any]:
    """The documented body with fields replaced, or removed with `DELETE`; `a__b` is `a.b`."""
    body = copy.deepcopy(_START_BODY)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target: Any = body
        for parent in parents:
            target = target[parent]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return body


def ssh_key(comment: str = "alice@laptop") -> str:
    """A well-formed ssh-ed25519 public key line."""
    kind = b"ssh-ed25519"
    blob = struct.pack(">I", len(kind)) + kind + struct.pack(">I", 32) + bytes(range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


def form(**changes: str) -> dict[str, str]:
    """The deploy modal filled in for the documented deployment, with a fresh external ID, a
    registry password and a secret environment variable; `changes` override fields."""
    values = {
        "machine_id": MACHINE_ID,
        "machine_price_id": MACHINE_PRICE_ID,
        "image": IMAGE,
        "ports": "80, 443/https",
        "environment_variables": f'ENV_VAR1=value1\nexport DB_PASSWORD="{DB_PASSWORD}"',
        "ssh_pub_keys": ssh_key(),
        "startup_script": STARTUP_SCRIPT,
        "docker_server": "docker.private.io",
        "docker_login": "username",
        "docker_password": REGISTRY_PASSWORD,
        "external_deployment_id": str(uuid.uuid4()),
        "metadata": "additional_key=additional_value",
    }
    values.update(changes)
    return values


def form_request(external_id: str) -> dict[str, Any]:
    """What Hiveon receives for `form(external_deployment_id=external_id)`: the documented body
    with the form's SSH key, registry password and environment."""
    return start_body(
        external_deployment_id=external_id,
        ssh_pub_keys=[ssh_key()],
        container_config__docker_auth__password=REGISTRY_PASSWORD,
        container_config__environment_variables={"ENV_VAR1": "value1", "DB_PASSWORD": DB_PASSWORD},
    )
