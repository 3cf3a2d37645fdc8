"""The `Cache` interface over Redis (`redis.asyncio`), or a Redis Cluster.

Every call is bounded by `timeout_s`; a call that fails or times out is answered as a miss and
marks Redis down for `retry_after_s`, during which calls skip it at once. Then the next call
tries again, so the gateway reconnects by itself when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from cache.base import CacheStats, FailureLog, FailureObserver, Handler

log = logging.getLogger("govgraph.cache")

_T = TypeVar("_T")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def cluster_seeds(url: str) -> list[tuple[str, int]]:
    """The seed nodes of `redis+cluster://host:port,host:port`."""
    rest = url.split("://", 1)[1].split("/", 1)[0]
    seeds = []
    for part in rest.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"a cluster seed must be host:port, got {part!r} in {url!r}")
        seeds.append((host, int(port)))
    return seeds


def check_url(url: str) -> None:
    """Raise ValueError with a clear message when `url` is not a Redis URL we can use."""
    scheme = urlsplit(url).scheme
    if scheme in CLUSTER_SCHEMES:
        cluster_seeds(url)
    elif scheme not in ("redis", "rediss", "unix"):
        raise ValueError(
            f"{url!r} is not a Redis URL: use redis://host:port/db, rediss://…, unix://…, "
            "or redis+cluster://host:port,host:port for a Redis Cluster"
        )


class RedisCache:
    """`redis://…` for one Redis, `redis+cluster://host:port,host:port` for a cluster (the
    nodes are seeds: the client discovers the rest). Keys are stored under `prefix`."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "govgraph:",
        timeout_s: float = 0.05,
        retry_after_s: float = 1.0,
        warn_interval_s: float = 30.0,
        on_failure: FailureObserver | None = None,
    ) -> None:
        check_url(url)
        self.url = url
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._failures = FailureLog(retry_after_s, warn_interval_s, on_failure)
        self._where = _redacted(url)
        options: dict[str, Any] = {
            "socket_connect_timeout": timeout_s,
            "socket_timeout": timeout_s,
            "retry": Retry(NoBackoff(), 0),
        }
        self._client: Redis | RedisCluster
        scheme = urlsplit(url).scheme
        if scheme in CLUSTER_SCHEMES:
            seeds = cluster_seeds(url)
            self._client = RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in seeds],
                ssl=scheme.startswith("rediss"),
                **options,
            )
            # a PUBLISH reaches subscribers on every node of a cluster: one node will do
            host, port = seeds[0]
            self._pubsub_url = (
                f"{'rediss' if scheme.startswith('rediss') else 'redis'}://{host}:{port}"
            )
        else:
            self._client = Redis.from_url(url, **options)
            self._pubsub_url = url
        self._handlers: dict[str, list[Handler]] = {}
        self._listener: asyncio.Task[None] | None = None

    async def _call(self, what: str, op: Callable[[], Awaitable[_T]], missing: _T) -> _T:
        if not self._failures.available():
            return missing
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await op()
        except (RedisError, OSError, TimeoutError) as exc:
            self._failures.failed(self._where, what, exc)
            return missing
        self._failures.succeeded(self._where)
        return result

    async def get(self, key: str) -> bytes | None:
        full = self.prefix + key
        value: Any = await self._call("get", lambda: self._client.get(full), None)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        full = self.prefix + key
        px = max(1, int(ttl_s * 1000)) if ttl_s is not None else None
        await self._call("set", lambda: self._client.set(full, value, px=px), None)

    async def delete(self, key: str) -> None:
        full = self.prefix + key
        await self._call("delete", lambda: self._client.delete(full), None)

    async def incr(self, key: str, window_s: float) -> int | None:
        full = self.prefix + key
        window_ms = max(1, int(window_s * 1000))

        async def count() -> int:
            pipe = self._client.pipeline(transaction=False)
            pipe.incr(full)
            # NX: only a new counter gets its expiry, so a window is never stretched
            pipe.pexpire(full, window_ms, nx=True)
            result = await pipe.execute()
            return int(result[0])

        return await self._call("incr", count, None)

    async def publish(self, channel: str, message: bytes) -> None:
        full = self.prefix + channel
        await self._call("publish", lambda: self._client.publish(full, message), None)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers.setdefault(self.prefix + channel, []).append(handler)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        """Deliver messages until cancelled, reconnecting after a failure."""
        channels = list(self._handlers)
        while True:
            client = Redis.from_url(
                self._pubsub_url, socket_connect_timeout=self.timeout_s, health_check_interval=5
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*channels)
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes):
                        channel = message["channel"].decode()
                        for handler in list(self._handlers.get(channel, ())):
                            handler(data)
            except (RedisError, OSError) as exc:
                self._failures.failed(self._where, "subscribe", exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                    await client.aclose()
            await asyncio.sleep(self._failures.retry_after_s)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()

    def stats(self) -> CacheStats:
        return self._failures.stats


def _redacted(url: str) -> str:
    """The URL without its password, for the log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return url.replace(parts.netloc, f"{parts.username or ''}:***@{netloc}")
