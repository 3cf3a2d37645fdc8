"""Readiness: whether this gateway should receive traffic, as `/ready` reports it.

`/health` says the process is alive; `/ready` says its subgraphs answer. Every fetch
records whether its subgraph (or shard) answered; `/ready` trusts an observation younger
than `recent_s` and asks a subgraph with none (`{ __typename }`) right then, so an idle
gateway is judged as fairly as a busy one and no background traffic is ever sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.logs import iso_time

# the query a probe sends: every GraphQL server answers it
PROBE_QUERY = b'{"query":"{ __typename }"}'


@dataclass(slots=True)
class Seen:
    """What one subgraph or shard last did (wall-clock seconds)."""

    last_success: float | None = None
    last_failure: float | None = None
    ok: bool = False  # the latest observation
    at: float = 0.0  # when it was made (monotonic)


class UpstreamHealth:
    """The latest answer of every subgraph and shard, fed by real fetches and probes."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str | None], Seen] = {}

    def record(self, subgraph: str, shard: str | None, ok: bool) -> None:
        seen = self.seen.get((subgraph, shard))
        if seen is None:
            seen = self.seen[(subgraph, shard)] = Seen()
        seen.ok = ok
        seen.at = time.monotonic()
        if ok:
            seen.last_success = time.time()
        else:
            seen.last_failure = time.time()

    def fresh(self, subgraph: str, shard: str | None, recent_s: float) -> bool | None:
        """The latest observation when it is younger than `recent_s`, else None."""
        seen = self.seen.get((subgraph, shard))
        if seen is None or time.monotonic() - seen.at > recent_s:
            return None
        return seen.ok

    def describe(self, subgraph: str, shard: str | None) -> dict[str, Any]:
        seen = self.seen.get((subgraph, shard)) or Seen()
        return {
            "ready": seen.ok,
            "last_success": _iso(seen.last_success),
            "last_failure": _iso(seen.last_failure),
        }


@dataclass(frozen=True, slots=True)
class Upstreams:
    """A subgraph as readiness sees it: one URL, or the shard key → URL of a partition."""

    name: str
    url: str | None = None
    shards: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """`required`: the subgraphs that must answer (None: all); `min_shards`: how many shards
    of a partitioned subgraph must."""

    required: Sequence[str] | None
    min_shards: int
    recent_s: float
    probe_timeout_s: float


Probe = Callable[[str, str | None, str], Awaitable[bool]]


async def check(
    subgraphs: Sequence[Upstreams], health: UpstreamHealth, policy: Policy, probe: Probe
) -> tuple[bool, dict[str, Any]]:
    """Whether the gateway is ready, and the report `/ready` answers with."""
    stale: list[tuple[str, str | None, str]] = []
    for sub in subgraphs:
        if sub.shards:
            for key, url in sub.shards.items():
                if health.fresh(sub.name, key, policy.recent_s) is None:
                    stale.append((sub.name, key, url))
        elif sub.url and health.fresh(sub.name, None, policy.recent_s) is None:
            stale.append((sub.name, None, sub.url))
    if stale:
        # a probe records its outcome in `health` like any other fetch
        await asyncio.gather(*(probe(name, key, url) for name, key, url in stale))
    ready = True
    report: dict[str, Any] = {}
    for sub in subgraphs:
        required = policy.required is None or sub.name in policy.required
        if sub.shards:
            shards = {key: health.describe(sub.name, key) for key in sub.shards}
            answering = sum(1 for s in shards.values() if s["ready"])
            need = min(policy.min_shards, len(shards))
            up = answering >= need
            entry = {
                "required": required,
                "ready": up,
                "shards_ready": answering,
                "min_shards": need,
                "shards": shards,
            }
        else:
            entry = {"required": required, **health.describe(sub.name, None)}
            up = bool(entry["ready"])
        if required and not up:
            ready = False
        report[sub.name] = entry
    return ready, report


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else iso_time(seconds)
