"""The entity cache through real gateway processes over subgraphs whose data the test changes:
entities kept as their hints allow, shared by replicas through Redis, invalidated on every
replica by a mutation that returns them, and private data never kept."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from audit.live_stack import start_gateway
from cache_stack import post
from graphql import build_schema, graphql
from redis_servers import unique_prefix
from tiny_gateway import SUPERGRAPH as TINY

from gateway.config import CacheControlConfig, CacheHint, EntityCacheConfig, GatewayConfig
from gateway.engine import Gateway

pytest_plugins = ("cache_fixtures",)  # fixtures: redis_url

# the join/link definitions of the tiny supergraph, with a mutation type
SUPERGRAPH = TINY[:TINY.index("enum join__Graph")].replace(
    "query: Query\n}", "query: Query\n  mutation: Mutation\n}") + """
enum join__Graph {
  CATALOG @join__graph(name: "catalog", url: "BASE/catalog")
  FEES @join__graph(name: "fees", url: "BASE/fees")
}
type Query @join__type(graph: CATALOG) @join__type(graph: FEES) {
  item(code: String!): Item @join__field(graph: CATALOG)
}
type Mutation @join__type(graph: CATALOG) {
  renameItem(code: String!, name: String!): Item @join__field(graph: CATALOG)
}
type Item @join__type(graph: CATALOG, key: "code") @join__type(graph: FEES, key: "code") {
  code: String!
  name: String! @join__field(graph: CATALOG)
  fee: Int! @join__field(graph: FEES)
  payer: String @join__field(graph: FEES)
}
"""

CATALOG = build_schema("""
type Query { item(code: String!): Item }
type Mutation { renameItem(code: String!, name: String!): Item }
type Item { code: String! name: String! }
""")
FEES = build_schema("""
scalar _Any
union _Entity = Item
type Query { _entities(representations: [_Any!]!): [_Entity]! }
type Item { code: String! fee: Int! payer: String }
""")

HINTS = """
[entity_cache]
enabled = true
[cache_control.types]
Item = { max_age = 600 }
[cache_control.fields]
"Item.payer" = { scope = "private" }
"""


class Subgraphs:
    """Both subgraphs in a thread of their own, with data the test changes and counted calls."""

    def __init__(self) -> None:
        self.names = {"GD-01": "居住证办理"}
        self.fees = {"GD-01": 10}
        self.entity_calls = 0
        self.base = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _catalog(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        names = self.names

        def item(code: str) -> dict[str, str] | None:
            return {"code": code, "name": names[code]} if code in names else None

        def rename(code: str, name: str) -> dict[str, str]:
            names[code] = name
            return {"code": code, "name": name}

        root = {"item": lambda _info, code: item(code),
                "renameItem": lambda _info, code, name: rename(code, name)}
        result = await graphql(CATALOG, body["query"], root_value=root,
                               variable_values=body.get("variables"))
        return _answer(result)

    async def _fees(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        self.entity_calls += 1
        reps = body["variables"]["representations"]
        entities = [{"__typename": "Item", "code": r["code"], "fee": self.fees[r["code"]],
                     "payer": "P-001"} for r in reps]
        result = await graphql(FEES, body["query"], root_value={"_entities": entities},
                               variable_values=body.get("variables"))
        return _answer(result)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/catalog", self._catalog)
        app.router.add_post("/fees", self._fees)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> Subgraphs:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _answer(result: Any) -> web.Response:
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [e.formatted for e in result.errors]
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


@pytest.fixture
def subgraphs() -> Iterator[Subgraphs]:
    with Subgraphs() as running:
        yield running


def _gateways(subgraphs: Subgraphs, tmp: Path, redis_url: str | None) -> list[Any]:
    supergraph = tmp / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH.replace("BASE", subgraphs.base), encoding="utf-8")
    config = tmp / "gateway.toml"
    cache = ""
    if redis_url is not None:
        cache = f'[cache]\nredis_url = "{redis_url}"\nkey_prefix = "{unique_prefix()}"\n'
        cache += "timeout_s = 2\n"  # generous: the machine may be busy
    config.write_text(cache + HINTS, encoding="utf-8")
    count = 2 if redis_url is not None else 1
    return [start_gateway("--supergraph", str(supergraph), "--config", str(config))
            for _ in range(count)]


FEE = '{ item(code: "GD-01") { name fee } }'


def test_entities_are_kept_shared_and_invalidated_by_a_mutation_on_every_replica(
        subgraphs: Subgraphs, tmp_path: Path, redis_url: str | None) -> None:
    running = _gateways(subgraphs, tmp_path, redis_url)
    try:
        first, last = running[0], running[-1]
        assert post(first.url, {"query": FEE}).json() == {
            "data": {"item": {"name": "居住证办理", "fee": 10}}}
        assert subgraphs.entity_calls == 1
        subgraphs.fees["GD-01"] = 25  # changed behind the gateway's back: still cached
        for gateway in (first, last, first):
            assert post(gateway.url, {"query": FEE}).json()["data"]["item"]["fee"] == 10
        assert subgraphs.entity_calls == 1
        # a mutation answered with the entity's key invalidates it everywhere
        reply = post(last.url, {"query": 'mutation { renameItem(code: "GD-01", '
                                          'name: "居住证") { code name } }'})
        assert reply.json() == {"data": {"renameItem": {"code": "GD-01", "name": "居住证"}}}
        for gateway in (first, last):
            deadline = 50
            while deadline and post(gateway.url, {"query": FEE}).json()[
                    "data"]["item"]["fee"] != 25:  # the message reaches replicas asynchronously
                deadline -= 1
            item = post(gateway.url, {"query": FEE}).json()["data"]["item"]
            assert item == {"name": "居住证", "fee": 25}
    finally:
        for gateway in running:
            gateway.process.stop()


def test_private_fields_are_never_kept(subgraphs: Subgraphs, tmp_path: Path) -> None:
    (gateway,) = _gateways(subgraphs, tmp_path, None)
    try:
        query = '{ item(code: "GD-01") { fee payer } }'
        for _ in range(3):
            reply = post(gateway.url, {"query": query})
            assert reply.json() == {"data": {"item": {"fee": 10, "payer": "P-001"}}}
        assert subgraphs.entity_calls == 3
        assert reply.headers.get("cache-control") == "max-age=600, private"
    finally:
        gateway.process.stop()


def test_fields_under_access_rules_are_never_kept_whatever_the_hints() -> None:
    guarded = SUPERGRAPH.replace(
        '@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)',
        '@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)\n'
        '       @link(url: "https://specs.apollo.dev/authenticated/v0.1", '
        'import: ["@authenticated"], for: SECURITY)',
    ).replace("payer: String @join__field(graph: FEES)",
              "payer: String @join__field(graph: FEES) @authenticated") + (
        "directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM\n")
    config = GatewayConfig(entity_cache=EntityCacheConfig(enabled=True),
                           cache_control=CacheControlConfig(types={"Item": CacheHint(600)}))
    engine = Gateway(guarded.replace("BASE", "http://127.0.0.1:9"), config)
    assert engine.entities is not None

    def entity_ttl(query: str) -> float | None:
        (fetch,) = [f for f in engine.plan_for(query).fetches() if f.inputs]
        return engine.entities.ttl(fetch)  # type: ignore[union-attr]

    assert entity_ttl('{ item(code: "GD-01") { fee } }') == 600
    assert entity_ttl('{ item(code: "GD-01") { fee payer } }') is None
