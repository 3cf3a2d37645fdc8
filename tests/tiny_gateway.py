"""A real gateway over one small in-process subgraph, driven through its ASGI app.

The subgraph executes whatever operation the gateway sends with graphql-core, so aliases,
fragments and nesting are answered faithfully; tests see the HTTP answer a client would.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from graphql import build_schema, graphql

from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.server import GraphQLApp, create_app
from gateway.telemetry import Telemetry

# the join v0.3 and link definitions every hand-written supergraph of the tests needs
JOIN_DEFINITIONS = """
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
"""

SUPERGRAPH = """
schema @link(url: "https://specs.apollo.dev/link/v1.0")
       @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) {
  query: Query
}
""" + JOIN_DEFINITIONS + """
enum join__Graph { NATIONAL @join__graph(name: "national", url: "URL") }
type Query @join__type(graph: NATIONAL) { provinces: [Division!]! }
type Division @join__type(graph: NATIONAL) { code: String! name: String! parent: Division }
"""

SUBGRAPH_SCHEMA = build_schema("""
type Query { provinces: [Division!]! }
type Division { code: String! name: String! parent: Division }
""")
PROVINCES = [{"code": "440000", "name": "广东省", "parent": None}]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        errors: list[dict[str, Any]] = self.json["errors"]
        return errors[0]


@dataclass
class TinyGateway:
    gateway: Gateway
    app: GraphQLApp
    subgraph_calls: list[str] = field(default_factory=list)
    # the headers of each subgraph call, in order
    subgraph_headers: list[dict[str, str]] = field(default_factory=list)

    async def post(self, query: str, headers: dict[str, str] | None = None) -> Reply:
        body = orjson.dumps({"query": query})
        raw_headers = [(b"content-type", b"application/json"),
                       (b"accept", b"application/graphql-response+json")]
        raw_headers += [(k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in (headers or {}).items()]
        scope = {"type": "http", "method": "POST", "path": "/graphql", "query_string": b"",
                 "headers": raw_headers}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start, reply = sent
        headers_out = {k.decode(): v.decode() for k, v in start["headers"]}
        return Reply(start["status"], headers_out, reply["body"])


@asynccontextmanager
async def tiny_gateway(config: GatewayConfig | None = None,
                       telemetry: Telemetry | None = None) -> AsyncIterator[TinyGateway]:
    calls: list[str] = []
    headers: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        calls.append(payload["query"])
        headers.append({k.lower(): v for k, v in request.headers.items()})
        result = await graphql(SUBGRAPH_SCHEMA, payload["query"],
                               root_value={"provinces": PROVINCES},
                               variable_values=payload.get("variables"))
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    app = web.Application()
    app.router.add_post("/graphql", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = config or GatewayConfig()
    gateway = Gateway(SUPERGRAPH.replace("URL", f"http://127.0.0.1:{port}/graphql"), config,
                      telemetry)
    await gateway.startup()
    try:
        yield TinyGateway(gateway, create_app(gateway, config), calls, headers)
    finally:
        await gateway.shutdown()
        await runner.cleanup()
