"""The data-driven subgraph itself: the suite's verdicts are only as good as its answers."""
from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

from subgraph_server import Subgraph, SubgraphHost

SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
                    import: ["@key", "@external", "@requires"])

type Query {
  product(upc: ID!): Product
  broken: String
}

type Product @key(fields: "upc") @key(fields: "sku region { code }") {
  upc: ID!
  sku: String!
  region: Region!
  weight: Int! @external
  shipping: Int! @requires(fields: "weight")
}

type Region {
  code: String!
}
"""

FIXTURE = {
    "Query": {"product": {"$lookup": "Product"}, "broken": {"$error": "broken on purpose"}},
    "entities": {"Product": [
        {"upc": "1", "sku": "A", "region": {"code": "44"}},
        {"upc": "2", "sku": "A", "region": {"code": "33"}},
    ]},
}


def _shipping(product: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    return int(product["weight"]) * 3


def _subgraph() -> Subgraph:
    return Subgraph("products", SDL, FIXTURE, {"Product.shipping": _shipping})


ENTITIES = "query ($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc shipping } } }"


def test_entities_resolve_by_a_compound_nested_key_and_use_required_fields() -> None:
    result = _subgraph().execute(ENTITIES, {"r": [
        {"__typename": "Product", "sku": "A", "region": {"code": "33"}, "weight": 5},
        {"__typename": "Product", "upc": "1", "weight": 2},
        {"__typename": "Product", "upc": "9", "weight": 1},
    ]}, None)
    assert result == {"data": {"_entities": [
        {"upc": "2", "shipping": 15}, {"upc": "1", "shipping": 6}, None]}}


def test_root_lookup_and_field_errors() -> None:
    result = _subgraph().execute('{ product(upc: "2") { sku region { code } } broken }', None, None)
    assert result["data"] == {"product": {"sku": "A", "region": {"code": "33"}}, "broken": None}
    assert [(e["message"], e["path"]) for e in result["errors"]] == [("broken on purpose", ["broken"])]


def test_service_sdl_and_recorded_requests_over_http() -> None:
    host = SubgraphHost({"products": _subgraph()})
    host.start()
    try:
        body = json.dumps({"query": "{ _service { sdl } }"}).encode()
        request = urllib.request.Request(host.url("products"), data=body,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    finally:
        host.stop()
    assert answer == {"data": {"_service": {"sdl": SDL}}}
    assert [r.query for r in host.subgraphs["products"].requests] == ["{ _service { sdl } }"]
