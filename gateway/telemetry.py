"""What the gateway tells its operators: the one object the request path calls into.

A request and each subgraph or shard fetch are *observed*: one call when they start, one
when they finish, and the observation feeds the Prometheus metrics, the log (failures,
breaker transitions, slow requests, the access log), the trace and the upstream health
that `/ready` reads. The hot path holds no instrumentation of its own.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from gateway import metrics, tracing
from gateway.config import GatewayConfig
from gateway.logs import RequestContext, current_request, event, iso_time
from gateway.readiness import UpstreamHealth, Upstreams
from gateway.status import StatusBoard

if TYPE_CHECKING:
    from gateway.exchange import GraphQLResponse
    from gateway.upstream import SubgraphFailure

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

CLIENT_NAME_HEADER = "apollographql-client-name"

access_log = logging.getLogger("govgraph.access")
request_log = logging.getLogger("govgraph.requests")
upstream_log = logging.getLogger("govgraph.upstream")
gateway_log = logging.getLogger("govgraph.gateway")

_NO_SPAN: AbstractContextManager[Any] = nullcontext()


@cache
def process_tracer() -> trace.Tracer | None:
    """One tracer per process, however many engines it builds (a reload builds another)."""
    return tracing.tracer_from_environment()


@lru_cache(maxsize=1024)
def operation_hash(query: str) -> str:
    """A short stable name for a document: equal texts, equal hashes."""
    return hashlib.sha256(query.encode()).hexdigest()[:16]


class Telemetry:
    """Metrics, log events, traces and upstream health for one gateway process."""

    def __init__(self, config: GatewayConfig, tracer: trace.Tracer | None = None) -> None:
        self.tracer = tracer
        self.access_log = config.access_log
        self.slow_s = config.slow_request_ms / 1000 if config.slow_request_ms > 0 else None
        self.health = UpstreamHealth()
        self.board = StatusBoard(config.status_window_s)
        self.upstreams: Sequence[Upstreams] = ()
        self.operations = metrics.OperationLabels()
        self.supergraph_hash: str | None = None
        self.supergraph_loaded_at: float | None = None

    @classmethod
    def from_environment(cls, config: GatewayConfig) -> Telemetry:
        """Traces as the `OTEL_*` variables say (off when they say nothing)."""
        return cls(config, process_tracer())

    def supergraph_loaded(self, supergraph_hash: str, upstreams: Sequence[Upstreams] = ()) -> None:
        """A supergraph is served from now on, with these subgraphs and shards (whose new
        engine starts with every breaker closed)."""
        self.upstreams = upstreams
        for subgraph, shard in self.board.breakers:
            metrics.BREAKER_STATE.labels(subgraph, shard).set(metrics.BREAKER_VALUES["closed"])
        self.board.breakers.clear()
        if self.supergraph_hash is not None and self.supergraph_hash != supergraph_hash:
            metrics.SUPERGRAPH_LOADED.remove(self.supergraph_hash)
        self.supergraph_hash = supergraph_hash
        self.supergraph_loaded_at = time.time()
        metrics.SUPERGRAPH_LOADED.labels(supergraph_hash).set(self.supergraph_loaded_at)
        event(gateway_log, logging.INFO, "supergraph loaded", supergraph_hash=supergraph_hash)

    def supergraph(self) -> dict[str, Any]:
        loaded = self.supergraph_loaded_at
        return {
            "hash": self.supergraph_hash,
            "loaded_at": iso_time(loaded) if loaded is not None else None,
        }

    def status(self) -> dict[str, Any]:
        """What `/status.json` answers: every upstream over the last minutes."""
        return {"supergraph": self.supergraph(), **self.board.report(self.upstreams)}

    # ---- a request -----------------------------------------------------------------

    def request(
        self, method: str, headers: Mapping[str, str], request_id: str
    ) -> RequestObservation:
        """Start observing one request; `finish` it in the same task."""
        return RequestObservation(self, method, headers, request_id)

    def operation(self, kind: str, name: str | None, query: str) -> None:
        """The operation a request runs, once the engine has selected it."""
        context = current_request.get()
        if context is None:
            return
        context.operation = name
        context.operation_hash = operation_hash(query)
        span: trace.Span | None = context.span
        if span is not None:
            span.set_attribute("graphql.operation.type", kind)
            span.set_attribute("graphql.operation.name", name or "")
            span.set_attribute("graphql.document.hash", context.operation_hash)

    def phase(self, name: str) -> AbstractContextManager[Any]:
        """A child span of the request for one stage (validate, plan, execute)."""
        if self.tracer is None:
            return _NO_SPAN
        return self.tracer.start_as_current_span(name)

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """One lookup in a cache of the gateway (`govgraph_cache_lookups_total`)."""
        metrics.cache_lookups(cache, "hit" if hit else "miss").inc()

    # ---- a fetch -------------------------------------------------------------------

    def fetch(self, subgraph: str, shard: str | None = None) -> FetchObservation:
        """Start observing one fetch from a subgraph, or from one shard of it."""
        return FetchObservation(self, subgraph, shard)

    def breaker_changed(self, subgraph: str, shard: str, state: str) -> None:
        """A shard's circuit breaker moved to `state` (closed, half_open, open)."""
        metrics.BREAKER_STATE.labels(subgraph, shard).set(metrics.BREAKER_VALUES[state])
        self.board.breaker(subgraph, shard, state)
        level = logging.WARNING if state == "open" else logging.INFO
        event(
            upstream_log,
            level,
            f"circuit breaker {state.replace('_', '-')}",
            subgraph=subgraph,
            shard=shard,
            breaker=state,
        )

    def breaker_skipped(self, subgraph: str, shard: str) -> None:
        """A call an open breaker refused: no request went out."""
        metrics.fetch_errors(subgraph, shard, "CIRCUIT_OPEN").inc()


class RequestObservation:
    """One request from arrival to answer."""

    __slots__ = (
        "context",
        "recorded",
        "response",
        "started",
        "status",
        "telemetry",
        "token",
        "var_token",
    )

    def __init__(
        self, telemetry: Telemetry, method: str, headers: Mapping[str, str], request_id: str
    ) -> None:
        self.telemetry = telemetry
        self.started = time.perf_counter()
        self.status = 0
        self.response: GraphQLResponse | None = None
        self.recorded = False
        self.context = RequestContext(request_id, client=headers.get(CLIENT_NAME_HEADER))
        self.var_token = current_request.set(self.context)
        self.token: object | None = None
        metrics.IN_FLIGHT.inc()
        tracer = telemetry.tracer
        if tracer is not None:
            span = tracer.start_span(
                "graphql.request",
                context=tracing.extract(headers),
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "govgraph.request_id": request_id},
            )
            self.context.span = span
            self.token = otel_context.attach(trace.set_span_in_context(span))

    def wrap(self, send: Send) -> Send:
        """`send`, noting the status; the request is counted just before its body goes out,
        so a client that has its answer finds it counted."""

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                self._record()
            await send(message)

        return observed

    def finish(self) -> None:
        """End the request's span and context (and count it, if no answer went out)."""
        if not self.recorded:
            self._record()
        span: trace.Span | None = self.context.span
        if span is not None:
            if self.token is not None:
                otel_context.detach(self.token)  # type: ignore[arg-type]
            span.end()
        current_request.reset(self.var_token)

    def _record(self) -> None:
        self.recorded = True
        duration = time.perf_counter() - self.started
        telemetry = self.telemetry
        context = self.context
        metrics.IN_FLIGHT.dec()
        outcome = self._outcome()
        label = telemetry.operations(context.operation)
        metrics.requests(label, outcome).inc()
        metrics.request_duration(label).observe(duration)
        slow = telemetry.slow_s is not None and duration >= telemetry.slow_s
        if slow or telemetry.access_log:
            values = {
                "status": self.status,
                "outcome": outcome,
                "duration_ms": round(duration * 1000, 3),
                **self._partitions(),
            }
            if telemetry.access_log:
                event(access_log, logging.INFO, "request", **values)
            if slow:
                assert telemetry.slow_s is not None
                values["slow_request_ms"] = telemetry.slow_s * 1000
                event(request_log, logging.WARNING, "slow request", **values)
        span: trace.Span | None = context.span
        if span is not None:
            span.set_attribute("http.response.status_code", self.status)
            span.set_attribute("govgraph.outcome", outcome)
            if outcome in ("error", "request_error", "http_error"):
                span.set_status(Status(StatusCode.ERROR, outcome))

    def _outcome(self) -> str:
        response = self.response
        if response is None:
            return "http_error"
        if response.request_error:
            return "request_error"
        if response.body.get("errors"):
            # root fields are nullable: an answer whose every root field is null has no data
            data = response.body.get("data")
            partial = isinstance(data, dict) and any(v is not None for v in data.values())
            return "partial" if partial else "error"
        return "success"

    def _partitions(self) -> dict[str, Any]:
        """The shards that answered and failed, per partitioned subgraph."""
        if self.response is None:
            return {}
        extensions = self.response.body.get("extensions")
        partitions = extensions.get("partitions") if isinstance(extensions, dict) else None
        return {"partitions": partitions} if partitions else {}


class FetchObservation:
    """One fetch from a subgraph or shard: started when made, finished with its outcome."""

    __slots__ = ("ended", "shard", "span", "started", "subgraph", "telemetry")

    def __init__(self, telemetry: Telemetry, subgraph: str, shard: str | None) -> None:
        self.telemetry = telemetry
        self.subgraph = subgraph
        self.shard = shard
        self.started = time.perf_counter()
        self.ended = 0.0
        self.span: trace.Span | None = None
        if telemetry.tracer is not None:
            attributes = {"govgraph.subgraph": subgraph}
            if shard is not None:
                attributes["govgraph.partition_key"] = shard
            self.span = telemetry.tracer.start_span(
                "subgraph.fetch", kind=SpanKind.CLIENT, attributes=attributes
            )

    def headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """The request headers, with this fetch's span as the subgraph's parent when traced."""
        return headers if self.span is None else tracing.inject(self.span, headers)

    def done(self, _: object = None) -> None:
        """The answer arrived (a future's done callback): the fetch's time ends here."""
        self.ended = time.perf_counter()

    def finish(self, failure: SubgraphFailure | None) -> None:
        now = time.perf_counter()
        duration = (self.ended or now) - self.started
        shard = self.shard or ""
        metrics.fetch_duration(self.subgraph, shard).observe(duration)
        self.telemetry.health.record(self.subgraph, self.shard, failure is None)
        self.telemetry.board.record(self.subgraph, self.shard, failure is None, duration)
        if failure is not None:
            metrics.fetch_errors(self.subgraph, shard, failure.code).inc()
            where = {"subgraph": self.subgraph}
            if self.shard is not None:
                where["shard"] = self.shard
            event(
                upstream_log,
                logging.WARNING,
                "subgraph fetch failed",
                **where,
                code=failure.code,
                error=failure.message,
                duration_ms=round(duration * 1000, 3),
            )
        span = self.span
        if span is not None:
            if failure is not None:
                span.set_status(Status(StatusCode.ERROR, failure.code))
                span.set_attribute("govgraph.error_code", failure.code)
            end_ns = time.time_ns() - int((now - (self.ended or now)) * 1e9)
            span.end(end_time=end_ns)
