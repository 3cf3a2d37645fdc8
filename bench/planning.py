"""Cold planning time per operation: the planner's `plan()` on a normalised operation, no cache.

    .venv/bin/python -m bench.planning [--tree REV ...] [--sets 50 --queries 40] [--write-results]

Corpora: the W3 operations over the W1 supergraph (`w3/operations.py`); every query of every
conformance case (`tests/conformance/cases/*/queries.toml` on the case's supergraph); and
random subgraph sets with random queries (`tests/conformance/random`: `--sets` sets composed in
one batch, `--queries` queries each; sets that fail to compose are skipped). The corpora are
built once, from this checkout, and every tree plans the same operations.

Trees (`--tree`, repeatable, in order; default: the working tree): `.` is the working tree;
anything else is a git revision, checked out in a temporary worktree that is removed afterwards
(the same revision twice measures the noise between identical code).
This module imports nothing of the project: each tree is planned by `planning_driver.py`, run
with the venv's Python from inside that tree with `PYTHONPATH` pointing at it. The trees take
turns on chunks of a few supergraphs, in alternating order, `--rounds` times; each operation's
time is the median of all its runs (`--repeats` per round), the garbage collector off during
each `plan()` call.

Per corpus and tree: operations, how many were planned, refused by the planner
(`PlanningError`), failed in the planner (any other exception), or refused before it (parse,
validation, variables: not the planner's business, listed for completeness); p50, p99 and worst
of the per-operation medians. Ratios compare the operations every tree planned. Also the
doubling operation (30 fragments each spreading the next twice) through the engine's
`_document`/`_prepare` path: the time until it is refused, under a memory cap and a timeout.
Raw results go to `bench/results/planning-<timestamp>/`; `--write-results` replaces the
"Planning" section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as bench/planning.py
    sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from bench.w3.operations import generate as w3_operations  # noqa: E402

DRIVER = Path(__file__).resolve().parent / "planning_driver.py"
PYTHON = ROOT / ".venv" / "bin" / "python"
CORPORA = ("w3", "conformance", "random")
SECTION = "## Planning"


# ---- corpora -------------------------------------------------------------------------


def build_corpus(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    supergraphs: dict[str, str] = {}
    operations: list[dict[str, Any]] = []
    w1 = ROOT / "bench" / "w1" / "supergraph.graphql"
    supergraphs["w3"] = w1.read_text(encoding="utf-8")
    for op in w3_operations(args.w3_operations):
        operations.append({"corpus": "w3", "supergraph": "w3", "name": op.name,
                           "query": op.query, "operation_name": op.name})
    for case in sorted((ROOT / "tests" / "conformance" / "cases").iterdir()):
        queries, supergraph = case / "queries.toml", case / "supergraph.graphql"
        if not queries.is_file() or not supergraph.is_file():
            continue
        key = f"conformance/{case.name}"
        supergraphs[key] = supergraph.read_text(encoding="utf-8")
        for q in tomllib.loads(queries.read_text(encoding="utf-8")).get("query", []):
            operations.append({
                "corpus": "conformance", "supergraph": key, "name": f"{case.name}/{q['name']}",
                "query": q["query"], "operation_name": q.get("operation_name"),
                "variables": json.loads(q["variables"]) if "variables" in q else None,
            })
    random_info: dict[str, Any] = {"skipped": "--sets 0"}
    if args.sets > 0:
        out = work / "random-corpus.json"
        done = _driver(ROOT, ["random-corpus", "--sets", str(args.sets), "--queries",
                              str(args.queries), "--seed-base", str(args.seed_base)], out,
                       timeout=1800)
        if done is None:
            random_info = {"skipped": "the random corpus could not be built (see the log)"}
        else:
            random_info = {"seeds": f"{args.seed_base}..{args.seed_base + args.sets - 1}",
                           "sets": args.sets, "kept_sets": len(done["supergraphs"]),
                           "failures": done["failures"]}
            supergraphs.update(done["supergraphs"])
            for op in done["operations"]:
                operations.append({"corpus": "random", **op})
    for index, op in enumerate(operations):
        op["id"] = index
    return {"supergraphs": supergraphs, "operations": operations, "random": random_info}


# ---- running a tree --------------------------------------------------------------------


def _driver(tree: Path, argv: list[str], out: Path, timeout: float) -> Any:
    """Run the driver inside `tree`; its JSON output, or None (stderr kept next to `out`)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    command = [str(PYTHON), str(DRIVER), argv[0], "--root", str(tree), "--out", str(out),
               *argv[1:]]
    log = out.with_suffix(".log")
    with log.open("w", encoding="utf-8") as stderr:
        try:
            done = subprocess.run(command, cwd=tree, env=env, stdout=stderr, stderr=stderr,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return None
    if done.returncode != 0 or not out.exists():
        print(f"driver failed ({shlex.join(command)}), see {log}", file=sys.stderr)
        return None
    return json.loads(out.read_text(encoding="utf-8"))


class Trees:
    """The trees to compare: the working tree, or temporary worktrees of git revisions."""

    def __init__(self, specs: list[str], work: Path) -> None:
        self.work = work
        self.trees: list[tuple[str, Path]] = []
        self._worktrees: list[Path] = []
        for spec in specs:
            if spec == ".":
                head = _git("rev-parse", "--short", "HEAD")
                dirty = _git("status", "--porcelain", "--untracked-files=no", "--",
                             "gateway", "schema", "cache")
                label = f"working tree ({head}{' + uncommitted changes' if dirty else ''})"
                self.trees.append((label, ROOT))
                continue
            commit = _git("rev-parse", "--short", f"{spec}^{{commit}}")
            # the same revision twice is a control: how far apart identical code measures
            copies = sum(1 for label, _ in self.trees if label.split(" ")[0] == commit)
            label = commit if not copies else f"{commit} (copy {copies + 1})"
            path = work / f"tree-{commit}-{copies + 1}"
            _git("worktree", "add", "--detach", str(path), commit)
            self._worktrees.append(path)
            self.trees.append((label, path))

    def close(self) -> None:
        for path in self._worktrees:
            _git("worktree", "remove", "--force", str(path))


def _git(*argv: str) -> str:
    for _ in range(30):
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        if done.returncode == 0:
            return done.stdout.strip()
        if "index.lock" not in done.stderr:
            raise RuntimeError(f"git {' '.join(argv)}: {done.stderr.strip()}")
        time.sleep(1)
    raise RuntimeError(f"git {' '.join(argv)}: index.lock held too long")


def plan_trees(trees: list[tuple[str, Path]], corpus_path: Path, args: argparse.Namespace,
               work: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """The machine's speed drifts (it is shared), so the trees take turns on small chunks of
    the corpus — a few supergraphs each — rather than on the whole corpus."""
    merged: dict[str, dict[int, dict[str, Any]]] = {label: {} for label, _ in trees}
    chunks = _chunks(json.loads(corpus_path.read_text(encoding="utf-8")), work)
    turn = 0
    for round_index in range(args.rounds):
        print(f"round {round_index + 1} of {args.rounds} ...", file=sys.stderr)
        for chunk_index, chunk in enumerate(chunks):
            order = trees if turn % 2 == 0 else trees[::-1]
            turn += 1
            for label, path in order:
                out = work / f"plan-{path.name}-r{round_index}-c{chunk_index}.json"
                done = _driver(path, ["plan", "--corpus", str(chunk), "--repeats",
                                      str(args.repeats)], out, timeout=3600)
                if done is None:
                    continue
                out.unlink()
                for result in done["results"]:
                    into = merged[label].setdefault(result["id"],
                                                    dict(result, ms=[], cpu_ms=[]))
                    into["ms"].extend(result.get("ms", []))
                    into["cpu_ms"].extend(result.get("cpu_ms", []))
    return merged


def _chunks(corpus: dict[str, Any], work: Path, size: int = 200) -> list[Path]:
    """The corpus cut into files of about `size` operations, whole supergraphs each."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for op in corpus["operations"]:
        groups.setdefault(op["supergraph"], []).append(op)
    chunks: list[list[str]] = [[]]
    count = 0
    for key, ops in groups.items():
        if count >= size:
            chunks.append([])
            count = 0
        chunks[-1].append(key)
        count += len(ops)
    paths = []
    for index, keys in enumerate(chunks):
        path = work / f"chunk-{index}.json"
        path.write_text(json.dumps({
            "supergraphs": {k: corpus["supergraphs"][k] for k in keys},
            "operations": [op for k in keys for op in groups[k]]}), encoding="utf-8")
        paths.append(path)
    return paths


def doubling(trees: list[tuple[str, Path]], args: argparse.Namespace,
             work: Path) -> dict[str, list[dict[str, Any]]]:
    supergraph = ROOT / "schema" / "supergraph.graphql"
    found: dict[str, list[dict[str, Any]]] = {}
    for label, path in trees:
        runs = found.setdefault(label, [])
        for i in range(args.doubling_runs):
            out = work / f"doubling-{path.name}-{i}.json"
            started = time.perf_counter()
            done = _driver(path, ["doubling", "--supergraph", str(supergraph),
                                  "--name", f"Doubling{i}"], out, timeout=args.doubling_timeout)
            if done is None:
                elapsed = time.perf_counter() - started
                phases = [line[len("phase: "):] for line in
                          out.with_suffix(".log").read_text(encoding="utf-8").splitlines()
                          if line.startswith("phase: ")]
                where = f", still in {phases[-1]}" if phases else ""
                runs.append({"ms": elapsed * 1000, "outcome":
                             f"neither refused nor planned within {args.doubling_timeout:g} s "
                             f"(stopped{where})"})
                break  # a tree without the limit would only burn the same minutes again
            runs.append(done)
    return found


# ---- summaries -------------------------------------------------------------------------


def _rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summarise(corpus: dict[str, Any], merged: dict[str, dict[int, dict[str, Any]]]
              ) -> dict[str, Any]:
    ops = corpus["operations"]
    summary: dict[str, Any] = {}
    for name in CORPORA:
        ids = [op["id"] for op in ops if op["corpus"] == name]
        if not ids:
            continue
        per_tree: dict[str, Any] = {}
        planned_everywhere = [i for i in ids
                              if all(merged[t].get(i, {}).get("status") == "planned"
                                     for t in merged)]
        for tree, results in merged.items():
            counts: dict[str, int] = {}
            medians: dict[int, float] = {}
            errors: dict[str, int] = {}
            for i in ids:
                result = results.get(i, {"status": "missing"})
                counts[result["status"]] = counts.get(result["status"], 0) + 1
                if result["status"] == "planned" and result["ms"]:
                    medians[i] = statistics.median(result["ms"])
                elif result["status"] in ("refused", "fault"):
                    key = f"{result['status']}: {_short(result.get('error', ''), 120)}"
                    errors[key] = errors.get(key, 0) + 1
            entry: dict[str, Any] = {"operations": len(ids), "counts": counts, "errors": errors}
            if medians:
                worst = max(medians, key=medians.__getitem__)
                entry.update(p50=_rank(list(medians.values()), 0.5),
                             p99=_rank(list(medians.values()), 0.99),
                             worst=medians[worst], worst_id=worst,
                             worst_name=ops[worst]["name"],
                             worst_query=_short(ops[worst]["query"]),
                             worst_fetches=results[worst].get("fetches"),
                             total_ms=sum(medians.values()))
            common = [medians[i] for i in planned_everywhere if i in medians]
            if common:
                entry["common"] = {"operations": len(common), "p50": _rank(common, 0.5),
                                   "p99": _rank(common, 0.99), "worst": max(common),
                                   "total_ms": sum(common)}
            per_tree[tree] = entry
        summary[name] = per_tree
    return summary


def slowest_operations(corpus: dict[str, Any], merged: dict[str, dict[int, dict[str, Any]]],
                       labels: list[str], count: int = 5) -> list[dict[str, Any]]:
    """The `count` slowest plans of the last tree, with the first tree's time for each."""
    last, first = merged[labels[-1]], merged[labels[0]]
    timed = {i: statistics.median(r["ms"]) for i, r in last.items()
             if r["status"] == "planned" and r["ms"]}
    found = []
    for i in sorted(timed, key=timed.__getitem__, reverse=True)[:count]:
        op = corpus["operations"][i]
        then = first.get(i, {})
        reference: float | str | None = None
        if len(labels) > 1:
            reference = (statistics.median(then["ms"]) if then.get("status") == "planned"
                         and then.get("ms") else then.get("status", "missing"))
        found.append({"ms": timed[i], "fetches": last[i].get("fetches"), "corpus": op["corpus"],
                      "name": op["name"], "query": _short(op["query"], 140),
                      "reference_ms": reference})
    return found


def render(meta: dict[str, Any], summary: dict[str, Any],
           double: dict[str, list[dict[str, Any]]]) -> str:
    trees = meta["trees"]
    reference = trees[0]
    lines = [
        SECTION, "",
        "Cold plan time per operation: the planner's `plan()` on a normalised operation, no plan "
        "cache (`bench/planning.py`); each operation's time is the median of its runs, the "
        "garbage collector off during each call. Parse, validation and normalisation are not "
        "timed.",
        "",
        f"- Date: {meta['date']}",
        f"- Command: `{meta['command']}`",
        f"- Machine: {meta['machine']['cpu_model']} ({meta['machine']['logical_cpus']} logical "
        f"CPUs); kernel {meta['machine']['kernel']}; Python {meta['machine']['python']}; "
        f"load average {meta['load_before']} before, {meta['load_after']} after (the machine "
        f"is shared: compare ratios)",
        f"- Runs: {meta['rounds']} round(s) × {meta['repeats']} `plan()` calls per operation "
        f"and tree; the trees take turns, in alternating order, on chunks of a few supergraphs "
        f"(≈ 200 operations)",
        f"- Trees: {', '.join(f'`{t}`' for t in trees)}",
        f"- Corpora: W3, {meta['w3_operations']} operations over the W1 supergraph; conformance, "
        f"every query of {meta['conformance_cases']} cases; random, {_random_line(meta)}",
        "- refused: `PlanningError`; failed: any other exception in `plan()`; refused earlier: "
        "parse, validation or variables, before the planner (not timed).",
        "",
        "| corpus | tree | operations | planned | refused | failed | refused earlier | p50 ms "
        "| p99 ms | worst ms | worst operation |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, per_tree in summary.items():
        for tree in trees:
            e = per_tree[tree]
            c = e["counts"]
            earlier = c.get("invalid", 0) + c.get("supergraph", 0) + c.get("missing", 0)
            if "p50" in e:
                times = f"{e['p50']:.2f} | {e['p99']:.2f} | {e['worst']:.2f}"
                worst = f"{e['worst_name']} ({e['worst_fetches']} fetches): `{e['worst_query']}`"
            else:
                times, worst = "– | – | –", "–"
            cell = worst.replace("|", "\\|")
            lines.append(f"| {name} | `{tree}` | {e['operations']} | {c.get('planned', 0)} "
                         f"| {c.get('refused', 0)} | {c.get('fault', 0)} | {earlier} | {times} "
                         f"| {cell} |")
    if len(trees) > 1:
        lines += ["", f"Ratios over the operations every tree planned (÷ `{reference}`; below 1 "
                  f"is faster):", "",
                  "| corpus | tree | operations | p50 ms | p99 ms | worst ms | total ms "
                  "| p50 ratio | p99 ratio | worst ratio | total ratio |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, per_tree in summary.items():
            base = per_tree[reference].get("common")
            for tree in trees:
                c = per_tree[tree].get("common")
                if c is None or base is None:
                    continue
                ratios = " | ".join(f"{c[k] / base[k]:.2f}" if base[k] else "–"
                                    for k in ("p50", "p99", "worst", "total_ms"))
                lines.append(f"| {name} | `{tree}` | {c['operations']} | {c['p50']:.2f} "
                             f"| {c['p99']:.2f} | {c['worst']:.2f} | {c['total_ms']:.1f} "
                             f"| {ratios} |")
    slowest = meta.get("slowest") or []
    if slowest:
        last = trees[-1]
        lines += ["", f"Slowest plans in `{last}`, every corpus"
                  + (f" (and the same operation in `{reference}`)" if len(trees) > 1 else "")
                  + ":", ""]
        for s in slowest:
            before = s.get("reference_ms")
            then = (f"; `{reference}`: {before:.2f} ms" if isinstance(before, float)
                    else f"; `{reference}`: {before}" if before else "")
            lines.append(f"- {s['ms']:.2f} ms, {s['fetches']} fetches{then} — {s['corpus']} "
                         f"{s['name']}: `{s['query']}`")
    errors = [(name, tree, key, n) for name, per_tree in summary.items()
              for tree in trees for key, n in per_tree[tree]["errors"].items()]
    if errors:
        lines += ["", "Operations the planner refused or failed on:", ""]
        lines += [f"- {name}, `{tree}`: {n} × {key}" for name, tree, key, n in errors]
    lines += ["", "The doubling operation (1.2 KB: 30 fragments, each spreading the next one "
              "twice; 2^30 selections once expanded) on the demo supergraph, through the "
              "engine's `_document` and `_prepare` (no HTTP), each run in a fresh process "
              f"capped at {meta['doubling_memory_mib']} MiB of address space:", ""]
    for tree in trees:
        runs = double.get(tree, [])
        outcomes = sorted({r["outcome"] for r in runs})
        times = ", ".join(f"{r['ms']:.1f}" for r in runs)
        lines.append(f"- `{tree}`: {'; '.join(outcomes)} — {times} ms")
    return "\n".join(lines) + "\n"


def _random_line(meta: dict[str, Any]) -> str:
    info = meta["random"]
    if "skipped" in info:
        return f"skipped ({info['skipped']})"
    failures = ", ".join(f"{n} {what}" for what, n in info["failures"].items()) or "none failed"
    return (f"{info['kept_sets']} of {info['sets']} generated subgraph sets (seeds "
            f"{info['seeds']}; {failures}) × {meta['queries']} generated queries")


def replace_section(document: str, section: str) -> str:
    """`document` with its Planning section replaced by `section` (appended if it has none)."""
    start = document.find(f"\n{SECTION}\n")
    if start < 0:
        return document.rstrip("\n") + "\n\n\n" + section
    end = document.find("\n## ", start + 1)
    tail = document[end:] if end >= 0 else ""
    return document[: start + 1] + section + ("\n" + tail.lstrip("\n") if tail else "")


def keep_planning_section(old: str, new: str) -> str:
    """RESULTS.md as `bench/run` renders it, keeping the Planning section `old` had."""
    start = old.find(f"\n{SECTION}\n")
    if start < 0:
        return new
    end = old.find("\n## ", start + 1)
    section = old[start + 1: end if end >= 0 else len(old)].rstrip("\n") + "\n"
    return replace_section(new, section)


# ---- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", metavar="REV",
                        help="a git revision, or . for the working tree (repeatable, in order; "
                             "default: .); ratios are taken against the first")
    parser.add_argument("--w3-operations", type=int, default=40)
    parser.add_argument("--sets", type=int, default=50, help="random subgraph sets (0: none)")
    parser.add_argument("--queries", type=int, default=40, help="random queries per set")
    parser.add_argument("--seed-base", type=int, default=0, help="first random seed")
    parser.add_argument("--repeats", type=int, default=5, help="plan() calls per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--doubling-runs", type=int, default=3)
    parser.add_argument("--doubling-timeout", type=float, default=60.0, metavar="S")
    parser.add_argument("--write-results", action="store_true",
                        help="replace the Planning section of bench/RESULTS.md")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    work = ROOT / "bench" / "results" / f"planning-{started:%Y%m%dT%H%M%SZ}"
    work.mkdir(parents=True, exist_ok=True)
    load_before = f"{os.getloadavg()[0]:.2f}"
    corpus = build_corpus(args, work)
    corpus_path = work / "corpus.json"
    corpus_path.write_text(json.dumps(corpus), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="govgraph-planning-") as scratch:
        trees = Trees(args.tree or ["."], Path(scratch))
        try:
            merged = plan_trees(trees.trees, corpus_path, args, work)
            double = doubling(trees.trees, args, work)
        finally:
            trees.close()
    labels = [label for label, _ in trees.trees]
    summary = summarise(corpus, merged)
    meta = {
        "slowest": slowest_operations(corpus, merged, labels),
        "date": started.isoformat(timespec="seconds"),
        "command": shlex.join([".venv/bin/python", "-m", "bench.planning",
                               *(argv if argv is not None else sys.argv[1:])]),
        "machine": describe().as_dict(), "load_before": load_before,
        "load_after": f"{os.getloadavg()[0]:.2f}", "trees": labels, "rounds": args.rounds,
        "repeats": args.repeats, "w3_operations": args.w3_operations, "queries": args.queries,
        "conformance_cases": len({op["supergraph"] for op in corpus["operations"]
                                  if op["corpus"] == "conformance"}),
        "random": corpus["random"], "doubling_memory_mib": 3072,
        "raw": str(work.relative_to(ROOT)),
    }
    (work / "results.json").write_text(json.dumps(
        {"meta": meta, "summary": summary, "doubling": double,
         "per_operation": {t: list(r.values()) for t, r in merged.items()}}, indent=1),
        encoding="utf-8")
    section = render(meta, summary, double)
    print(section)
    if args.write_results:
        results = ROOT / "bench" / "RESULTS.md"
        results.write_text(replace_section(results.read_text(encoding="utf-8"), section),
                           encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
