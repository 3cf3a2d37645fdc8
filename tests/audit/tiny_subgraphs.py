"""Two tiny federation v2 subgraphs in one process, for end-to-end tests of `govgraph gateway`.

    python tests/audit/tiny_subgraphs.py PORT

`divisions` (at /divisions/graphql) owns `Division.name`; `services` (at
/services/graphql) adds `Division.serviceCount` through `_entities`, so a query for
both fields makes the gateway plan a root fetch and an entity fetch.
"""
from __future__ import annotations

import sys

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

DIVISION_NAMES = {"110000": "北京市", "440000": "广东省", "650000": "新疆维吾尔自治区"}
SERVICE_COUNTS = {"110000": 1203, "440000": 1864, "650000": 977}


@strawberry.federation.type(keys=["code"], name="Division")
class Division:
    code: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, code: strawberry.ID) -> Division:
        return cls(code=code, name=DIVISION_NAMES[str(code)])


@strawberry.type(name="Query")
class DivisionsQuery:
    @strawberry.field
    def division(self, code: strawberry.ID) -> Division | None:
        name = DIVISION_NAMES.get(str(code))
        return Division(code=code, name=name) if name else None

    @strawberry.field
    def divisions(self) -> list[Division]:
        return [Division(code=strawberry.ID(c), name=n) for c, n in DIVISION_NAMES.items()]


@strawberry.type(name="Mutation")
class DivisionsMutation:
    @strawberry.mutation
    def rename_division(self, code: strawberry.ID, name: str) -> Division:
        return Division(code=code, name=name)


@strawberry.federation.type(keys=["code"], name="Division")
class DivisionServices:
    code: strawberry.ID

    @strawberry.field
    def service_count(self) -> int:
        return SERVICE_COUNTS.get(str(self.code), 0)

    @classmethod
    def resolve_reference(cls, code: strawberry.ID) -> DivisionServices:
        return cls(code=code)


@strawberry.type(name="Query")
class ServicesQuery:
    @strawberry.field
    def total_service_count(self) -> int:
        return sum(SERVICE_COUNTS.values())


SCHEMAS = {
    "divisions": strawberry.federation.Schema(query=DivisionsQuery,
                                              mutation=DivisionsMutation,
                                              federation_version="2.3"),
    "services": strawberry.federation.Schema(query=ServicesQuery,
                                             types=[DivisionServices],
                                             federation_version="2.3"),
}

app = Starlette(routes=[Route(f"/{name}/graphql", GraphQL(schema, graphql_ide=None))
                        for name, schema in SCHEMAS.items()])


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
