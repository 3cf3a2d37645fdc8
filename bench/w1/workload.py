"""W1: correct-response throughput under 50 keep-alive connections, targets alternated per round."""
from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

from bench.correctness import judge
from bench.launch import Client, running_gateway
from bench.options import Options
from bench.processes import BenchError, CpuLayout, failure_text
from bench.procstat import load_average, settle, usage
from bench.targets import Target
from bench.w1.stack import QUERY, SubgraphStack, reference_bodies, start_subgraphs
from bench.wrk import run_load


def run_w1(options: Options, targets: list[Target], workdir: Path, layout: CpuLayout) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"query": QUERY}).encode()
    body_path = workdir / "request.json"
    body_path.write_bytes(body)
    expected = reference_bodies([{"query": QUERY}], workdir)[0]
    expected_path = workdir / "expected.json"
    expected_path.write_bytes(expected.encode())
    stack = start_subgraphs(workdir, layout.others)
    runs: list[dict[str, Any]] = []
    try:
        for round_number in range(1, options.rounds + 1):
            for target in targets:
                runs.append(_measure(target, round_number, options, stack, workdir, layout,
                                     body, body_path, expected, expected_path))
    finally:
        stack.stop()
    return {"workload": "w1", "expected_bytes": len(expected.encode()), "runs": runs}


def _measure(target: Target, round_number: int, options: Options, stack: SubgraphStack, workdir: Path,
             layout: CpuLayout, body: bytes, body_path: Path, expected: str, expected_path: Path) -> dict[str, Any]:
    label = f"w1-{target.name}-r{round_number}"
    record: dict[str, Any] = {"target": target.name, "round": round_number}
    try:
        with running_gateway(target, stack.supergraph, stack.urls, workdir, layout.gateway, label) as gateway:
            client = Client(gateway.port)
            try:
                status, answer, _ = client.post(body)
            finally:
                client.close()
            verdict = judge(status, answer, expected)
            record["validation"] = {"correct": verdict.correct, "byte_identical": verdict.byte_identical,
                                    "reason": verdict.reason}
            accepted = [expected_path]
            if verdict.correct and not verdict.byte_identical:
                # the same value serialised by this gateway: accept exactly these bytes under load
                own = workdir / f"{label}-accepted-body.json"
                own.write_bytes(answer)
                accepted.append(own)
            mismatch = workdir / f"{label}-mismatch"
            if options.warmup_s > 0:
                run_load(gateway.url, body_path, accepted, workdir / f"{label}-warmup",
                         connections=options.connections, duration_s=options.warmup_s,
                         threads=options.wrk_threads, cpus=layout.others)
            record["settle_s"] = settle(gateway.service.pid)
            record["load_average_before"] = load_average()
            gateway_before, subgraphs_before = usage(gateway.service.pid), usage(stack.service.pid)
            started = time.monotonic()
            load = run_load(gateway.url, body_path, accepted, mismatch, connections=options.connections,
                            duration_s=options.duration_s, threads=options.wrk_threads, cpus=layout.others)
            wall = time.monotonic() - started
            gateway_after, subgraphs_after = usage(gateway.service.pid), usage(stack.service.pid)
            record["load_average_after"] = load_average()
    except (BenchError, OSError, http.client.HTTPException) as exc:
        record["failed"] = failure_text(exc)
        return record
    record["load"] = load.as_dict()
    record["wall_s"] = wall
    record["gateway_cpu_cores"] = (gateway_after.cpu_s - gateway_before.cpu_s) / wall
    record["gateway_peak_rss_mib"] = gateway_after.peak_rss_kib / 1024.0
    record["subgraphs_cpu_cores"] = (subgraphs_after.cpu_s - subgraphs_before.cpu_s) / wall
    record["wrk_cpu_cores"] = load.wrk_cpu_s / wall
    gateway_cpu_s = gateway_after.cpu_s - gateway_before.cpu_s
    record["correct_per_gateway_cpu_s"] = load.correct / gateway_cpu_s if gateway_cpu_s > 0 else None
    samples = sorted(workdir.glob(f"{label}-mismatch-*.txt"))
    if samples:
        record["mismatch_sample"] = samples[0].read_bytes()[:400].decode("utf-8", errors="replace")
    return record
