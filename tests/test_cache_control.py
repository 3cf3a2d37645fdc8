"""The response's Cache-Control from cache hints: the most restrictive wins, private data is
private, mutations and errors are never stored."""
from __future__ import annotations

import asyncio
from pathlib import Path

from cache_stack import gateways, post
from tiny_gateway import SUPERGRAPH, tiny_gateway

from gateway.config import CacheControlConfig, CacheHint, GatewayConfig
from gateway.engine import Gateway
from gateway.exchange import GraphQLRequest

pytest_plugins = ("cache_fixtures",)  # fixtures: supergraph

HINTS = """
[cache_control]
default_max_age = 0
[cache_control.types]
Division = { max_age = 600 }
[cache_control.fields]
"Query.division" = { max_age = 300 }
"Query.divisions" = { max_age = 60 }
"Division.serviceCount" = { max_age = 30, scope = "private" }
"""


def test_cache_control_is_the_most_restrictive_hint_of_the_fields_answered(
        supergraph: Path, tmp_path: Path) -> None:
    with gateways(supergraph, tmp_path, None, HINTS) as (gateway,):
        def control(query: str) -> str | None:
            reply = post(gateway.url, {"query": query})
            assert reply.status == 200, reply.body
            assert "errors" not in reply.json(), reply.body
            return reply.headers.get("cache-control")

        assert control('{ division(code: "440000") { name } }') == "max-age=300, public"
        assert control('{ division(code: "440000") { name } divisions { code } }') == (
            "max-age=60, public")
        assert control('{ division(code: "440000") { name serviceCount } }') == (
            "max-age=30, private")
        # a root field without a hint gets the default: 0, not cacheable
        assert control('{ totalServiceCount division(code: "440000") { name } }') == "no-store"
        reply = post(gateway.url, {"query": 'mutation { renameDivision(code: "440000", '
                                            'name: "粤") { name } }'})
        assert reply.status == 200, reply.body
        assert reply.headers.get("cache-control") == "no-store"


def test_a_response_with_errors_is_not_stored() -> None:
    config = GatewayConfig(cache_control=CacheControlConfig(types={"Division": CacheHint(45)}))

    async def scenario() -> None:
        # nothing listens on port 9: the fetch fails and the response carries an error
        engine = Gateway(SUPERGRAPH.replace("URL", "http://127.0.0.1:9/graphql"), config)
        await engine.startup()
        try:
            response = await engine.execute(GraphQLRequest(query="{ provinces { code } }"))
        finally:
            await engine.shutdown()
        assert response.body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
        assert response.headers == (("cache-control", "no-store"),)

    asyncio.run(scenario())


def test_without_hints_no_cache_control_is_sent(supergraph: Path, tmp_path: Path) -> None:
    with gateways(supergraph, tmp_path, None) as (gateway,):
        reply = post(gateway.url, {"query": '{ division(code: "440000") { name } }'})
        assert reply.status == 200
        assert "cache-control" not in reply.headers


HINTED = SUPERGRAPH.replace(
    "type Query @join__type(graph: NATIONAL) { provinces: [Division!]! }",
    "directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean)"
    " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION\n"
    "enum CacheControlScope @join__type(graph: NATIONAL) { PUBLIC PRIVATE }\n"
    "type Query @join__type(graph: NATIONAL) { provinces: [Division!]! @cacheControl(maxAge: 120)"
    " }",
).replace(
    "type Division @join__type(graph: NATIONAL) { code: String! name: String! parent: Division }",
    "type Division @join__type(graph: NATIONAL) @cacheControl(maxAge: 3600) { code: String! "
    "name: String! parent: Division @cacheControl(maxAge: 90, scope: PRIVATE) }",
)


def test_hints_written_in_the_supergraph_are_read_and_configuration_wins() -> None:
    def control(config: GatewayConfig, query: str) -> str | None:
        engine = Gateway(HINTED.replace("URL", "http://127.0.0.1:9/graphql"), config)
        prepared = engine._prepare(*_definition(engine, query))
        return prepared.cache_control

    plain = GatewayConfig()
    assert control(plain, "{ provinces { code } }") == "max-age=120, public"
    assert control(plain, "{ provinces { code parent { code } } }") == "max-age=90, private"
    overridden = GatewayConfig(cache_control=CacheControlConfig(
        fields={"Query.provinces": CacheHint(max_age=20)}))
    assert control(overridden, "{ provinces { code } }") == "max-age=20, public"


def test_the_header_reaches_the_client_through_the_engine() -> None:
    config = GatewayConfig(cache_control=CacheControlConfig(types={"Division": CacheHint(45)}))

    async def scenario() -> None:
        async with tiny_gateway(config) as tiny:
            reply = await tiny.post("{ provinces { code } }")
            assert reply.headers.get("cache-control") == "max-age=45, public"
            response = await tiny.gateway.execute(GraphQLRequest(query="{ provinces { code } }"))
            assert response.headers == (("cache-control", "max-age=45, public"),)

    asyncio.run(scenario())


def _definition(engine: Gateway, query: str) -> tuple:  # type: ignore[type-arg]
    from gateway.planner.operation import select_operation

    parsed = engine._document(query)
    assert parsed.document is not None, parsed.errors
    return parsed.document, select_operation(parsed.document, None), {}
