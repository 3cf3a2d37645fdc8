"""The national subgraph as an ASGI app: GraphQL at /graphql, liveness at /health."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from resolvers.audit import AuditLog, audit_log_path
from resolvers.datadir import national_db_path
from resolvers.national.repository import NationalRepository
from subgraphs.audit import AuditTrail
from subgraphs.claims import ClaimsGate, ClaimsVerifier
from subgraphs.errors import SubgraphGraphQL
from subgraphs.national.arguments import InvalidArgument
from subgraphs.national.context import Loaders, NationalContext
from subgraphs.national.schema import schema


class NationalGraphQL(SubgraphGraphQL[NationalContext]):
    """Strawberry's ASGI view with a fresh set of DataLoaders and an audit trail per request."""

    service = "national"
    client_errors = (InvalidArgument,)

    def __init__(self, repository: NationalRepository, audit_log: AuditLog) -> None:
        super().__init__(schema, graphql_ide=None)
        self.repository = repository
        self.audit_log = audit_log

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> NationalContext:
        claims = self.claims(request, response)
        return NationalContext(self.repository, Loaders.over(self.repository), claims,
                               AuditTrail(self.audit_log, claims, None, self.request_id(request)))


def create_app(data_dir: Path, internal_key: bytes | None = None) -> ASGIApp:
    """The national subgraph over DIR/national.db, its audit log in DIR/audit/national.db; callers
    are verified with `internal_key`. Fails at once if the database is missing."""
    repository = NationalRepository(national_db_path(data_dir))
    audit_log = AuditLog.open(audit_log_path(data_dir, "national"))
    graphql = NationalGraphQL(repository, audit_log)

    async def health(request: Request) -> JSONResponse:
        row = repository.connection.execute("SELECT count(*) FROM divisions").fetchone()
        return JSONResponse({"status": "ok", "service": "national", "divisions": row[0]})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            repository.close()
            audit_log.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.repository = repository
    return ClaimsGate(app, ClaimsVerifier(internal_key), "national")
