"""Automatic persisted queries and trusted documents, through real gateway processes; with
Redis, a hash registered through one gateway is known to another."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from audit.live_stack import http
from cache_stack import apq, gateways, get_graphql, post, sha256
from redis_servers import SHARED_REDIS_URL, redis_server, unique_prefix
from tiny_gateway import tiny_gateway

from cache import open_cache
from gateway.config import GatewayConfig, PersistedQueriesConfig
from gateway.exchange import GraphQLRequest

pytest_plugins = ("cache_fixtures",)  # fixtures: supergraph, redis_url

QUERY = '{ division(code: "440000") { name serviceCount } }'
ANSWER = {"data": {"division": {"name": "广东省", "serviceCount": 1864}}}
OTHER = '{ division(code: "110000") { name } }'


def test_an_unknown_hash_is_not_found_until_registered_then_any_gateway_knows_it(
        supergraph: Path, tmp_path: Path, redis_url: str | None) -> None:
    digest = sha256(QUERY)
    with gateways(supergraph, tmp_path, redis_url) as running:
        first, last = running[0], running[-1]
        reply = post(first.url, {"extensions": apq(digest)})
        assert reply.status == 400, reply.body
        assert reply.json()["errors"] == [{"message": "PersistedQueryNotFound",
                                           "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
        reply = post(first.url, {"query": QUERY, "extensions": apq(digest)})
        assert (reply.status, reply.json()) == (200, ANSWER)
        reply = post(last.url, {"extensions": apq(digest)})
        assert (reply.status, reply.json()) == (200, ANSWER)
        reply = get_graphql(last.url, {"extensions": apq(digest)})
        assert (reply.status, reply.json()) == (200, ANSWER)


def test_get_with_an_unknown_hash_is_not_found(supergraph: Path, tmp_path: Path) -> None:
    with gateways(supergraph, tmp_path, None) as (gateway,):
        reply = get_graphql(gateway.url, {"extensions": apq(sha256(OTHER))})
        assert reply.status == 400
        assert reply.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_hash_that_is_not_the_querys_is_refused(supergraph: Path, tmp_path: Path) -> None:
    with gateways(supergraph, tmp_path, None) as (gateway,):
        reply = post(gateway.url, {"query": QUERY, "extensions": apq(sha256(OTHER))})
        assert reply.status == 400
        error = reply.json()["errors"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
        assert sha256(QUERY) in error["message"]
        # and nothing was registered under the wrong hash
        reply = post(gateway.url, {"extensions": apq(sha256(OTHER))})
        assert reply.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_malformed_persisted_query_extension_is_refused_naming_the_form(
        supergraph: Path, tmp_path: Path) -> None:
    with gateways(supergraph, tmp_path, None) as (gateway,):
        reply = post(gateway.url, {"extensions": {"persistedQuery": {"version": 2,
                                                                      "sha256Hash": "ab"}}})
        assert reply.status == 400
        assert '"version": 1' in reply.json()["errors"][0]["message"]
        reply = post(gateway.url, {"extensions": apq("not-a-hash")})
        assert "64 hexadecimal digits" in reply.json()["errors"][0]["message"]


def test_a_corrupt_shared_entry_is_never_served_and_registration_overwrites_it(
        supergraph: Path, tmp_path: Path) -> None:
    digest = sha256(QUERY)
    prefix = unique_prefix()

    async def corrupt() -> None:
        cache = open_cache(SHARED_REDIS_URL, prefix=prefix)
        await cache.set(f"apq:{digest}", OTHER.encode())  # another operation's text
        await cache.close()

    asyncio.run(corrupt())
    with gateways(supergraph, tmp_path, SHARED_REDIS_URL, prefix=prefix) as (first, second):
        reply = post(first.url, {"extensions": apq(digest)})
        assert reply.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        reply = post(first.url, {"query": QUERY, "extensions": apq(digest)})
        assert reply.json() == ANSWER
        reply = post(second.url, {"extensions": apq(digest)})
        assert reply.json() == ANSWER


def test_with_redis_down_queries_run_and_apq_works_in_the_process(
        supergraph: Path, tmp_path: Path) -> None:
    digest = sha256(QUERY)
    with redis_server() as server:
        url = server.url
        server.kill()
        with gateways(supergraph, tmp_path, url, count=1) as (gateway,):
            started = time.monotonic()
            assert post(gateway.url, {"query": QUERY}).json() == ANSWER
            reply = post(gateway.url, {"extensions": apq(digest)})
            assert reply.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
            assert post(gateway.url, {"query": QUERY, "extensions": apq(digest)}).json() == ANSWER
            assert post(gateway.url, {"extensions": apq(digest)}).json() == ANSWER
            assert time.monotonic() - started < 5
            metrics = http("GET", f"http://127.0.0.1:{gateway.port}/metrics").body.decode()
            output = gateway.process.output()
        assert output.count("cache backend") == 1, output
        failures = [line for line in metrics.splitlines()
                    if line.startswith("govgraph_cache_backend_failures_total{")]
        assert failures and all(float(line.split()[-1]) >= 1 for line in failures), metrics


# ---- trusted documents ---------------------------------------------------------------------

LISTED = "query Guangdong { division(code: \"440000\") { name serviceCount } }"


def trusted_config(tmp: Path, extra: str = "") -> str:
    listing = tmp / "trusted.json"
    listing.write_text(json.dumps({sha256(LISTED): LISTED}), encoding="utf-8")
    return (f'[persisted_queries]\ntrusted_documents = "{listing}"\n'
            f'trusted_clients = ["aggregator-one"]\n{extra}')


AGGREGATOR = {"apollographql-client-name": "aggregator-one"}


def test_a_trusted_documents_client_runs_listed_operations_by_hash_or_text(
        supergraph: Path, tmp_path: Path, redis_url: str | None) -> None:
    with gateways(supergraph, tmp_path, redis_url, trusted_config(tmp_path), count=1) as (gw,):
        reply = post(gw.url, {"extensions": apq(sha256(LISTED))}, AGGREGATOR)
        assert (reply.status, reply.json()) == (200, ANSWER)
        reply = post(gw.url, {"query": LISTED}, AGGREGATOR)
        assert (reply.status, reply.json()) == (200, ANSWER)
        # the same operation laid out differently is the same document
        relaid = 'query Guangdong {\n  division(code: "440000") {\n    name serviceCount\n  }\n}'
        reply = post(gw.url, {"query": relaid}, AGGREGATOR)
        assert (reply.status, reply.json()) == (200, ANSWER)


def test_a_trusted_documents_client_is_refused_anything_else(
        supergraph: Path, tmp_path: Path, redis_url: str | None) -> None:
    with gateways(supergraph, tmp_path, redis_url, trusted_config(tmp_path), count=1) as (gw,):
        for payload in ({"query": OTHER},
                        {"query": OTHER, "extensions": apq(sha256(OTHER))},
                        {"extensions": apq(sha256(OTHER))}):
            reply = post(gw.url, payload, AGGREGATOR)
            assert reply.status == 403, (payload, reply.body)
            error = reply.json()["errors"][0]
            assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
            assert sha256(OTHER) in error["message"]
        # other clients are not restricted
        assert post(gw.url, {"query": OTHER}).json() == {"data": {"division": {"name": "北京市"}}}


def test_trusted_only_for_everyone_and_a_list_kept_in_redis(
        supergraph: Path, tmp_path: Path) -> None:
    prefix = unique_prefix()
    extra = 'trusted_only = true\ntrusted_documents_in_cache = true\n'

    async def register() -> None:
        cache = open_cache(SHARED_REDIS_URL, prefix=prefix)
        await cache.set(f"trusted:{sha256(OTHER)}", OTHER.encode())
        await cache.close()

    asyncio.run(register())
    with gateways(supergraph, tmp_path, SHARED_REDIS_URL, trusted_config(tmp_path, extra),
                  count=1, prefix=prefix) as (gw,):
        assert post(gw.url, {"extensions": apq(sha256(OTHER))}).json() == {
            "data": {"division": {"name": "北京市"}}}
        assert post(gw.url, {"query": LISTED}).json() == ANSWER
        reply = post(gw.url, {"query": '{ division(code: "650000") { name } }'})
        assert reply.status == 403


def test_an_api_key_marked_trusted_documents_only_runs_only_listed_operations(
        supergraph: Path, tmp_path: Path) -> None:
    key = "aggregator-secret-8"
    config = trusted_config(tmp_path) + (
        f'[auth.api_keys.agg-8]\nsha256 = "{sha256(key)}"\nkind = "aggregator"\n'
        "trusted_documents_only = true\n")
    with gateways(supergraph, tmp_path, None, config) as (gw,):
        headers = {"x-api-key": key}
        assert post(gw.url, {"query": LISTED}, headers).json() == ANSWER
        reply = post(gw.url, {"query": OTHER}, headers)
        assert reply.status == 403
        assert reply.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        assert post(gw.url, {"query": OTHER}).status == 200


def test_with_apq_off_a_hash_alone_is_not_supported_but_listed_hashes_still_run() -> None:
    listed = "{ provinces { code } }"
    config = GatewayConfig(persisted_queries=PersistedQueriesConfig(
        apq=False, trusted_documents={sha256(listed): listed}))

    async def scenario() -> None:
        async with tiny_gateway(config) as tiny:
            unknown = await tiny.gateway.execute(GraphQLRequest(
                query=None, extensions=apq(sha256(OTHER))))
            assert unknown.body["errors"][0]["extensions"]["code"] == (
                "PERSISTED_QUERY_NOT_SUPPORTED")
            known = await tiny.gateway.execute(GraphQLRequest(
                query=None, extensions=apq(sha256(listed))))
            assert known.body == {"data": {"provinces": [{"code": "440000"}]}}

    asyncio.run(scenario())
