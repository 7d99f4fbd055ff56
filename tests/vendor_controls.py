"""Controls over the fake Hiveon for end-to-end tests: a clock that moves only when a test says
so, and faults (503s, late answers) in front of its status endpoint."""

import asyncio
import threading

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox import SandboxVendor

# How long the fake Hiveon keeps a deployment PENDING (or STOPPING) on its manual clock.
PENDING_S = 60.0


class ManualClock:
    """The fake Hiveon's clock: it moves only when a test advances it."""

    def __init__(self) -> None:
        self._now = 0.0

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float = PENDING_S) -> None:
        """Let `seconds` pass for every deployment the fake Hiveon knows."""
        self._now += seconds


class StatusFaults:
    """In front of the fake Hiveon: makes the next status polls of chosen deployments fail with
    a gateway's 503, or answer late."""

    def __init__(self, sandbox: SandboxVendor) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._failed: dict[str, int] = {}
        self._slow: dict[str, float] = {}
        self._holding: dict[str, threading.Event] = {}

    def fail_next(self, deployment_id: str) -> None:
        """Answer the next status poll of this deployment with a 503."""
        with self._lock:
            self._failures[deployment_id] = self._failures.get(deployment_id, 0) + 1

    def failed(self, deployment_id: str) -> int:
        """How many 503s this deployment's polls got."""
        with self._lock:
            return self._failed.get(deployment_id, 0)

    def slow_next(self, deployment_id: str, seconds: float) -> threading.Event:
        """Answer the next status poll of this deployment `seconds` late; the event is set
        once that poll has arrived and is being held."""
        with self._lock:
            self._slow[deployment_id] = seconds
            self._holding[deployment_id] = threading.Event()
            return self._holding[deployment_id]

    def app(self) -> web.Application:
        """The sandbox's aiohttp app behind this middleware."""
        app = self.sandbox.aiohttp_app()
        app.middlewares.append(self._middleware)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        deployment_id = request.path.rpartition("/")[2]
        fails, delay = False, 0.0
        if request.method == "GET":
            with self._lock:
                if self._failures.get(deployment_id, 0) > 0:
                    fails = True
                    self._failures[deployment_id] -= 1
                    self._failed[deployment_id] = self._failed.get(deployment_id, 0) + 1
                elif deployment_id in self._slow:
                    delay = self._slow.pop(deployment_id)
                    self._holding.pop(deployment_id).set()
        if fails:
            return web.Response(status=503, text="<html>503 Service Unavailable</html>")
        await asyncio.sleep(delay)
        return await handler(request)
