"""`govgraph gateway` as a real process over two real (tiny) federation subgraphs."""
from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from audit.live_stack import (
    PROJECT_DIR,
    Gateway,
    Process,
    compose_supergraph,
    free_port,
    govgraph_command,
    http,
    post_graphql,
    start_gateway,
    start_subgraphs,
)

GQL = "application/graphql-response+json"
# Startup must take under 2 s. Counted in CPU seconds of the gateway process, which a
# busy machine does not inflate; wall-clock time gets a looser bound for the same reason.
STARTUP_CPU_BOUND_S = 2.0
STARTUP_WALL_BOUND_S = 10.0


@pytest.fixture(scope="module")
def subgraphs_base() -> Iterator[str]:
    process, base = start_subgraphs()
    try:
        yield base
    finally:
        process.stop()


@pytest.fixture(scope="module")
def supergraph(subgraphs_base: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compose_supergraph(subgraphs_base,
                              tmp_path_factory.mktemp("supergraph") / "supergraph.graphql")


@pytest.fixture(scope="module")
def gateway(supergraph: Path) -> Iterator[Gateway]:
    running = start_gateway("--supergraph", str(supergraph), "--profile", "development")
    try:
        yield running
    finally:
        running.process.stop()


def run_gateway_expecting_exit(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a gateway that must refuse to start; return its status and output."""
    process = Process(govgraph_command("gateway", *args, "--port", str(free_port())), env)
    try:
        status = process.wait_exit(timeout_s=30)
        return status, process.output()
    finally:
        process.stop()


def test_query_spanning_two_subgraphs_returns_data(gateway: Gateway) -> None:
    reply = post_graphql(gateway.url, {"query": '{ division(code: "440000") { name serviceCount } }'})
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith(GQL)
    assert reply.json() == {"data": {"division": {"name": "广东省", "serviceCount": 1864}}}


def test_query_with_variables_and_operation_name(gateway: Gateway) -> None:
    reply = post_graphql(gateway.url, {
        "query": "query A { totalServiceCount } "
                 "query B($code: ID!) { division(code: $code) { code name } }",
        "operationName": "B", "variables": {"code": "650000"}})
    assert reply.status == 200, reply.body
    assert reply.json() == {"data": {"division": {"code": "650000",
                                                  "name": "新疆维吾尔自治区"}}}


def test_health_answers_ok(gateway: Gateway) -> None:
    reply = http("GET", gateway.health_url)
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}


def test_gateway_starts_quickly(gateway: Gateway) -> None:
    timing = f"healthy after {gateway.startup_s:.2f} s, {gateway.startup_cpu_s:.2f} CPU s"
    print(timing)
    assert gateway.startup_cpu_s < STARTUP_CPU_BOUND_S, timing
    assert gateway.startup_s < STARTUP_WALL_BOUND_S, timing


def test_query_plan_is_returned_on_request(gateway: Gateway) -> None:
    reply = post_graphql(gateway.url, {"query": '{ division(code: "110000") { serviceCount } }'},
                         headers={"govgraph-query-plan": "true"})
    body = reply.json()
    assert body["data"] == {"division": {"serviceCount": 1203}}
    plan = body["extensions"]["queryPlan"]
    assert plan.startswith("QueryPlan {")
    assert 'Fetch(service: "divisions")' in plan and 'Fetch(service: "services")' in plan
    plain = post_graphql(gateway.url, {"query": '{ division(code: "110000") { serviceCount } }'})
    assert "extensions" not in plain.json()


def test_validation_error_is_400_or_legacy_200(gateway: Gateway) -> None:
    strict = post_graphql(gateway.url, {"query": "{ noSuchField }"})
    assert strict.status == 400
    assert "data" not in strict.json()
    assert "noSuchField" in strict.json()["errors"][0]["message"]
    legacy = post_graphql(gateway.url, {"query": "{ noSuchField }"},
                          headers={"accept": "application/json"})
    assert legacy.status == 200
    assert legacy.headers["content-type"].startswith("application/json")


def test_get_query_with_preflight_header_and_mutation_over_get(gateway: Gateway) -> None:
    query = "query%20Q(%24c%3AID!)%7Bdivision(code%3A%24c)%7Bname%7D%7D"
    variables = "%7B%22c%22%3A%22110000%22%7D"
    reply = http("GET", f"{gateway.url}?query={query}&variables={variables}",
                 headers={"apollo-require-preflight": "true", "accept": GQL})
    assert reply.status == 200, reply.body
    assert reply.json() == {"data": {"division": {"name": "北京市"}}}
    blocked = http("GET", f"{gateway.url}?query={query}&variables={variables}")
    assert blocked.status == 400
    assert "Cross-Site Request Forgery" in blocked.json()["errors"][0]["message"]
    mutation = http("GET", f"{gateway.url}?query=mutation%7B__typename%7D",
                    headers={"apollo-require-preflight": "true", "accept": GQL})
    assert mutation.status == 405
    assert mutation.headers["allow"] == "POST"


def test_mutation_over_post_reaches_the_subgraph(gateway: Gateway) -> None:
    reply = post_graphql(gateway.url, {
        "query": 'mutation { renameDivision(code: "440000", name: "粤") { code name } }'})
    assert reply.status == 200, reply.body
    assert reply.json() == {"data": {"renameDivision": {"code": "440000", "name": "粤"}}}


def test_oversized_body_is_413_before_the_body_is_sent(gateway: Gateway) -> None:
    declared = 50_000_000
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                     b"content-type: application/json\r\n"
                     + f"content-length: {declared}\r\n\r\n".encode()
                     + b'{"query": "{ totalServiceCount }", "pad": "')
        response = b""
        while b"\r\n\r\n" not in response or not response.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), response
    assert b"connection: close" in head.lower()
    message = json.loads(body)["errors"][0]["message"]
    assert message == f"request body of {declared} bytes exceeds the limit of 1048576 bytes"
    assert http("GET", gateway.health_url).status == 200


def test_unknown_path_and_method(gateway: Gateway) -> None:
    assert http("GET", f"http://127.0.0.1:{gateway.port}/nowhere").status == 404
    put = http("PUT", gateway.url, body=b"{}", headers={"content-type": "application/json"})
    assert put.status == 405
    assert put.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_the_gateway_cleanly(supergraph: Path, sig: signal.Signals) -> None:
    running = start_gateway("--supergraph", str(supergraph))
    try:
        running.process.popen.send_signal(sig)
        status = running.process.wait_exit(timeout_s=15)
        output = running.process.output()
    finally:
        running.process.stop()
    assert status == 0, output
    assert "Traceback" not in output


def test_several_workers_serve_and_stop(supergraph: Path) -> None:
    running = start_gateway("--supergraph", str(supergraph), "--workers", "2")
    try:
        for _ in range(4):
            reply = post_graphql(running.url, {"query": '{ division(code: "440000") { name } }'})
            assert reply.json() == {"data": {"division": {"name": "广东省"}}}
        running.process.popen.send_signal(signal.SIGTERM)
        status = running.process.wait_exit(timeout_s=20)
    finally:
        running.process.stop()
    assert status == 0, running.process.output()


@pytest.mark.parametrize("where", ["environment", "config"])
def test_supergraph_from_environment_or_config_and_port_from_config(
        supergraph: Path, tmp_path: Path, where: str) -> None:
    port = free_port()
    config = tmp_path / "govgraph.toml"
    lines = ["[gateway]", f"port = {port}", "expose_query_plan = false"]
    env = {}
    if where == "config":
        shutil.copy(supergraph, tmp_path / "composed.graphql")
        lines.append('supergraph = "composed.graphql"')  # relative to the configuration file
    else:
        env["GOVGRAPH_SUPERGRAPH"] = str(supergraph)
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    process = Process(govgraph_command("gateway", "--config", str(config)), env)
    try:
        process.wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health",
                                        timeout_s=2).status == 200, "healthy /health")
        reply = post_graphql(f"http://127.0.0.1:{port}/graphql",
                             {"query": "{ totalServiceCount }"},
                             headers={"govgraph-query-plan": "true"})
        assert reply.json() == {"data": {"totalServiceCount": 1203 + 1864 + 977}}
    finally:
        process.stop()


class _SupergraphHandler(BaseHTTPRequestHandler):
    supergraph = b""

    def do_GET(self) -> None:
        if self.path == "/supergraph.graphql":
            self.send_response(200)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(self.supergraph)))
            self.end_headers()
            self.wfile.write(self.supergraph)
        else:
            self.send_error(404, "no such supergraph")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def supergraph_server(supergraph: Path) -> Iterator[str]:
    handler = type("Handler", (_SupergraphHandler,), {"supergraph": supergraph.read_bytes()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_supergraph_loaded_from_a_url(supergraph_server: str) -> None:
    running = start_gateway("--supergraph", f"{supergraph_server}/supergraph.graphql")
    try:
        reply = post_graphql(running.url, {"query": '{ division(code: "440000") { name } }'})
        assert reply.json() == {"data": {"division": {"name": "广东省"}}}
    finally:
        running.process.stop()


def test_supergraph_url_answering_404_exits_2(supergraph_server: str) -> None:
    url = f"{supergraph_server}/missing.graphql"
    status, output = run_gateway_expecting_exit("--supergraph", url)
    assert status == 2
    assert f"govgraph gateway: cannot load supergraph {url}: HTTP 404" in output


def test_missing_supergraph_file_exits_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.graphql"
    status, output = run_gateway_expecting_exit("--supergraph", str(path))
    assert status == 2
    assert output.strip() == f"govgraph gateway: cannot load supergraph {path}: no such file"


def test_empty_supergraph_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "empty.graphql"
    path.write_text("\n  \n", encoding="utf-8")
    status, output = run_gateway_expecting_exit("--supergraph", str(path))
    assert status == 2
    assert output.strip() == f"govgraph gateway: cannot load supergraph {path}: the supergraph is empty"


@pytest.mark.parametrize("content,fragment", [
    ("type Query { a: Int", "Syntax Error"),
    ("type Query { hello: String }", ""),
])
def test_invalid_supergraph_content_exits_2_with_the_engine_message(
        tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.graphql"
    path.write_text(content, encoding="utf-8")
    status, output = run_gateway_expecting_exit("--supergraph", str(path))
    assert status == 2, output
    prefix = f"govgraph gateway: cannot load supergraph {path}: "
    assert output.startswith(prefix), output
    assert len(output.strip()) > len(prefix), "the message must say what is wrong"
    assert fragment in output
    assert "Traceback" not in output


def test_no_supergraph_at_all_exits_2() -> None:
    status, output = run_gateway_expecting_exit()
    assert status == 2
    assert "no supergraph given" in output and "--supergraph" in output


def test_malformed_config_file_exits_2(tmp_path: Path, supergraph: Path) -> None:
    config = tmp_path / "govgraph.toml"
    config.write_text('[gateway]\nport = "four thousand"\n', encoding="utf-8")
    status, output = run_gateway_expecting_exit("--supergraph", str(supergraph),
                                                "--config", str(config))
    assert status == 2
    assert "gateway.port must be a int" in output


def test_help_documents_every_option() -> None:
    result = subprocess.run(govgraph_command("gateway", "--help"), check=False, cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for option in ("--supergraph", "--port", "--host", "--config", "--workers"):
        assert option in result.stdout
