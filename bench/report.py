"""Render RESULTS.md: the machine, the command, and tables of medians and per-round ratios."""
from __future__ import annotations

from typing import Any

from bench.summary import by_target, median_of, reference_target, round_ratios


def render(meta: dict[str, Any], results: dict[str, Any]) -> str:
    machine = meta["machine"]
    lines = [
        "# govgraph benchmark results",
        "",
        f"- Date: {meta['date']}",
        f"- Command: `{meta['command']}`",
        f"- Mode: {'quick smoke run (numbers are indicative only)' if meta['options']['quick'] else 'full run'}",
        (f"- Options: rounds {meta['options']['rounds']}, warm-up {meta['options']['warmup_s']} s, "
        f"measure {meta['options']['duration_s']} s, {meta['options']['connections']} keep-alive connections, "
        f"wrk threads {meta['options']['wrk_threads']}"),
        f"- CPU pinning: {meta['layout']}",
        (f"- Machine load (1-minute average) at start: {_fmt(meta['load_average_at_start'], 2)} "
        "(other work on the machine slows every target; compare ratios, not absolute numbers)"),
        (f"- CPU: {machine['cpu_model']} ({machine['logical_cpus']} logical CPUs); kernel {machine['kernel']}; "
        f"Python {machine['python']}; Node {machine['node']}"),
        f"- Raw results: `{meta['raw']}`",
        "",
        "```",
        machine["memory"],
        "```",
        "",
    ]
    if meta.get("targets"):
        lines += ["Targets:", ""]
        lines += [f"- `{name}`: {description}" for name, description in meta["targets"].items()]
        lines.append("")
    if meta["skipped_targets"]:
        lines += ["Targets not run:", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in meta["skipped_targets"].items()]
        lines.append("")
    sections = {"w1": ("W1: industry workload", _w1), "w2": ("W2: portal workload (govgraph only)", _w2),
                "w3": ("W3: cold vs warm planning", _w3)}
    for name, (title, section) in sections.items():
        if name not in results:
            continue
        result = results[name]
        if "skipped" in result or "failed" in result:
            verdict = f"Not run: {result['skipped']}" if "skipped" in result else f"Did not complete: {result['failed']}"
            lines += [f"## {title}", "", verdict, ""]
        else:
            lines += section(result)
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


# (govgraph target, peer, what the target asks for): throughput ratios, same round
_W1_PAIRS = (
    ("govgraph-nodedup", "apollo", "≥ 5× Apollo Gateway, deduplication off"),
    ("govgraph-nodedup", "hive-nodedup", "Hive Gateway with deduplication off, for scale"),
    ("govgraph-inbound", "hive-inbound", "≥ 1× Hive Gateway, client-request deduplication on for both"),
)


def _w1_targets(runs: list[dict[str, Any]], rps: Any) -> list[str]:
    """The targets' own ratios, each taken within a round and then the median over rounds."""
    lines = ["Targets (ratios within a round, median over rounds):", ""]
    found = False
    for ours, peer, goal in _W1_PAIRS:
        ratio = round_ratios(runs, rps, peer).get(ours)
        if ratio:
            found = True
            per_round = ", ".join(f"{r:.2f}" for r in ratio.values())
            lines.append(f"- `{ours}` ÷ `{peer}` throughput: **{median_of(ratio.values()):.2f}×** "
                         f"({goal}; per round {per_round})")
    p99 = round_ratios(runs, lambda run: run["load"]["latency_ms"]["p99"] if "load" in run else None,
                       "apollo").get("govgraph")
    if p99:
        found = True
        lines.append(f"- `govgraph` p99 latency ÷ `apollo`'s: **{median_of(p99.values()):.2f}** (≤ 0.33)")
    rss = [run["gateway_peak_rss_mib"] for run in runs
           if run["target"].startswith("govgraph") and "load" in run]
    if rss:
        found = True
        lines.append(f"- govgraph peak RSS, worst run of any govgraph target: **{max(rss):.1f} MiB** "
                     "(≤ 150 MiB per worker)")
    return lines + [""] if found else []


def _w1(w1: dict[str, Any]) -> list[str]:
    runs = w1["runs"]
    ok = [run for run in runs if "load" in run]
    lines = [
        "## W1: industry workload (4 subgraphs, nested query)",
        "",
        (f"Every response is compared with the reference answer ({w1['expected_bytes']:,} bytes, computed "
        "without federation); throughput counts correct responses only."),
        "",
    ]
    if not ok:
        lines += ["No target completed a round.", ""]
        return lines + _failures(runs)

    def rps(run: dict[str, Any]) -> float | None:
        return run["load"]["correct_rps"] if "load" in run else None

    reference = reference_target(runs, lambda run: "load" in run)
    ratios = round_ratios(runs, rps, reference) if reference else {}
    lines += _w1_targets(runs, rps)
    lines += [
        f"Medians over rounds; ratio = correct responses/s ÷ `{reference}`'s in the same round, median over rounds.",
        "",
        ("| target | rounds | correct/s | ratio | wrong | p50 ms | p99 ms | gateway CPU (cores) "
        "| peak RSS MiB | correct per gateway CPU-s | subgraphs CPU (cores) | wrk CPU (cores) |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for target, target_runs in by_target(runs).items():
        done = [run for run in target_runs if "load" in run]
        if not done:
            continue
        lines.append(
            f"| {target} | {len(done)} | {_fmt(median_of(rps(r) for r in done))} "
            f"| {_fmt(median_of(ratios.get(target, {}).values()), 3)} "
            f"| {sum(r['load']['incorrect'] for r in done):,} "
            f"| {_fmt(median_of(r['load']['latency_ms']['p50'] for r in done), 2)} "
            f"| {_fmt(median_of(r['load']['latency_ms']['p99'] for r in done), 2)} "
            f"| {_fmt(median_of(r['gateway_cpu_cores'] for r in done), 2)} "
            f"| {_fmt(median_of(r['gateway_peak_rss_mib'] for r in done))} "
            f"| {_fmt(median_of(r['correct_per_gateway_cpu_s'] for r in done))} "
            f"| {_fmt(median_of(r['subgraphs_cpu_cores'] for r in done), 2)} "
            f"| {_fmt(median_of(r['wrk_cpu_cores'] for r in done), 2)} |"
        )
    lines += ["", "Per round (correct responses/s, ratio to the reference target):", "",
              "| round | target | correct/s | ratio | wrong | socket errors | machine load avg before → after |",
              "|---|---|---|---|---|---|---|"]
    for run in ok:
        errors = sum(run["load"]["socket_errors"].values())
        lines.append(f"| {run['round']} | {run['target']} | {_fmt(rps(run))} "
                     f"| {_fmt(ratios.get(run['target'], {}).get(run['round']), 3)} "
                     f"| {run['load']['incorrect']:,} | {errors:,} "
                     f"| {_fmt(run.get('load_average_before'), 2)} → {_fmt(run.get('load_average_after'), 2)} |")
    lines += ["", "Answer check before load (first request of each run):", ""]
    seen: set[str] = set()
    for run in runs:
        if "validation" in run and run["target"] not in seen:
            seen.add(run["target"])
            lines.append(f"- `{run['target']}`: {run['validation']['reason']}")
    for run in ok:
        if "mismatch_sample" in run:
            lines.append(f"- `{run['target']}` round {run['round']}, first wrong response: "
                         f"`{run['mismatch_sample'][:200]!r}`")
    lines.append("")
    return lines + _failures(runs)


def _failures(runs: list[dict[str, Any]]) -> list[str]:
    failed = [run for run in runs if "failed" in run]
    if not failed:
        return []
    lines = ["Failed runs:", ""]
    for run in failed:
        first_line = run["failed"].splitlines()[0]
        lines.append(f"- `{run['target']}` round {run['round']}: {first_line}")
    return lines + [""]


def _scatter_ratios(runs: list[dict[str, Any]]) -> list[str]:
    """Scatter over every shard vs the same query routed to one shard, per round and median."""
    from bench.w2.operations import SCATTER_PAIRS

    lines: list[str] = []
    for scatter, single in SCATTER_PAIRS:
        ratios: dict[str, list[float]] = {"p50": [], "p99": []}
        rounds = sorted({run["round"] for run in runs})
        for number in rounds:
            by_op = {run["operation"]: run for run in runs if run["round"] == number and "load" in run}
            if scatter in by_op and single in by_op:
                for q, found in ratios.items():
                    base = by_op[single]["load"]["latency_ms"][q]
                    if base:
                        found.append(by_op[scatter]["load"]["latency_ms"][q] / base)
        if not ratios["p50"]:
            continue
        per_round = ", ".join(f"{r:.2f}" for r in ratios["p50"])
        summary = (f"Scatter vs single shard under this load (`{scatter}` / `{single}`, latency ratio): "
                   f"p50 {median_of(ratios['p50']):.2f}×, p99 {median_of(ratios['p99']):.2f}× "
                   f"(p50 per round: {per_round}). Here all 31 shards share one Python process and one "
                   "core, so a scatter queues 31 shard executions behind each other; the next table "
                   "measures shards that answer in parallel, as separate provincial platforms do.")
        lines += [summary, ""]
    return lines


SCATTER_GOAL = 2.0


def _scatter_latency(latency: dict[str, Any]) -> list[str]:
    """Scatter vs one shard, one request at a time, shards answering in parallel after a fixed delay."""
    from bench.w2.operations import SCATTER_PAIRS

    runs = latency["runs"]
    lines = [
        "### Scatter latency with shards that answer in parallel",
        "",
        (f"A second gateway with the portal's configuration reaches the 31 shards through `bench/w2/shards.mjs`, "
         "which fetches each distinct shard request once from the real provincial subgraph and then answers it "
         "after a fixed delay without holding a core, as a province answering from its own hardware would. "
         f"{latency['connections']} connection, one request at a time; every answer byte-identical to the "
         "portal stack's own (real shards). 0 ms isolates the gateway's own cost of 31 fetches. "
         "Latency medians over rounds; ratios are medians of per-round ratios."),
        "",
        ("| shard answer delay | query | p50 one shard ms | p50 scatter ms | **scatter ÷ one, p50** "
         "| p99 one shard ms | p99 scatter ms | scatter ÷ one, p99 | gateway CPU ms/request (one / scatter) "
         "| wrong | real-shard fetches during load |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts: list[tuple[int, float]] = []
    for delay in latency["delays_ms"]:
        for scatter, single in SCATTER_PAIRS:
            pairs = []
            for number in sorted({run["round"] for run in runs}):
                found = {run["operation"]: run for run in runs
                         if run["round"] == number and run["delay_ms"] == delay and "load" in run}
                if scatter in found and single in found:
                    pairs.append((found[single], found[scatter]))
            if not pairs:
                lines.append(f"| {delay} ms | `{scatter}` | — | — | — | — | — | — | — | — | — |")
                continue
            ratio = {q: median_of(s["load"]["latency_ms"][q] / o["load"]["latency_ms"][q]
                                  for o, s in pairs if o["load"]["latency_ms"][q]) for q in ("p50", "p99")}
            one = {q: median_of(o["load"]["latency_ms"][q] for o, _ in pairs) for q in ("p50", "p99")}
            many = {q: median_of(s["load"]["latency_ms"][q] for _, s in pairs) for q in ("p50", "p99")}
            cpu_one = median_of(o.get("gateway_cpu_ms_per_request") for o, _ in pairs)
            cpu_many = median_of(s.get("gateway_cpu_ms_per_request") for _, s in pairs)
            wrong = sum(r["load"]["incorrect"] for pair in pairs for r in pair)
            fetches = sum(r.get("real_shard_fetches", 0) for pair in pairs for r in pair)
            if ratio["p50"] is not None:
                verdicts.append((delay, ratio["p50"]))
            lines.append(
                f"| {delay} ms | `{scatter}` vs `{single}` | {_fmt(one['p50'], 2)} | {_fmt(many['p50'], 2)} "
                f"| **{_fmt(ratio['p50'], 2)}×** | {_fmt(one['p99'], 2)} | {_fmt(many['p99'], 2)} "
                f"| {_fmt(ratio['p99'], 2)}× | {_fmt(cpu_one, 2)} / {_fmt(cpu_many, 2)} | {wrong:,} | {fetches:,} |"
            )
    lines.append("")
    if verdicts:
        met = [delay for delay, value in verdicts if value <= SCATTER_GOAL]
        missed = [(delay, value) for delay, value in verdicts if value > SCATTER_GOAL]
        text = f"Goal: a 31-shard scatter ≤ {SCATTER_GOAL:g}× one shard at p50. "
        if met:
            text += f"Met with shards answering in {', '.join(f'{d} ms' for d in met)}. "
        if missed:
            text += ("Not met with " + ", ".join(f"{d} ms ({v:.2f}×)" for d, v in missed)
                     + ": there the gateway's own CPU for 31 fetches, not waiting, is the scatter's latency "
                     "(see bench/PROFILE.md).")
        lines += [text.strip(), ""]
    failed = [run for run in runs if "failed" in run]
    if failed:
        lines += ["Not measured:", ""]
        lines += [f"- `{run['operation']}` at {run['delay_ms']} ms, round {run['round']}: "
                  f"{run['failed'].splitlines()[0]}" for run in failed]
        lines.append("")
    return lines


def _w2(w2: dict[str, Any]) -> list[str]:
    runs = w2["runs"]
    lines = [
        "## W2: portal workload (govgraph only)",
        "",
        (f"The national subgraph and {w2['shards']} provincial shards (seed scale {w2['scale']:g}); each operation "
        "loaded on its own. Correct = byte-identical to the operation's first answer, which must have data "
        "and no errors. Medians over rounds."),
        "",
        ("| operation | reaches | rounds | correct/s | wrong | p50 ms | p99 ms | gateway CPU (cores) "
        "| peak RSS MiB | subgraphs CPU (cores) | answer bytes |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, reach in w2["operations"].items():
        done = [run for run in runs if run["operation"] == name and "load" in run]
        if not done:
            lines.append(f"| {name} | {reach} | 0 | — | — | — | — | — | — | — | — |")
            continue
        lines.append(
            f"| {name} | {reach} | {len(done)} "
            f"| {_fmt(median_of(r['load']['correct_rps'] for r in done))} "
            f"| {sum(r['load']['incorrect'] for r in done):,} "
            f"| {_fmt(median_of(r['load']['latency_ms']['p50'] for r in done), 2)} "
            f"| {_fmt(median_of(r['load']['latency_ms']['p99'] for r in done), 2)} "
            f"| {_fmt(median_of(r['gateway_cpu_cores'] for r in done), 2)} "
            f"| {_fmt(median_of(r['gateway_peak_rss_mib'] for r in done))} "
            f"| {_fmt(median_of(r['subgraphs_cpu_cores'] for r in done), 2)} "
            f"| {done[0]['answer_bytes']:,} |"
        )
    lines.append("")
    lines += _scatter_ratios(runs)
    if "latency" in w2:
        lines += _scatter_latency(w2["latency"])
    failed = [run for run in runs if "failed" in run]
    if failed:
        lines += ["Operations not loaded:", ""]
        lines += [f"- `{run['operation']}` round {run['round']}: {run['failed'].splitlines()[0]}" for run in failed]
        lines.append("")
    for run in runs:
        if "mismatch_sample" in run:
            lines.append(f"- `{run['operation']}` round {run['round']}, first wrong response: "
                         f"`{run['mismatch_sample'][:200]!r}`")
    return lines + [""]


def _w3(w3: dict[str, Any]) -> list[str]:
    runs = w3["runs"]
    lines = [
        "## W3: cold vs warm planning",
        "",
        (f"{w3['operations']} distinct operations over the W1 supergraph, each sent once (cold: parse, "
        f"validate, plan, execute) then {w3['repeats']} more times (warm); one client, one connection, "
        "fresh gateway and fresh subgraphs per run. Latencies in ms, medians over operations then over rounds."),
        "",
    ]
    ok = [run for run in runs if "cold_ms" in run]
    if not ok:
        return lines + ["No target completed a round.", ""] + _failures(runs)

    def cold(run: dict[str, Any]) -> float | None:
        return run.get("cold_median_ms")

    reference = reference_target(runs, lambda run: "cold_ms" in run)
    ratios = round_ratios(runs, cold, reference) if reference else {}
    lines += [
        f"| target | rounds | cold p50 | warm p50 | cold ÷ warm | cold p50 ÷ `{reference}`'s | wrong answers |",
        "|---|---|---|---|---|---|---|",
    ]
    for target, target_runs in by_target(runs).items():
        done = [run for run in target_runs if "cold_ms" in run]
        if not done:
            continue
        lines.append(
            f"| {target} | {len(done)} | {_fmt(median_of(cold(r) for r in done), 2)} "
            f"| {_fmt(median_of(r['warm_median_ms'] for r in done), 2)} "
            f"| {_fmt(median_of(r['cold_over_warm'] for r in done), 2)} "
            f"| {_fmt(median_of(ratios.get(target, {}).values()), 3)} "
            f"| {sum(r['incorrect'] for r in done):,} |"
        )
    wrong = [run for run in ok if run.get("first_wrong")]
    lines.append("")
    for run in wrong:
        lines.append(f"- `{run['target']}` round {run['round']}, first wrong answer: {run['first_wrong'][:200]}")
    return lines + [""] + _failures(runs)
