"""The ASGI application of the provincial subgraph: one GraphQL endpoint per province.

``/provinces/{6-digit code}/graphql`` serves that province's shard; ``GET /health`` reports
which shards this process serves. A path naming a province not served here gets a GraphQL
error (HTTP 200) that names the code, like any other bad input.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from resolvers.datadir import province_db_path
from resolvers.provincial.repository import ShardRepository
from resolvers.reference import Province
from subgraphs.provincial.context import SUBJECT_HEADER, ShardContext
from subgraphs.provincial.schema import schema


class MissingShardError(FileNotFoundError):
    """A province was asked for whose database has not been seeded."""


class ShardGraphQL(GraphQL[ShardContext, None]):
    """The shared schema bound to one province's repository."""

    def __init__(self, repository: ShardRepository) -> None:
        super().__init__(schema, graphql_ide=None)
        self.repository = repository

    async def get_context(self, request: Request, response: Response) -> ShardContext:  # type: ignore[override]
        return ShardContext.for_request(self.repository, request.headers.get(SUBJECT_HEADER))


class ProvinceDispatch:
    """Routes ``/provinces/{code}/graphql`` to the shard of that code."""

    def __init__(self, shards: dict[str, ShardGraphQL]) -> None:
        self.shards = shards

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        code = scope["path_params"]["code"]
        shard = self.shards.get(code)
        if shard is None:
            served = ", ".join(sorted(self.shards))
            message = f"Province code {code!r} is not served by this process; it serves: {served}."
            body = {"data": None, "errors": [{"message": message, "extensions": {"code": "UNKNOWN_PROVINCE"}}]}
            await JSONResponse(body)(scope, receive, send)
            return
        await shard(scope, receive, send)


def open_shards(data_dir: Path, provinces: Sequence[Province]) -> dict[str, ShardRepository]:
    """Open every shard database, refusing to start when one has not been seeded."""
    paths = {p.code: province_db_path(data_dir, p.code) for p in provinces}
    missing = [path for path in paths.values() if not path.exists()]
    if missing:
        names = ", ".join(str(path) for path in missing)
        raise MissingShardError(
            f"No database for {len(missing)} province(s): {names}. Run `govgraph seed --data-dir {data_dir}` first."
        )
    return {p.code: ShardRepository.open(paths[p.code], p) for p in provinces}


def create_app(data_dir: Path, provinces: Sequence[Province]) -> Starlette:
    """One Starlette app serving the given provinces' shards from `data_dir/provinces/*.db`."""
    repositories = open_shards(data_dir, provinces)
    shards = {code: ShardGraphQL(repository) for code, repository in repositories.items()}

    async def health(request: Request) -> JSONResponse:
        for repository in repositories.values():
            repository.connection.execute("SELECT 1").fetchone()
        return JSONResponse({"status": "ok", "subgraph": "provincial", "provinces": sorted(shards)})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for repository in repositories.values():
                repository.close()

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/provinces/{code}/graphql", ProvinceDispatch(shards), methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
