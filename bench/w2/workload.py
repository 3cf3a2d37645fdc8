"""W2: the portal's operations through govgraph with the provincial subgraph served as 31 shards.

The stack is what `make run` starts (`govgraph seed`, then `govgraph run`), fresh for each
round. govgraph only: the peer gateways have no shard map. An operation whose first answer
carries errors is reported with that error and not loaded.
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
from bench.processes import BenchError, CpuLayout, failure_text
from bench.procstat import load_average, settle, usage
from bench.targets import ROOT
from bench.w2.latency import DELAYS_MS, LATENCY_CONNECTIONS, run_latency
from bench.w2.operations import OPERATIONS, PortalOperation
from bench.w2.stack import GOVGRAPH, PortalStack, caller_headers, seed, start_portal
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
    data_dir = (options.results_dir / f"w2-data-scale-{options.w2_scale:g}").resolve()
    seed(data_dir, options.w2_scale)
    runs: list[dict[str, Any]] = []
    latency: list[dict[str, Any]] = []
    for round_number in range(1, options.rounds + 1):
        loaded, timed = _round(round_number, options, data_dir, workdir, layout)
        runs.extend(loaded)
        latency.extend(timed)
    shards = len(list((data_dir / "provinces").glob("*.db")))
    return {"workload": "w2", "scale": options.w2_scale, "shards": shards,
            "operations": {op.name: op.reach for op in OPERATIONS}, "runs": runs,
            "latency": {"delays_ms": list(DELAYS_MS), "connections": LATENCY_CONNECTIONS, "runs": latency}}


def _round(round_number: int, options: Options, data_dir: Path, workdir: Path,
           layout: CpuLayout) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The portal stack under load, operation by operation; then scatter latency through the stand-ins."""
    try:
        stack = start_portal(data_dir, workdir, layout, f"w2-r{round_number}")
    except BenchError as exc:
        return [{"target": "govgraph", "operation": op.name, "round": round_number, "failed": failure_text(exc)}
                for op in OPERATIONS], []
    try:
        loaded = [_operation(op, round_number, options, stack, workdir, layout) for op in OPERATIONS]
        timed = run_latency({op.name: op for op in OPERATIONS}, round_number, options, stack, data_dir, workdir,
                            layout)
        return loaded, timed
    finally:
        stack.stop()


def _operation(op: PortalOperation, round_number: int, options: Options, stack: PortalStack, workdir: Path,
               layout: CpuLayout) -> dict[str, Any]:
    """Correct means equal, byte for byte, to the first answer, which must have data and no errors."""
    label = f"w2-{op.name}-r{round_number}"
    record: dict[str, Any] = {"target": "govgraph", "operation": op.name, "round": round_number}
    try:
        _load(op, label, record, options, stack, workdir, layout)
    except (BenchError, OSError, http.client.HTTPException) as exc:
        record["failed"] = failure_text(exc)
    return record


def _load(op: PortalOperation, label: str, record: dict[str, Any], options: Options, stack: PortalStack,
          workdir: Path, layout: CpuLayout) -> None:
    body = json.dumps(op.as_request()).encode()
    body_path = workdir / f"{label}-request.json"
    body_path.write_bytes(body)
    headers = caller_headers(stack.data_dir, op.caller)
    client = Client(stack.gateway_port)
    try:
        status, first, _ = client.post(body, headers)
    finally:
        client.close()
    problem = _first_answer_problem(status, first)
    if problem is not None:
        record["failed"] = problem
        return
    accepted = workdir / f"{label}-accepted-body.json"
    accepted.write_bytes(first)
    record["answer_bytes"] = len(first)
    url = stack.gateway_url
    if options.warmup_s > 0:
        run_load(url, body_path, [accepted], workdir / f"{label}-warmup", connections=options.connections,
                 duration_s=options.warmup_s, threads=options.wrk_threads, cpus=layout.others, headers=headers)
    record["settle_s"] = settle(stack.gateway_pid)
    record["load_average_before"] = load_average()
    gateway_before, subgraphs_before = usage(stack.gateway_pid), _subgraphs_cpu(stack)
    started = time.monotonic()
    load = run_load(url, body_path, [accepted], workdir / f"{label}-mismatch", connections=options.connections,
                    duration_s=options.duration_s, threads=options.wrk_threads, cpus=layout.others,
                    headers=headers)
    wall = time.monotonic() - started
    gateway_after, subgraphs_after = usage(stack.gateway_pid), _subgraphs_cpu(stack)
    record["load_average_after"] = load_average()
    record["load"] = load.as_dict()
    record["wall_s"] = wall
    record["gateway_cpu_cores"] = (gateway_after.cpu_s - gateway_before.cpu_s) / wall
    record["gateway_peak_rss_mib"] = gateway_after.peak_rss_kib / 1024.0
    record["subgraphs_cpu_cores"] = (subgraphs_after - subgraphs_before) / wall
    record["wrk_cpu_cores"] = load.wrk_cpu_s / wall
    samples = sorted(workdir.glob(f"{label}-mismatch-*.txt"))
    if samples:
        record["mismatch_sample"] = samples[0].read_bytes()[:400].decode("utf-8", errors="replace")


def _subgraphs_cpu(stack: PortalStack) -> float:
    return sum(usage(pid).cpu_s for pid in stack.subgraph_pids)


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
