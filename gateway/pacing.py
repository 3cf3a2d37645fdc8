"""Pacing: how many admitted requests execute their plans at once.

A worker is one event loop. When it has more CPU work than it can do, running every admitted
request's plan at once interleaves them all: each request's subgraph answers, merged tree and
shaped answer stay in memory while the others take turns, the working set outgrows the CPU's
caches, and every request costs several times its CPU (W1: 1.4 ms alone, 4 ms among 50).
Finishing what was started first serves more requests per second, and sooner.

Waiting for subgraphs costs no CPU, though: a limit that suits a loaded worker starves an idle
one whose subgraphs are slow. So the limit adapts (`auto`): while the worker is busy (its CPU
time at least `BUSY` of the wall time over the last interval) the limit halves, down to
`MINIMUM`; while requests wait and the worker has CPU to spare it doubles, up to the
admission limit (`max_requests_in_flight`). Requests wait their turn in arrival order, and
the wait counts against their deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# a worker keeps at least this many plans running: one computing while another waits
MINIMUM = 2
# the share of wall time spent on the CPU from which a worker counts as busy, and below
# which it has CPU to spare for more requests
BUSY = 0.9
SPARE = 0.75
# how often the limit is reconsidered
INTERVAL_S = 0.1


class ExecutionGate:
    """At most `limit` requests run their plans at once; the rest wait in arrival order.
    With `adaptive`, the limit follows the worker's load between `minimum` and `maximum`."""

    __slots__ = (
        "active",
        "adaptive",
        "limit",
        "maximum",
        "minimum",
        "on_limit",
        "_cpu",
        "_timer",
        "_timer_loop",
        "_wall",
        "_waiters",
    )

    def __init__(
        self,
        limit: int,
        *,
        adaptive: bool = False,
        minimum: int = MINIMUM,
        on_limit: Callable[[int], None] | None = None,
    ) -> None:
        """`on_limit` is told each new limit (the first one too): a gauge, say."""
        self.maximum = max(1, limit)
        self.minimum = min(max(1, minimum), self.maximum)
        self.adaptive = adaptive
        self.limit = self.maximum
        self.on_limit = on_limit
        if on_limit is not None:
            on_limit(self.limit)
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._wall = time.monotonic()
        self._cpu = time.process_time()
        # while requests wait, the limit is reconsidered on a timer too: turns held by
        # requests that wait for slow subgraphs may not end for a while
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn."""
        return sum(1 for w in self._waiters if not w.done())

    async def acquire(self) -> None:
        """Wait for a turn; each `acquire` that returns must be matched by one `release`."""
        if self.adaptive:
            self._adapt()
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        # a timer of a loop that has since closed never fires: one on this loop takes its place
        if self.adaptive and (self._timer is None or self._timer_loop is not loop):
            self._timer = loop.call_later(INTERVAL_S, self._tick)
            self._timer_loop = loop
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the turn was handed over as the waiter was cancelled
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        """End a turn; the next waiter, if any, takes it."""
        self.active -= 1
        if self.adaptive:
            self._adapt()
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters and self.active < self.limit:
            waiter = waiters.popleft()
            if not waiter.done():
                self.active += 1
                waiter.set_result(None)

    def _tick(self) -> None:
        self._timer = None
        self._adapt()
        if any(not w.done() for w in self._waiters):
            loop = asyncio.get_running_loop()
            self._timer, self._timer_loop = loop.call_later(INTERVAL_S, self._tick), loop

    def _adapt(self) -> None:
        now = time.monotonic()
        elapsed = now - self._wall
        if elapsed < INTERVAL_S:
            return
        cpu = time.process_time()
        busy = (cpu - self._cpu) / elapsed
        self._wall, self._cpu = now, cpu
        limit = self.limit
        if busy >= BUSY:
            self.limit = max(self.minimum, limit // 2)
        elif busy < SPARE and self._waiters and limit < self.maximum:
            self.limit = min(self.maximum, limit * 2)
            self._wake()
        if self.limit != limit and self.on_limit is not None:
            self.on_limit(self.limit)
