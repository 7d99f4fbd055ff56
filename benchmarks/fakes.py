"""The benchmark's peers in a process of their own: fake Slack, fake Hiveon, and a control port.

`python -m benchmarks.fakes` serves `bot.testing`'s `FakeSlack` and the sandbox vendor on
loopback (the vendor's latency is chosen per request by its `slow-<seconds>` machine IDs), plus
a small control API the driver reads the fakes through:

- `GET /posts`: every `chat.postMessage` so far as `[channel, thread_ts or null, arrival]`;
- `GET /counts`: how many calls each Slack method received;
- `GET /vendor-starts`: when each start request reached the vendor;
- `POST /reset`: forget every call and message.

It prints one JSON line (`{"slack": …, "vendor": …, "control": …, "response_url": …}`) when
serving and stops at the end of its standard input. Running apart from the driver keeps their
work off the driver's clock; running apart from the bot keeps it off the bot's GIL.
"""

from __future__ import annotations

import collections
import json
import sys
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox import SandboxVendor
from bot.testing.fake_slack import FakeSlack
from bot.testing.loopback import LoopbackServer
from bot.testing.processes import API_KEY

# Deployments stay pending for the whole run: the follower polls them but reports nothing new.
PENDING_S = 3600.0


def _vendor_app(sandbox: SandboxVendor, starts: list[float]) -> web.Application:
    """The sandbox over HTTP, noting when each start request arrived."""

    @web.middleware
    async def note_starts(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/start"):
            starts.append(time.time())
        return await handler(request)

    app = sandbox.aiohttp_app()
    app.middlewares.append(note_starts)
    return app


def _control_app(slack: FakeSlack, starts: list[float]) -> web.Application:
    async def posts(_request: web.Request) -> web.Response:
        rows = [
            [call.params.get("channel"), call.params.get("thread_ts"), call.at]
            for call in slack.calls_to("chat.postMessage")
        ]
        return web.json_response(rows)

    async def vendor_starts(_request: web.Request) -> web.Response:
        return web.json_response(starts)

    async def counts(_request: web.Request) -> web.Response:
        return web.json_response(collections.Counter(call.method for call in slack.calls))

    async def reset(_request: web.Request) -> web.Response:
        slack.reset()
        starts.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/posts", posts)
    app.router.add_get("/counts", counts)
    app.router.add_get("/vendor-starts", vendor_starts)
    app.router.add_post("/reset", reset)
    return app


def main() -> None:
    """Serve the fakes until standard input closes."""
    sandbox = SandboxVendor(api_keys={API_KEY}, pending_s=PENDING_S)
    slack = FakeSlack()
    starts: list[float] = []
    vendor = LoopbackServer(lambda: _vendor_app(sandbox, starts), name="fake-hiveon")
    control = LoopbackServer(lambda: _control_app(slack, starts), name="control")
    with slack, vendor, control:
        print(
            json.dumps(
                {
                    "slack": slack.url,
                    "vendor": vendor.origin,
                    "control": control.origin,
                    "response_url": slack.response_url("bench"),
                }
            ),
            flush=True,
        )
        sys.stdin.read()


if __name__ == "__main__":
    main()
