"""What a subgraph's errors may tell a client: short, clear sentences and nothing internal.

A client's input appears in an error only as a short excerpt, and a failure the client did not
cause (a database error, a bug) is answered with one generic sentence and the request id; its
details go to the subgraph's log only. No stack trace, SQL, file path or internal URL leaves.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import MutableMapping
from typing import Any, Generic, TypeVar

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from subgraphs.claims import Claims, claims_of

EXCERPT_CHARS = 80
MESSAGE_CHARS = 320
_QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")

C = TypeVar("C")


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A client's value as it may appear in a message: at most `limit` characters, then an ellipsis."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _shorten_quoted(match: re.Match[str]) -> str:
    quote = match.group(0)[0]
    inner = match.group(1) if match.group(1) is not None else match.group(2)
    return quote + excerpt(inner) + quote


def safe_message(message: str) -> str:
    """Every quoted value cut to an excerpt, and the whole message bounded."""
    shortened = _QUOTED.sub(_shorten_quoted, message)
    return excerpt(shortened, MESSAGE_CHARS)


class AccessDenied(Exception):
    """The verified caller may not read or change this; `code` is FORBIDDEN or UNAUTHENTICATED."""

    def __init__(self, message: str, code: str = "FORBIDDEN") -> None:
        super().__init__(message)
        self.code = code


def forbidden(claims: Claims, message: str) -> AccessDenied:
    """FORBIDDEN for a signed-in caller; UNAUTHENTICATED when nobody signed in at all."""
    if claims.anonymous:
        return AccessDenied(f"{message} Sign in first.", "UNAUTHENTICATED")
    return AccessDenied(message)


def client_error(error: GraphQLError, client_errors: tuple[type[Exception], ...], service: str,
                 request_id: str) -> dict[str, Any]:
    """The error as a client sees it: a client's mistake in its own words (shortened), anything else generic."""
    original = error.original_error
    formatted: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    if original is None or isinstance(original, (*client_errors, AccessDenied)):
        formatted["message"] = safe_message(error.message)
        if isinstance(original, AccessDenied):
            extensions["code"] = original.code
        elif original is not None:
            extensions["code"] = "BAD_USER_INPUT"
        elif error.extensions and isinstance(error.extensions.get("code"), str):
            extensions["code"] = error.extensions["code"]
    else:
        formatted["message"] = (
            f"Internal error in the {service} subgraph; it is logged under request id {request_id}."
        )
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = list(error.path)
    if extensions:
        formatted["extensions"] = extensions
    return formatted


_REQUEST_ID = re.compile(r"[!-~]{1,128}")


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """The request's id for logs and audit entries: the `rid` claim, else the `x-request-id` the
    gateway passed on (printable, at most 128 characters), else a new one."""
    if "govgraph.request_id" not in scope:
        chosen = claims_of(scope).request_id
        if not chosen:
            for name, value in scope.get("headers", ()):
                if name.lower() == b"x-request-id" and _REQUEST_ID.fullmatch(value.decode("latin-1")):
                    chosen = value.decode("latin-1")
        scope["govgraph.request_id"] = excerpt(chosen, 128) if chosen else uuid.uuid4().hex
    found: str = scope["govgraph.request_id"]
    return found


class SubgraphGraphQL(GraphQL[C, None], Generic[C]):
    """Strawberry's ASGI view whose answers carry only client-safe errors."""

    service = "subgraph"
    client_errors: tuple[type[Exception], ...] = ()

    async def process_result(
        self, request: Request | WebSocket, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = process_result(result)
        if result.errors:
            rid = request_id_of(request.scope)
            response["errors"] = [client_error(e, self.client_errors, self.service, rid) for e in result.errors]
        return response

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        # strawberry names an unknown operation name in a 400 reason; keep that to an excerpt too
        try:
            return await super().execute_operation(*args, **kwargs)
        except HTTPException as error:
            raise HTTPException(error.status_code, safe_message(error.reason)) from None

    def claims(self, request: Request | WebSocket, response: Response | WebSocket) -> Claims:
        return claims_of(request.scope)

    def request_id(self, request: Request | WebSocket) -> str:
        return request_id_of(request.scope)
