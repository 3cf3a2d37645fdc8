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
from starlette.types import ASGIApp, Receive, Scope, Send

from resolvers.audit import AuditLog, audit_log_path
from resolvers.datadir import province_db_path
from resolvers.provincial.repository import ShardInputError, ShardRepository
from resolvers.reference import Province
from subgraphs.claims import ClaimsGate, ClaimsVerifier
from subgraphs.errors import SubgraphGraphQL, excerpt
from subgraphs.provincial.context import ShardContext
from subgraphs.provincial.schema import schema


class MissingShardError(FileNotFoundError):
    """A province was asked for whose database has not been seeded."""


class ShardGraphQL(SubgraphGraphQL[ShardContext]):
    """The shared schema bound to one province's repository and audit log."""

    service = "provincial"
    client_errors = (ShardInputError,)

    def __init__(self, repository: ShardRepository, audit_log: AuditLog) -> None:
        super().__init__(schema, graphql_ide=None)
        self.repository = repository
        self.audit_log = audit_log

    async def get_context(self, request: Request, response: Response) -> ShardContext:  # type: ignore[override]
        return ShardContext.for_request(self.repository, self.audit_log, self.claims(request, response),
                                        self.request_id(request))


class ProvinceDispatch:
    """Routes ``/provinces/{code}/graphql`` to the shard of that code."""

    def __init__(self, shards: dict[str, ShardGraphQL]) -> None:
        self.shards = shards

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        code = scope["path_params"]["code"]
        shard = self.shards.get(code)
        if shard is None:
            served = ", ".join(sorted(self.shards))
            message = f"Province code {excerpt(code)!r} is not served by this process; it serves: {served}."
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


def create_app(data_dir: Path, provinces: Sequence[Province], internal_key: bytes | None = None) -> ASGIApp:
    """One app serving the given provinces' shards from `data_dir/provinces/*.db`, each with its
    audit log in `data_dir/audit/<code>.db`; callers are verified with `internal_key`."""
    repositories = open_shards(data_dir, provinces)
    audit_logs = {code: AuditLog.open(audit_log_path(data_dir, code)) for code in repositories}
    shards = {code: ShardGraphQL(repository, audit_logs[code]) for code, repository in repositories.items()}

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
            for audit_log in audit_logs.values():
                audit_log.close()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/provinces/{code}/graphql", ProvinceDispatch(shards), methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
    return ClaimsGate(app, ClaimsVerifier(internal_key), "provincial")
