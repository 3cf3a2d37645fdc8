"""Requests per client per sliding window, counted in the cache (shared by replicas on Redis).

The window slides by weighting the previous fixed window's count by how much of it still
overlaps the last `window_s` seconds: two counters per client, no per-request log. A client is
its API key (`caller.client_id`), else its verified subject, else its IP address. When the
shared cache cannot count, this process counts alone until it can.
"""

from __future__ import annotations

import asyncio
import math
import time

from cache.base import Cache
from cache.memory import MemoryCache
from gateway.config import RateLimitConfig
from gateway.exchange import GraphQLRequest, GraphQLResponse

RATE_LIMIT_PREFIX = "rl:"


class RateLimiter:
    def __init__(self, config: RateLimitConfig, cache: Cache) -> None:
        self.config = config
        self.cache = cache
        self._local: Cache = MemoryCache() if cache.shared else cache

    @property
    def enabled(self) -> bool:
        return self.config.default > 0 or any(self.config.clients.values())

    def client(self, request: GraphQLRequest) -> tuple[str, int]:
        """Who the request counts against, and that client's limit (0: none)."""
        caller = request.caller
        if caller.client_id is not None:
            return f"key:{caller.client_id}", self.config.clients.get(
                caller.client_id, self.config.default
            )
        if caller.subject is not None:
            return f"subject:{caller.subject}", self.config.default
        return f"ip:{request.client_address or 'unknown'}", self.config.default

    async def check(self, request: GraphQLRequest) -> GraphQLResponse | None:
        """None when the request may go on; else the 429 answer."""
        client, limit = self.client(request)
        if limit <= 0:
            return None
        window = self.config.window_s
        now = time.time()
        index = int(now // window)
        elapsed = now - index * window
        current_key = f"{RATE_LIMIT_PREFIX}{client}:{index}"
        previous_key = f"{RATE_LIMIT_PREFIX}{client}:{index - 1}"
        current, previous = await asyncio.gather(
            self.cache.incr(current_key, 2 * window), self.cache.get(previous_key)
        )
        if current is None:  # the shared cache cannot count: count here
            current = await self._local.incr(current_key, 2 * window) or 1
            previous = await self._local.get(previous_key)
        before = _count(previous)
        estimate = before * (window - elapsed) / window + current
        if estimate <= limit:
            return None
        retry_after = _retry_after(limit, current, before, window, elapsed)
        who = client.partition(":")[2]
        message = (
            f"Rate limit exceeded: client {who!r} may send {limit} requests per "
            f"{window:g} s ([rate_limit]); retry after {retry_after} s."
        )
        extensions = {
            "code": "RATE_LIMITED",
            "limit": limit,
            "windowSeconds": window,
            "retryAfter": retry_after,
        }
        return GraphQLResponse(
            {"errors": [{"message": message, "extensions": extensions}]},
            request_error=True,
            http_status=429,
            headers=(("retry-after", str(retry_after)),),
        )


def _count(raw: bytes | None) -> int:
    if raw is None:
        return 0
    try:
        return max(0, int(raw))
    except ValueError:  # corrupt: counts as nothing, and its window ends by itself
        return 0


def _retry_after(limit: int, current: int, previous: int, window: float, elapsed: float) -> int:
    """Whole seconds until one more request fits, if the client sends none meanwhile."""
    left_in_window = window - elapsed
    room = limit - 1 - current
    if room >= 0 and previous > 0:
        # within this window, once enough of the previous window has slid out
        wait = left_in_window - room * window / previous
    else:
        # in the next window, once enough of this window has slid out
        wait = left_in_window + window * (1 - (limit - 1) / current)
    return max(1, math.ceil(wait))
