"""W3: latency of the first request of each distinct operation (planning included) vs its repeats."""
from __future__ import annotations

import http.client
import json
from pathlib import Path
from statistics import median
from typing import Any

from bench.correctness import judge
from bench.launch import Client, running_gateway
from bench.options import Options
from bench.processes import BenchError, CpuLayout, failure_text
from bench.targets import Target
from bench.w1.stack import QUERY, reference_bodies, start_subgraphs
from bench.w3.operations import generate

WARMUP_REQUESTS = 5


def run_w3(options: Options, targets: list[Target], workdir: Path, layout: CpuLayout) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    operations = generate(options.w3_operations)
    requests = [operation.as_request() for operation in operations]
    expected = reference_bodies(requests, workdir)
    bodies = [json.dumps(request).encode() for request in requests]
    runs: list[dict[str, Any]] = []
    for round_number in range(1, options.rounds + 1):
        for target in targets:
            runs.append(_measure(target, round_number, options, workdir, layout, bodies, expected))
    return {"workload": "w3", "operations": len(operations), "repeats": options.w3_repeats, "runs": runs}


def _measure(target: Target, round_number: int, options: Options, workdir: Path, layout: CpuLayout,
             bodies: list[bytes], expected: list[str]) -> dict[str, Any]:
    """Fresh subgraphs too, so no gateway finds subgraph answers another gateway already paid for."""
    label = f"w3-{target.name}-r{round_number}"
    record: dict[str, Any] = {"target": target.name, "round": round_number}
    run_dir = workdir / label
    run_dir.mkdir(parents=True, exist_ok=True)
    cold: list[float] = []
    warm: list[float] = []
    correct = incorrect = 0
    first_wrong: str | None = None
    try:
        stack = start_subgraphs(run_dir, layout.others)
        try:
            with running_gateway(target, stack.supergraph, stack.urls, run_dir, layout.gateway, label) as gateway:
                client = Client(gateway.port)
                try:
                    # connections to every subgraph and the gateway's own start-up paths, outside the timing
                    warmup = json.dumps({"query": QUERY}).encode()
                    for _ in range(WARMUP_REQUESTS):
                        client.post(warmup)
                    for body, answer in zip(bodies, expected):
                        timings = []
                        for _ in range(1 + options.w3_repeats):
                            status, payload, elapsed = client.post(body)
                            verdict = judge(status, payload, answer)
                            if verdict.correct:
                                correct += 1
                            else:
                                incorrect += 1
                                first_wrong = first_wrong or verdict.reason
                            timings.append(elapsed)
                        cold.append(timings[0])
                        warm.append(median(timings[1:]) if len(timings) > 1 else timings[0])
                finally:
                    client.close()
        finally:
            stack.stop()
    except (BenchError, OSError, http.client.HTTPException) as exc:
        record["failed"] = failure_text(exc)
        return record
    record.update({
        "cold_ms": cold,
        "warm_ms": warm,
        "cold_median_ms": median(cold),
        "warm_median_ms": median(warm),
        "cold_over_warm": median(c / w for c, w in zip(cold, warm) if w > 0),
        "correct": correct,
        "incorrect": incorrect,
        "first_wrong": first_wrong,
    })
    return record
