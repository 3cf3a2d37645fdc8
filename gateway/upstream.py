"""Calls to subgraphs: pooled connections, bounded use, circuit breakers, timeouts,
in-flight deduplication, and failures as data.

A failed call never raises out of the executor: it becomes a `SubgraphFailure`
with a GraphQL error code, so the response carries partial data plus the error.
Every upstream (a subgraph, or one shard of a partitioned subgraph) has a `Guard`: a
circuit breaker that counts only the upstream's own failures, and bulkheads that bound
the fetches in flight and waiting. The wire itself is a small swappable `Transport`
(see `gateway.transport`), one per subgraph, with that subgraph's connection cap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from gateway.breaker import CircuitBreaker
from gateway.bulkhead import Bulkhead, Saturated
from gateway.config import GatewayConfig, PartitionConfig
from gateway.inflight import InFlight, observe_outcome
from gateway.transport import Transport, TransportError, make_transport
from schema.supergraph import Supergraph

SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"
SUBGRAPH_TIMEOUT = "SUBGRAPH_TIMEOUT"
SUBGRAPH_BAD_RESPONSE = "SUBGRAPH_BAD_RESPONSE"
# a write was sent but its answer was lost: it may or may not have been applied
SUBGRAPH_OUTCOME_UNKNOWN = "SUBGRAPH_OUTCOME_UNKNOWN"
# the gateway had no free slot for the fetch: nothing was sent
UPSTREAM_SATURATED = "UPSTREAM_SATURATED"

MAX_RESPONSE_BYTES = 64 * 1024 * 1024


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


class _UpstreamTimeout(Exception):
    """The upstream held the request past its timeout; `own` when that was the upstream's own
    timeout, not the request's deadline cutting it short."""

    def __init__(self, seconds: float, own: bool) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.own = own


@dataclass(slots=True)
class Guard:
    """What stands between fetches and one upstream: its circuit breaker, and the bulkheads
    a fetch must pass (a shard's own, then its subgraph's)."""

    label: str  # the subgraph's name, or "<subgraph>[<partition key>]" for a shard
    graph: str  # the join__graph whose transport carries the calls
    breaker: CircuitBreaker
    bulkheads: tuple[Bulkhead, ...]
    timeout_s: float
    queue_timeout_s: float

    async def enter(self, budget: float) -> None:
        """Take a slot in every bulkhead within `budget` seconds, or none (`Saturated`)."""
        ends = time.monotonic() + budget
        taken = 0
        try:
            for bulkhead in self.bulkheads:
                await bulkhead.acquire(ends - time.monotonic())
                taken += 1
        except BaseException:
            for bulkhead in self.bulkheads[:taken]:
                bulkhead.release()
            raise

    def leave(self) -> None:
        for bulkhead in self.bulkheads:
            bulkhead.release()


@dataclass(slots=True)
class Call:
    """One fetch on its way: the request (maybe shared with identical fetches), whether this
    fetch started it (only the starter gives the breaker its verdict), and whether it is the
    half-open breaker's single probe."""

    guard: Guard
    request: asyncio.Future[tuple[int, bytes]]
    started: bool
    idempotent: bool
    probe: bool = False

    def abandon(self) -> None:
        """The caller stops waiting without a verdict (it was cancelled): a probe is freed."""
        if self.probe:
            self.guard.breaker.release()


class Upstream:
    """Sends subgraph operations; knows each subgraph's URL, timeout, limits and breaker."""

    def __init__(
        self,
        supergraph: Supergraph,
        config: GatewayConfig,
        on_breaker: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.config = config
        # hears every breaker's move: (subgraph, shard or "", state)
        self._on_breaker = on_breaker
        self.urls: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.guards: dict[str, Guard] = {}
        self._subgraph_bulkheads: dict[str, Bulkhead] = {}
        for enum_value, sub in supergraph.subgraphs.items():
            self.names[enum_value] = sub.name
            self.urls[enum_value] = (
                config.subgraph_urls.get(sub.name)
                or config.subgraph_urls.get(sub.name.lower())
                or config.subgraph_urls.get(enum_value.lower())
                or sub.url
            )
            policy = config.policy_for(sub.name)
            # a fetch in flight holds a connection: no more fetches than connections
            bulkhead = Bulkhead(
                sub.name, min(policy.max_concurrency, policy.max_connections), policy.max_queue
            )
            self._subgraph_bulkheads[enum_value] = bulkhead
            self.guards[enum_value] = Guard(
                sub.name,
                enum_value,
                self._breaker(sub.name, "", policy.breaker_failures, policy.breaker_reset_s),
                (bulkhead,),
                config.timeout_for(sub.name),
                policy.queue_timeout_s,
            )
        self._transports: dict[str, Transport] = {}
        self._propagate = tuple(h.lower() for h in config.propagate_headers)
        self._inflight: InFlight[tuple[int, bytes]] = InFlight()
        self.deduplicate = config.deduplicate_subgraph_requests

    def shard_guard(self, graph: str, key: str, partition: PartitionConfig) -> Guard:
        """The guard of one shard: its own breaker and bulkhead, inside its subgraph's."""
        service = partition.subgraph
        label = f"{service}[{key}]"
        policy = self.config.policy_for(service)
        return Guard(
            label,
            graph,
            self._breaker(service, key, partition.breaker_failures, partition.breaker_reset_s),
            (
                Bulkhead(label, partition.shard_max_concurrency, policy.max_queue),
                self._subgraph_bulkheads[graph],
            ),
            partition.shard_timeout_s or self.config.timeout_for(service),
            policy.queue_timeout_s,
        )

    def _breaker(self, subgraph: str, shard: str, failures: int, reset_s: float) -> CircuitBreaker:
        label = f"{subgraph}[{shard}]" if shard else subgraph
        hear = self._on_breaker
        on_change = None if hear is None else partial(hear, subgraph, shard)
        return CircuitBreaker(label, failures, reset_s, on_change)

    async def start(self) -> None:
        if self._transports:
            return
        for graph, name in self.names.items():
            cap = self.config.policy_for(name).max_connections
            self._transports[graph] = make_transport(
                self.config.upstream_client, MAX_RESPONSE_BYTES, cap
            )

    async def close(self) -> None:
        transports, self._transports = self._transports, {}
        for transport in transports.values():
            await transport.close()

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
        deadline: float,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """POST one operation to a subgraph; returns the decoded response map or raises
        SubgraphFailure. `deadline` (monotonic) is the request's: no fetch outlives it."""
        await self.start()
        guard = self.guards[graph]
        target = self.urls[graph]
        if not target:
            raise SubgraphFailure(
                SUBGRAPH_UNAVAILABLE,
                guard.label,
                f'Subgraph "{guard.label}" has no URL configured.',
            )
        if idempotent and not self.deduplicate:
            return await self._post_alone(guard, target, body, headers, deadline)
        call = self.begin(guard, target, body, headers, deadline, idempotent)
        if call is None:
            raise self.skipped(guard, guard.label)
        try:
            await asyncio.wait((call.request,), timeout=max(0.001, deadline - time.monotonic()))
        except BaseException:
            call.abandon()
            raise
        return self.settle(call, guard.label)

    async def _post_alone(
        self,
        guard: Guard,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
        deadline: float,
    ) -> dict[str, Any]:
        """A query nobody shares runs in the caller's task: no task and no second timer of
        its own (`_exchange` ends it by the deadline). Writes keep their own task, so a
        cancelled caller never cuts one off half-sent."""
        if not guard.breaker.allows():
            raise self.skipped(guard, guard.label)
        request: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        call = Call(guard, request, True, True, guard.breaker.probing)
        transport = self._transports[guard.graph]
        try:
            request.set_result(
                await _exchange(guard, transport, target, body, headers, deadline, True)
            )
        except (_UpstreamTimeout, Saturated, TransportError) as failure:
            request.set_exception(failure)
        except BaseException:
            call.abandon()
            raise
        return self.settle(call, guard.label)

    async def probe(
        self, graph: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> dict[str, Any]:
        """One request outside the limits and breakers (a readiness probe), or SubgraphFailure."""
        await self.start()
        service = self.names.get(graph, graph)
        try:
            async with asyncio.timeout(timeout):
                status, raw = await self._transports[graph].post(url, body, headers, True)
        except TimeoutError:
            raise _timed_out(service, timeout) from None
        except TransportError as exc:
            raise _unavailable(service, exc) from None
        return _decode(service, status, raw)

    def begin(
        self,
        guard: Guard,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
        deadline: float,
        idempotent: bool = True,
    ) -> Call | None:
        """Start one request, or join an identical one in flight, and return it without
        waiting; None when the upstream's circuit breaker refuses it (nothing is sent).

        The request ends by the deadline at the latest. It may be shared, so a caller must
        never cancel it: wait with `asyncio.wait`, then read it with `settle`. The
        transports must be started (`start`).
        """
        transport = self._transports[guard.graph]

        def start() -> Any:
            return _exchange(guard, transport, target, body, headers, deadline, idempotent)

        if idempotent and self.deduplicate:
            key = _shared_key(target, body, headers)
            joined = self._inflight.get(key)
            if joined is not None:
                return Call(guard, joined, False, idempotent)
            if not guard.breaker.allows():
                return None
            request: asyncio.Future[tuple[int, bytes]] = self._inflight.join(key, start)
        else:
            if not guard.breaker.allows():
                return None
            request = asyncio.get_running_loop().create_task(start())
            request.add_done_callback(observe_outcome)
        return Call(guard, request, True, idempotent, guard.breaker.probing)

    @staticmethod
    def skipped(guard: Guard, service: str, what: str | None = None) -> SubgraphFailure:
        """The failure of a fetch an open circuit breaker refused."""
        what = what or f'Subgraph "{service}"'
        return SubgraphFailure(
            SUBGRAPH_UNAVAILABLE,
            service,
            f"{what} is skipped after repeated failures; it is tried again within "
            f"{guard.breaker.reset_s:g} s. Nothing was sent.",
            {"circuit": guard.breaker.state},
        )

    @staticmethod
    def settle(call: Call, service: str) -> dict[str, Any]:
        """The decoded answer of a call from `begin`, its verdict given to the breaker.

        A call that is unfinished (the caller stopped waiting) or failed becomes a
        SubgraphFailure; a write whose answer was lost is `SUBGRAPH_OUTCOME_UNKNOWN`.
        """
        breaker = call.guard.breaker
        request = call.request
        verdict: bool | None = None  # None: the upstream is neither to blame nor to praise
        try:
            if not request.done():
                raise _timed_out(service, call.guard.timeout_s, call.idempotent)
            try:
                status, raw = request.result()
            except _UpstreamTimeout as timeout:
                verdict = False if timeout.own else None
                raise _timed_out(service, timeout.seconds, call.idempotent) from None
            except Saturated as saturated:
                raise _saturated(service, saturated) from None
            except TransportError as exc:
                verdict = False
                raise _unavailable(service, exc, call.idempotent) from None
            verdict = False
            decoded = _decode(service, status, raw, call.idempotent)
            verdict = status < 500
        except SubgraphFailure as failure:
            if verdict is None:
                call.abandon()
            elif call.started:
                breaker.record(verdict)
            failure.extra = {**(failure.extra or {}), "circuit": breaker.state}
            raise
        except BaseException:
            call.abandon()
            raise
        if call.started:
            breaker.record(verdict)
        return decoded


async def _exchange(
    guard: Guard,
    transport: Transport,
    target: str,
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
    idempotent: bool,
) -> tuple[int, bytes]:
    """One request: a slot first (within the queue budget), then the upstream's own timer,
    both within the request's deadline."""
    await guard.enter(min(guard.queue_timeout_s, deadline - time.monotonic()))
    try:
        left = deadline - time.monotonic()
        seconds = max(0.001, min(guard.timeout_s, left))
        try:
            async with asyncio.timeout(seconds):
                return await transport.post(target, body, headers, idempotent)
        except TimeoutError:
            raise _UpstreamTimeout(seconds, guard.timeout_s <= left) from None
    finally:
        guard.leave()


# Name one request or its trace span, not what it asks: identical requests still share one.
_CORRELATION_HEADERS = frozenset({"x-request-id", "traceparent", "tracestate"})


def _shared_key(target: str, body: bytes, headers: Mapping[str, str]) -> tuple[Any, ...]:
    return (
        target,
        body,
        tuple(item for item in headers.items() if item[0] not in _CORRELATION_HEADERS),
    )


_UNKNOWN = (
    "It may or may not have been applied: retry it with the same idempotency key (which "
    "applies it at most once), or check before retrying a write that has none."
)


def _timed_out(service: str, timeout: float, idempotent: bool = True) -> SubgraphFailure:
    if not idempotent:
        return SubgraphFailure(
            SUBGRAPH_OUTCOME_UNKNOWN,
            service,
            f'Subgraph "{service}" did not answer a write within {timeout:g} s. {_UNKNOWN}',
        )
    return SubgraphFailure(
        SUBGRAPH_TIMEOUT, service, f'Subgraph "{service}" did not answer within {timeout:g} s.'
    )


def _unavailable(service: str, exc: TransportError, idempotent: bool = True) -> SubgraphFailure:
    if not idempotent and exc.sent:
        return SubgraphFailure(
            SUBGRAPH_OUTCOME_UNKNOWN,
            service,
            f'The answer of subgraph "{service}" to a write was lost ({exc}). {_UNKNOWN}',
        )
    code = SUBGRAPH_BAD_RESPONSE if exc.bad_response else SUBGRAPH_UNAVAILABLE
    what = "sent a malformed response" if exc.bad_response else "is unavailable"
    return SubgraphFailure(code, service, f'Subgraph "{service}" {what}: {exc}')


def _saturated(service: str, saturated: Saturated) -> SubgraphFailure:
    return SubgraphFailure(
        UPSTREAM_SATURATED,
        service,
        f'The gateway has no free slot for subgraph "{service}" ({saturated.reason}); the '
        f"fetch was not sent. Retry later.",
        {"upstream": saturated.name},
    )


def _decode(service: str, status: int, raw: bytes, idempotent: bool = True) -> dict[str, Any]:
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad(
            service, status, f"sent a response that is not JSON (HTTP {status})", idempotent
        ) from None
    if not isinstance(decoded, dict) or ("data" not in decoded and "errors" not in decoded):
        raise _bad(
            service, status, f"sent JSON that is not a GraphQL response (HTTP {status})", idempotent
        )
    if status >= 400 and not decoded.get("errors") and decoded.get("data") is None:
        raise _bad(service, status, f"answered HTTP {status}", idempotent)
    return decoded


def _bad(service: str, status: int, what: str, idempotent: bool) -> SubgraphFailure:
    if not idempotent:
        # the write reached the subgraph; what came back does not say whether it was applied
        return SubgraphFailure(
            SUBGRAPH_OUTCOME_UNKNOWN,
            service,
            f'Subgraph "{service}" {what} to a write. {_UNKNOWN}',
            {"status": status},
        )
    return SubgraphFailure(
        SUBGRAPH_BAD_RESPONSE, service, f'Subgraph "{service}" {what}.', {"status": status}
    )
