"""Real processes for the resilience tests: fake subgraphs that misbehave on demand
(`fake_subgraph.py`) and `govgraph gateway` over a small supergraph of two subgraphs,
`alpha` (one server) and `beta` (partitioned into shards `r1` and `r2`).
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from audit.live_stack import (
    PROJECT_DIR,
    HttpReply,
    Process,
    free_port,
    govgraph_command,
    http,
    post_graphql,
)
from internal_tokens import client_token, write_key
from tiny_gateway import JOIN_DEFINITIONS

from demo.stack import dump_toml
from resolvers.datadir import national_db_path, province_db_path
from resolvers.national.seed import seed_national
from resolvers.provincial.seed import seed_province
from resolvers.reference import province

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


def breaker_moves(output: str) -> list[tuple[str, str, str]]:
    """(subgraph, shard or "", new state) of each circuit breaker move the gateway logged."""
    moves = []
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and str(entry.get("message", "")).startswith("circuit breaker"):
            moves.append((entry.get("subgraph"), entry.get("shard") or "", entry.get("breaker")))
    return moves


def send(url: str, query: str, variables: Mapping[str, Any] | None = None,
         headers: Mapping[str, str] | None = None) -> Timed:
    started = time.monotonic()
    reply = post_graphql(url, {"query": query, "variables": dict(variables or {})}, headers)
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


@dataclass
class GuangdongStack:
    """The national subgraph, Guangdong's shard alone, and `govgraph gateway` over the project's
    supergraph and routing (the other provinces have no shard here)."""

    data: Path
    national: Process
    shard: Process
    gateway: Process
    url: str

    def shard_db(self) -> Path:
        return province_db_path(self.data, "440000")

    def caller(self, role: str, **claims: Any) -> dict[str, str]:
        """The Authorization header of a client with this role (sub, province, stages, purpose)."""
        return {"authorization": f"Bearer {client_token(self.data / 'client.key', role, **claims)}"}

    def read(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.shard_db()}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()

    def close(self) -> None:
        for process in (self.gateway, self.shard, self.national):
            if process.popen.poll() is None:
                os.kill(process.popen.pid, signal.SIGCONT)
            process.stop()


def _healthy(port: int) -> Callable[[], bool]:
    return lambda: http("GET", f"http://127.0.0.1:{port}/health", timeout_s=2).status == 200


def start_guangdong(data: Path) -> GuangdongStack:
    guangdong = province("44")
    assert guangdong is not None
    seed_national(national_db_path(data), 0.05)
    seed_province(province_db_path(data, guangdong.code), guangdong, 0.05)
    national_port, shard_port, gateway_port = free_port(), free_port(), free_port()
    key = ("--internal-key-file", str(write_key(data)))
    write_key(data, "client.key")
    started: list[Process] = []
    try:
        started.append(Process(govgraph_command("subgraph", "national", "--port", str(national_port),
                                                "--data-dir", str(data), *key)))
        started.append(Process(govgraph_command("subgraph", "provincial", "--province", "44",
                                                "--port", str(shard_port), "--data-dir", str(data),
                                                *key)))
        started[0].wait_until(_healthy(national_port), "a healthy national subgraph")
        started[1].wait_until(_healthy(shard_port), "a healthy Guangdong shard")
        config = tomllib.loads((PROJECT_DIR / "govgraph.toml").read_text(encoding="utf-8"))
        config["gateway"].pop("supergraph", None)
        config["subgraphs"]["national"]["url"] = f"http://127.0.0.1:{national_port}/graphql"
        config["subgraphs"]["national"]["timeout_s"] = 1
        config["partitions"]["provincial"]["shards"] = {
            "440000": f"http://127.0.0.1:{shard_port}/provinces/440000/graphql"}
        config["partitions"]["provincial"]["shard_timeout_s"] = 1
        config["auth"].update(jwt_key_file=str(data / "client.key"), algorithms=["HS256"],
                              internal_key_file=key[1])
        persisted = config.get("persisted_queries", {})
        if "trusted_documents" in persisted:  # relative to govgraph.toml, not to the copy
            persisted["trusted_documents"] = str(PROJECT_DIR / persisted["trusted_documents"])
        path = data / "gateway.toml"
        path.write_text(dump_toml(config), encoding="utf-8")
        started.append(Process(govgraph_command(
            "gateway", "--supergraph", str(PROJECT_DIR / "schema" / "supergraph.graphql"),
            "--config", str(path), "--port", str(gateway_port))))
        started[2].wait_until(_healthy(gateway_port), "a healthy gateway")
    except BaseException:
        for process in started:
            process.stop()
        raise
    national, shard, gateway = started
    return GuangdongStack(data, national, shard, gateway, f"http://127.0.0.1:{gateway_port}/graphql")
