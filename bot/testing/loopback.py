"""An aiohttp application served on 127.0.0.1 from a thread of its own, for any fake peer."""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiohttp import web

# Idle keep-alive connections close at once; this only bounds requests still in flight.
_SHUTDOWN_TIMEOUT = 1.0
_THREAD_TIMEOUT = 10.0


@dataclass(frozen=True)
class _Running:
    port: int
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event


class LoopbackServer:
    """Serves `make_app()` on a free loopback port with its own event loop, so sync tests,
    async tests and another process can all reach it."""

    def __init__(self, make_app: Callable[[], web.Application], *, name: str = "fake") -> None:
        self._make_app = make_app
        self._name = name
        self._running: _Running | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        ready: Future[_Running] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=self._name, daemon=True
        )
        self._thread.start()
        self._running = ready.result(timeout=_THREAD_TIMEOUT)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        running, thread = self._running, self._thread
        self._running = self._thread = None
        if running is not None:
            running.loop.call_soon_threadsafe(running.stop.set)
        if thread is not None:
            thread.join(timeout=_THREAD_TIMEOUT)
            if thread.is_alive():
                raise RuntimeError(f"the {self._name} server thread did not stop")

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT`."""
        if self._running is None:
            raise RuntimeError(f"{self._name} is not running: use it as a context manager")
        return f"http://127.0.0.1:{self._running.port}"

    def _run(self, ready: Future[_Running]) -> None:
        try:
            asyncio.run(self._serve(ready))
        finally:
            # Whatever stopped the server early also reaches the thread's excepthook.
            if not ready.done():
                ready.set_exception(RuntimeError(f"{self._name} stopped before listening"))

    async def _serve(self, ready: Future[_Running]) -> None:
        runner = web.AppRunner(
            self._make_app(), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, "127.0.0.1", 0).start()
            except OSError as exc:
                ready.set_exception(exc)
                return
            stop = asyncio.Event()
            ready.set_result(_Running(runner.addresses[0][1], asyncio.get_running_loop(), stop))
            await stop.wait()
        finally:
            await runner.cleanup()
