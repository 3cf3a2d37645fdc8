"""`bench/run`: run the workloads against the chosen gateways and write RESULTS.md and raw JSON."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from bench.machine import describe
from bench.options import Options
from bench.planning import keep_planning_section
from bench.processes import BenchError, CpuLayout
from bench.procstat import load_average
from bench.report import render
from bench.targets import DEFAULT_TARGETS, ROOT, TARGETS, select
from bench.w1.workload import run_w1
from bench.w2.workload import run_w2
from bench.w3.workload import run_w3
from bench.wrk import ensure_wrk

WORKLOADS = ("w1", "w2", "w3")


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark govgraph against Apollo Gateway and Hive Gateway. W1: correct-response "
                    "throughput on the industry workload; W2: the portal over 31 shards (govgraph only); "
                    "W3: cold vs warm planning. Writes bench/RESULTS.md and raw JSON under bench/results/.",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run: 1 round, 3 s warm-up, 8 s load, 6 W3 operations")
    parser.add_argument("--only", choices=WORKLOADS, action="append",
                        help="run only this workload (repeatable; default: all)")
    parser.add_argument("--targets", default=",".join(DEFAULT_TARGETS),
                        help=f"comma-separated gateways, in run order; the first is the ratio reference "
                             f"(default {','.join(DEFAULT_TARGETS)}; known: {', '.join(TARGETS)})")
    parser.add_argument("--rounds", type=int, help="rounds; targets alternate A B C within each (default 3)")
    parser.add_argument("--warmup", type=int, metavar="SECONDS", help="warm-up load per run (default 5)")
    parser.add_argument("--duration", type=int, metavar="SECONDS", help="measured load per run (default 15)")
    parser.add_argument("--connections", type=int, help="concurrent keep-alive connections (default 50)")
    parser.add_argument("--wrk-threads", type=int, help="wrk threads (default 1)")
    parser.add_argument("--w3-operations", type=int, metavar="K", help="distinct operations in W3 (default 40)")
    parser.add_argument("--w3-repeats", type=int, metavar="M", help="warm repeats per W3 operation (default 20)")
    parser.add_argument("--w2-scale", type=float, metavar="S",
                        help="data scale seeded for W2 (default 1.0; --quick 0.2)")
    parser.add_argument("--results", type=Path, metavar="DIR", help="raw results directory (default bench/results)")
    args = parser.parse_args(argv)
    options = Options.quick_run() if args.quick else Options()
    options.results_dir = ROOT / "bench" / "results"
    for name, value in (("rounds", args.rounds), ("warmup_s", args.warmup), ("duration_s", args.duration),
                        ("connections", args.connections), ("wrk_threads", args.wrk_threads),
                        ("w3_operations", args.w3_operations), ("w3_repeats", args.w3_repeats),
                        ("w2_scale", args.w2_scale),
                        ("results_dir", args.results)):
        if value is not None:
            setattr(options, name, value)
    for name in ("rounds", "duration_s", "connections", "wrk_threads", "w3_operations"):
        if getattr(options, name) < 1:
            parser.error(f"--{name.removesuffix('_s').replace('_', '-')} must be at least 1")
    if options.warmup_s < 0 or options.w3_repeats < 1 or not options.w2_scale > 0:
        parser.error("--warmup must be 0 or more, --w3-repeats at least 1 and --w2-scale above 0")
    options.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    try:
        select(options.targets)
    except ValueError as exc:
        parser.error(str(exc))
    options.workloads = args.only or list(WORKLOADS)
    return options


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = parse(argv)
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    run_dir = options.results_dir / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    layout = CpuLayout.detect()
    load_at_start = load_average()
    chosen = select(options.targets)
    skipped = {target.name: reason for target in chosen if (reason := target.unavailable()) is not None}
    runnable = [target for target in chosen if target.name not in skipped]
    for name, reason in skipped.items():
        print(f"bench: skipping {name}: {reason}", file=sys.stderr)
    results: dict[str, Any] = {}
    workloads = {
        "w1": lambda: run_w1(options, runnable, run_dir / "w1", layout),
        "w2": lambda: run_w2(options, run_dir / "w2", layout),
        "w3": lambda: run_w3(options, runnable, run_dir / "w3", layout),
    }
    for name in WORKLOADS:
        if name not in options.workloads:
            continue
        if name == "w2" and "govgraph" not in [target.name for target in runnable]:
            results[name] = {"workload": name, "skipped": "W2 runs govgraph only, and govgraph is not among the targets run"}
            continue
        if name != "w2" and not runnable:
            results[name] = {"workload": name, "skipped": "none of the chosen targets can run here"}
            continue
        print(f"bench: {name.upper()}", file=sys.stderr)
        try:
            if name in ("w1", "w2"):
                ensure_wrk()
            results[name] = workloads[name]()
        except BenchError as exc:
            print(f"bench: {name.upper()} did not complete: {exc}", file=sys.stderr)
            results[name] = {"workload": name, "failed": str(exc)}
    meta = {
        "date": started.isoformat(timespec="seconds"),
        "command": shlex.join(["bench/run", *argv]),
        "options": options.as_dict(),
        "layout": layout.describe(),
        "load_average_at_start": load_at_start,
        "machine": describe().as_dict(),
        "skipped_targets": skipped,
        "targets": {target.name: target.description for target in runnable},
        "raw": str(run_dir.relative_to(ROOT)) if run_dir.is_relative_to(ROOT) else str(run_dir),
    }
    (run_dir / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    markdown = render(meta, results)
    results_md = ROOT / "bench" / "RESULTS.md"
    if results_md.exists():  # the Planning section is bench/planning.py's: keep it
        markdown = keep_planning_section(results_md.read_text(encoding="utf-8"), markdown)
    results_md.write_text(markdown, encoding="utf-8")
    print(markdown)
    wrong = wrong_answers(results)
    for line in wrong:
        print(f"bench: {line}", file=sys.stderr)
    # a throughput of wrong answers measures nothing: the run fails (the results are written)
    return 1 if wrong else 0


def wrong_answers(results: dict[str, Any]) -> list[str]:
    """Each run that got a wrong answer (or failed its answer check), one line per run."""
    out: list[str] = []
    for name, result in results.items():
        if "failed" in result:
            out.append(f"{name.upper()} did not complete: {result['failed']}")
        runs = list(result.get("runs", ())) + list(result.get("latency", {}).get("runs", ()))
        for run in runs:
            label = " ".join(
                str(run[k]) for k in ("target", "operation", "delay_ms", "round") if k in run
            )
            validation = run.get("validation")
            incorrect = run.get("load", {}).get("incorrect", run.get("incorrect", 0))
            if validation is not None and not validation.get("correct", True):
                out.append(f"{name.upper()} {label}: wrong first answer: {validation.get('reason')}")
            elif incorrect:
                out.append(f"{name.upper()} {label}: {incorrect} wrong answers")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
