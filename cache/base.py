"""The cache interface every gateway feature is built on, and its failure accounting.

A cache is never a point of failure: a backend that cannot answer in time answers as a miss
(`get` → None, `incr` → None, writes dropped), counts the failure and logs a warning at most
once per interval. Values are bytes; callers own their encoding and must treat an entry
they cannot decode as a miss, then overwrite it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("govgraph.cache")

# Called with each message published on a channel the cache subscribed to.
Handler = Callable[[bytes], None]
# Called with the operation ("get", "set", …) of each call that failed or timed out.
FailureObserver = Callable[[str], None]


class Cache(Protocol):
    """A small async key-value store with expiry, windowed counters and broadcast."""

    @property
    def shared(self) -> bool:
        """True when other processes see what this cache stores (Redis), False in memory."""

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None when absent, expired or unreachable."""

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        """Store `value`, expiring after `ttl_s` seconds when given."""

    async def delete(self, key: str) -> None:
        """Remove `key` if present."""

    async def incr(self, key: str, window_s: float) -> int | None:
        """Add one to the counter under `key` and return it; a new counter expires after
        `window_s`. None when the backend cannot count right now."""

    async def publish(self, channel: str, message: bytes) -> None:
        """Send `message` to every subscriber of `channel` (every replica with Redis)."""

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Call `handler` with each message later published on `channel`."""

    async def close(self) -> None:
        """Release connections and background tasks."""

    def stats(self) -> CacheStats:
        """Counters for metrics."""


@dataclass(slots=True)
class CacheStats:
    """What a backend has counted since it started."""

    failures: int = 0  # operations that failed or timed out (answered as a miss)
    bypassed: int = 0  # operations skipped while the backend was known to be down


class FailureLog:
    """Counts backend failures, remembers when the backend may be tried again, and logs a
    warning at most once per `warn_interval_s` so a Redis outage does not flood the log."""

    __slots__ = (
        "stats",
        "retry_after_s",
        "warn_interval_s",
        "observer",
        "_down_until",
        "_last_warning",
    )

    def __init__(
        self,
        retry_after_s: float,
        warn_interval_s: float,
        observer: FailureObserver | None = None,
    ) -> None:
        self.stats = CacheStats()
        self.observer = observer
        self.retry_after_s = retry_after_s
        self.warn_interval_s = warn_interval_s
        self._down_until = 0.0
        self._last_warning = float("-inf")

    def available(self) -> bool:
        """False while the backend is known to be down: callers skip it without waiting."""
        if self._down_until and time.monotonic() < self._down_until:
            self.stats.bypassed += 1
            return False
        return True

    def failed(self, what: str, operation: str, error: BaseException) -> None:
        now = time.monotonic()
        self.stats.failures += 1
        if self.observer is not None:
            self.observer(operation)
        self._down_until = now + self.retry_after_s
        if now - self._last_warning >= self.warn_interval_s:
            self._last_warning = now
            reason = str(error) or type(error).__name__
            log.warning(
                "cache backend %s failed (%s, %s); requests go on without it and it is retried "
                "every %g s (%d failures so far)",
                what,
                operation,
                reason,
                self.retry_after_s,
                self.stats.failures,
            )

    def succeeded(self, what: str) -> None:
        if self._down_until:
            self._down_until = 0.0
            log.warning("cache backend %s answers again", what)
