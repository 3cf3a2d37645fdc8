"""Bounded use of one upstream: at most `limit` fetches in flight, at most `max_queue` waiting.

A fetch that cannot get a slot within its wait budget fails at once with `Saturated`, instead
of adding load the upstream cannot take; such a failure is the gateway's, not the upstream's.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Saturated(Exception):
    """No slot for a fetch: the queue was full, or the wait budget ran out."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class Bulkhead:
    __slots__ = ("active", "limit", "max_queue", "name", "waiters")

    def __init__(self, name: str, limit: int, max_queue: int) -> None:
        self.name = name
        self.limit = max(1, limit)
        self.max_queue = max(0, max_queue)
        self.active = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, budget: float) -> None:
        """Take a slot, waiting at most `budget` seconds in a queue of bounded length."""
        if self.active < self.limit and not self.waiters:
            self.active += 1
            return
        if len(self.waiters) >= self.max_queue:
            raise Saturated(
                self.name, f"{self.active} fetches in flight and {len(self.waiters)} waiting"
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            async with asyncio.timeout(max(0.0, budget)):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # a slot was handed over as the wait ended: pass it on
            else:
                self._forget(waiter)
            if isinstance(exc, TimeoutError):
                raise Saturated(
                    self.name, f"no slot within {budget * 1000:.0f} ms ({self.limit} in flight)"
                ) from None
            raise

    def release(self) -> None:
        """Hand the slot to the longest-waiting fetch, or free it."""
        if not wake_first(self.waiters):
            self.active -= 1

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        try:
            self.waiters.remove(waiter)
        except ValueError:
            pass


def wake_first(waiters: deque[asyncio.Future[None]]) -> bool:
    """Wake the longest waiter still waiting; False when there is none."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return True
    return False
