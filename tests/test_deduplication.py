"""Identical in-flight requests share work: subgraph queries always, client queries when
configured; mutations and differently-authorised requests never."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from gateway.config import GatewayConfig, PartitionConfig
from gateway.engine import Gateway
from gateway.exchange import GraphQLRequest

SUPERGRAPH = """
schema @link(url: "https://specs.apollo.dev/link/v1.0")
       @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) {
  query: Query
  mutation: Mutation
}
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet,
  type: String, external: Boolean, override: String, usedOverridden: Boolean)
  repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false)
  repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import])
  repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { HALLS @join__graph(name: "halls", url: "URL") }
type Query @join__type(graph: HALLS) { hall: String }
type Mutation @join__type(graph: HALLS) { book: String }
"""


class SlowSubgraph:
    """Answers every operation after a pause, counting the requests it saw."""

    def __init__(self, pause_s: float = 0.3) -> None:
        self.pause_s = pause_s
        self.calls: list[dict[str, Any]] = []
        self.headers: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        self.calls.append(body)
        self.headers.append(request.headers.get("authorization"))
        await asyncio.sleep(self.pause_s)
        field = "book" if body["query"].startswith("mutation") else "hall"
        return web.Response(body=orjson.dumps({"data": {field: "广州市政务服务中心"}}),
                            content_type="application/json")


async def _serve(pause_s: float = 0.3) -> tuple[web.AppRunner, SlowSubgraph, str]:
    subgraph = SlowSubgraph(pause_s)
    app = web.Application()
    app.router.add_post("/graphql", subgraph.handle)
    app.router.add_post("/shards/{key}/graphql", subgraph.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, subgraph, f"http://127.0.0.1:{port}/graphql"


async def _burst(config: GatewayConfig, query: str, n: int = 8,
                 headers: list[dict[str, str]] | None = None) -> tuple[list[Any], SlowSubgraph]:
    runner, subgraph, url = await _serve()
    gateway = Gateway(SUPERGRAPH.replace("URL", url), config)
    await gateway.startup()
    try:
        requests = [GraphQLRequest(query=query, headers=(headers[i] if headers else {}))
                    for i in range(n)]
        responses = await asyncio.gather(*(gateway.execute(r) for r in requests))
        return [r.body for r in responses], subgraph
    finally:
        await gateway.shutdown()
        await runner.cleanup()


def test_identical_subgraph_queries_in_flight_share_one_request() -> None:
    bodies, subgraph = asyncio.run(_burst(GatewayConfig(), "{ hall }"))
    assert bodies == [{"data": {"hall": "广州市政务服务中心"}}] * 8
    assert len(subgraph.calls) == 1


def test_without_deduplication_every_request_reaches_the_subgraph() -> None:
    config = GatewayConfig(deduplicate_subgraph_requests=False)
    bodies, subgraph = asyncio.run(_burst(config, "{ hall }"))
    assert bodies == [{"data": {"hall": "广州市政务服务中心"}}] * 8
    assert len(subgraph.calls) == 8


def test_mutations_are_never_shared() -> None:
    config = GatewayConfig(deduplicate_requests=True)
    bodies, subgraph = asyncio.run(_burst(config, "mutation { book }"))
    assert bodies == [{"data": {"book": "广州市政务服务中心"}}] * 8
    assert len(subgraph.calls) == 8


def test_client_deduplication_keeps_callers_with_different_authorization_apart() -> None:
    config = GatewayConfig(deduplicate_requests=True, deduplicate_subgraph_requests=False,
                           propagate_headers=["authorization"])
    headers = [{"authorization": f"Bearer {i % 2}"} for i in range(8)]
    bodies, subgraph = asyncio.run(_burst(config, "{ hall }", headers=headers))
    assert bodies == [{"data": {"hall": "广州市政务服务中心"}}] * 8
    assert len(subgraph.calls) == 2
    assert sorted(subgraph.headers) == ["Bearer 0", "Bearer 1"]


def test_a_shared_request_that_times_out_fails_every_caller_and_is_not_reused() -> None:
    async def scenario() -> tuple[list[Any], list[Any], float, int]:
        runner, subgraph, url = await _serve(pause_s=3.0)
        gateway = Gateway(SUPERGRAPH.replace("URL", url), GatewayConfig(subgraph_timeout_s=0.2))
        await gateway.startup()
        try:
            started = asyncio.get_running_loop().time()
            first = await asyncio.gather(*(gateway.execute(GraphQLRequest(query="{ hall }")) for _ in range(4)))
            elapsed = asyncio.get_running_loop().time() - started
            later = await gateway.execute(GraphQLRequest(query="{ hall }"))
            return [r.body for r in first], [later.body], elapsed, len(subgraph.calls)
        finally:
            await gateway.shutdown()
            await runner.cleanup()

    first, later, elapsed, calls = asyncio.run(scenario())
    for body in first + later:
        assert body["data"] == {"hall": None}, body
        assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_TIMEOUT", body
    assert elapsed < 2.0, f"callers waited {elapsed:.2f} s for a subgraph that takes 3 s"
    # the four callers shared one request; the one after the timeout started a new one
    assert calls == 2


def test_a_caller_that_gives_up_does_not_cancel_the_scatter_it_shares() -> None:
    """Two identical scatters share each shard's request; cancelling one leaves the other whole."""
    async def scenario() -> tuple[Any, Any, int]:
        runner, subgraph, url = await _serve(pause_s=0.5)
        base = url.removesuffix("/graphql")
        config = GatewayConfig(partitions={"halls": PartitionConfig(
            subgraph="halls", shards={key: f"{base}/shards/{key}/graphql" for key in ("440000", "110000")})})
        gateway = Gateway(SUPERGRAPH.replace("URL", url), config)
        await gateway.startup()
        try:
            quitter = asyncio.ensure_future(gateway.execute(GraphQLRequest(query="{ hall }")))
            stayer = asyncio.ensure_future(gateway.execute(GraphQLRequest(query="{ hall }")))
            await asyncio.sleep(0.1)
            quitter.cancel()
            kept = await stayer
            return quitter.cancelled(), kept.body, len(subgraph.calls)
        finally:
            await gateway.shutdown()
            await runner.cleanup()

    cancelled, body, calls = asyncio.run(scenario())
    assert cancelled
    assert body["data"] == {"hall": "广州市政务服务中心"}, body
    assert body["extensions"]["partitions"]["halls"] == {"answered": ["440000", "110000"], "failed": []}, body
    assert calls == 2  # one request per shard, shared by both callers
