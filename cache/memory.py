"""In-process caches: the first level of every gateway cache, and the whole cache without Redis.

`LRUCache` is synchronous on purpose: the hot path looks up documents and plans without an
await. `MemoryCache` is the `Cache` interface over a bounded LRU whose entries expire.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from cache.base import CacheStats, Handler

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError("an LRU cache needs room for at least one entry")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        try:
            value = self._data[key]
        except KeyError:
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


# An entry: the value and the monotonic time it expires at (inf: never).
_Entry = tuple[bytes, float]


class MemoryCache:
    """The `Cache` interface in one process: an LRU of at most `max_entries` with expiry;
    publish reaches this process's subscribers only."""

    shared = False

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: LRUCache[str, _Entry] = LRUCache(max_entries)
        self._handlers: dict[str, list[Handler]] = {}
        self._stats = CacheStats()

    def _live(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= time.monotonic():
            self._entries.pop(key)
            return None
        return value

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        expires = time.monotonic() + ttl_s if ttl_s is not None else float("inf")
        self._entries.put(key, (value, expires))

    async def delete(self, key: str) -> None:
        self.discard(key)

    def discard(self, key: str) -> None:
        """`delete` without an await, for callbacks such as subscription handlers."""
        self._entries.pop(key)

    async def incr(self, key: str, window_s: float) -> int:
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is None or entry[1] <= now:
            count, expires = 1, now + window_s
        else:
            try:
                count = int(entry[0]) + 1
            except ValueError:  # not a counter: start again
                count = 1
            expires = entry[1]
        self._entries.put(key, (str(count).encode(), expires))
        return count

    async def publish(self, channel: str, message: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            handler(message)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers.setdefault(channel, []).append(handler)

    async def close(self) -> None:
        self._handlers.clear()

    def stats(self) -> CacheStats:
        return self._stats
