"""httpx's requests carried by aiohttp: the vendor client's transport to the network.

httpcore, httpx's own transport, looks through every pooled connection for each request it
places, and again whenever one finishes: with the hundreds of calls a burst holds open at once
that is most of a submission's CPU (about 3 ms a call here, against 0.3 ms through aiohttp's
pool and C parser; encode/httpcore#1035). aiohttp is already installed for Bolt and slack_sdk.

The vendor client still speaks httpx (requests, responses, `httpx.MockTransport` in tests and
the playground); only the wire changes. Two things the client relies on are kept:

- **Errors say whether the request can have left.** aiohttp's errors become httpx's, so
  `bot.vendor` classifies them as before: a failure while connecting (refused, DNS, TLS, no
  connection in time) is a `ConnectError`/`ConnectTimeout`, nothing was sent; anything after
  (a reset, a disconnect, no answer in time, a broken answer) is a read or protocol error, the
  vendor may have acted. An error not known here counts as the latter. (The `httpx-aiohttp`
  package maps any lost connection, a disconnect after the request was sent included, to
  `ConnectTimeout`: a retry of a start that may have happened. Hence this module.)
- **The `trace` extension** tells the client when connecting began and when the request could
  start to leave (a connection made or reused): a deadline that runs out in between means
  nothing was sent.

As httpx's default transport does, failed connection attempts are retried (`retries`), never a
request that was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import SimpleNamespace
from typing import Any

import aiohttp
import httpx

Trace = Callable[[str, Mapping[str, Any]], Awaitable[None]]

# The trace events `bot.vendor` listens for, named as httpcore names them.
CONNECTING = "connection.connect_tcp.started"
SENDING = "http11.send_request_headers.started"
_RETRY_BACKOFF_S = 0.5


class UntrustedCertificateError(httpx.ConnectError):
    """The server's TLS certificate could not be verified against the trust store: nothing was
    sent, and trying again cannot help."""


# aiohttp's errors, most specific first, and the httpx error each becomes.
_ERRORS: tuple[tuple[type[Exception], type[httpx.RequestError]], ...] = (
    (aiohttp.ClientConnectorCertificateError, UntrustedCertificateError),
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS, proxy
    (aiohttp.ServerFingerprintMismatch, httpx.ConnectError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # an answer that is no HTTP
)


def httpx_error(exc: Exception, request: httpx.Request) -> httpx.RequestError:
    """The httpx error for one of aiohttp's: a connect error only when nothing can have been
    sent; a read error for whatever else broke (the vendor may have acted)."""
    for raised, becomes in _ERRORS:
        if isinstance(exc, raised):
            return becomes(str(exc) or type(exc).__name__, request=request)
    return httpx.ReadError(str(exc) or type(exc).__name__, request=request)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` over one `aiohttp.ClientSession`, opened on first use
    (aiohttp binds it to the running event loop) and closed by `aclose()`: at most
    `max_connections` open at once, an idle one kept `keepalive_s` for the next request."""

    def __init__(self, *, max_connections: int, keepalive_s: float = 5.0, retries: int = 0) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._retries = retries
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        tracing = aiohttp.TraceConfig()
        tracing.on_connection_create_start.append(_told(CONNECTING))
        tracing.on_connection_create_end.append(_told(SENDING))
        tracing.on_connection_reuseconn.append(_told(SENDING))
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            keepalive_timeout=self._keepalive_s,
            # The trust store Slack's calls use too: the system's CA certificates, or those
            # SSL_CERT_FILE / SSL_CERT_DIR name (a company's own CA). Made when aiohttp is
            # imported, so the first call loads no certificate bundle in the middle of a burst.
            ssl=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[tracing],
            auto_decompress=False,  # the body as sent; the client refuses encoded ones
            trust_env=False,
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; its answer's body is streamed as it arrives."""
        session = self._session or self._open()
        timeout = request.extensions.get("timeout", {})
        trace: Trace | None = request.extensions.get("trace")
        for attempt in range(self._retries + 1):
            try:
                response = await session.request(
                    request.method,
                    str(request.url),
                    headers=[(name, value) for name, value in request.headers.multi_items()],
                    data=request.content or None,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(
                        total=None,
                        connect=timeout.get("pool"),
                        sock_connect=timeout.get("connect"),
                        sock_read=timeout.get("read"),
                    ),
                    trace_request_ctx=SimpleNamespace(trace=trace),
                )
            except aiohttp.ClientError as exc:
                error = httpx_error(exc, request)
                if (
                    isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
                    and not isinstance(error, UntrustedCertificateError)
                    and attempt < self._retries
                ):
                    await asyncio.sleep(_RETRY_BACKOFF_S * 2**attempt)
                    continue
                raise error from exc
            return httpx.Response(
                response.status,
                headers=list(response.raw_headers),
                stream=_Body(response, request),
                request=request,
                extensions={"http_version": b"HTTP/1.1"},
            )
        msg = "unreachable: the last attempt returns or raises"
        raise AssertionError(msg)

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    """An answer's body as aiohttp receives it. Released with part of it unread (the client
    stops at its size cap), aiohttp closes the connection instead of pooling it."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()


def _told(event: str) -> Callable[..., Awaitable[None]]:
    """A TraceConfig hook passing `event` on to the request's `trace` extension, if any."""

    async def tell(_session: object, context: SimpleNamespace, _params: object) -> None:
        trace = getattr(context, "trace_request_ctx", None)
        hook = getattr(trace, "trace", None)
        if hook is not None:
            await hook(event, {})

    return tell
