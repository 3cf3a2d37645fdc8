"""The status board: how every subgraph and shard answered over the last minutes.

Each fetch lands in a ten-second bucket of its upstream (answered or failed, and its time
in a fixed latency histogram), so the board costs a few counters per fetch and a bounded
amount of memory however busy the gateway is; `/status.json` reads the buckets of the
last `window_s` seconds, and `/status` draws them.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from typing import Any

from gateway.readiness import Upstreams

BUCKET_S = 10.0
# upper bounds (seconds) of the latency histogram each bucket keeps
LATENCY_BOUNDS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    float("inf"),
)


class _Bucket:
    __slots__ = ("answered", "failed", "latencies", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.answered = 0
        self.failed = 0
        self.latencies = [0] * len(LATENCY_BOUNDS)


class Window:
    """One upstream's answers over the last minutes, in buckets of `BUCKET_S` seconds."""

    __slots__ = ("buckets", "keep")

    def __init__(self, window_s: float) -> None:
        self.keep = int(window_s // BUCKET_S) + 1
        self.buckets: deque[_Bucket] = deque(maxlen=self.keep)

    def record(self, ok: bool, duration: float, now: float) -> None:
        start = now - now % BUCKET_S
        if not self.buckets or self.buckets[-1].start != start:
            self.buckets.append(_Bucket(start))
        bucket = self.buckets[-1]
        if ok:
            bucket.answered += 1
        else:
            bucket.failed += 1
        bucket.latencies[bisect_left(LATENCY_BOUNDS, duration)] += 1

    def summary(self, now: float, window_s: float) -> dict[str, Any]:
        answered = failed = 0
        latencies = [0] * len(LATENCY_BOUNDS)
        for bucket in self.buckets:
            if bucket.start + BUCKET_S <= now - window_s:
                continue
            answered += bucket.answered
            failed += bucket.failed
            latencies = [a + b for a, b in zip(latencies, bucket.latencies, strict=True)]
        total = answered + failed
        return {
            "answered": answered,
            "failed": failed,
            "answer_rate": round(answered / total, 4) if total else None,
            "p95_ms": _percentile_ms(latencies, 0.95),
        }


def _percentile_ms(counts: list[int], quantile: float) -> float | None:
    """The quantile of a histogram, interpolated inside the bucket it falls in."""
    total = sum(counts)
    if not total:
        return None
    rank = quantile * total
    seen = 0
    for i, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS[i - 1] if i else 0.0
            upper = LATENCY_BOUNDS[i]
            if upper == float("inf"):
                return round(lower * 1000, 1)
            return round((lower + (upper - lower) * (rank - seen) / count) * 1000, 1)
        seen += count
    return None


def state_of(summary: dict[str, Any], breaker: str) -> str:
    """ok, degraded, failing, or idle (nothing asked of it in the window)."""
    rate = summary["answer_rate"]
    if breaker == "open" or (rate is not None and rate < 0.5):
        return "failing"
    if rate is None:
        return "degraded" if breaker == "half_open" else "idle"
    if rate < 0.99 or breaker == "half_open":
        return "degraded"
    return "ok"


class StatusBoard:
    """Windows of every upstream, and the breaker state of every shard."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.windows: dict[tuple[str, str | None], Window] = {}
        self.breakers: dict[tuple[str, str], str] = {}

    def record(self, subgraph: str, shard: str | None, ok: bool, duration: float) -> None:
        window = self.windows.get((subgraph, shard))
        if window is None:
            window = self.windows[(subgraph, shard)] = Window(self.window_s)
        window.record(ok, duration, time.time())

    def breaker(self, subgraph: str, shard: str, state: str) -> None:
        self.breakers[(subgraph, shard)] = state

    def report(self, upstreams: Sequence[Upstreams]) -> dict[str, Any]:
        now = time.time()
        subgraphs = []
        partitions = []
        for upstream in upstreams:
            if upstream.shards:
                shards = [
                    self._entry(upstream.name, key, now, {"key": key}) for key in upstream.shards
                ]
                partitions.append({"name": upstream.name, "shards": shards})
            else:
                subgraphs.append(self._entry(upstream.name, None, now, {"name": upstream.name}))
        return {"window_s": self.window_s, "subgraphs": subgraphs, "partitions": partitions}

    def _entry(
        self, subgraph: str, shard: str | None, now: float, entry: dict[str, Any]
    ) -> dict[str, Any]:
        window = self.windows.get((subgraph, shard))
        summary = (
            window.summary(now, self.window_s)
            if window is not None
            else {"answered": 0, "failed": 0, "answer_rate": None, "p95_ms": None}
        )
        entry.update(summary)
        if shard is not None:
            entry["breaker"] = self.breakers.get((subgraph, shard), "closed")
        entry["state"] = state_of(summary, entry.get("breaker", "closed"))
        return entry
