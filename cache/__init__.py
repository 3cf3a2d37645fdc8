"""Caches shared by the gateway's features: memory always, Redis when configured."""

from __future__ import annotations

from cache.base import Cache, CacheStats, FailureObserver
from cache.memory import MemoryCache

__all__ = ["Cache", "CacheStats", "MemoryCache", "open_cache"]


def open_cache(
    redis_url: str | None,
    *,
    prefix: str = "govgraph:",
    timeout_s: float = 0.05,
    retry_after_s: float = 1.0,
    warn_interval_s: float = 30.0,
    max_entries: int = 10_000,
    on_failure: FailureObserver | None = None,
) -> Cache:
    """Redis when `redis_url` is given, else a memory cache of `max_entries`."""
    if not redis_url:
        return MemoryCache(max_entries)
    from cache.redis import RedisCache

    return RedisCache(
        redis_url,
        prefix=prefix,
        timeout_s=timeout_s,
        retry_after_s=retry_after_s,
        warn_interval_s=warn_interval_s,
        on_failure=on_failure,
    )
