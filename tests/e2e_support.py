"""What the end-to-end tests share: per-test channels, reading what the fakes received."""

import uuid
from typing import Any

from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import Call, FakeSlack

VENDOR_START = "/vendors/v1/machines/deployments/start"


def channel() -> str:
    """A channel of its own for each test, so concurrent background work never mixes."""
    return f"C{uuid.uuid4().hex[:10].upper()}"


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
