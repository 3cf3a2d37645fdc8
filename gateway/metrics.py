"""Prometheus metrics of the gateway, served at `/metrics`.

The metrics live in the process (prometheus-client's registry). With several workers,
`govgraph gateway` sets PROMETHEUS_MULTIPROC_DIR before any worker starts: each worker
writes its values to files there and a scrape of any worker sums them all.
"""

from __future__ import annotations

import os
from typing import Generic, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

M = TypeVar("M", Counter, Histogram)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Client-chosen operation names beyond this many distinct ones are counted as "other".
MAX_OPERATION_LABELS = 200

# `*_created` series double every scrape and no dashboard reads them
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "govgraph_requests_total",
    "GraphQL requests answered, by operation name and outcome "
    "(success, partial, error, request_error, http_error).",
    ["operation", "outcome"],
)
REQUEST_DURATION = Histogram(
    "govgraph_request_duration_seconds",
    "Time from a request's arrival to its answer, by operation name.",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "govgraph_requests_in_flight",
    "GraphQL requests being answered now.",
    multiprocess_mode="livesum",
)
EXECUTION_LIMIT = Gauge(
    "govgraph_execution_limit",
    'Plans a worker runs at once (`execution_limit`; with "auto" it follows the worker\'s '
    "CPU load), summed over workers.",
    multiprocess_mode="livesum",
)
FETCH_DURATION = Histogram(
    "govgraph_subgraph_fetch_duration_seconds",
    "Time of one subgraph fetch, by subgraph and shard key (empty when not partitioned).",
    ["subgraph", "shard"],
    buckets=_LATENCY_BUCKETS,
)
FETCH_ERRORS = Counter(
    "govgraph_subgraph_fetch_errors_total",
    "Failed subgraph fetches, by subgraph, shard key and error code "
    "(SUBGRAPH_UNAVAILABLE, SUBGRAPH_TIMEOUT, SUBGRAPH_BAD_RESPONSE).",
    ["subgraph", "shard", "code"],
)
CACHE_LOOKUPS = Counter(
    "govgraph_cache_lookups_total",
    "Lookups in the gateway's caches, by cache (documents: parsed and validated queries; "
    "plans: prepared operations) and result (hit, miss).",
    ["cache", "result"],
)
CACHE_BACKEND_FAILURES = Counter(
    "govgraph_cache_backend_failures_total",
    "Calls to the shared cache (Redis) that failed or timed out and were answered as a miss, "
    "by operation (get, set, delete, incr, publish, subscribe).",
    ["operation"],
)
BREAKER_STATE = Gauge(
    "govgraph_breaker_state",
    "Circuit breaker of a shard: 0 closed, 1 half-open (one trial call let through), 2 open.",
    ["subgraph", "shard"],
    multiprocess_mode="livemax",
)
SUPERGRAPH_LOADED = Gauge(
    "govgraph_supergraph_loaded_timestamp_seconds",
    "When the supergraph being served was loaded, by its hash.",
    ["hash"],
    multiprocess_mode="livemax",
)
SUPERGRAPH_RELOADS = Counter(
    "govgraph_supergraph_reloads_total",
    "Reloads of the supergraph and configuration, by outcome (reloaded, refused).",
    ["outcome"],
)

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


class Children(Generic[M]):
    """`metric.labels(*values)`, kept: prometheus-client looks each one up under a lock."""

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self.children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = self.metric.labels(*values)
        return child


requests = Children(REQUESTS)
request_duration = Children(REQUEST_DURATION)
fetch_duration = Children(FETCH_DURATION)
fetch_errors = Children(FETCH_ERRORS)
cache_lookups = Children(CACHE_LOOKUPS)
cache_backend_failures = Children(CACHE_BACKEND_FAILURES)


class OperationLabels:
    """Bounds the `operation` label: operation names are chosen by clients."""

    def __init__(self, limit: int = MAX_OPERATION_LABELS) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, name: str | None) -> str:
        if not name:
            return ""
        if name in self.seen:
            return name
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(name)
        return name


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> bytes:
    """The text a Prometheus scrape reads: this process's metrics, or all workers' together."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def worker_exited(pid: int) -> None:
    """Drop a stopped worker's live gauges (in-flight requests, breaker states)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
