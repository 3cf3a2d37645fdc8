"""GraphQL over HTTP status codes, media types and request checks of the gateway's ASGI app.

The engine is replaced by a small fake with the `gateway.exchange.Engine` interface, so
these tests pin the HTTP layer alone; the ASGI app is driven directly, message by message.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from gateway.config import GatewayConfig
from gateway.exchange import GraphQLRequest, GraphQLResponse
from gateway.server import create_app
from gateway.telemetry import Telemetry

GQL = "application/graphql-response+json"
JSON = "application/json"


class FakeGateway:
    """Answers like the engine: request errors for `{`, 405 for a mutation over GET."""

    def __init__(self) -> None:
        self.requests: list[GraphQLRequest] = []
        self.calls: list[str] = []
        self.telemetry = Telemetry(GatewayConfig())

    async def startup(self) -> None:
        self.calls.append("startup")

    async def shutdown(self) -> None:
        self.calls.append("shutdown")

    async def execute(self, request: GraphQLRequest) -> GraphQLResponse:
        self.requests.append(request)
        query = request.query or ""
        if query == "{":
            return GraphQLResponse({"errors": [{"message": "Syntax Error: Expected Name"}]},
                                   request_error=True)
        if query.startswith("mutation") and request.http_method == "GET":
            return GraphQLResponse({"errors": [{"message": "mutations need POST"}]},
                                   request_error=True, http_status=405)
        if query == "{ boom }":
            raise RuntimeError("database password is hunter2")
        body: dict[str, Any] = {"data": {"echo": query, "variables": request.variables}}
        if request.want_plan:
            body["extensions"] = {"queryPlan": "QueryPlan { Fetch(service: \"a\") { { x } } }"}
        return GraphQLResponse(body)

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        return True, {}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    chunks_read: int = 0

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def media_type(self) -> str:
        return self.headers["content-type"].split(";")[0]

    @property
    def message(self) -> str:
        return self.json["errors"][0]["message"]


@dataclass
class Client:
    gateway: FakeGateway = field(default_factory=FakeGateway)
    config: GatewayConfig = field(default_factory=GatewayConfig)

    def __post_init__(self) -> None:
        self.app = create_app(self.gateway, self.config)  # type: ignore[arg-type]

    def request(self, method: str, path: str = "/graphql", *, headers: dict[str, str] | None = None,
                body: bytes = b"", chunks: list[bytes] | None = None,
                query_string: str = "") -> Reply:
        return asyncio.run(self._request(method, path, headers or {}, chunks or [body],
                                         query_string))

    def post(self, payload: Any, *, accept: str | None = GQL,
             content_type: str | None = JSON, headers: dict[str, str] | None = None) -> Reply:
        all_headers = dict(headers or {})
        if accept is not None:
            all_headers["accept"] = accept
        if content_type is not None:
            all_headers["content-type"] = content_type
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return self.request("POST", headers=all_headers, body=body)

    def get(self, params: dict[str, str], headers: dict[str, str] | None = None) -> Reply:
        all_headers = {"apollo-require-preflight": "true", "accept": GQL}
        all_headers.update(headers or {})
        return self.request("GET", headers=all_headers, query_string=urlencode(params))

    async def _request(self, method: str, path: str,
                       headers: dict[str, str] | list[tuple[str, str]],
                       chunks: list[bytes], query_string: str) -> Reply:
        scope = {
            "type": "http", "method": method, "path": path,
            "query_string": query_string.encode(),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in (headers.items() if isinstance(headers, dict) else headers)],
        }
        pending = list(chunks)
        read = 0

        async def receive() -> dict[str, Any]:
            nonlocal read
            if not pending:
                return {"type": "http.disconnect"}
            read += 1
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start, body = sent[0], sent[1]
        assert start["type"] == "http.response.start"
        response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
        assert int(response_headers["content-length"]) == len(body["body"])
        return Reply(start["status"], response_headers, body["body"], read)


@pytest.fixture
def client() -> Client:
    return Client()


def test_post_answers_graphql_response_json_when_the_client_accepts_it(client: Client) -> None:
    reply = client.post({"query": "{ __typename }"})
    assert reply.status == 200
    assert reply.headers["content-type"] == f"{GQL}; charset=utf-8"
    assert reply.json == {"data": {"echo": "{ __typename }", "variables": None}}


@pytest.mark.parametrize("accept", [JSON, "*/*", "application/*", None, ""])
def test_post_answers_application_json_for_legacy_or_wildcard_accept(
        client: Client, accept: str | None) -> None:
    reply = client.post({"query": "{ __typename }"}, accept=accept)
    assert reply.status == 200
    assert reply.headers["content-type"] == f"{JSON}; charset=utf-8"


@pytest.mark.parametrize("accept,expected", [
    (f"{JSON}, {GQL}", GQL),
    (f"{GQL};q=0.5, {JSON}", JSON),
    (f"{JSON};q=0, */*", GQL),
    (f"text/html, {GQL};charset=utf-8", GQL),
])
def test_accept_negotiation_honours_quality_values(client: Client, accept: str,
                                                   expected: str) -> None:
    assert client.post({"query": "{ x }"}, accept=accept).media_type == expected


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/*", f"{GQL};q=0"])
def test_unacceptable_accept_header_is_406(client: Client, accept: str) -> None:
    reply = client.post({"query": "{ x }"}, accept=accept)
    assert reply.status == 406
    assert accept in reply.message
    assert client.gateway.requests == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/graphql", "multipart/form-data"])
def test_unsupported_request_content_type_is_415(client: Client, content_type: str) -> None:
    reply = client.post({"query": "{ x }"}, content_type=content_type)
    assert reply.status == 415
    assert content_type in reply.message
    assert client.gateway.requests == []


def test_post_without_content_type_is_415(client: Client) -> None:
    reply = client.post({"query": "{ x }"}, content_type=None)
    assert reply.status == 415
    assert "Content-Type" in reply.message


def test_non_utf8_charset_is_415_and_utf8_is_accepted(client: Client) -> None:
    refused = client.post({"query": "{ x }"}, content_type=f"{JSON}; charset=iso-8859-1")
    assert refused.status == 415
    assert "iso-8859-1" in refused.message
    accepted = client.post({"query": '{ __type(name: "Run🏃Swim🏊") { name } }'},
                           content_type=f"{JSON}; charset=UTF-8")
    assert accepted.status == 200
    assert accepted.json["data"]["echo"] == '{ __type(name: "Run🏃Swim🏊") { name } }'
    assert accepted.body.decode("utf-8")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_other_methods_are_405_with_allow(client: Client, method: str) -> None:
    reply = client.request(method, headers={"content-type": JSON})
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, POST"
    assert method in reply.message


def test_mutation_over_get_is_405_allowing_post(client: Client) -> None:
    reply = client.get({"query": "mutation { submit }"})
    assert reply.status == 405
    assert reply.headers["allow"] == "POST"
    assert client.gateway.requests[0].http_method == "GET"


def test_request_error_is_400_under_graphql_response_json(client: Client) -> None:
    reply = client.post({"query": "{"})
    assert reply.status == 400
    assert "data" not in reply.json
    assert reply.message.startswith("Syntax Error")


def test_request_error_is_200_under_legacy_application_json(client: Client) -> None:
    reply = client.post({"query": "{"}, accept=JSON)
    assert reply.status == 200
    assert reply.message.startswith("Syntax Error")


@pytest.mark.parametrize("body,fragment", [
    (b'{ "not a JSON', "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
    (b"", "body is empty"),
    (b"[1, 2]", "must be a JSON object"),
    (b'"query"', "must be a JSON object"),
    (b'{"qeury": "{ x }"}', '"query" parameter is missing'),
    (b'{"query": {"obj": "ect"}}', 'the "query" parameter must be a string, got object {"obj":"ect"}'),
    (b'{"query": 0}', '"query" parameter must be a string, got number 0'),
    (b'{"query": false}', '"query" parameter must be a string, got boolean false'),
    (b'{"query": ["array"]}', '"query" parameter must be a string, got array ["array"]'),
    (b'{"query": "{ x }", "operationName": 7}', '"operationName" parameter must be a string'),
    (b'{"query": "{ x }", "variables": "string"}', '"variables" parameter must be a JSON object, got string "string"'),
    (b'{"query": "{ x }", "variables": [1]}', '"variables" parameter must be a JSON object'),
    (b'{"query": "{ x }", "extensions": false}', '"extensions" parameter must be a JSON object, got boolean false'),
])
@pytest.mark.parametrize("accept", [GQL, JSON])
def test_malformed_request_is_400_naming_the_problem(client: Client, body: bytes, fragment: str,
                                                     accept: str) -> None:
    reply = client.post(body, accept=accept)
    assert reply.status == 400
    assert reply.media_type == accept
    assert fragment in reply.message
    assert reply.json["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert client.gateway.requests == []


def test_deeply_nested_parameter_is_a_clean_400(client: Client) -> None:
    reply = client.post(b'{"query": ' + b"[" * 600 + b"]" * 600 + b"}")
    assert reply.status == 400
    assert reply.message == 'the "query" parameter must be a string, got array'


def test_null_optional_parameters_are_allowed(client: Client) -> None:
    reply = client.post({"query": "{ x }", "operationName": None, "variables": None,
                         "extensions": None})
    assert reply.status == 200
    request = client.gateway.requests[0]
    assert (request.operation_name, request.variables, request.extensions) == (None, None, None)


def test_parameters_reach_the_engine(client: Client) -> None:
    reply = client.post({"query": "query Q($a: Int) { x(a: $a) }", "operationName": "Q",
                         "variables": {"a": 1}, "extensions": {"some": "value"}},
                        headers={"X-Request-Id": "r-1", "X-Portal-Session": "s-1"})
    assert reply.status == 200
    request = client.gateway.requests[0]
    assert request.operation_name == "Q"
    assert request.variables == {"a": 1}
    assert request.extensions == {"some": "value"}
    assert request.http_method == "POST"
    assert request.headers["x-request-id"] == "r-1"
    assert request.headers["x-portal-session"] == "s-1"


def test_repeated_headers_reach_the_engine_joined(client: Client) -> None:
    body = orjson.dumps({"query": "{ x }"})
    reply = asyncio.run(client._request(
        "POST", "/graphql", [("content-type", JSON), ("x-forwarded-for", "10.0.0.1"),
                             ("X-Forwarded-For", "10.0.0.2")], [body], ""))
    assert reply.status == 200
    assert client.gateway.requests[0].headers["x-forwarded-for"] == "10.0.0.1, 10.0.0.2"


def test_persisted_query_hash_may_stand_in_for_the_query_text(client: Client) -> None:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}
    reply = client.post({"extensions": extensions})
    assert reply.status == 200
    assert client.gateway.requests[0].query is None
    assert client.gateway.requests[0].extensions == extensions


def test_body_over_the_declared_limit_is_413_without_reading_it() -> None:
    client = Client(config=GatewayConfig(max_body_bytes=100))
    reply = client.request("POST", headers={"content-type": JSON, "content-length": "5000"},
                           chunks=[b"x" * 1000] * 5)
    assert reply.status == 413
    assert reply.chunks_read == 0
    assert reply.headers["connection"] == "close"
    assert "5000 bytes exceeds the limit of 100 bytes" in reply.message


def test_streamed_body_over_the_limit_is_413_as_soon_as_it_exceeds() -> None:
    client = Client(config=GatewayConfig(max_body_bytes=100))
    reply = client.request("POST", headers={"content-type": JSON}, chunks=[b" " * 60] * 10)
    assert reply.status == 413
    assert reply.chunks_read == 2
    assert client.gateway.requests == []


def test_body_at_the_limit_is_accepted() -> None:
    body = orjson.dumps({"query": "{ x }"})
    client = Client(config=GatewayConfig(max_body_bytes=len(body)))
    reply = client.request("POST", headers={"content-type": JSON},
                           chunks=[body[:5], body[5:]])
    assert reply.status == 200


def test_get_reads_json_encoded_variables_and_extensions(client: Client) -> None:
    reply = client.get({"query": "query Q($n: String!) { t(n: $n) }", "operationName": "Q",
                        "variables": '{"n": "some"}', "extensions": '{"k": 1}'})
    assert reply.status == 200
    request = client.gateway.requests[0]
    assert (request.http_method, request.operation_name) == ("GET", "Q")
    assert request.variables == {"n": "some"}
    assert request.extensions == {"k": 1}


@pytest.mark.parametrize("params,fragment", [
    ({"query": "{ x }", "variables": "{nope"}, '"variables" parameter is not valid JSON'),
    ({"query": "{ x }", "variables": "[1]"}, '"variables" parameter must be a JSON object'),
    ({"query": "{ x }", "extensions": "3"}, '"extensions" parameter must be a JSON object'),
    ({"operationName": "Q"}, '"query" parameter is missing'),
])
def test_get_with_bad_parameters_is_400(client: Client, params: dict[str, str],
                                        fragment: str) -> None:
    reply = client.get(params)
    assert reply.status == 400
    assert fragment in reply.message


def test_get_without_a_preflight_header_is_blocked_as_csrf(client: Client) -> None:
    reply = client.request("GET", headers={"accept": GQL}, query_string="query=%7B+x+%7D")
    assert reply.status == 400
    assert "Cross-Site Request Forgery" in reply.message
    assert "apollo-require-preflight" in reply.message
    assert client.gateway.requests == []


@pytest.mark.parametrize("headers", [
    {"apollo-require-preflight": "true"},
    {"x-apollo-operation-name": "Q"},
    {"graphql-require-preflight": "1"},
    {"content-type": JSON},
])
def test_get_that_forces_a_preflight_is_executed(client: Client,
                                                 headers: dict[str, str]) -> None:
    reply = client.request("GET", headers=headers, query_string="query=%7B+x+%7D")
    assert reply.status == 200
    assert reply.json["data"]["echo"] == "{ x }"


@pytest.mark.parametrize("headers", [
    {"apollo-require-preflight": ""},
    {"content-type": "text/plain"},
])
def test_simple_get_headers_do_not_satisfy_csrf(client: Client, headers: dict[str, str]) -> None:
    reply = client.request("GET", headers=headers, query_string="query=%7B+x+%7D")
    assert reply.status == 400


def test_csrf_prevention_can_be_switched_off() -> None:
    client = Client(config=GatewayConfig(csrf_prevention=False))
    reply = client.request("GET", query_string="query=%7B+x+%7D")
    assert reply.status == 200
    assert reply.media_type == JSON


def test_custom_csrf_header_replaces_the_defaults() -> None:
    client = Client(config=GatewayConfig(csrf_required_headers=["x-portal-csrf"]))
    assert client.request("GET", headers={"x-portal-csrf": "1"},
                          query_string="query=%7B+x+%7D").status == 200
    assert client.request("GET", headers={"apollo-require-preflight": "1"},
                          query_string="query=%7B+x+%7D").status == 400


def test_query_plan_header_asks_the_engine_for_the_plan() -> None:
    client = Client(config=GatewayConfig(expose_query_plan=True))
    reply = client.post({"query": "{ x }"}, headers={"govgraph-query-plan": "true"})
    assert client.gateway.requests[0].want_plan is True
    assert reply.json["extensions"]["queryPlan"].startswith("QueryPlan {")
    client.post({"query": "{ x }"})
    assert client.gateway.requests[1].want_plan is False


def test_query_plan_is_not_requested_when_not_exposed() -> None:
    client = Client(config=GatewayConfig(expose_query_plan=False))
    reply = client.post({"query": "{ x }"}, headers={"govgraph-query-plan": "true"})
    assert client.gateway.requests[0].want_plan is False
    assert "extensions" not in reply.json


def test_unexpected_engine_failure_is_a_coded_error_with_a_request_id_and_is_logged(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="govgraph.gateway.http"):
        reply = client.post({"query": "{ boom }"})
    assert reply.status == 200
    request_id = reply.headers["x-request-id"]
    assert reply.json["data"] is None
    assert reply.json["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR",
                                                     "requestId": request_id}
    assert b"hunter2" not in reply.body and b"RuntimeError" not in reply.body
    assert any(request_id in r.getMessage() and "hunter2" in (r.exc_text or "")
               for r in caplog.records)


def test_unknown_path_is_404(client: Client) -> None:
    reply = client.request("GET", "/graphiql")
    assert reply.status == 404
    assert "/graphiql" in reply.message


def test_health_follows_the_lifespan(client: Client) -> None:
    assert client.request("GET", "/health").status == 503

    async def lifespan(app: Any) -> list[dict[str, Any]]:
        events = asyncio.Queue[dict[str, Any]]()
        await events.put({"type": "lifespan.startup"})
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        running = asyncio.create_task(app({"type": "lifespan"}, events.get, send))
        while not sent:
            await asyncio.sleep(0)
        sent.append({"health": (await client._request("GET", "/health", {}, [b""], "")).json})
        await events.put({"type": "lifespan.shutdown"})
        await running
        sent.append({"health": (await client._request("GET", "/health", {}, [b""], "")).status})
        return sent

    sent = asyncio.run(lifespan(client.app))
    assert sent == [{"type": "lifespan.startup.complete"}, {"health": {"status": "ok"}},
                    {"type": "lifespan.shutdown.complete"}, {"health": 503}]
    assert client.gateway.calls == ["startup", "shutdown"]


def test_failed_engine_startup_fails_the_lifespan() -> None:
    class BrokenGateway(FakeGateway):
        async def startup(self) -> None:
            raise ConnectionError("cannot open the upstream session")

    client = Client(gateway=BrokenGateway())
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(client.app({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.failed",
                     "message": "cannot open the upstream session"}]
    assert client.request("GET", "/health").status == 503
