"""What operators see of a running gateway: request ids, structured logs, Prometheus metrics,
OpenTelemetry traces and readiness, against the real portal stack (national subgraph, the 31
provincial shards behind a proxy that can misbehave, `govgraph gateway` processes)."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from audit.live_stack import Process, free_port, govgraph_command, http, post_graphql
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from portal_stack import (
    SUPERGRAPH,
    PortalStack,
    gateway_config,
    running_portal,
    start_gateway,
    wait_healthy,
)
from prometheus_client.parser import text_string_to_metric_families
from tiny_gateway import tiny_gateway

from gateway import tracing
from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.engine import Gateway
from gateway.logs import ContextFilter, fields
from gateway.readiness import Upstreams
from gateway.stack import dump_toml
from gateway.status import Window
from gateway.telemetry import Telemetry
from schema.supergraph import SupergraphError

RANKING = "query Ranking { provinces { code } evaluationRanking { satisfactionRate } }"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStack]:
    with running_portal(tmp_path_factory.mktemp("observability")) as stack:
        yield stack


@pytest.fixture(scope="module")
def observed(stack: PortalStack,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Process, str]]:
    """A gateway with the access log on, its national subgraph behind the proxy too, and
    breakers that open after two failures; it logs to a file, so in JSON lines."""
    path = gateway_config(stack, tmp_path_factory.mktemp("observed") / "gateway.toml",
                          national_url=stack.proxy.national_url(), breaker_failures=2,
                          breaker_reset_s=0.5, extra={"logging": {"access_log": True}})
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    # the request id reaches subgraphs whether or not it is a propagated header
    config["gateway"]["propagate_headers"] = ["authorization"]
    path.write_text(dump_toml(config), encoding="utf-8")
    process, url = start_gateway(path)
    try:
        yield process, url
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def clean_proxy(stack: PortalStack) -> None:
    stack.proxy.reset()


def log_records(process: Process) -> list[dict[str, Any]]:
    """Every JSON line the process wrote (its other lines are not records)."""
    records = []
    for line in process.full_output().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def wait_for_record(process: Process, match: Callable[[dict[str, Any]], bool],
                    what: str, timeout_s: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for record in log_records(process):
            if match(record):
                return record
        time.sleep(0.05)
    raise AssertionError(f"no log record for {what} within {timeout_s} s:\n{process.output()}")


def scrape(graphql_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed by prometheus-client's own parser: (sample name, labels) -> value."""
    reply = http("GET", graphql_url.replace("/graphql", "/metrics"))
    assert reply.status == 200, reply.body[:500]
    assert reply.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- request ids ------------------------------------------------------------------------


def test_request_id_is_answered_and_forwarded_to_national_and_every_shard(
        stack: PortalStack, observed: tuple[Process, str]) -> None:
    _, url = observed
    reply = post_graphql(url, {"query": RANKING}, headers={"x-request-id": "portal-7f3a"})
    assert reply.status == 200 and "errors" not in reply.json(), reply.body[:500]
    assert reply.headers["x-request-id"] == "portal-7f3a"
    seen = stack.proxy.headers
    assert seen["national"]["x-request-id"] == "portal-7f3a"
    assert {code: seen[code]["x-request-id"] for code in stack.province_codes()} == {
        code: "portal-7f3a" for code in stack.province_codes()}

    stack.proxy.reset()
    reply = post_graphql(url, {"query": RANKING})
    made_up = reply.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)
    assert stack.proxy.headers["national"]["x-request-id"] == made_up
    assert stack.proxy.headers["440000"]["x-request-id"] == made_up


# ---- logs -----------------------------------------------------------------------------


def test_access_log_names_request_operation_client_duration_and_shards(
        observed: tuple[Process, str]) -> None:
    process, url = observed
    query = 'query Halls { serviceHalls(provinceCode: "440000") { name } }'
    reply = post_graphql(url, {"query": query}, headers={
        "x-request-id": "access-1", "apollographql-client-name": "guangdong-portal"})
    assert reply.status == 200 and "errors" not in reply.json(), reply.body[:500]
    record = wait_for_record(process, lambda r: r.get("request_id") == "access-1"
                             and r["logger"] == "govgraph.access", "the access line")
    assert record["level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
    assert record["operation"] == "Halls"
    assert re.fullmatch(r"[0-9a-f]{16}", record["operation_hash"])
    assert record["client"] == "guangdong-portal"
    assert record["status"] == 200 and record["outcome"] == "success"
    assert 0 < record["duration_ms"] < 10_000
    assert record["partitions"] == {"provincial": {"answered": ["440000"], "failed": []}}


def test_shard_failure_and_breaker_transitions_are_logged_with_the_shard_key(
        stack: PortalStack, observed: tuple[Process, str]) -> None:
    process, url = observed
    stack.proxy.modes["650000"] = "garbage"
    for n in range(2):
        reply = post_graphql(url, {"query": RANKING}, headers={"x-request-id": f"garbage-{n}"})
        body = reply.json()
        assert body["extensions"]["partitions"]["provincial"]["failed"] == ["650000"]
    failure = wait_for_record(process, lambda r: r["message"] == "subgraph fetch failed"
                              and r.get("request_id") == "garbage-1", "the shard failure")
    assert failure["level"] == "warning"
    assert failure["subgraph"] == "provincial" and failure["shard"] == "650000"
    assert failure["code"] == "SUBGRAPH_BAD_RESPONSE"
    opened = wait_for_record(process, lambda r: r["message"] == "circuit breaker open",
                             "the breaker opening")
    assert opened["shard"] == "650000" and opened["request_id"] == "garbage-1"
    assert sample(scrape(url), "govgraph_breaker_state", subgraph="provincial",
                  shard="650000") == 2

    stack.proxy.modes.clear()
    time.sleep(0.6)  # the breaker's reset_s: the next request is its trial
    body = post_graphql(url, {"query": RANKING}, headers={"x-request-id": "recovered"}).json()
    assert body["extensions"]["partitions"]["provincial"]["failed"] == []
    for state in ("half-open", "closed"):
        record = wait_for_record(process, lambda r, s=state: r["message"] == f"circuit breaker {s}"
                                 and r.get("request_id") == "recovered", f"the breaker {state}")
        assert record["shard"] == "650000" and record["level"] == "info"
    after = scrape(url)
    assert sample(after, "govgraph_breaker_state", subgraph="provincial", shard="650000") == 0
    assert sample(after, "govgraph_subgraph_fetch_errors_total", subgraph="provincial",
                  shard="650000", code="SUBGRAPH_BAD_RESPONSE") >= 2


def test_a_failed_national_fetch_is_logged_once_with_its_request(
        stack: PortalStack, observed: tuple[Process, str]) -> None:
    process, url = observed
    stack.proxy.modes["national"] = "garbage"
    reply = post_graphql(url, {"query": "query Provinces { provinces { code } }"},
                         headers={"x-request-id": "national-down"})
    assert reply.json()["errors"][0]["extensions"]["code"] == "SUBGRAPH_BAD_RESPONSE"
    wait_for_record(process, lambda r: r.get("request_id") == "national-down"
                    and r["logger"] == "govgraph.access", "the access line")
    [failure] = [r for r in log_records(process) if r.get("request_id") == "national-down"
                 and r["message"] == "subgraph fetch failed"]
    assert failure["subgraph"] == "national" and "shard" not in failure
    assert failure["operation"] == "Provinces" and failure["code"] == "SUBGRAPH_BAD_RESPONSE"


def test_slow_requests_warn_and_log_level_silences_the_access_log(
        stack: PortalStack, tmp_path: Path) -> None:
    path = gateway_config(stack, tmp_path / "gateway.toml", extra={
        "logging": {"access_log": True, "slow_request_ms": 0.001}})
    process, url = start_gateway(path, "--log-level", "warning")
    try:
        post_graphql(url, {"query": RANKING}, headers={"x-request-id": "slow-1"})
        slow = wait_for_record(process, lambda r: r["message"] == "slow request", "a slow request")
        assert slow["request_id"] == "slow-1" and slow["level"] == "warning"
        assert slow["operation"] == "Ranking" and slow["slow_request_ms"] == 0.001
        records = log_records(process)
        assert not [r for r in records if r["level"] == "info"], records
    finally:
        process.stop()


def test_logs_are_text_on_a_terminal(stack: PortalStack, tmp_path: Path) -> None:
    path = gateway_config(stack, tmp_path / "gateway.toml")
    port = free_port()
    controller, terminal = pty.openpty()
    command = govgraph_command("gateway", "--supergraph", str(SUPERGRAPH), "--config", str(path),
                               "--port", str(port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}
    process = subprocess.Popen(command, stdout=terminal, stderr=terminal, stdin=subprocess.DEVNULL,
                               env=env)
    os.close(terminal)
    output = b""
    try:
        deadline = time.monotonic() + 30
        while b"Application startup complete" not in output and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.5)[0]:
                output += os.read(controller, 65536)
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.close(controller)
    line = next(x for x in output.decode().splitlines() if "Application startup complete" in x)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO +uvicorn\.error: "
                        r"Application startup complete\.", line.strip()), output.decode()


# ---- metrics --------------------------------------------------------------------------


def test_metrics_count_requests_by_operation_and_outcome_and_time_every_fetch(
        stack: PortalStack, observed: tuple[Process, str]) -> None:
    _, url = observed
    before = scrape(url)
    query = 'query Counted { serviceHalls(provinceCode: "440000") { name } }'
    for _ in range(3):
        assert post_graphql(url, {"query": query}).status == 200
    stack.proxy.modes["440000"] = "garbage"
    assert post_graphql(url, {"query": query}).status == 200
    assert post_graphql(url, {"query": "query Counted { serviceHalls("}).status == 400
    after = scrape(url)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("govgraph_requests_total", operation="Counted", outcome="success") == 3
    assert delta("govgraph_requests_total", operation="Counted", outcome="error") == 1
    assert delta("govgraph_requests_total", operation="", outcome="request_error") == 1
    assert delta("govgraph_request_duration_seconds_count", operation="Counted") == 4
    assert delta("govgraph_request_duration_seconds_sum", operation="Counted") > 0
    assert delta("govgraph_subgraph_fetch_duration_seconds_count", subgraph="provincial",
                 shard="440000") == 4
    assert delta("govgraph_subgraph_fetch_errors_total", subgraph="provincial", shard="440000",
                 code="SUBGRAPH_BAD_RESPONSE") == 1
    assert sample(after, "govgraph_requests_in_flight") == 0
    # the first Counted text is new to this gateway; the second is parsed, and planned, already
    assert delta("govgraph_cache_lookups_total", cache="documents", result="miss") == 2
    assert delta("govgraph_cache_lookups_total", cache="documents", result="hit") == 3
    assert delta("govgraph_cache_lookups_total", cache="plans", result="miss") == 1
    assert delta("govgraph_cache_lookups_total", cache="plans", result="hit") == 3
    assert sample(after, "govgraph_supergraph_loaded_timestamp_seconds",
                  hash=_supergraph_hash(url)) > 0


def _supergraph_hash(url: str) -> str:
    ready = http("GET", url.replace("/graphql", "/ready")).json()
    return str(ready["supergraph"]["hash"])


def test_metrics_of_all_workers_are_summed(stack: PortalStack, tmp_path: Path) -> None:
    path = gateway_config(stack, tmp_path / "gateway.toml")
    process, url = start_gateway(path, "--workers", "2")
    try:
        for _ in range(16):
            reply = post_graphql(url, {"query": "query Workers { provinces { code } }"})
            assert reply.status == 200
        for _ in range(6):
            samples = scrape(url)
            assert sample(samples, "govgraph_requests_total", operation="Workers",
                          outcome="success") == 16
    finally:
        process.stop()


# ---- traces ---------------------------------------------------------------------------


class OtlpReceiver:
    """An OTLP/HTTP trace receiver: decodes each `/v1/traces` export into its spans."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, Any]] = []  # (service.name, span)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["content-length"]))
                assert self.path == "/v1/traces", self.path
                export = ExportTraceServiceRequest.FromString(body)
                for resource_spans in export.resource_spans:
                    service = next(a.value.string_value for a in resource_spans.resource.attributes
                                   if a.key == "service.name")
                    for scope_spans in resource_spans.scope_spans:
                        receiver.spans.extend((service, s) for s in scope_spans.spans)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _attributes(span: Any) -> dict[str, str]:
    return {a.key: a.value.string_value for a in span.attributes}


def test_trace_has_a_span_per_shard_and_the_subgraph_joins_it(
        stack: PortalStack, tmp_path: Path) -> None:
    receiver = OtlpReceiver()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    port = free_port()
    guangdong = Process(govgraph_command("subgraph", "provincial", "--province", "44", "--port",
                                         str(port), "--data-dir", str(stack.data_dir),
                                         "--internal-key-file", str(stack.key_file)), env=env)
    gateway = None
    try:
        wait_healthy(guangdong, f"http://127.0.0.1:{port}", "a traced Guangdong shard")
        path = gateway_config(stack, tmp_path / "gateway.toml", shard_urls={
            "440000": f"http://127.0.0.1:{port}/provinces/440000/graphql"})
        gateway, url = start_gateway(path, env=env)
        client_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        reply = post_graphql(url, {"query": RANKING}, headers={
            "traceparent": f"00-{client_trace}-00f067aa0ba902b7-01"})
        assert reply.status == 200 and "errors" not in reply.json(), reply.body[:500]

        def ours() -> list[tuple[str, Any]]:
            return [(s, span) for s, span in list(receiver.spans)
                    if span.trace_id.hex() == client_trace]

        def complete() -> bool:
            names = {span.name for _, span in ours()}
            return "graphql.request" in names and any(s == "govgraph-provincial" for s, _ in ours())

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not complete():
            time.sleep(0.1)
        spans = ours()
        by_name: dict[str, list[Any]] = {}
        for _, span in spans:
            by_name.setdefault(span.name, []).append(span)
        [request] = by_name["graphql.request"]
        assert request.parent_span_id.hex() == "00f067aa0ba902b7"
        for phase in ("graphql.validate", "graphql.plan", "graphql.execute"):
            [span] = by_name[phase]
            assert span.parent_span_id == request.span_id, phase
        [execute] = by_name["graphql.execute"]
        fetches = by_name["subgraph.fetch"]
        shard_fetches = {_attributes(f).get("govgraph.partition_key"): f for f in fetches
                         if _attributes(f)["govgraph.subgraph"] == "provincial"}
        assert sorted(shard_fetches) == stack.province_codes()
        assert [_attributes(f)["govgraph.subgraph"] for f in fetches].count("national") == 1
        assert all(f.parent_span_id == execute.span_id for f in fetches)
        [subgraph_span] = [span for service, span in spans if service == "govgraph-provincial"]
        assert subgraph_span.parent_span_id == shard_fetches["440000"].span_id
        assert _attributes(subgraph_span)["url.path"] == "/provinces/440000/graphql"
    finally:
        if gateway is not None:
            gateway.stop()
        guangdong.stop()
        receiver.close()


def test_in_memory_trace_nests_phases_and_sends_the_fetch_span_as_traceparent() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = GatewayConfig()
    telemetry = Telemetry(config, provider.get_tracer("test"))

    async def scenario() -> None:
        async with tiny_gateway(config, telemetry) as tiny:
            reply = await tiny.post("query Names { provinces { name } }")
            assert reply.status == 200, reply.body
            [sent] = tiny.subgraph_headers
            spans = {span.name: span for span in exporter.get_finished_spans()}
            request, fetch = spans["graphql.request"], spans["subgraph.fetch"]
            assert request.attributes["graphql.operation.name"] == "Names"
            assert request.attributes["graphql.operation.type"] == "query"
            assert spans["graphql.execute"].parent.span_id == request.context.span_id
            assert fetch.parent.span_id == spans["graphql.execute"].context.span_id
            assert fetch.attributes["govgraph.subgraph"] == "national"
            assert sent["traceparent"].startswith(f"00-{request.context.trace_id:032x}-"
                                                  f"{fetch.context.span_id:016x}-")
            assert sent["x-request-id"] == reply.headers["x-request-id"]

    asyncio.run(scenario())


def test_no_traceparent_is_sent_when_traces_are_off() -> None:
    async def scenario() -> None:
        async with tiny_gateway(GatewayConfig(), Telemetry(GatewayConfig())) as tiny:
            assert (await tiny.post("{ provinces { name } }")).status == 200
            [sent] = tiny.subgraph_headers
            assert "traceparent" not in sent

    asyncio.run(scenario())


# ---- readiness ------------------------------------------------------------------------


def test_ready_turns_503_while_a_required_subgraph_is_stopped_and_back(
        stack: PortalStack, tmp_path: Path) -> None:
    national_port = free_port()
    command = govgraph_command("subgraph", "national", "--port", str(national_port),
                               "--data-dir", str(stack.data_dir),
                               "--internal-key-file", str(stack.key_file))
    national = Process(command)
    gateway = None
    try:
        wait_healthy(national, f"http://127.0.0.1:{national_port}", "a healthy national subgraph")
        dead = f"http://127.0.0.1:{free_port()}/provinces/650000/graphql"
        path = gateway_config(
            stack, tmp_path / "gateway.toml", shard_urls={"650000": dead},
            national_url=f"http://127.0.0.1:{national_port}/graphql",
            extra={"readiness": {"required": ["national", "provincial"], "min_shards": 30,
                                 "recent_s": 0.2, "probe_timeout_s": 1}})
        gateway, url = start_gateway(path)
        ready_url = url.replace("/graphql", "/ready")
        health_url = url.replace("/graphql", "/health")

        reply = http("GET", ready_url)
        assert reply.status == 200, reply.body
        report = reply.json()
        assert report["status"] == "ready"
        assert re.fullmatch(r"[0-9a-f]{64}", report["supergraph"]["hash"])
        assert report["supergraph"]["loaded_at"].endswith("Z")
        assert report["subgraphs"]["national"]["ready"] is True
        assert report["subgraphs"]["national"]["last_success"] is not None
        provincial = report["subgraphs"]["provincial"]
        assert provincial["shards_ready"] == 30 and provincial["min_shards"] == 30
        assert provincial["shards"]["650000"]["ready"] is False
        assert provincial["shards"]["650000"]["last_failure"] is not None

        national.stop()
        reply = http("GET", ready_url)
        assert reply.status == 503, reply.body
        assert reply.json()["status"] == "not_ready"
        assert reply.json()["subgraphs"]["national"]["ready"] is False
        assert http("GET", health_url).status == 200  # alive, just not ready

        national = Process(command)
        wait_healthy(national, f"http://127.0.0.1:{national_port}", "the national subgraph again")
        deadline = time.monotonic() + 20
        while (status := http("GET", ready_url).status) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == 200
    finally:
        if gateway is not None:
            gateway.stop()
        national.stop()


def test_readiness_policy_naming_an_unknown_subgraph_is_refused() -> None:
    sdl = SUPERGRAPH.read_text(encoding="utf-8")
    with pytest.raises(SupergraphError, match=r"readiness\.required names natoinal"):
        Gateway(sdl, GatewayConfig(readiness_required=["natoinal"]))


# ---- status page ----------------------------------------------------------------------


def _dump_dom(url: str) -> str:
    """The page as headless Chromium leaves it once its scripts have run."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: scripts/chromium.sh installs it"
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--virtual-time-budget=4000", "--dump-dom", url],
            capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_status_page_shows_a_stopped_province_as_failing(stack: PortalStack,
                                                         tmp_path: Path) -> None:
    port = free_port()
    xinjiang = Process(govgraph_command("subgraph", "provincial", "--province", "65", "--port",
                                        str(port), "--data-dir", str(stack.data_dir),
                                        "--internal-key-file", str(stack.key_file)))
    gateway = None
    try:
        wait_healthy(xinjiang, f"http://127.0.0.1:{port}", "the Xinjiang shard")
        path = gateway_config(stack, tmp_path / "gateway.toml", shard_urls={
            "650000": f"http://127.0.0.1:{port}/provinces/650000/graphql"})
        config = tomllib.loads(path.read_text(encoding="utf-8"))
        config["gateway"]["profile"] = "development"
        path.write_text(dump_toml(config), encoding="utf-8")
        gateway, url = start_gateway(path)
        xinjiang.stop()
        for _ in range(3):
            body = post_graphql(url, {"query": RANKING}).json()
            assert body["extensions"]["partitions"]["provincial"]["failed"] == ["650000"]

        status = http("GET", url.replace("/graphql", "/status.json")).json()
        shards = {s["key"]: s for s in status["partitions"][0]["shards"]}
        assert shards["650000"]["state"] == "failing" and shards["650000"]["failed"] == 3
        assert shards["440000"]["state"] == "ok" and shards["440000"]["answer_rate"] == 1
        assert shards["440000"]["p95_ms"] > 0

        page = http("GET", url.replace("/graphql", "/status"))
        assert page.status == 200 and page.headers["content-type"].startswith("text/html")
        assert b"http://" not in page.body and b"https://" not in page.body  # nothing fetched
        dom = _dump_dom(url.replace("/graphql", "/status"))
        cells = dict(re.findall(r'data-key="(\d+)" data-state="(\w+)"', dom))
        assert cells["650000"] == "failing", dom[-3000:]
        assert cells["440000"] == "ok"
        assert len(cells) == len(stack.province_codes())
        assert re.search(r'data-subgraph="national" data-state="ok"', dom)
        assert status["supergraph"]["hash"][:12] in dom
    finally:
        if gateway is not None:
            gateway.stop()
        xinjiang.stop()


def test_status_is_for_operators_in_production(stack: PortalStack, tmp_path: Path) -> None:
    keys = {"ops": ("operator-key-1", "operator"), "feed": ("aggregator-key-1", "aggregator")}
    path = gateway_config(stack, tmp_path / "gateway.toml", extra={"auth": {"api_keys": {
        key_id: {"sha256": hashlib.sha256(key.encode()).hexdigest(), "kind": kind}
        for key_id, (key, kind) in keys.items()}}})
    gateway, url = start_gateway(path)
    try:
        status_url = url.replace("/graphql", "/status.json")
        anonymous = http("GET", status_url)
        assert anonymous.status == 401
        assert "[status] roles (operator)" in anonymous.json()["errors"][0]["message"]
        assert http("GET", status_url, headers={"x-api-key": "aggregator-key-1"}).status == 403
        assert http("GET", url.replace("/graphql", "/status"),
                    headers={"x-api-key": "aggregator-key-1"}).status == 403
        operator = http("GET", status_url, headers={"x-api-key": "operator-key-1"})
        assert operator.status == 200
        assert [s["key"] for s in operator.json()["partitions"][0]["shards"]] == \
            stack.province_codes()
    finally:
        gateway.stop()


# ---- configuration and pure parts ----------------------------------------------------------


@pytest.mark.parametrize(("section", "message"), [
    ('[logging]\nformat = "xml"', "logging.format must be one of auto, json, text, got 'xml'"),
    ('[logging]\nlevel = "loud"', "logging.level must be one of debug, info, warning, error, "
                                  "critical, got 'loud'"),
    ("[logging]\nslow_request_ms = -5", "logging.slow_request_ms must be a number of "
                                        "milliseconds (0 turns the warning off), got -5"),
    ('[readiness]\nrequired = "national"', "readiness.required must be a list of subgraph "
                                           "names, got 'national'"),
    ("[readiness]\nmin_shards = 0", "readiness.min_shards must be a whole number greater than "
                                    "zero, got 0"),
    ("[readiness]\nrecent_s = 0", "readiness.recent_s must be greater than zero, got 0"),
    ('[status]\nroles = "operator"', "status.roles must be a list of non-empty strings, "
                                     "got 'operator'"),
])
def test_bad_observability_settings_are_refused_with_key_and_value(
        tmp_path: Path, section: str, message: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(section + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, env={})
    assert message in str(refused.value)


@pytest.mark.parametrize(("env", "on"), [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "console"}, True),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, False),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, False),
])
def test_traces_are_on_only_when_otel_variables_ask(env: dict[str, str], on: bool) -> None:
    assert tracing.configured(env) is on
    assert (tracing.tracer_from_environment(env) is not None) is on


def test_status_window_reports_answer_rate_and_p95() -> None:
    window = Window(300)
    now = 1_000_000.0
    for i in range(95):
        window.record(True, 0.02, now + i * 0.1)  # in the 10-25 ms bucket
    for i in range(5):
        window.record(False, 2.0, now + 10 + i)  # in the 1-2.5 s bucket
    summary = window.summary(now + 20, 300)
    assert summary["answered"] == 95 and summary["failed"] == 5
    assert summary["answer_rate"] == 0.95
    assert 10 <= summary["p95_ms"] <= 25
    assert window.summary(now + 20 + 400, 300)["answered"] == 0  # older than the window


def test_a_record_logged_while_planning_off_the_event_loop_carries_the_request_id(
        caplog: pytest.LogCaptureFixture) -> None:
    config = GatewayConfig(limits_mode="measure", max_aliases=1)
    caplog.handler.addFilter(ContextFilter())

    async def scenario() -> None:
        async with tiny_gateway(config) as tiny:
            reply = await tiny.post("{ a: provinces { name } b: provinces { name } }",
                                    {"x-request-id": "planning-1"})
            assert reply.status == 200 and "errors" not in reply.json, reply.body

    with caplog.at_level(logging.WARNING, logger="govgraph"):
        asyncio.run(scenario())
    [record] = [r for r in caplog.records if "measure mode" in r.getMessage()]
    assert fields(record)["request_id"] == "planning-1"


def test_a_new_supergraph_starts_with_every_breaker_shown_closed() -> None:
    telemetry = Telemetry(GatewayConfig())
    telemetry.breaker_changed("shards", "k1", "open")
    assert telemetry.status()["partitions"] == []  # no supergraph yet: nothing to draw
    upstreams = [Upstreams("shards", shards={"k1": "http://127.0.0.1:9/graphql"})]
    telemetry.supergraph_loaded("h1", upstreams)
    [shard] = telemetry.status()["partitions"][0]["shards"]
    assert shard["breaker"] == "closed"
