"""Real processes for the resilience tests: fake subgraphs that misbehave on demand
(`fake_subgraph.py`) and `govgraph gateway` over a small supergraph of two subgraphs,
`alpha` (one server) and `beta` (partitioned into shards `r1` and `r2`).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from audit.live_stack import HttpReply, Process, free_port, govgraph_command, http, post_graphql
from tiny_gateway import JOIN_DEFINITIONS

FAKE = Path(__file__).with_name("fake_subgraph.py")

SUPERGRAPH = """
schema @link(url: "https://specs.apollo.dev/link/v1.0")
       @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) {
  query: Query
  mutation: Mutation
}
""" + JOIN_DEFINITIONS + """
enum join__Graph {
  ALPHA @join__graph(name: "alpha", url: "http://127.0.0.1:9/graphql")
  BETA @join__graph(name: "beta", url: "http://127.0.0.1:9/graphql")
}
type Query @join__type(graph: ALPHA) @join__type(graph: BETA) {
  a(n: Int): Thing @join__field(graph: ALPHA)
  b(region: ID, n: Int): [Thing] @join__field(graph: BETA)
}
type Mutation @join__type(graph: ALPHA) @join__type(graph: BETA) {
  write(n: Int, idempotencyKey: String): Thing @join__field(graph: ALPHA)
  writeInput(input: WriteInput!): Thing @join__field(graph: ALPHA)
  mark(region: ID!, idempotencyKey: String): Thing @join__field(graph: BETA)
}
input WriteInput @join__type(graph: ALPHA) { n: Int idempotencyKey: String! }
type Thing @join__type(graph: ALPHA) @join__type(graph: BETA) { n: Int }
"""

ALPHA_BODY = {"data": {"a": {"n": 1}, "write": {"n": 1}, "writeInput": {"n": 1}}}
BETA_BODY = {"data": {"b": [{"n": 2}], "mark": {"n": 2}}}


class FakeSubgraph:
    """One `fake_subgraph.py` process."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.port = free_port()
        self.process = Process([sys.executable, str(FAKE), str(self.port), json.dumps(body)])
        self.base = f"http://127.0.0.1:{self.port}"
        self.process.wait_until(lambda: http("GET", f"{self.base}/stats", timeout_s=2).status == 200,
                                "a fake subgraph answering /stats")

    def url(self, path: str = "/graphql") -> str:
        return f"{self.base}{path}"

    def stats(self) -> dict[str, Any]:
        return http("GET", f"{self.base}/stats", timeout_s=5).json()

    def set(self, mode: str | None = None, delay: float | None = None) -> None:
        query = "&".join(f"{k}={v}" for k, v in (("mode", mode), ("delay", delay)) if v is not None)
        assert http("GET", f"{self.base}/control?{query}", timeout_s=5).status == 200

    def stop_process(self) -> None:
        os.kill(self.process.popen.pid, signal.SIGSTOP)

    def continue_process(self) -> None:
        os.kill(self.process.popen.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.process.popen.kill()
        self.process.popen.wait(10)

    def close(self) -> None:
        if self.process.popen.poll() is None:
            self.continue_process()
        self.process.stop()


@pytest.fixture(name="fakes")
def fake_subgraphs() -> Iterator[tuple[FakeSubgraph, FakeSubgraph]]:
    """Fake `alpha` and `beta` (whose shards r1 and r2 it serves at /r1 and /r2)."""
    alpha, beta = FakeSubgraph(ALPHA_BODY), FakeSubgraph(BETA_BODY)
    try:
        yield alpha, beta
    finally:
        alpha.close()
        beta.close()


def beta_partition(beta: FakeSubgraph, settings: str) -> str:
    """The `[partitions.beta]` table: shards r1 and r2 on `beta`, routed by `region`."""
    return f"""
[partitions.beta]
{settings}
[partitions.beta.shards]
r1 = "{beta.url('/r1/graphql')}"
r2 = "{beta.url('/r2/graphql')}"
[partitions.beta.routing.arguments]
region = "key"
"""


@dataclass
class Gateway:
    process: Process
    url: str

    def output(self) -> str:
        return self.process.output()


def start_gateway(tmp: Path, config: str) -> Gateway:
    """`govgraph gateway` over the two-subgraph supergraph with `config` (TOML text)."""
    supergraph = tmp / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH, encoding="utf-8")
    config_path = tmp / "gateway.toml"
    config_path.write_text(config, encoding="utf-8")
    port = free_port()
    process = Process(govgraph_command("gateway", "--supergraph", str(supergraph), "--config",
                                       str(config_path), "--port", str(port)))
    process.wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health", timeout_s=2).status
                       == 200, "a healthy gateway")
    return Gateway(process, f"http://127.0.0.1:{port}/graphql")


@dataclass
class Timed:
    reply: HttpReply
    seconds: float

    @property
    def body(self) -> dict[str, Any]:
        return self.reply.json()

    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.body.get("errors", [])]


def send(url: str, query: str, variables: Mapping[str, Any] | None = None) -> Timed:
    started = time.monotonic()
    reply = post_graphql(url, {"query": query, "variables": dict(variables or {})})
    return Timed(reply, time.monotonic() - started)


def send_all(url: str, calls: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Timed]:
    """Every call at once, each on its own connection."""
    calls = list(calls)
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: send(url, *call), calls))


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    ends = time.monotonic() + timeout_s
    while time.monotonic() < ends:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout_s} s")
