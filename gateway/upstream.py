"""Calls to subgraphs: pooled connections, timeouts, in-flight deduplication, and
failures as data.

A failed call never raises out of the executor: it becomes a `SubgraphFailure`
with a GraphQL error code, so the response carries partial data plus the error.
The wire itself is a small swappable `Transport` (see `gateway.transport`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from gateway.config import GatewayConfig
from gateway.inflight import InFlight, observe_outcome
from gateway.transport import Transport, TransportError, make_transport
from schema.supergraph import Supergraph

SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"
SUBGRAPH_TIMEOUT = "SUBGRAPH_TIMEOUT"
SUBGRAPH_BAD_RESPONSE = "SUBGRAPH_BAD_RESPONSE"

MAX_RESPONSE_BYTES = 64 * 1024 * 1024

T = TypeVar("T")


@dataclass(slots=True)
class SubgraphFailure(Exception):
    code: str
    service: str
    message: str
    extra: dict[str, Any] | None = None

    def to_error(self, path: list[Any] | None = None) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": self.code, "serviceName": self.service}
        if self.extra:
            extensions.update(self.extra)
        error: dict[str, Any] = {"message": self.message, "extensions": extensions}
        if path:
            error["path"] = path
        return error


class Upstream:
    """Sends subgraph operations; knows each subgraph's URL and timeout."""

    def __init__(self, supergraph: Supergraph, config: GatewayConfig) -> None:
        self.config = config
        self.urls: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for enum_value, sub in supergraph.subgraphs.items():
            self.names[enum_value] = sub.name
            self.urls[enum_value] = (
                config.subgraph_urls.get(sub.name)
                or config.subgraph_urls.get(sub.name.lower())
                or config.subgraph_urls.get(enum_value.lower())
                or sub.url
            )
        self._transport: Transport | None = None
        self._propagate = tuple(h.lower() for h in config.propagate_headers)
        self._inflight: InFlight[tuple[int, bytes]] = InFlight()
        self.deduplicate = config.deduplicate_subgraph_requests

    async def start(self) -> None:
        if self._transport is None:
            self._transport = make_transport(self.config.upstream_client, MAX_RESPONSE_BYTES)

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    def outgoing_headers(self, client_headers: Mapping[str, str]) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        for name in self._propagate:
            value = client_headers.get(name)
            if value is not None:
                headers[name] = value
        return headers

    async def post(
        self,
        graph: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        url: str | None = None,
        label: str | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """POST one operation; returns the decoded response map or raises SubgraphFailure.

        Identical in-flight queries (same URL, body and headers) share one request; each
        caller decodes its own copy, because the executor merges into what it gets.
        """
        if self._transport is None:
            await self.start()
        transport = self._transport
        assert transport is not None
        service = label or self.names.get(graph, graph)
        target = url or self.urls[graph]
        if not target:
            raise SubgraphFailure(
                SUBGRAPH_UNAVAILABLE, service, f'Subgraph "{service}" has no URL configured.'
            )
        try:
            if idempotent and self.deduplicate:
                joined = _shared_key(target, body, headers) in self._inflight
                task = self.begin(target, body, headers, timeout)
                if joined:
                    # a caller that joins brings its own timer; the request has its starter's
                    async with asyncio.timeout(timeout):
                        status, raw = await asyncio.shield(task)
                else:
                    status, raw = await asyncio.shield(task)
            else:
                async with asyncio.timeout(timeout):
                    status, raw = await transport.post(target, body, headers, idempotent)
        except TimeoutError:
            raise _timed_out(service, timeout) from None
        except TransportError as exc:
            raise _unavailable(service, exc) from None
        return _decode(service, status, raw)

    def begin(
        self,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        idempotent: bool = True,
    ) -> asyncio.Future[tuple[int, bytes]]:
        """Start one request, or join an identical one in flight, and return it without waiting.

        The request is bounded by its own `timeout`. It may be shared, so a caller must never
        cancel it: wait with `asyncio.wait` or through `asyncio.shield`, then read it with
        `outcome`. The transport must be started (`start`).
        """
        transport = self._transport
        assert transport is not None, "Upstream.start() first"

        def start() -> Coroutine[Any, Any, tuple[int, bytes]]:
            return _bounded(transport.post(target, body, headers, idempotent), timeout)

        if idempotent and self.deduplicate:
            return self._inflight.join(_shared_key(target, body, headers), start)
        task = asyncio.get_running_loop().create_task(start())
        task.add_done_callback(observe_outcome)
        return task

    @staticmethod
    def outcome(
        service: str, request: asyncio.Future[tuple[int, bytes]], timeout: float
    ) -> dict[str, Any]:
        """The decoded answer of a request from `begin`.

        A request that is unfinished or failed becomes a SubgraphFailure.
        """
        if not request.done():
            raise _timed_out(service, timeout)
        try:
            status, raw = request.result()
        except TimeoutError:
            raise _timed_out(service, timeout) from None
        except TransportError as exc:
            raise _unavailable(service, exc) from None
        return _decode(service, status, raw)


# Name one request or its trace span, not what it asks: identical requests still share one.
_CORRELATION_HEADERS = frozenset({"x-request-id", "traceparent", "tracestate"})


def _shared_key(target: str, body: bytes, headers: Mapping[str, str]) -> tuple[Any, ...]:
    return (
        target,
        body,
        tuple(item for item in headers.items() if item[0] not in _CORRELATION_HEADERS),
    )


def _timed_out(service: str, timeout: float) -> SubgraphFailure:
    return SubgraphFailure(
        SUBGRAPH_TIMEOUT, service, f'Subgraph "{service}" did not answer within {timeout:g} s.'
    )


def _unavailable(service: str, exc: TransportError) -> SubgraphFailure:
    code = SUBGRAPH_BAD_RESPONSE if exc.bad_response else SUBGRAPH_UNAVAILABLE
    what = "sent a malformed response" if exc.bad_response else "is unavailable"
    return SubgraphFailure(code, service, f'Subgraph "{service}" {what}: {exc}')


async def _bounded(call: Awaitable[T], timeout: float) -> T:
    """`call`, failing with TimeoutError after `timeout` seconds (one task, unlike wait_for)."""
    async with asyncio.timeout(timeout):
        return await call


def _decode(service: str, status: int, raw: bytes) -> dict[str, Any]:
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise SubgraphFailure(
            SUBGRAPH_BAD_RESPONSE,
            service,
            f'Subgraph "{service}" sent a response that is not JSON (HTTP {status}).',
            {"status": status},
        ) from None
    if not isinstance(decoded, dict) or ("data" not in decoded and "errors" not in decoded):
        raise SubgraphFailure(
            SUBGRAPH_BAD_RESPONSE,
            service,
            f'Subgraph "{service}" sent JSON that is not a GraphQL response (HTTP {status}).',
            {"status": status},
        )
    if status >= 400 and not decoded.get("errors") and decoded.get("data") is None:
        raise SubgraphFailure(
            SUBGRAPH_BAD_RESPONSE,
            service,
            f'Subgraph "{service}" answered HTTP {status}.',
            {"status": status},
        )
    return decoded
