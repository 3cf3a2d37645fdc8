"""W2: the portal's operations through govgraph with the provincial subgraph served as 31 shards.

The stack is what `govgraph run` starts (seeded data, the national subgraph, the provincial
shards) with the gateway started separately so it can be pinned to its own core. govgraph
only: the peer gateways have no shard map. An operation whose first answer carries errors
is reported with that error and not loaded.
"""
from __future__ import annotations

import http.client
import importlib.metadata
import json
import time
from pathlib import Path
from typing import Any

from bench.launch import Client
from bench.options import Options
from bench.processes import BenchError, CpuLayout, Service, failure_text, free_port, pinned
from bench.procstat import load_average, settle, usage
from bench.targets import ROOT
from bench.w2.operations import OPERATIONS, PortalOperation
from bench.w2.stack import GOVGRAPH, SUPERGRAPH, PortalStack, seed, start_portal_subgraphs
from bench.wrk import run_load

REQUIRED_COMMANDS = ("gateway", "seed", "subgraph", "run")


def missing_prerequisite() -> str | None:
    """The first piece of the portal stack that is not there yet, as a sentence, or None."""
    declared = {entry.name for entry in importlib.metadata.entry_points(group="govgraph.commands")}
    for command in REQUIRED_COMMANDS:
        if command not in declared:
            return f"`govgraph {command}` is not declared"
    if not (ROOT / "gateway" / "engine.py").exists():
        return "the govgraph gateway engine (gateway/engine.py) does not exist yet"
    if not GOVGRAPH.exists():
        return f"{GOVGRAPH} is not installed"
    return None


def run_w2(options: Options, workdir: Path, layout: CpuLayout) -> dict[str, Any]:
    reason = missing_prerequisite()
    if reason is not None:
        return {"workload": "w2", "skipped": reason}
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = options.results_dir / f"w2-data-scale-{options.w2_scale:g}"
    seed(data_dir, options.w2_scale)
    stack = start_portal_subgraphs(data_dir, workdir, layout.others)
    runs: list[dict[str, Any]] = []
    try:
        for round_number in range(1, options.rounds + 1):
            runs.extend(_round(round_number, options, stack, workdir, layout))
    finally:
        stack.stop()
    return {"workload": "w2", "scale": options.w2_scale, "shards": len(stack.shard_urls),
            "operations": {op.name: op.reach for op in OPERATIONS}, "runs": runs}


def _round(round_number: int, options: Options, stack: PortalStack, workdir: Path,
           layout: CpuLayout) -> list[dict[str, Any]]:
    label = f"w2-govgraph-r{round_number}"
    config = workdir / f"{label}.toml"
    config.write_text(stack.gateway_config(), encoding="utf-8")
    port = free_port()
    gateway = Service(
        name="govgraph",
        argv=pinned([str(GOVGRAPH), "gateway", "--supergraph", str(SUPERGRAPH), "--port", str(port),
                     "--workers", "1", "--config", str(config)], layout.gateway),
        log_path=workdir / f"{label}.log",
    ).start()
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        gateway.wait_ready(url)
        return [_operation(op, round_number, options, gateway, stack, url, port, workdir, layout)
                for op in OPERATIONS]
    except (BenchError, OSError, http.client.HTTPException) as exc:
        return [{"target": "govgraph", "operation": op.name, "round": round_number, "failed": failure_text(exc)}
                for op in OPERATIONS]
    finally:
        gateway.stop()


def _operation(op: PortalOperation, round_number: int, options: Options, gateway: Service, stack: PortalStack,
               url: str, port: int, workdir: Path, layout: CpuLayout) -> dict[str, Any]:
    """Correct means equal, byte for byte, to the first answer, which must have data and no errors."""
    label = f"w2-{op.name}-r{round_number}"
    record: dict[str, Any] = {"target": "govgraph", "operation": op.name, "round": round_number}
    body = json.dumps(op.as_request()).encode()
    body_path = workdir / f"{label}-request.json"
    body_path.write_bytes(body)
    client = Client(port)
    try:
        status, first, _ = client.post(body)
    finally:
        client.close()
    problem = _first_answer_problem(status, first)
    if problem is not None:
        record["failed"] = problem
        return record
    accepted = workdir / f"{label}-accepted-body.json"
    accepted.write_bytes(first)
    record["answer_bytes"] = len(first)
    if options.warmup_s > 0:
        run_load(url, body_path, [accepted], workdir / f"{label}-warmup", connections=options.connections,
                 duration_s=options.warmup_s, threads=options.wrk_threads, cpus=layout.others)
    record["settle_s"] = settle(gateway.pid)
    record["load_average_before"] = load_average()
    gateway_before, subgraphs_before = usage(gateway.pid), usage(stack.service.pid)
    started = time.monotonic()
    load = run_load(url, body_path, [accepted], workdir / f"{label}-mismatch", connections=options.connections,
                    duration_s=options.duration_s, threads=options.wrk_threads, cpus=layout.others)
    wall = time.monotonic() - started
    gateway_after, subgraphs_after = usage(gateway.pid), usage(stack.service.pid)
    record["load_average_after"] = load_average()
    record["load"] = load.as_dict()
    record["wall_s"] = wall
    record["gateway_cpu_cores"] = (gateway_after.cpu_s - gateway_before.cpu_s) / wall
    record["gateway_peak_rss_mib"] = gateway_after.peak_rss_kib / 1024.0
    record["subgraphs_cpu_cores"] = (subgraphs_after.cpu_s - subgraphs_before.cpu_s) / wall
    record["wrk_cpu_cores"] = load.wrk_cpu_s / wall
    samples = sorted(workdir.glob(f"{label}-mismatch-*.txt"))
    if samples:
        record["mismatch_sample"] = samples[0].read_bytes()[:400].decode("utf-8", errors="replace")
    return record


def _first_answer_problem(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"first answer was HTTP {status}: {body[:300].decode('utf-8', errors='replace')}"
    try:
        value = json.loads(body)
    except ValueError:
        return f"first answer is not JSON: {body[:300].decode('utf-8', errors='replace')}"
    if value.get("errors"):
        return f"first answer has errors: {json.dumps(value['errors'], ensure_ascii=False)[:300]}"
    if not value.get("data"):
        return "first answer has no data"
    return None
