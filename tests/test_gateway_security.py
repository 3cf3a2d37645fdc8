"""Authentication, authorization directives, signed claims, introspection and limits of
`govgraph gateway`, as a real process in front of a real (tiny) subgraph over HTTP.

The subgraph executes what it is sent with graphql-core and records each request's
query and headers, so a test sees both what the client got and what reached the
subgraph (an unauthorized field must not).
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from audit.live_stack import Process, free_port, govgraph_command, http, post_graphql
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from graphql import build_client_schema, build_schema, get_introspection_query, graphql_sync

HMAC_SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123456789"
INTERNAL_SECRET = "the-gateway-signs-subgraph-claims-with-this-secret-0123"
ISSUER = "https://identity.example.test"
AUDIENCE = "govgraph-test"

SUBGRAPH_SDL = """
type Query {
  halls: [Hall!]!
  me: Person
  secret: String!
  auditLog: [String!]
  sharedRecord: String
  items(first: Int): [Item!]!
  boom(input: String): String
  nodes: [Node!]!
}
interface Node { id: ID! }
type Hall implements Node { id: ID! name: String! phone: String }
type Person implements Node { id: ID! name: String! }
type Item { id: ID! }
"""
SUBGRAPH_SCHEMA = build_schema(SUBGRAPH_SDL)
ROOT = {
    "halls": [{"id": "h1", "name": "Hall One", "phone": "020-1234"},
              {"id": "h2", "name": "Hall Two", "phone": "020-5678"}],
    "me": {"id": "p1", "name": "Person One"},
    "secret": "s3cret",
    "auditLog": ["entry-1"],
    "sharedRecord": "record-1",
    "items": [{"id": "i1"}],
    "nodes": [{"__typename": "Hall", "id": "h1", "name": "Hall One"},
              {"__typename": "Person", "id": "p1", "name": "Person One"}],
    "boom": lambda info, input=None: _boom(input),
}


def _boom(text: str | None) -> None:
    raise ValueError(f"cannot store {text!r}: /srv/provincial/app.py line 12, "
                     "SELECT * FROM applications")

SUPERGRAPH = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", import: [{name: "@authenticated", as: "@signedIn"}], for: SECURITY)
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", import: ["@requiresScopes"], for: SECURITY)
  @link(url: "https://specs.apollo.dev/policy/v0.1", import: ["@policy"], for: SECURITY)
  @link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@cost", "@listSize"])
{ query: Query }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet,
  type: String, external: Boolean, override: String, usedOverridden: Boolean)
  repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!)
  repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false)
  repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import])
  repeatable on SCHEMA
directive @signedIn on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!)
  on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @policy(policies: [[policy__Policy!]!]!)
  on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],
  requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
scalar join__FieldSet
scalar link__Import
scalar requiresScopes__Scope
scalar policy__Policy
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { HALLS @join__graph(name: "halls", url: "URL") }
type Query @join__type(graph: HALLS) {
  halls: [Hall!]! @listSize(assumedSize: 20)
  me: Person
  secret: String! @signedIn
  auditLog: [String!] @requiresScopes(scopes: [["auditor"]])
  sharedRecord: String @policy(policies: [["shared-data"]])
  items(first: Int): [Item!]! @listSize(slicingArguments: ["first"]) @cost(weight: 5)
  boom(input: String): String
  nodes: [Node!]!
}
interface Node @join__type(graph: HALLS) { id: ID! }
type Hall implements Node @join__type(graph: HALLS) @join__implements(graph: HALLS, interface: "Node") {
  id: ID!
  name: String!
  phone: String @requiresScopes(scopes: [["officer"], ["auditor", "phone:read"]])
}
type Person implements Node @join__type(graph: HALLS) @join__implements(graph: HALLS, interface: "Node")
  @signedIn { id: ID! name: String! }
type Item @join__type(graph: HALLS) { id: ID! }
"""


@dataclass
class Recorded:
    queries: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.queries.clear()
            self.headers.clear()


def _subgraph(recorded: Recorded) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            payload = json.loads(self.rfile.read(int(self.headers["content-length"])))
            with recorded.lock:
                recorded.queries.append(payload["query"])
                recorded.headers.append({k.lower(): v for k, v in self.headers.items()})
            result = graphql_sync(SUBGRAPH_SCHEMA, payload["query"], root_value=ROOT,
                                  variable_values=payload.get("variables"))
            answer: dict[str, Any] = {"data": result.data}
            if result.errors:
                answer["errors"] = [{**e.formatted, "extensions": {
                    "code": "INTERNAL_ERROR", "stacktrace": ["File /srv/provincial/app.py"]}}
                    for e in result.errors]
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Keys:
    rsa_private: Any
    ec_private: Any
    jwks_rsa_private: Any


@dataclass
class Stack:
    url: str
    recorded: Recorded
    keys: Keys
    process: Process
    api_key: str

    def post(self, query: str, headers: dict[str, str] | None = None,
             variables: dict[str, Any] | None = None) -> Any:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        return post_graphql(self.url, payload, headers)


def _pem_public(private: Any) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def _start(tmp: Path, recorded: Recorded, keys: Keys, gateway: dict[str, Any] | None = None,
           profile: str | None = None, tables: str = "") -> Stack:
    server = _subgraph(recorded)
    supergraph = tmp / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH.replace(
        "URL", f"http://127.0.0.1:{server.server_address[1]}/graphql"), encoding="utf-8")
    (tmp / "hmac.key").write_text(HMAC_SECRET)
    (tmp / "internal.key").write_text(INTERNAL_SECRET)
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(keys.ec_private.public_key()))
    jwk.update(kid="ec-1", alg="ES256")
    jwk_rsa = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(keys.jwks_rsa_private.public_key()))
    jwk_rsa.update(kid="rsa-1", alg="RS256")
    (tmp / "jwks.json").write_text(json.dumps({"keys": [jwk, jwk_rsa]}))
    api_key = "demo-api-key-0123456789"
    import hashlib
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    settings = {"max_aliases": 10, "max_root_fields": 5, "max_cost": 500, "max_fetches": 50,
                **(gateway or {})}
    table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    config = tmp / "govgraph.toml"
    config.write_text(f"""
[gateway]
{table}

[auth]
jwks_file = "jwks.json"
algorithms = ["ES256", "RS256"]
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
internal_key_file = "internal.key"
purposes = ["licence-verification"]

[auth.api_keys.portal-aggregator]
sha256 = "{digest}"

[auth.policies.shared-data]
kinds = ["officer"]
purpose = true
{tables.replace("URL", f"http://127.0.0.1:{server.server_address[1]}/graphql")}
""", encoding="utf-8")
    port = free_port()
    args = ["gateway", "--supergraph", str(supergraph), "--config", str(config),
            "--port", str(port)]
    if profile:
        args += ["--profile", profile]
    process = Process(govgraph_command(*args))
    process.wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health",
                                    timeout_s=2).status == 200, "healthy /health")
    return Stack(f"http://127.0.0.1:{port}/graphql", recorded, keys, process, api_key)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                ec.generate_private_key(ec.SECP256R1()),
                rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[Stack]:
    started = _start(tmp_path_factory.mktemp("security"), Recorded(), keys)
    try:
        yield started
    finally:
        started.process.stop()


def token(keys: Keys, *, role: str = "citizen", lifetime: int = 600, kid: str = "ec-1",
          **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + lifetime,
                            "role": role, "sub": f"{role}-1"}
    body.update(claims)
    if kid == "rsa-1":
        return jwt.encode(body, keys.jwks_rsa_private, algorithm="RS256", headers={"kid": kid})
    return jwt.encode(body, keys.ec_private, algorithm="ES256", headers={"kid": kid})


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


def internal_claims(headers: dict[str, str]) -> dict[str, Any]:
    """What the subgraph would verify: the gateway's signed claims."""
    decoded: dict[str, Any] = jwt.decode(headers["x-govgraph-claims"], INTERNAL_SECRET,
                                         algorithms=["HS256"], audience="govgraph-subgraphs",
                                         issuer="govgraph-gateway")
    return decoded


# ---- authentication ------------------------------------------------------------------

def test_anonymous_caller_is_signed_as_anonymous_for_the_subgraph(stack: Stack) -> None:
    stack.recorded.clear()
    reply = stack.post("{ halls { id name } }")
    assert reply.status == 200, reply.body
    assert reply.json() == {"data": {"halls": [{"id": "h1", "name": "Hall One"},
                                               {"id": "h2", "name": "Hall Two"}]}}
    claims = internal_claims(stack.recorded.headers[-1])
    assert claims["kind"] == "anonymous" and "sub" not in claims
    assert claims["exp"] - claims["iat"] <= 60


@pytest.mark.parametrize("kid", ["ec-1", "rsa-1"])
def test_a_verified_token_reaches_the_subgraph_as_signed_claims(stack: Stack, kid: str) -> None:
    stack.recorded.clear()
    reply = stack.post("{ me { id name } }", bearer(token(stack.keys, kid=kid, role="citizen",
                                                          sub="P36658213894")))
    assert reply.json() == {"data": {"me": {"id": "p1", "name": "Person One"}}}
    claims = internal_claims(stack.recorded.headers[-1])
    assert claims["kind"] == "citizen" and claims["sub"] == "P36658213894"
    assert "citizen" in claims["scopes"]
    # the client's own token is not what the subgraph is told to trust
    assert "authorization" not in stack.recorded.headers[-1]


def test_a_forged_claims_header_never_reaches_the_subgraph(stack: Stack) -> None:
    stack.recorded.clear()
    forged = jwt.encode({"kind": "officer", "sub": "x", "iss": "govgraph-gateway",
                         "aud": "govgraph-subgraphs", "exp": int(time.time()) + 60},
                        INTERNAL_SECRET, algorithm="HS256")
    reply = stack.post("{ halls { id } }", {"x-govgraph-claims": forged,
                                            "x-govgraph-subject": "P36658213894"})
    assert reply.status == 200
    sent = stack.recorded.headers[-1]
    assert sent["x-govgraph-claims"] != forged
    assert internal_claims(sent)["kind"] == "anonymous"
    assert "x-govgraph-subject" not in sent


@pytest.mark.parametrize("case", ["other-key", "expired", "not-yet", "issuer", "audience",
                                  "alg-none", "hs256-with-public-key", "garbage", "scheme"])
def test_bad_credentials_are_refused_with_401(stack: Stack, case: str) -> None:
    stack.recorded.clear()
    now = int(time.time())
    good = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "role": "citizen", "sub": "x"}
    other = ec.generate_private_key(ec.SECP256R1())
    tokens = {
        "other-key": jwt.encode(good, other, algorithm="ES256", headers={"kid": "ec-1"}),
        "expired": token(stack.keys, lifetime=-120),
        "not-yet": token(stack.keys, nbf=now + 600),
        "issuer": token(stack.keys, iss="https://elsewhere.test"),
        "audience": token(stack.keys, aud="someone-else"),
        "alg-none": jwt.encode(good, None, algorithm="none"),
        "hs256-with-public-key": jwt.encode(good, HMAC_SECRET, algorithm="HS256"),
        "garbage": "not.a.token",
    }
    headers = ({"authorization": "Basic dXNlcjpwYXNz"} if case == "scheme"
               else bearer(tokens[case]))
    reply = stack.post("{ halls { id } }", headers)
    assert reply.status == 401, (case, reply.body)
    body = reply.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "bearer" in reply.headers.get("www-authenticate", "").lower()
    assert stack.recorded.queries == []  # refused before any work


def test_api_key_makes_an_aggregator_and_a_wrong_one_is_refused(stack: Stack) -> None:
    stack.recorded.clear()
    ok = stack.post("{ halls { id } }", {"x-api-key": stack.api_key})
    assert ok.status == 200
    claims = internal_claims(stack.recorded.headers[-1])
    assert claims["kind"] == "aggregator" and claims["client"] == "portal-aggregator"
    wrong = stack.post("{ halls { id } }", {"x-api-key": "guess"})
    assert wrong.status == 401
    assert wrong.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_purpose_outside_the_allow_list_is_refused(stack: Stack) -> None:
    allowed = stack.post("{ halls { id } }", bearer(token(stack.keys, role="officer",
                                                          purpose="licence-verification")))
    assert allowed.status == 200
    refused = stack.post("{ halls { id } }", bearer(token(stack.keys, role="officer",
                                                          purpose="curiosity")))
    assert refused.status == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# ---- authorization directives ---------------------------------------------------------

def test_unauthorized_fields_are_null_with_errors_and_never_fetched(stack: Stack) -> None:
    stack.recorded.clear()
    reply = stack.post("{ halls { name phone } me { name } auditLog }")
    body = reply.json()
    assert body["data"] == {"halls": [{"name": "Hall One", "phone": None},
                                      {"name": "Hall Two", "phone": None}],
                            "me": None, "auditLog": None}
    paths = sorted(tuple(e["path"]) for e in body["errors"])
    assert paths == [("auditLog",), ("halls", "phone"), ("me",)]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHORIZED"}
    sent = " ".join(stack.recorded.queries)
    assert not re.search(r"\b(phone|me|auditLog)\b", sent), sent
    assert "halls" in sent


def test_scopes_and_a_renamed_authenticated_directive_let_the_right_callers_in(
        stack: Stack) -> None:
    officer = stack.post("{ halls { phone } me { name } secret }",
                         bearer(token(stack.keys, role="officer")))
    assert officer.json() == {"data": {"halls": [{"phone": "020-1234"}, {"phone": "020-5678"}],
                                       "me": {"name": "Person One"}, "secret": "s3cret"}}
    # one alternative: auditor AND phone:read; auditor alone is not enough
    auditor = stack.post("{ halls { phone } auditLog }", bearer(token(stack.keys, role="auditor")))
    assert auditor.json()["data"] == {"halls": [{"phone": None}, {"phone": None}],
                                      "auditLog": ["entry-1"]}
    reader = stack.post("{ halls { phone } }", bearer(token(stack.keys, role="auditor",
                                                            scope="phone:read")))
    assert reader.json() == {"data": {"halls": [{"phone": "020-1234"}, {"phone": "020-5678"}]}}


def test_a_non_null_unauthorized_field_nulls_the_data(stack: Stack) -> None:
    stack.recorded.clear()
    body = stack.post("{ halls { id } secret }").json()
    assert body["data"] is None
    assert body["errors"] == [{"message": "Unauthorized field or type", "path": ["secret"],
                               "extensions": {"code": "UNAUTHORIZED"}}]
    assert stack.recorded.queries == []


def test_policy_needs_the_configured_kind_and_a_stated_purpose(stack: Stack) -> None:
    without = stack.post("{ sharedRecord }", bearer(token(stack.keys, role="officer")))
    assert without.json()["data"] == {"sharedRecord": None}
    assert without.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    citizen = stack.post("{ sharedRecord }", bearer(token(stack.keys, role="citizen",
                                                          purpose="licence-verification")))
    assert citizen.json()["data"] == {"sharedRecord": None}
    officer = stack.post("{ sharedRecord }", bearer(token(stack.keys, role="officer",
                                                          purpose="licence-verification")))
    assert officer.json() == {"data": {"sharedRecord": "record-1"}}


def test_a_fragment_does_not_get_around_authorization(stack: Stack) -> None:
    stack.recorded.clear()
    body = stack.post("query { ...F } fragment F on Query { halls { ... on Hall { phone } } }"
                      ).json()
    assert body["data"] == {"halls": [{"phone": None}, {"phone": None}]}
    assert body["errors"][0]["path"] == ["halls", "phone"]
    assert all("phone" not in q for q in stack.recorded.queries)


# ---- introspection and profiles --------------------------------------------------------

@pytest.mark.parametrize("query", [
    "{ __schema { types { name } } }",
    "{ ...F } fragment F on Query { __schema { queryType { name } } }",
    '{ ... on Query { __type(name: "Hall") { name } } }',
])
def test_production_profile_refuses_introspection_wherever_it_hides(
        stack: Stack, query: str) -> None:
    reply = stack.post(query)
    body = reply.json()
    assert "data" not in body or body["data"] is None
    assert any("introspection" in e["message"].lower() for e in body["errors"]), body


def test_production_profile_does_not_expose_the_query_plan(stack: Stack) -> None:
    reply = stack.post("{ halls { id } }", {"govgraph-query-plan": "true"})
    assert "extensions" not in reply.json()


def test_development_profile_answers_introspection(tmp_path: Path, keys: Keys) -> None:
    dev = _start(tmp_path, Recorded(), keys, profile="development")
    try:
        body = dev.post("{ ...F } fragment F on Query { __schema { queryType { name } } }").json()
        assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        # the standard introspection query (GraphiQL's, codegen's) spreads fragments inside
        # the introspection fields: they must resolve, and the answer must build the schema
        full = dev.post(get_introspection_query()).json()
        assert "errors" not in full, full
        client_schema = build_client_schema(full["data"])
        hall = client_schema.get_type("Hall")
        assert hall is not None and "phone" in hall.fields  # type: ignore[attr-defined]
    finally:
        dev.process.stop()


# ---- limits before planning ------------------------------------------------------------

def _rss_kib(process: Process) -> int:
    for line in Path(f"/proc/{process.popen.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("query, code", [
    ("{ " + " ".join(f"a{i}: halls {{ id }}" for i in range(100)) + " }", "MAX_ALIASES_EXCEEDED"),
    ("{ " + " ".join(f"a{i}: halls {{ id }}" for i in range(10_000)) + " }",
     "MAX_TOKENS_EXCEEDED"),
    ("query { ...F0 }" + "".join(
        f" fragment F{i} on Query {{ halls {{ id }} ...F{i + 1} ...F{i + 1} }}" for i in range(30))
     + " fragment F30 on Query { halls { id } }", "MAX_EXPANDED_SELECTIONS_EXCEEDED"),
    ("{ halls { id } me { id } secret auditLog sharedRecord items { id } }",
     "MAX_ROOT_FIELDS_EXCEEDED"),
    ("{ items(first: 1000) { id } }", "COST_ESTIMATED_TOO_EXPENSIVE"),
])
def test_hostile_operations_are_refused_before_any_fetch(stack: Stack, query: str,
                                                         code: str) -> None:
    stack.recorded.clear()
    stack.post("{ halls { id } }")  # warm: the measure below is the refusal alone
    stack.recorded.clear()
    rss_before = _rss_kib(stack.process)
    cpu_before = stack.process.cpu_seconds()
    reply = stack.post(query)
    cpu = stack.process.cpu_seconds() - cpu_before
    assert reply.status == 400, reply.body[:300]
    errors = reply.json()["errors"]
    assert errors[0]["extensions"]["code"] == code
    assert stack.recorded.queries == []
    # refused in milliseconds of the gateway's own CPU, without growing it
    assert cpu < 0.25, f"the refusal took {cpu:.3f} s of CPU"
    assert _rss_kib(stack.process) - rss_before < 20 * 1024


def test_cost_follows_slicing_arguments_given_as_variables(stack: Stack) -> None:
    small = stack.post("query Q($n: Int) { items(first: $n) { id } }", variables={"n": 2})
    assert small.json() == {"data": {"items": [{"id": "i1"}]}}
    large = stack.post("query Q($n: Int) { items(first: $n) { id } }", variables={"n": 5000})
    assert large.status == 400
    error = large.json()["errors"][0]
    assert error["extensions"]["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"
    assert "500" in error["message"] and "max_cost" in error["message"]


def test_measure_mode_serves_and_logs_what_it_would_refuse(tmp_path: Path, keys: Keys) -> None:
    measured = _start(tmp_path, Recorded(), keys, gateway={"limits_mode": "measure"})
    try:
        query = "{ " + " ".join(f"a{i}: halls {{ id }}" for i in range(12)) + " }"
        body = measured.post(query).json()
        assert len(body["data"]) == 12 and "errors" not in body
        time.sleep(0.2)
        assert "measure mode" in measured.process.output()
        assert "max_aliases" in measured.process.output()
    finally:
        measured.process.stop()


def test_jwks_key_ids_pick_the_key(stack: Stack) -> None:
    unknown = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60,
                          "role": "citizen"}, stack.keys.ec_private, algorithm="ES256",
                         headers={"kid": "rotated-away"})
    assert stack.post("{ halls { id } }", bearer(unknown)).status == 401


def test_the_deadline_holds_against_the_gateways_own_cpu_work(tmp_path: Path, keys: Keys) -> None:
    """Validation of 40,000 same-named aliases is quadratic; the request still ends at its
    1 s deadline with GATEWAY_TIMEOUT instead of holding the client for minutes."""
    limits = {"request_deadline_s": 1, "max_tokens": 1_000_000, "max_body_bytes": 10_000_000,
              "max_expanded_selections": 1_000_000, "max_aliases": 1_000_000,
              "max_root_fields": 1_000_000}
    slow = _start(tmp_path, Recorded(), keys, gateway=limits)
    try:
        query = "{ " + " ".join(f"a{i}: halls {{ id }}" for i in range(40_000)) + " }"
        reply = slow.post(query)
        body = reply.json()
        assert body["errors"][0]["extensions"]["code"] == "GATEWAY_TIMEOUT", body
        # the gateway still answers others while that work goes on
        assert slow.post("{ halls { id } }").status in (200, 504)
    finally:
        slow.process.stop()


def test_no_error_echoes_a_huge_input_or_a_subgraphs_insides(stack: Stack) -> None:
    huge = "x" * 500_000
    body = stack.post("query B($s: String) { boom(input: $s) }", variables={"s": huge}).json()
    error = body["errors"][0]
    assert len(error["message"]) <= 500
    assert error["extensions"]["code"] == "INTERNAL_ERROR"
    assert "stacktrace" not in error["extensions"]
    coercion = stack.post("query Q($n: Int) { items(first: $n) { id } }",
                          variables={"n": huge}).json()
    assert all(len(e["message"]) <= 500 for e in coercion["errors"])


def test_subgraph_error_messages_can_be_masked(tmp_path: Path, keys: Keys) -> None:
    masked = _start(tmp_path, Recorded(), keys, gateway={"mask_subgraph_errors": True})
    try:
        body = masked.post('{ boom(input: "secret-value") }').json()
    finally:
        masked.process.stop()
    assert body["data"] == {"boom": None}
    error = body["errors"][0]
    assert error["message"] == "Subgraph halls answered with an error."
    assert error["extensions"] == {"serviceName": "halls", "code": "INTERNAL_ERROR"}
    assert error["path"] == ["boom"]


def test_fan_out_counts_every_shard_and_refuses_before_any_fetch(tmp_path: Path,
                                                                  keys: Keys) -> None:
    """The subgraph served by 60 shards: a scatter is 60 requests, over a budget of 50."""
    shards = "\n".join(f'"{i:02d}" = "URL"' for i in range(60))
    recorded = Recorded()
    sharded = _start(tmp_path, recorded, keys, gateway={"max_fetches": 50},
                     tables=f"[partitions.halls.shards]\n{shards}\n")
    try:
        refused = sharded.post("{ halls { id } }")
        assert refused.status == 400
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "MAX_FETCHES_EXCEEDED"
        assert "60" in error["message"] and "max_fetches" in error["message"]
        assert recorded.queries == []
    finally:
        sharded.process.stop()
    (tmp_path / "within").mkdir()
    within = _start(tmp_path / "within", Recorded(), keys, gateway={"max_fetches": 60},
                    tables=f"[partitions.halls.shards]\n{shards}\n")
    try:
        served = within.post("{ halls { id } }").json()
        assert len(served["data"]["halls"]) == 120 and "errors" not in served
    finally:
        within.process.stop()


def test_a_key_set_url_is_fetched_and_a_rotated_key_is_picked_up(tmp_path: Path) -> None:
    """Tokens verified from a JWKS URL: a token of a key that appears later (rotation) is
    accepted once the set is refetched for its unknown `kid`; a retired key is refused."""
    served: dict[str, bytes] = {}

    class Keyset(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            body = served["jwks"]
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    def publish(*pairs: tuple[str, Any]) -> None:
        keys = []
        for kid, private in pairs:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
            jwk.update(kid=kid, alg="RS256", use="sig")
            keys.append(jwk)
        served["jwks"] = json.dumps({"keys": keys}).encode()

    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    publish(("old", old))
    keyset = ThreadingHTTPServer(("127.0.0.1", 0), Keyset)
    threading.Thread(target=keyset.serve_forever, daemon=True).start()
    server = _subgraph(Recorded())
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH.replace(
        "URL", f"http://127.0.0.1:{server.server_address[1]}/graphql"), encoding="utf-8")
    config = tmp_path / "govgraph.toml"
    config.write_text(f"""[auth]
jwks_url = "http://127.0.0.1:{keyset.server_address[1]}/jwks.json"
algorithms = ["RS256"]
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
jwks_refresh_cooldown_s = 0.5
""", encoding="utf-8")
    port = free_port()
    process = Process(govgraph_command("gateway", "--supergraph", str(supergraph), "--config",
                                       str(config), "--port", str(port)))
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        process.wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health",
                                        timeout_s=2).status == 200, "healthy /health")

        def signed(private: Any, kid: str) -> dict[str, str]:
            claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60,
                      "role": "citizen", "sub": "P1"}
            return bearer(jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid}))

        query = {"query": "{ me { id } }"}
        assert post_graphql(url, query, signed(old, "old")).json() == {"data": {"me": {"id": "p1"}}}
        publish(("new", new))  # rotation: the old key retired, the new one published
        time.sleep(0.6)  # past the refetch cooldown
        assert post_graphql(url, query, signed(new, "new")).json() == {"data": {"me": {"id": "p1"}}}
        assert post_graphql(url, query, signed(old, "old")).status == 401
    finally:
        process.stop()
        keyset.shutdown()
        server.shutdown()


def test_a_type_rule_holds_behind_an_interface_type_condition(stack: Stack) -> None:
    """Person asks for a signed-in caller: reached through `... on Person` under an interface
    field, its fields are not fetched for an anonymous caller; the rest of the list is."""
    query = "{ nodes { id ... on Person { name } ... on Hall { name } } }"
    stack.recorded.clear()
    body = stack.post(query).json()
    assert body["data"] == {"nodes": [{"id": "h1", "name": "Hall One"}, {"id": "p1"}]}
    assert body["errors"] == [{"message": "Unauthorized field or type", "path": ["nodes"],
                               "extensions": {"code": "UNAUTHORIZED"}}]
    assert "Person" not in " ".join(stack.recorded.queries)
    signed_in = stack.post(query, bearer(token(stack.keys))).json()
    assert signed_in == {"data": {"nodes": [{"id": "h1", "name": "Hall One"},
                                            {"id": "p1", "name": "Person One"}]}}
