"""Circuit breakers: an upstream that keeps failing is skipped until it recovers.

A breaker counts only the upstream's own failures (refused connections, timeouts while the
upstream held the request, 5xx, garbage); a call that ends for the gateway's own reasons
(cancellation, the request's deadline, local saturation) is `released` without a verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("govgraph.upstream")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed until `threshold` consecutive failures; then open for `reset_s` seconds; then
    half-open: a single probe goes through, and its outcome closes or re-opens the breaker."""

    __slots__ = (
        "failures",
        "name",
        "on_change",
        "open_until",
        "probing",
        "reset_s",
        "state",
        "threshold",
    )

    def __init__(
        self,
        name: str,
        threshold: int,
        reset_s: float,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.on_change = on_change  # hears every move (the gateway's telemetry)
        self.threshold = max(1, threshold)
        self.reset_s = reset_s
        self.failures = 0
        self.state = CLOSED
        self.open_until = 0.0
        self.probing = False

    def allows(self, now: float | None = None) -> bool:
        """Whether a call may go to the upstream now; a refused call costs it nothing.

        The first call after an open breaker's reset time is its probe: until the probe's
        outcome is known, every other call is refused.
        """
        if self.state == CLOSED:
            return True
        if self.probing:
            return False
        if (time.monotonic() if now is None else now) < self.open_until:
            return False
        if self.state == OPEN:
            self._move(HALF_OPEN, "a probe is let through")
        self.probing = True
        return True

    def record(self, ok: bool, now: float | None = None) -> None:
        """Count the outcome of a call the upstream itself decided."""
        self.probing = False
        if ok:
            self.failures = 0
            if self.state != CLOSED:
                self._move(CLOSED, "the upstream answered")
            return
        self.failures += 1
        if self.state == HALF_OPEN or self.failures >= self.threshold:
            self.open_until = (time.monotonic() if now is None else now) + self.reset_s
            if self.state != OPEN:
                self._move(OPEN, f"after {self.failures} consecutive failures")

    def release(self) -> None:
        """A call ended without a verdict on the upstream (cancelled, saturated, the request's
        deadline): a probe it held may be sent again by the next call."""
        self.probing = False

    def _move(self, state: str, why: str) -> None:
        previous, self.state = self.state, state
        if self.on_change is not None:
            self.on_change(state)  # the gateway's telemetry: metrics, status page, one log line
        else:
            log.warning("circuit breaker of %s: %s -> %s (%s)", self.name, previous, state, why)
