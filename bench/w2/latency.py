"""W2 scatter latency: 31 shards that answer in parallel, as separate provincial platforms do.

On this machine the demo's 31 shards share one Python process, so under the portal stack a
scatter waits for that process to work through 31 requests one after another: it measures
where the shards run, not what the gateway adds. Here a second govgraph gateway (the portal
stack's own configuration, pinned to the gateway core) reaches the shards through
`shards.mjs`, which fetches each distinct shard request once from the real provincial
subgraph and then answers it after a fixed delay without holding a core — a province
answering from its own hardware. One connection sends one request at a time, so latency is
the gateway's fan-out and merge plus the slowest shard, not queueing.

Every answer is checked byte for byte against the portal stack's own answer (real shards).
The delays are swept: 0 ms isolates the gateway's own cost of 31 fetches.
"""
from __future__ import annotations

import http.client
import json
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.launch import Client
from bench.options import Options
from bench.processes import BenchError, CpuLayout, Service, failure_text, free_port, pinned
from bench.procstat import settle, usage
from bench.targets import ROOT
from bench.w2.operations import SCATTER_PAIRS, PortalOperation
from bench.w2.stack import GOVGRAPH, LOAD_ENV, PortalStack, caller_headers
from bench.wrk import run_load

HERE = Path(__file__).resolve().parent
DELAYS_MS = (0, 5, 20)
PARTITION = "provincial"
LATENCY_CONNECTIONS = 1
# where `govgraph run` writes the gateway configuration it uses (README: "Running parts on their own")
EFFECTIVE_CONFIG = "gateway.toml"


def run_latency(operations: dict[str, PortalOperation], round_number: int, options: Options, stack: PortalStack,
                data_dir: Path, workdir: Path, layout: CpuLayout) -> list[dict[str, Any]]:
    """One record per (delay, operation) of every scatter pair; failures are records too."""
    wanted = [operations[name] for pair in SCATTER_PAIRS for name in pair]
    label = f"w2-latency-r{round_number}"
    with ExitStack() as cleanup:
        try:
            headers = {op.name: caller_headers(data_dir, op.caller) for op in wanted}
            accepted = {op.name: _answer(stack.gateway_port, op, headers[op.name]) for op in wanted}
            standins = _start_standins(stack, workdir, layout, label, cleanup)
            gateway = _start_gateway(standins, data_dir, workdir, layout, label, cleanup)
        except (BenchError, OSError, ValueError, http.client.HTTPException) as exc:
            return [{"operation": op.name, "round": round_number, "delay_ms": delay, "failed": failure_text(exc)}
                    for delay in DELAYS_MS for op in wanted]
        records = []
        for delay in DELAYS_MS:
            for op in wanted:
                record: dict[str, Any] = {"operation": op.name, "round": round_number, "delay_ms": delay}
                try:
                    _post(f"{standins}/__delay?ms={delay}")
                    _measure(op, accepted[op.name], headers[op.name], record, options, gateway, standins,
                             workdir, f"{label}-{delay}ms-{op.name}", layout)
                except (BenchError, OSError, ValueError, http.client.HTTPException) as exc:
                    record["failed"] = failure_text(exc)
                records.append(record)
        return records


def _start_standins(stack: PortalStack, workdir: Path, layout: CpuLayout, label: str,
                    cleanup: ExitStack) -> str:
    """`shards.mjs` in front of the real provincial shards; returns its base URL."""
    port = free_port()
    service = Service(
        name="shard stand-ins (bench/w2/shards.mjs)",
        argv=pinned(["node", str(HERE / "shards.mjs"), str(port), f"http://127.0.0.1:{stack.provincial_port}"],
                    layout.others),
        log_path=workdir / f"{label}-shards.log",
    ).start()
    cleanup.callback(service.stop)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _stats(base)
            return base
        except OSError:
            if service.process is not None and service.process.poll() is not None:
                raise BenchError(f"{service.name} exited; log:\n{service.log_tail()}") from None
            if time.monotonic() > deadline:
                raise BenchError(f"{service.name} did not answer within 30 s; log:\n{service.log_tail()}") from None
            time.sleep(0.1)


def _start_gateway(standins: str, data_dir: Path, workdir: Path, layout: CpuLayout, label: str,
                   cleanup: ExitStack) -> tuple[int, int]:
    """The portal stack's gateway configuration, with every shard URL pointing at the stand-ins.

    Returns (port, pid).
    """
    port = free_port()
    service = Service(
        name="govgraph gateway (shards through the stand-ins)",
        argv=pinned([str(GOVGRAPH), "gateway", "--config", str(data_dir / EFFECTIVE_CONFIG),
                     "--port", str(port), "--workers", "1"], layout.gateway),
        env={**LOAD_ENV,
             f"GOVGRAPH_PARTITION_{PARTITION.upper()}_SHARD_URL_TEMPLATE": f"{standins}/provinces/{{key}}/graphql"},
        log_path=workdir / f"{label}-gateway.log",
        cwd=ROOT,
    ).start()
    cleanup.callback(service.stop)
    service.wait_ready(f"http://127.0.0.1:{port}/graphql", timeout_s=120)
    return port, service.pid


def _measure(op: PortalOperation, accepted: bytes, headers: dict[str, str], record: dict[str, Any], options: Options,
             gateway: tuple[int, int], standins: str, workdir: Path, label: str, layout: CpuLayout) -> None:
    port, pid = gateway
    body = json.dumps(op.as_request()).encode()
    first = _answer(port, op, headers)
    if first != accepted:
        raise BenchError(f"the answer through the stand-ins differs from the real shards': "
                         f"{first[:200].decode('utf-8', errors='replace')}")
    body_path = workdir / f"{label}-request.json"
    body_path.write_bytes(body)
    accepted_path = workdir / f"{label}-accepted-body.json"
    accepted_path.write_bytes(accepted)
    url = f"http://127.0.0.1:{port}/graphql"
    warmup = min(options.warmup_s, 3)
    if warmup > 0:
        run_load(url, body_path, [accepted_path], workdir / f"{label}-warmup", connections=LATENCY_CONNECTIONS,
                 duration_s=warmup, threads=1, cpus=layout.others, headers=headers)
    settle(pid)
    before, fetches_before = usage(pid).cpu_s, _stats(standins)["upstream_fetches"]
    load = run_load(url, body_path, [accepted_path], workdir / f"{label}-mismatch", connections=LATENCY_CONNECTIONS,
                    duration_s=options.duration_s, threads=1, cpus=layout.others, headers=headers)
    after, fetches_after = usage(pid).cpu_s, _stats(standins)["upstream_fetches"]
    record["load"] = load.as_dict()
    record["gateway_cpu_ms_per_request"] = (after - before) * 1000.0 / load.requests if load.requests else None
    # remembered answers only: a fetch from the real shards during the load would be theirs, not a province's
    record["real_shard_fetches"] = fetches_after - fetches_before


def _answer(port: int, op: PortalOperation, headers: dict[str, str]) -> bytes:
    client = Client(port)
    try:
        status, payload, _ = client.post(json.dumps(op.as_request()).encode(), headers)
    finally:
        client.close()
    if status != 200:
        raise BenchError(f"{op.name} answered HTTP {status}: {payload[:200].decode('utf-8', errors='replace')}")
    value = json.loads(payload)
    if value.get("errors") or not value.get("data"):
        raise BenchError(f"{op.name} answered with errors or no data: {payload[:300].decode('utf-8', errors='replace')}")
    return payload


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status >= 300:
            raise BenchError(f"{url} answered HTTP {response.status}")


def _stats(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/__stats", timeout=5) as response:
        stats: dict[str, Any] = json.loads(response.read())
    return stats
