"""The wire under subgraph calls: `POST url body headers -> (status, body bytes)`.

Two interchangeable transports. `HttpToolsTransport` is a lean HTTP/1.1 keep-alive
client over asyncio and the httptools parser — the gateway's hot path spends most of
its client time in per-request bookkeeping that a JSON-only POST does not need.
`AiohttpTransport` is the general client, used for https and when configured.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Mapping
from typing import Protocol, cast
from urllib.parse import urlsplit

import httptools

from gateway.bulkhead import wake_first

log = logging.getLogger("govgraph.upstream")


class TransportError(Exception):
    """The exchange failed: no connection, a dropped connection, or a malformed response.

    `sent` is False only when the request certainly never reached the upstream (no
    connection); once it was written, a write may have been applied whatever happens next.
    """

    def __init__(self, message: str, *, bad_response: bool = False, sent: bool = True) -> None:
        super().__init__(message)
        self.bad_response = bad_response
        self.sent = sent


class Transport(Protocol):
    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], idempotent: bool
    ) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


def make_transport(name: str, max_bytes: int, max_connections: int = 0) -> Transport:
    """`max_connections` caps the connections open at once (0: no cap)."""
    if name == "aiohttp":
        return AiohttpTransport(max_bytes, max_connections)
    return HttpToolsTransport(max_bytes, max_connections)


class AiohttpTransport:
    def __init__(self, max_bytes: int, max_connections: int = 0) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self.max_bytes = max_bytes
        connector = aiohttp.TCPConnector(
            limit=max_connections,
            limit_per_host=max_connections or 256,
            keepalive_timeout=60,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
        )

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], idempotent: bool
    ) -> tuple[int, bytes]:
        try:
            async with self._session.post(url, data=body, headers=dict(headers)) as resp:
                raw = await resp.content.read(self.max_bytes + 1)
                if len(raw) > self.max_bytes:
                    raise TransportError("the response is larger than allowed", bad_response=True)
                return resp.status, raw
        except (self._aiohttp.ClientPayloadError, self._aiohttp.ClientResponseError) as exc:
            log.warning("bad response from %s: %s", url, exc)
            raise TransportError(
                "the subgraph sent a malformed response", bad_response=True
            ) from None
        except (self._aiohttp.InvalidURL, self._aiohttp.NonHttpUrlClientError):
            log.warning("cannot send to %r: not a valid http(s) URL", url)
            raise TransportError("the subgraph URL in effect is not a valid http(s) URL") from None
        except (self._aiohttp.ClientError, OSError) as exc:
            # aiohttp's messages name the host: keep them in the log, not in responses
            log.warning("cannot reach %s: %s", url, exc)
            sent = not isinstance(exc, self._aiohttp.ClientConnectorError)
            raise TransportError(_reason(exc), sent=sent) from None

    async def close(self) -> None:
        await self._session.close()


def _reason(exc: BaseException) -> str:
    """A client-safe reason: the OS's words for an errno, else a plain phrase; never a host."""
    errno_ = getattr(exc, "errno", None)
    if isinstance(errno_, int) and errno_:
        return f"cannot connect ({os.strerror(errno_)})"
    return "the connection to the subgraph failed"


class _Dropped(TransportError):
    """The connection closed before any byte of the response arrived."""


class _Connection(asyncio.Protocol):
    __slots__ = (
        "chunks",
        "closed",
        "complete",
        "counted",
        "framed",
        "headers_done",
        "max_bytes",
        "parser",
        "pool",
        "received",
        "size",
        "transport",
        "waiter",
    )

    def __init__(self, pool: _Pool, max_bytes: int) -> None:
        self.pool = pool
        self.max_bytes = max_bytes
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.closed = False
        self.received = False
        self.headers_done = False
        self.framed = False  # Content-Length or chunked: the body does not end at close
        self.complete = False
        self.counted = True  # among the open connections of its transport

    # ---- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # create_connection hands over a stream transport; uvloop's does not subclass
        # asyncio.Transport, so this can only be a cast, not an isinstance check
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"malformed HTTP response: {exc}", bad_response=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._uncount()
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headers_done and not self.framed:
            self._finish()  # the body of an unframed response ends with the connection
        elif not self.received:
            waiter.set_exception(_Dropped("the connection closed before a response"))
        else:
            waiter.set_exception(
                TransportError(
                    "the connection closed in the middle of a response", bad_response=True
                )
            )
        self.waiter = None

    # ---- httptools callbacks -----------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-length" or (
            lowered == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_bytes:
            self._fail(TransportError("the response is larger than allowed", bad_response=True))
            return
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self._finish()

    # ---- exchange ----------------------------------------------------------------

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.chunks = []
        self.size = 0
        self.received = False
        self.headers_done = False
        self.framed = False
        self.complete = False
        assert self.transport is not None
        if self.transport.is_closing():
            self.waiter.set_exception(_Dropped("the connection was already closed", sent=False))
        else:
            self.transport.write(request)
        return self.waiter

    def _finish(self) -> None:
        if self.complete:
            return
        self.complete = True
        waiter = self.waiter
        self.waiter = None
        status = self.parser.get_status_code()
        body = b"".join(self.chunks) if len(self.chunks) != 1 else self.chunks[0]
        keep = (not self.closed) and self.parser.should_keep_alive()
        self.chunks = []
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))
        if keep:
            self.pool.release(self)
        else:
            self.abort()

    def _fail(self, error: TransportError) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            # counted until its socket is closed (connection_lost): the cap holds for the kernel
            self.transport.abort()
        else:
            self._uncount()

    def _uncount(self) -> None:
        if self.counted:
            self.counted = False
            self.pool.limit.closed()


class _ConnectionLimit:
    """The connections a transport has open (idle, busy or connecting, until their socket is
    closed), capped: at the cap, a new connection first closes an idle one of another pool and
    waits until a connection is released or closed."""

    __slots__ = ("cap", "open", "pools", "waiters")

    def __init__(self, cap: int) -> None:
        self.cap = cap  # 0: no cap
        self.open = 0
        self.pools: list[_Pool] = []
        self.waiters: deque[asyncio.Future[None]] = deque()

    def full(self) -> bool:
        return bool(self.cap) and self.open >= self.cap

    def close_idle(self) -> bool:
        """Close one idle connection of any pool to make room; False when none is idle."""
        return any(pool.close_one_idle() for pool in self.pools)

    async def wait(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self.waiters:
                self.waiters.remove(waiter)

    def wake(self) -> None:
        wake_first(self.waiters)

    def closed(self) -> None:
        self.open -= 1
        self.wake()


class _Pool:
    """Idle keep-alive connections to one host and port."""

    def __init__(
        self, host: str, port: int, max_bytes: int, limit: _ConnectionLimit, max_idle: int = 512
    ) -> None:
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self.max_idle = max_idle
        self.limit = limit
        self.idle: deque[_Connection] = deque()
        limit.pools.append(self)

    async def acquire(self) -> tuple[_Connection, bool]:
        while True:
            while self.idle:
                conn = self.idle.pop()
                if not conn.closed:
                    return conn, True
            if not self.limit.full():
                break
            self.limit.close_idle()  # its socket closes on the next turn of the loop
            await self.limit.wait()
        self.limit.open += 1
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self, self.max_bytes), self.host, self.port
            )
        except BaseException as exc:
            self.limit.closed()
            if not isinstance(exc, OSError):
                raise
            # the address stays in the gateway's log: a client never learns internal hosts
            log.warning("cannot connect to %s:%s: %s", self.host, self.port, exc)
            reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            raise TransportError(f"cannot connect ({reason})", sent=False) from None
        return conn, False

    def close_one_idle(self) -> bool:
        while self.idle:
            conn = self.idle.popleft()
            if not conn.closed:
                conn.abort()
                return True
        return False

    def release(self, conn: _Connection) -> None:
        if len(self.idle) < self.max_idle:
            self.idle.append(conn)
            self.limit.wake()
        else:
            conn.abort()

    def close(self) -> None:
        while self.idle:
            self.idle.pop().abort()


class HttpToolsTransport:
    def __init__(self, max_bytes: int, max_connections: int = 0) -> None:
        self.max_bytes = max_bytes
        self.max_connections = max_connections
        self._limit = _ConnectionLimit(max_connections)
        self._pools: dict[tuple[str, int], _Pool] = {}
        self._targets: dict[str, tuple[_Pool, bytes]] = {}
        self._fallback: AiohttpTransport | None = None

    def _target(self, url: str) -> tuple[_Pool, bytes] | None:
        cached = self._targets.get(url)
        if cached is not None:
            return cached
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            return None
        port = parts.port or 80
        pool = self._pools.get((parts.hostname, port))
        if pool is None:
            pool = _Pool(parts.hostname, port, self.max_bytes, self._limit)
            self._pools[(parts.hostname, port)] = pool
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode("latin-1")
        self._targets[url] = (pool, head)
        return pool, head

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], idempotent: bool
    ) -> tuple[int, bytes]:
        target = self._target(url)
        if target is None:
            if self._fallback is None:
                self._fallback = AiohttpTransport(self.max_bytes, self.max_connections)
            return await self._fallback.post(url, body, headers, idempotent)
        pool, head = target
        lines = [head]
        for name, value in headers.items():
            if "\r" in value or "\n" in value:
                raise TransportError(f"header {name!r} has a line break", sent=False)
            lines.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
        lines.append(b"content-length: %d\r\n\r\n" % len(body))
        lines.append(body)
        request = b"".join(lines)
        for attempt in (0, 1):
            conn, reused = await pool.acquire()
            try:
                return await conn.send(request)
            except _Dropped as dropped:
                conn.abort()
                # a kept-alive connection the server had already closed: the request never
                # reached it, so a query may be sent again on a fresh connection
                if attempt == 0 and reused and idempotent:
                    continue
                raise TransportError(
                    "the connection closed before a response", sent=dropped.sent
                ) from None
            except BaseException:
                conn.abort()
                raise
        raise TransportError("the connection closed before a response")

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._limit.pools.clear()
        self._targets.clear()
        if self._fallback is not None:
            await self._fallback.close()
