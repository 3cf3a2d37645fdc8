"""The national subgraph as an ASGI app: GraphQL at /graphql, liveness at /health."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from resolvers.datadir import national_db_path
from resolvers.national.repository import NationalRepository
from subgraphs.national.context import SUBJECT_HEADER, Loaders, NationalContext
from subgraphs.national.schema import schema


class NationalGraphQL(GraphQL[NationalContext, None]):
    """Strawberry's ASGI view with a fresh set of DataLoaders per request."""

    def __init__(self, repository: NationalRepository) -> None:
        super().__init__(schema, graphql_ide=None)
        self.repository = repository

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> NationalContext:
        # The gateway verifies the caller and forwards only the pseudonymous subject id.
        subject_id = request.headers.get(SUBJECT_HEADER) or None
        return NationalContext(self.repository, Loaders.over(self.repository), subject_id)


def create_app(data_dir: Path) -> Starlette:
    """The national subgraph over DIR/national.db; fails at once if the database is missing."""
    repository = NationalRepository(national_db_path(data_dir))
    graphql = NationalGraphQL(repository)

    async def health(request: Request) -> JSONResponse:
        row = repository.connection.execute("SELECT count(*) FROM divisions").fetchone()
        return JSONResponse({"status": "ok", "service": "national", "divisions": row[0]})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            repository.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.repository = repository
    return app
