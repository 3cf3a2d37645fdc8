"""Rate limits per client through real gateway processes: with Redis, replicas share the
counters; when Redis fails, each process goes on counting alone."""
from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from cache_stack import gateways, post
from redis_servers import redis_server
from tiny_gateway import tiny_gateway

from gateway.config import GatewayConfig, RateLimitConfig
from gateway.exchange import Caller, GraphQLRequest
from gateway.ratelimit import _retry_after

pytest_plugins = ("cache_fixtures",)  # fixtures: supergraph, redis_url

QUERY = {"query": '{ division(code: "440000") { name } }'}
ANSWER = {"data": {"division": {"name": "广东省"}}}
LIMITED = "[rate_limit]\ndefault = 3\nwindow_s = 60\n"


def test_a_client_over_its_limit_gets_429_with_retry_after_across_replicas(
        supergraph: Path, tmp_path: Path, redis_url: str | None) -> None:
    with gateways(supergraph, tmp_path, redis_url, LIMITED) as running:
        replies = [post(running[i % len(running)].url, QUERY) for i in range(4)]
        assert [r.status for r in replies] == [200, 200, 200, 429], [r.body for r in replies]
        assert [r.json() for r in replies[:3]] == [ANSWER] * 3
        refused = replies[3]
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["limit"] == 3
        assert "3 requests per 60 s" in error["message"]
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 120
        assert error["extensions"]["retryAfter"] == retry_after


def test_without_a_limit_nothing_is_refused(supergraph: Path, tmp_path: Path) -> None:
    with gateways(supergraph, tmp_path, None) as (gateway,):
        assert {post(gateway.url, QUERY).status for _ in range(10)} == {200}


def test_with_redis_down_each_process_still_limits_alone(supergraph: Path, tmp_path: Path) -> None:
    with redis_server() as server:
        url = server.url
        server.kill()
        with gateways(supergraph, tmp_path, url, LIMITED, count=1) as (gateway,):
            statuses = [post(gateway.url, QUERY).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_an_api_key_has_its_own_limit_and_counter() -> None:
    config = GatewayConfig(rate_limit=RateLimitConfig(default=1, clients={"agg-1": 3}))

    async def scenario() -> tuple[list[int | None], list[int | None]]:
        async with tiny_gateway(config) as tiny:
            def request(client_id: str) -> GraphQLRequest:
                return GraphQLRequest(query="{ provinces { code } }",
                                      caller=Caller(kind="aggregator", client_id=client_id))
            one = [(await tiny.gateway.execute(request("agg-1"))).http_status for _ in range(4)]
            two = [(await tiny.gateway.execute(request("agg-2"))).http_status for _ in range(2)]
            return one, two

    one, two = asyncio.run(scenario())
    assert one == [None, None, None, 429]
    assert two == [None, 429]


API_KEY = "aggregator-secret-7"
API_KEY_CONFIG = f"""
[auth.api_keys.agg-7]
sha256 = "{hashlib.sha256(API_KEY.encode()).hexdigest()}"
kind = "aggregator"
[rate_limit]
default = 100
window_s = 60
[rate_limit.clients]
"agg-7" = 2
"""


def test_an_api_key_is_limited_by_its_own_setting_over_http(
        supergraph: Path, tmp_path: Path, redis_url: str | None) -> None:
    with gateways(supergraph, tmp_path, redis_url, API_KEY_CONFIG) as running:
        keyed = [post(running[i % len(running)].url, QUERY, {"x-api-key": API_KEY}).status
                 for i in range(3)]
        anonymous = [post(running[0].url, QUERY).status for _ in range(3)]
    assert keyed == [200, 200, 429]
    assert anonymous == [200, 200, 200]


def test_retry_after_is_when_one_more_request_fits_in_the_sliding_window() -> None:
    # 4 requests (limit 3) 10 s into a 60 s window: the next window starts in 50 s, and 30 s
    # into it half of this window's 4 still count, so a third request fits
    assert _retry_after(3, 4, 0, 60, 10) == 80
    # 2 requests 20 s into this window, 6 in the previous one, which weighs 6 × 40/60 = 4 now:
    # a third request fits (limit 5) once it weighs 2, when 20 s of this window are left
    assert _retry_after(5, 2, 6, 60, 20) == 20
