"""GraphQL over HTTP in front of the gateway engine.

A bare ASGI app rather than a framework: the hot path is one header scan, one JSON
decode, the engine, and one orjson encode, with nothing else allocated per request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qsl

import orjson

from gateway import ide, metrics
from gateway.auth import Authenticator, AuthError
from gateway.config import GatewayConfig, load_config
from gateway.cors import Cors
from gateway.exchange import Caller, Engine, GraphQLRequest, GraphQLResponse
from gateway.reload import Generation
from gateway.shedding import LoadShedder
from gateway.status_page import PAGE as STATUS_PAGE
from gateway.telemetry import RequestObservation

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger("govgraph.gateway.http")

GRAPHQL_PATH = "/graphql"
HEALTH_PATH = "/health"
READY_PATH = "/ready"
METRICS_PATH = "/metrics"
STATUS_PATH = "/status"
STATUS_JSON_PATH = "/status.json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
QUERY_PLAN_HEADER = "govgraph-query-plan"
# Content types a browser sends cross-site without a CORS preflight.
SIMPLE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
UTF8_CHARSETS = frozenset({"utf-8", "utf8"})

METRICS = "metrics"
HTML = "html"
TEXT_HTML = "text/html"
_CONTENT_TYPE = {
    TEXT_HTML: b"text/html; charset=utf-8",
    GRAPHQL_RESPONSE_JSON: b"application/graphql-response+json; charset=utf-8",
    APPLICATION_JSON: b"application/json; charset=utf-8",
    METRICS: metrics.CONTENT_TYPE.encode(),
    HTML: b"text/html; charset=utf-8",
}
REQUEST_ID_HEADER = "x-request-id"
# A client's request id is reused when it is this short and printable ASCII without spaces.
MAX_REQUEST_ID_LENGTH = 128
_HEALTH_BODY = {
    "ok": orjson.dumps({"status": "ok"}),
    "starting": orjson.dumps({"status": "starting"}),
    "stopping": orjson.dumps({"status": "stopping"}),
}


class HttpError(Exception):
    """A request refused before it reaches the engine; answered as a GraphQL error map."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers

    def body(self) -> bytes:
        """The error as a GraphQL response map, so clients read it like any other error."""
        return orjson.dumps(
            {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        )


class Service(Protocol):
    """Something that runs beside the app while it serves (started after the engine)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class GraphQLApp:
    """Routes `/graphql` to the engine and `/health` to the lifecycle state; 404 elsewhere."""

    def __init__(self, gateway: Engine, config: GatewayConfig, sdl: str = "") -> None:
        self.state = "starting"
        # started after the engine, stopped before it (e.g. the reloader)
        self.services: list[Service] = []
        self.install(Generation(gateway, config, sdl))

    @property
    def gateway(self) -> Engine:
        """The engine new requests go to."""
        return self.generation.engine

    @property
    def config(self) -> GatewayConfig:
        return self.generation.config

    def install(self, generation: Generation) -> Generation:
        """New requests go to `generation`; requests in flight finish on the one returned."""
        old = getattr(self, "generation", generation)
        config = generation.config
        self.authenticator = Authenticator(config.auth)  # first: it may refuse the new config
        self._max_body = config.max_body_bytes
        self._cors = Cors(config.cors) if config.cors.allow_origins else None
        shedder: LoadShedder | None = getattr(self, "shedder", None)
        if shedder is None or shedder.limit != config.max_requests_in_flight:
            # a reload keeps the count of requests in flight unless the limit changed
            self.shedder = LoadShedder(config.max_requests_in_flight)
        self._csrf_headers = (
            tuple(h.lower() for h in config.csrf_required_headers)
            if config.csrf_prevention
            else None
        )
        self.generation = generation
        return old

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if self._cors is not None:
                origin = _header(scope, b"origin")
                if origin is not None and scope["method"] == "OPTIONS":
                    status, headers = self._cors.preflight(_headers(scope))
                    await _respond(send, status, APPLICATION_JSON, b"", tuple(headers))
                    return
                send = self._cors.wrap(origin, send)
            if path == GRAPHQL_PATH and self.config.ide and scope["method"] == "GET":
                if ide.wants_page(_header(scope, b"accept"), scope["query_string"]):
                    await _respond(send, 200, TEXT_HTML, ide.page(GRAPHQL_PATH))
                    return
            if path.startswith(ide.IDE_PREFIX) and self.config.ide:
                await self._ide_asset(scope, send, path[len(ide.IDE_PREFIX) :])
                return
            if path == GRAPHQL_PATH:
                await self._admitted(scope, receive, send)
            elif path == HEALTH_PATH:
                await self._health(scope, send)
            elif path == READY_PATH:
                await self._ready(scope, send)
            elif path == METRICS_PATH:
                await self._metrics(scope, send)
            elif path == STATUS_PATH or path == STATUS_JSON_PATH:
                await self._status(scope, send, page=path == STATUS_PATH)
            else:
                error = HttpError(
                    404,
                    f"no route for {path!r}: GraphQL is served at {GRAPHQL_PATH}, liveness at "
                    f"{HEALTH_PATH}, readiness at {READY_PATH}, metrics at {METRICS_PATH} and "
                    f"the status page at {STATUS_PATH}",
                    "NOT_FOUND",
                )
                await _respond(send, error.status, APPLICATION_JSON, error.body())
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.gateway.startup()
                except Exception as exc:
                    logger.exception("gateway startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                for service in self.services:
                    await service.start()
                self.state = "ok"
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.state = "stopping"
                metrics.worker_exited(os.getpid())
                try:
                    for service in reversed(self.services):
                        await service.stop()
                    await self.gateway.shutdown()
                except Exception as exc:
                    logger.exception("gateway shutdown failed")
                    await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _health(self, scope: Scope, send: Send) -> None:
        if await _refuse_unless_get(scope, send):
            return
        status = 200 if self.state == "ok" else 503
        await _respond(send, status, APPLICATION_JSON, _HEALTH_BODY[self.state])

    async def _ide_asset(self, scope: Scope, send: Send, name: str) -> None:
        if await _refuse_unless_get(scope, send):
            return
        gzip_ok = "gzip" in (_header(scope, b"accept-encoding") or "")
        found = ide.asset(name, gzip_ok)
        if found is None:
            error = HttpError(404, f"no IDE asset {name[:80]!r}", "NOT_FOUND")
            await _respond(send, 404, APPLICATION_JSON, error.body())
            return
        body, content_type, gzipped = found
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"public, max-age=86400"),
            (b"vary", b"Accept-Encoding"),
        ]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _admitted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Past `max_requests_in_flight`, 503 at once: nothing read, parsed or planned."""
        shedder = self.shedder
        if not shedder.enter():
            refusal = shedder.refusal()
            request_id = _scope_request_id(scope) or uuid.uuid4().hex
            await _respond(
                send,
                503,
                APPLICATION_JSON,
                refusal.body,
                refusal.headers + _id_header(request_id),
            )
            return
        started = time.monotonic()
        try:
            await self._graphql(scope, receive, send)
        finally:
            shedder.leave(time.monotonic() - started)

    async def _ready(self, scope: Scope, send: Send) -> None:
        """200 when the subgraphs the readiness policy requires answer; 503 otherwise."""
        if await _refuse_unless_get(scope, send):
            return
        if self.state != "ok":
            await _respond(send, 503, APPLICATION_JSON, _HEALTH_BODY[self.state])
            return
        ready, subgraphs = await self.gateway.ready()
        body = {
            "status": "ready" if ready else "not_ready",
            "supergraph": self.gateway.telemetry.supergraph(),
            "subgraphs": subgraphs,
        }
        await _respond(send, 200 if ready else 503, APPLICATION_JSON, orjson.dumps(body))

    async def _status(self, scope: Scope, send: Send, page: bool) -> None:
        """The status page, or the data it draws; operators only in production."""
        if await _refuse_unless_get(scope, send):
            return
        if self.config.profile != "development":
            try:
                caller = await self._authenticate(_headers(scope))
                if caller.kind not in self.config.status_roles:
                    raise HttpError(
                        401 if not caller.authenticated else 403,
                        f"{scope['path']} is for operators: send a token or API key of a role "
                        f"in [status] roles ({', '.join(self.config.status_roles)})",
                        "UNAUTHENTICATED" if not caller.authenticated else "FORBIDDEN",
                    )
            except HttpError as error:
                await _respond(send, error.status, APPLICATION_JSON, error.body(), error.headers)
                return
        if page:
            await _respond(send, 200, HTML, STATUS_PAGE)
        else:
            body = orjson.dumps(self.gateway.telemetry.status())
            await _respond(send, 200, APPLICATION_JSON, body, _NO_STORE)

    async def _metrics(self, scope: Scope, send: Send) -> None:
        if await _refuse_unless_get(scope, send):
            return
        await _respond(send, 200, METRICS, metrics.exposition())

    async def _graphql(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Every answer carries `x-request-id`, and is observed (metrics, log, trace)."""
        headers = _headers(scope)
        request_id = _client_request_id(headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        observed = self.gateway.telemetry.request(scope["method"], headers, request_id)
        try:
            await self._answer(scope, receive, observed.wrap(send), headers, request_id, observed)
        finally:
            observed.finish()

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        request_id: str,
        observed: RequestObservation,
    ) -> None:
        """A failure the engine did not turn into a GraphQL error still becomes one, never a
        500."""
        media_type = APPLICATION_JSON
        try:
            method = scope["method"]
            if method not in ("GET", "POST"):
                raise HttpError(
                    405,
                    f"HTTP method {method} is not allowed on {GRAPHQL_PATH}; "
                    "use POST, or GET for queries",
                    "METHOD_NOT_ALLOWED",
                    ((b"allow", b"GET, POST"),),
                )
            media_type = negotiate(headers.get("accept"))
            caller = await self._authenticate(headers)
            if method == "POST":
                # Only application/json is accepted, which browsers always preflight:
                # CSRF is a concern of GET alone.
                _require_json_content_type(headers.get("content-type"))
                params = _post_params(await _read_body(headers, receive, self._max_body))
            else:
                self._prevent_csrf(headers)
                params = _get_params(scope["query_string"])
            request = GraphQLRequest(
                query=params.query,
                operation_name=params.operation_name,
                variables=params.variables,
                extensions=params.extensions,
                headers=headers,
                http_method=method,
                want_plan=self.config.expose_query_plan
                and headers.get(QUERY_PLAN_HEADER, "").strip().lower() == "true",
                request_id=request_id,
                client_address=_peer(scope),
                caller=caller,
            )
        except HttpError as error:
            await _respond(
                send, error.status, media_type, error.body(), error.headers + _id_header(request_id)
            )
            return
        except _ClientGone:
            return
        except Exception:
            logger.exception("request %s: unexpected failure reading a GraphQL request", request_id)
            await _respond(
                send, 200, media_type, _internal_error(request_id), _id_header(request_id)
            )
            return

        generation = self.generation
        generation.active += 1
        try:
            response = await generation.engine.execute(request)
            body = orjson.dumps(response.body)
        except Exception:
            logger.exception(
                "request %s: unexpected failure executing operation %r",
                request_id,
                request.operation_name,
            )
            await _respond(
                send, 200, media_type, _internal_error(request_id), _id_header(request_id)
            )
            return
        finally:
            generation.leave()
        status = _status(response, media_type)
        observed.response = response
        extra = status.headers + _id_header(request_id)
        if response.headers:
            extra += tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers)
        await _respond(send, status.code, media_type, body, extra)

    async def _authenticate(self, headers: Mapping[str, str]) -> Caller:
        """The verified caller; bad credentials end the request here, before any work.
        A key set fetched from a URL may need the network: that is done off the event loop."""
        try:
            if self.authenticator.fetches_keys and headers.get(self.config.auth.jwt_header):
                return await asyncio.to_thread(self.authenticator.caller, headers)
            return self.authenticator.caller(headers)
        except AuthError as exc:
            challenge = ((b"www-authenticate", b'Bearer error="invalid_token"'),)
            raise HttpError(
                exc.status, str(exc), exc.code, challenge if exc.status == 401 else ()
            ) from None

    def _prevent_csrf(self, headers: Mapping[str, str]) -> None:
        """Only a request that forces a CORS preflight may execute (as Apollo Router does)."""
        required = self._csrf_headers
        if required is None:
            return
        content_type = headers.get("content-type")
        if content_type is not None and _essence(content_type) not in SIMPLE_CONTENT_TYPES:
            return
        for name in required:
            if headers.get(name):
                return
        raise HttpError(
            400,
            "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
            "Send a 'content-type' header that is not one of "
            f"{', '.join(sorted(SIMPLE_CONTENT_TYPES))}, or a non-empty value for one of "
            f"these headers: {', '.join(required)}",
            "CSRF_PREVENTED",
        )


def create_app(gateway: Engine, config: GatewayConfig, sdl: str = "") -> GraphQLApp:
    """The ASGI app serving `gateway` (built from `sdl`); uvicorn drives its lifespan."""
    return GraphQLApp(gateway, config, sdl)


def app_from_environment() -> GraphQLApp:
    """uvicorn worker factory for `--workers N`: each worker builds its own engine.

    `govgraph gateway` sets GOVGRAPH_SUPERGRAPH (a source it already validated) and
    GOVGRAPH_CONFIG (the configuration file, if any) before starting the workers.
    """
    from gateway.reload import Generation, Reloader

    # until the reloader handles it, a SIGHUP must not end this worker (it reads the files next)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    from gateway.engine import Gateway as EngineGateway

    engines: list[EngineGateway] = []

    def build(sdl: str | None) -> Generation:
        from gateway.supergraph_source import load_supergraph

        config = load_config(os.environ.get("GOVGRAPH_CONFIG") or None)
        source = os.environ.get("GOVGRAPH_SUPERGRAPH") or config.supergraph
        if not source:
            raise RuntimeError("GOVGRAPH_SUPERGRAPH is not set: no supergraph to serve")
        config.supergraph = source
        sdl = load_supergraph(source) if sdl is None else sdl
        # the first engine's telemetry goes on in every engine after it
        engine = EngineGateway(sdl, config, engines[0].telemetry if engines else None)
        engines[:] = engines[:1] or [engine]
        return Generation(engine, config, sdl)

    first = build(None)
    app = create_app(first.engine, first.config, first.sdl)
    assert first.config.supergraph is not None
    app.services.append(Reloader(app, build, first.config.supergraph))
    return app


async def _refuse_unless_get(scope: Scope, send: Send) -> bool:
    """Answer 405 to anything but GET or HEAD on an operator's endpoint."""
    if scope["method"] in ("GET", "HEAD"):
        return False
    error = HttpError(
        405,
        f"HTTP method {scope['method']} is not allowed on {scope['path']}; use GET",
        "METHOD_NOT_ALLOWED",
        ((b"allow", b"GET, HEAD"),),
    )
    await _respond(send, error.status, APPLICATION_JSON, error.body(), error.headers)
    return True


def _client_request_id(value: str | None) -> str | None:
    """The client's request id, when it is safe to log and echo."""
    if (
        value
        and len(value) <= MAX_REQUEST_ID_LENGTH
        and value.isascii()
        and value.isprintable()
        and " " not in value
    ):
        return value
    return None


def _scope_request_id(scope: Scope) -> str | None:
    """The client's request id, read without decoding the other headers."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return _client_request_id(value.decode("latin-1"))
    return None


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _id_header(request_id: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"x-request-id", request_id.encode("ascii")),)


def _internal_error(request_id: str) -> bytes:
    """Like the engine's own: the code and the request id the traceback is logged under."""
    message = (
        f"The gateway failed while answering this request; the failure is logged "
        f"under request id {request_id}."
    )
    extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    return orjson.dumps({"data": None, "errors": [{"message": message, "extensions": extensions}]})


class _ClientGone(Exception):
    """The client disconnected while sending its body: there is no one to answer."""


def _header(scope: Scope, name: bytes) -> str | None:
    """One request header (the first, when repeated), without building the whole map."""
    for raw_name, value in scope["headers"]:
        if raw_name == name:
            return str(value.decode("latin-1"))
    return None


def _headers(scope: Scope) -> dict[str, str]:
    """Lower-cased names (ASGI already lower-cases); repeated headers joined as HTTP allows."""
    raw = scope["headers"]
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
    if len(headers) == len(raw):
        return headers
    headers = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _essence(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


@lru_cache(maxsize=512)
def negotiate(accept: str | None) -> str:
    """Pick the response media type from an Accept header, or raise 406.

    `application/graphql-response+json` when the client names it; `application/json`
    for wildcards and for clients that send no Accept (the spec's legacy behaviour).
    """
    if not accept:
        return APPLICATION_JSON
    exact: dict[str, float] = {}
    wildcard = -1.0
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if media in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON):
            exact[media] = max(exact.get(media, -1.0), q)
        elif media in ("*/*", "application/*"):
            wildcard = max(wildcard, q)
    graphql_q = exact.get(GRAPHQL_RESPONSE_JSON, wildcard)
    json_q = exact.get(APPLICATION_JSON, wildcard)
    if GRAPHQL_RESPONSE_JSON in exact and graphql_q > 0 and graphql_q >= json_q:
        return GRAPHQL_RESPONSE_JSON
    if json_q > 0:
        return APPLICATION_JSON
    if graphql_q > 0:
        return GRAPHQL_RESPONSE_JSON
    raise HttpError(
        406,
        f"Accept header {accept!r} allows neither {GRAPHQL_RESPONSE_JSON} nor {APPLICATION_JSON}",
        "NOT_ACCEPTABLE",
    )


@lru_cache(maxsize=64)
def _require_json_content_type(content_type: str | None) -> None:
    if content_type is None:
        raise HttpError(
            415,
            f"a POST request needs a Content-Type header: send the body as {APPLICATION_JSON}",
            "UNSUPPORTED_MEDIA_TYPE",
        )
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media != APPLICATION_JSON:
        raise HttpError(
            415,
            f"Content-Type {media or content_type!r} is not supported: send the "
            f"body as {APPLICATION_JSON}",
            "UNSUPPORTED_MEDIA_TYPE",
        )
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
            if charset not in UTF8_CHARSETS:
                raise HttpError(
                    415,
                    f"charset {charset!r} is not supported: encode the body as utf-8",
                    "UNSUPPORTED_MEDIA_TYPE",
                )


async def _read_body(headers: Mapping[str, str], receive: Receive, limit: int) -> bytes:
    """Read the body, refusing as soon as it is known to exceed `limit` bytes."""
    declared = headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise HttpError(400, f"Content-Length {declared!r} is not a number") from None
        if length > limit:
            raise HttpError(
                413,
                f"request body of {length} bytes exceeds the limit of {limit} bytes",
                "PAYLOAD_TOO_LARGE",
                _CLOSE,
            )
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > limit:
            raise _too_large(limit)
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


_NO_STORE = ((b"cache-control", b"no-store"),)

# The unread rest of a refused body is not worth receiving: end the connection.
_CLOSE = ((b"connection", b"close"),)


def _too_large(limit: int) -> HttpError:
    return HttpError(
        413, f"request body exceeds the limit of {limit} bytes", "PAYLOAD_TOO_LARGE", _CLOSE
    )


@dataclass(frozen=True, slots=True)
class Params:
    """The GraphQL-over-HTTP request parameters, each of the JSON type the spec names."""

    query: str | None  # None only when a persisted-query extension may stand in for it
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None


def _post_params(body: bytes) -> Params:
    if not body.strip():
        raise HttpError(400, 'request body is empty: send a JSON object with a "query" string')
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise HttpError(
            400,
            f'request body must be a JSON object with a "query" string, got {_describe(document)}',
        )
    return _checked(
        document.get("query"),
        document.get("operationName"),
        document.get("variables"),
        document.get("extensions"),
    )


def _get_params(query_string: bytes) -> Params:
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise HttpError(400, "the URL query string is not valid percent-encoded UTF-8") from None
    params = dict(pairs)
    return _checked(
        params.get("query"),
        params.get("operationName") or None,
        _json_param(params, "variables"),
        _json_param(params, "extensions"),
    )


def _json_param(params: Mapping[str, str], name: str) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HttpError(
            400, f'the "{name}" parameter is not valid JSON ({exc}): got {_clip(raw)}'
        ) from None


def _checked(query: Any, operation_name: Any, variables: Any, extensions: Any) -> Params:
    if extensions is not None and not isinstance(extensions, dict):
        raise HttpError(
            400, f'the "extensions" parameter must be a JSON object, got {_describe(extensions)}'
        )
    if query is None:
        # A persisted-query hash may stand in for the text; the engine resolves it.
        if not (extensions and "persistedQuery" in extensions):
            raise HttpError(
                400,
                'the "query" parameter is missing: send the operation text as a string in "query"',
            )
    elif not isinstance(query, str):
        raise HttpError(400, f'the "query" parameter must be a string, got {_describe(query)}')
    if operation_name is not None and not isinstance(operation_name, str):
        raise HttpError(
            400, f'the "operationName" parameter must be a string, got {_describe(operation_name)}'
        )
    if variables is not None and not isinstance(variables, dict):
        raise HttpError(
            400, f'the "variables" parameter must be a JSON object, got {_describe(variables)}'
        )
    return Params(query, operation_name, variables, extensions)


_JSON_TYPE = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


def _describe(value: Any) -> str:
    kind = _JSON_TYPE.get(type(value), type(value).__name__)
    try:
        return f"{kind} {_clip(orjson.dumps(value).decode())}"
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        return kind


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True, slots=True)
class _Status:
    """An HTTP status and the headers that go with it (`allow` with a 405)."""

    code: int
    headers: tuple[tuple[bytes, bytes], ...] = ()


_OK = _Status(200)
_BAD_REQUEST = _Status(400)
_POST_ONLY = _Status(405, ((b"allow", b"POST"),))


def _status(response: GraphQLResponse, media_type: str) -> _Status:
    if response.http_status is not None:
        if response.http_status == 405:
            return _POST_ONLY
        return _Status(response.http_status)
    if response.request_error and media_type == GRAPHQL_RESPONSE_JSON:
        return _BAD_REQUEST
    return _OK


async def _respond(
    send: Send,
    status: int,
    media_type: str,
    body: bytes,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    headers = [
        (b"content-type", _CONTENT_TYPE[media_type]),
        (b"content-length", str(len(body)).encode()),
    ]
    headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
