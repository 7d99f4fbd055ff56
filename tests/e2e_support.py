"""What the end-to-end tests share: a valid form, per-test channels, reading the fakes."""

import base64
import struct
import uuid
from typing import Any

from bot.sandbox import SandboxVendor
from tests.fakes.slack import Call, FakeSlack

REGISTRY_PASSWORD = "registry-password-do-not-leak"
DB_PASSWORD = "db-password-do-not-leak"
VENDOR_START = "/vendors/v1/machines/deployments/start"


def ssh_key(comment: str = "alice@laptop") -> str:
    """A well-formed ssh-ed25519 public key line."""
    kind = b"ssh-ed25519"
    blob = struct.pack(">I", len(kind)) + kind + struct.pack(">I", 32) + bytes(range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


def channel() -> str:
    """A channel of its own for each test, so concurrent background work never mixes."""
    return f"C{uuid.uuid4().hex[:10].upper()}"


def form(**changes: str) -> dict[str, str]:
    """A complete, valid modal with a fresh external ID; `changes` override fields."""
    values = {
        "machine_id": "24d71100-7532-11ef-bd52-3a629d609f79",
        "machine_price_id": "3b2772f0-7533-11ef-930e-3a629d609f79",
        "image": "nginx:latest",
        "ports": "80, 443/https",
        "environment_variables": f'ENV_VAR1=value1\nexport DB_PASSWORD="{DB_PASSWORD}"',
        "ssh_pub_keys": ssh_key(),
        "startup_script": "echo 'Hello, World!' > /var/www/html/index.html",
        "docker_server": "docker.private.io",
        "docker_login": "username",
        "docker_password": REGISTRY_PASSWORD,
        "external_deployment_id": str(uuid.uuid4()),
        "metadata": "additional_key=additional_value",
    }
    values.update(changes)
    return values


def thread_replies(slack: FakeSlack, channel_id: str, count: int = 1) -> list[Call]:
    """Wait for the bot's thread replies in a channel."""
    return slack.wait_for(
        "chat.postMessage",
        count=count,
        timeout=20,
        where=lambda call: call.params.get("channel") == channel_id and "thread_ts" in call.params,
    )


def parent_posts(slack: FakeSlack, channel_id: str) -> list[Call]:
    """The bot's top-level messages in a channel."""
    return [
        call
        for call in slack.calls_to("chat.postMessage")
        if call.params.get("channel") == channel_id and "thread_ts" not in call.params
    ]


def vendor_starts(sandbox: SandboxVendor, external_id: str) -> list[dict[str, Any]]:
    """The start requests Hiveon received for one submission."""
    return [
        request.json
        for request in sandbox.requests
        if request.path == VENDOR_START
        and isinstance(request.json, dict)
        and request.json.get("external_deployment_id") == external_id
    ]
