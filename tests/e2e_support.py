"""What the end-to-end tests share: per-test channels, reading what the fakes received, and
waiting for what the bot does in the background."""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import Call, FakeSlack
from bot.testing.loopback import LoopbackServer

VENDOR_START = "/vendors/v1/machines/deployments/start"
_POLL_S = 0.05


@contextmanager
def hiveon_on_loopback(**options: Any) -> Iterator[tuple[SandboxVendor, str]]:
    """The sandbox Hiveon made with `options` (its API keys first), served on loopback: it
    and its origin, for HIVEON_API_URL. A module's `vendor` fixture; `sandbox` is its first."""
    sandbox = SandboxVendor(**options)
    with LoopbackServer(sandbox.aiohttp_app, name="fake-hiveon") as server:
        yield sandbox, server.origin


def wait_until(condition: Callable[[], object], *, what: str, timeout: float = 20.0) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(_POLL_S)


async def until(condition: Callable[[], object], *, what: str, within_s: float = 5.0) -> None:
    """`wait_until` for a test whose event loop also runs the app: polls with asyncio.sleep."""
    try:
        async with asyncio.timeout(within_s):
            while not condition():  # noqa: ASYNC110 — state of another task, no event to await
                await asyncio.sleep(_POLL_S / 5)
    except TimeoutError as exc:
        raise AssertionError(f"timed out after {within_s} s waiting for {what}") from exc


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


def opened_modal(slack: FakeSlack, trigger_id: str) -> dict[str, Any]:
    """The deploy form of the one views.open called with `trigger_id`."""
    [call] = slack.wait_for(
        "views.open", timeout=20, where=lambda c: c.params["trigger_id"] == trigger_id
    )
    view: dict[str, Any] = call.params["view"]
    assert view["callback_id"] == "deploy_modal"
    return view


def initial_values(view: dict[str, Any]) -> dict[str, str | None]:
    """Each text input's prefilled text, by block_id (None when empty)."""
    return {
        block["block_id"]: block["element"].get("initial_value")
        for block in view["blocks"]
        if block["type"] == "input" and block["element"]["type"] == "plain_text_input"
    }


def vendor_starts(sandbox: SandboxVendor, external_id: str) -> list[dict[str, Any]]:
    """The start requests Hiveon received for one submission."""
    return [
        request.json
        for request in sandbox.requests
        if request.path == VENDOR_START
        and isinstance(request.json, dict)
        and request.json.get("external_deployment_id") == external_id
    ]
