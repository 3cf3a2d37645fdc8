"""The cache interface, held to the same cases over memory, one Redis and a Redis Cluster;
then Redis failing under it: down at start, killed midway, paused (slow), corrupt entries."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest
from redis_servers import SHARED_REDIS_URL, redis_server, unique_prefix

from cache import Cache, MemoryCache, open_cache
from cache.redis import RedisCache

pytest_plugins = ("cache_fixtures",)  # fixtures: redis_url (memory, Redis, Redis Cluster)


def run_with(url: str | None, scenario: object) -> None:
    async def main() -> None:
        # a generous timeout: the machine may be busy
        cache = open_cache(url, prefix=unique_prefix(), timeout_s=2.0)
        try:
            await scenario(cache)  # type: ignore[operator]
        finally:
            await cache.close()

    asyncio.run(main())


def test_values_are_stored_read_and_deleted(redis_url: str | None) -> None:
    async def scenario(cache: Cache) -> None:
        assert await cache.get("apq:abc") is None
        await cache.set("apq:abc", b"{ provinces { code } }")
        assert await cache.get("apq:abc") == b"{ provinces { code } }"
        await cache.delete("apq:abc")
        assert await cache.get("apq:abc") is None

    run_with(redis_url, scenario)


def test_values_expire_after_their_ttl(redis_url: str | None) -> None:
    async def scenario(cache: Cache) -> None:
        await cache.set("short", b"1", ttl_s=0.2)
        await cache.set("long", b"2", ttl_s=30)
        assert await cache.get("short") == b"1"
        await asyncio.sleep(0.35)
        assert await cache.get("short") is None
        assert await cache.get("long") == b"2"

    run_with(redis_url, scenario)


def test_counters_count_within_their_window_then_start_again(redis_url: str | None) -> None:
    async def scenario(cache: Cache) -> None:
        assert [await cache.incr("hits", 0.3) for _ in range(3)] == [1, 2, 3]
        await asyncio.sleep(0.45)
        assert await cache.incr("hits", 0.3) == 1

    run_with(redis_url, scenario)


def test_published_messages_reach_subscribers(redis_url: str | None) -> None:
    async def scenario(cache: Cache) -> None:
        got: list[bytes] = []
        await cache.subscribe("invalidate", got.append)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:  # the subscription is asynchronous
            await cache.publish("invalidate", b"Division:440000")
            await asyncio.sleep(0.05)
        assert got and set(got) == {b"Division:440000"}

    run_with(redis_url, scenario)


def test_keys_of_one_prefix_are_invisible_under_another() -> None:
    async def scenario() -> None:
        a = open_cache(SHARED_REDIS_URL, prefix=unique_prefix())
        b = open_cache(SHARED_REDIS_URL, prefix=unique_prefix())
        try:
            await a.set("k", b"a")
            assert await b.get("k") is None
            assert await a.get("k") == b"a"
        finally:
            await a.close()
            await b.close()

    asyncio.run(scenario())


def test_memory_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    async def scenario() -> None:
        cache = MemoryCache(max_entries=2)
        await cache.set("a", b"1")
        await cache.set("b", b"2")
        assert await cache.get("a") == b"1"  # now b is the least recently used
        await cache.set("c", b"3")
        assert await cache.get("b") is None
        assert await cache.get("a") == b"1"
        assert await cache.get("c") == b"3"

    asyncio.run(scenario())


def test_a_redis_url_that_is_not_one_is_refused_with_the_forms_named() -> None:
    with pytest.raises(ValueError, match="redis\\+cluster://host:port"):
        RedisCache("http://127.0.0.1:6379")
    with pytest.raises(ValueError, match="host:port"):
        RedisCache("redis+cluster://127.0.0.1")


# ---- failures ------------------------------------------------------------------------------


@pytest.fixture
def caplog_cache(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="govgraph.cache")
    return caplog


def test_redis_down_at_start_answers_misses_quickly_and_warns_once(
        caplog_cache: pytest.LogCaptureFixture) -> None:
    with redis_server() as server:
        url = server.url
        server.kill()

        async def scenario() -> None:
            cache = RedisCache(url, prefix=unique_prefix(), timeout_s=0.2, retry_after_s=0.05,
                               warn_interval_s=60)
            started = time.monotonic()
            for _ in range(5):
                assert await cache.get("k") is None
                await cache.set("k", b"v")
                assert await cache.incr("n", 10) is None
                await asyncio.sleep(0.06)
            elapsed = time.monotonic() - started
            assert elapsed < 5 * (3 * 0.2 + 0.06), elapsed
            assert cache.stats().failures >= 5
            await cache.close()

        asyncio.run(scenario())
    warnings = [r for r in caplog_cache.records if "failed" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_redis_killed_midway_then_restarted_is_used_again() -> None:
    with redis_server() as server:
        async def scenario() -> None:
            cache = RedisCache(server.url, prefix=unique_prefix(), timeout_s=0.3,
                               retry_after_s=0.1)
            await cache.set("k", b"before")
            assert await cache.get("k") == b"before"
            server.kill()
            assert await cache.get("k") is None
            failures = cache.stats().failures
            assert failures >= 1
            server.start()  # the same port, empty
            assert await _eventually(cache, "k", b"after")
            await cache.close()

        asyncio.run(scenario())


def test_a_paused_redis_never_holds_a_call_longer_than_the_timeout() -> None:
    with redis_server() as server:
        async def scenario() -> None:
            cache = RedisCache(server.url, prefix=unique_prefix(), timeout_s=0.1,
                               retry_after_s=0.05)
            await cache.set("k", b"v")
            server.pause()
            try:
                started = time.monotonic()
                assert await cache.get("k") is None
                assert await cache.incr("n", 1) is None
                elapsed = time.monotonic() - started
                assert elapsed < 0.5, elapsed
            finally:
                server.resume()
            assert await _eventually(cache, "k", b"v", write=False)
            await cache.close()

        asyncio.run(scenario())


async def _eventually(cache: RedisCache, key: str, value: bytes, write: bool = True) -> bool:
    """Redis answers again within a few seconds (after `retry_after_s`, on a busy machine)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if write:
            await cache.set(key, value)
        if await cache.get(key) == value:
            return True
        await asyncio.sleep(0.05)
    return False
