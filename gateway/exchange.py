"""One GraphQL exchange between the HTTP layer and the engine.

`GraphQLRequest` goes in, `GraphQLResponse` comes out, and `Engine` is what turns one
into the other (`gateway.engine.Gateway` is the real one). Nothing here knows HTTP
beyond the method (a mutation over GET is refused) and the headers to propagate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.telemetry import Telemetry


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request, as the gateway verified it (a token or an API key), or anonymous.

    `kind` is "anonymous" or the verified role (the token's role claim, or the API key's kind);
    `client_id` names the API key; `scopes` decide `@requiresScopes`; `purpose` is a stated
    purpose the gateway found on its allow-list.
    """

    kind: str = "anonymous"
    subject: str | None = None
    client_id: str | None = None
    # the partition (e.g. a region) the caller's token confines it to
    partition: str | None = None
    stages: tuple[str, ...] = ()
    purpose: str | None = None
    scopes: frozenset[str] = frozenset()
    # the caller may only run operations from the trusted-documents list
    trusted_documents_only: bool = False

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"


ANONYMOUS = Caller()


@dataclass(slots=True)
class GraphQLRequest:
    """The GraphQL-over-HTTP request parameters and what the engine needs of HTTP."""

    query: str | None
    operation_name: str | None = None
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    # lower-cased header names
    headers: Mapping[str, str] = field(default_factory=dict)
    http_method: str = "POST"
    # the client asked to see the query plan (header `govgraph-query-plan: true`)
    want_plan: bool = False
    # names the request in the gateway's log and in an INTERNAL_SERVER_ERROR (the HTTP layer
    # passes the client's `x-request-id` or a new one; the engine makes one up when it is None)
    request_id: str | None = None
    # who sent it (set by the HTTP layer after authentication)
    caller: Caller = ANONYMOUS
    # the peer's IP address: who a client is when nothing better names it (rate limits)
    client_address: str | None = None


@dataclass(slots=True)
class GraphQLResponse:
    """`body` is the GraphQL response map ({data, errors, extensions}).

    `request_error` is True when the request never reached execution (parse,
    validation or variable coercion failed): GraphQL over HTTP answers those with
    400 under `application/graphql-response+json`. `http_status` forces a status
    (e.g. 405 for a mutation over GET).
    """

    body: dict[str, Any]
    request_error: bool = False
    http_status: int | None = None
    # extra response headers (lower-case names), e.g. `retry-after`, `cache-control`
    headers: tuple[tuple[str, str], ...] = ()


class Engine(Protocol):
    """What the HTTP layer needs of the engine (`gateway.engine.Gateway` is the real one)."""

    # what the HTTP layer reports requests to (metrics, log, traces)
    telemetry: Telemetry

    async def startup(self) -> None:
        """Get ready to serve before the first request (the server's lifespan startup)."""

    async def shutdown(self) -> None:
        """Release what `startup` acquired."""

    async def execute(self, request: GraphQLRequest) -> GraphQLResponse:
        """Answer one request; never raises, so every failure reaches the client as an error."""

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        """Whether the subgraphs answer as the readiness policy requires, and a report of each
        (`/ready`)."""
