"""Command line of the random differential test (run from the project directory):

    .venv/bin/python -m tests.conformance.random run [--schemas 200] [--queries 100]
        [--start 0] [--budget-s 1800] [--out tests/conformance/RESULTS.md]
    .venv/bin/python -m tests.conformance.random show SEED        subgraph SDLs of a seed
    .venv/bin/python -m tests.conformance.random replay SEED FILE [--variables JSON]
        one query (FILE, or - for stdin) through both gateways on the seed's schema set
    .venv/bin/python -m tests.conformance.random report           RESULTS.md again from the
        raw results of the last run (build/conformance-random/)
    .venv/bin/python -m tests.conformance.random sample           the test's fixed sample,
        printing known.toml entries for its disagreements
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

from .generate import generate
from .querygen import Operation

RAW = Path("build/conformance-random/results.pickle")


def _run(args: argparse.Namespace) -> int:
    from . import report
    from .run import Runner

    deadline = time.monotonic() + args.budget_s
    runner = Runner(queries_per_schema=args.queries, minimize_per_kind=args.minimize,
                    log=lambda m: print(m, file=sys.stderr, flush=True))
    try:
        seeds = list(range(args.start, args.start + args.schemas))
        for chunk in range(0, len(seeds), 25):  # compose in batches, run until the budget ends
            try:
                runner.run(seeds[chunk:chunk + 25], deadline)
            except Exception as error:  # noqa: BLE001 - the report of what ran is still written
                print(f"the run stopped: {error!r}", file=sys.stderr, flush=True)
                runner.totals.stopped_early = True
                break
            totals = runner.totals
            print(f"{totals.served} schemas, {totals.queries} queries, {totals.agreed} agreed, "
                  f"{dict(totals.kinds)}; as the spec answers: govgraph {totals.ours_spec}, "
                  f"reference {totals.reference_spec}, ambiguous {totals.spec_ambiguous}",
                  file=sys.stderr, flush=True)
            if time.monotonic() > deadline:
                totals.stopped_early = True
                break
        parameters = {"schema seeds": f"{args.start}..{args.start + args.schemas - 1}",
                      "queries per schema": args.queries, "time budget": f"{args.budget_s:.0f} s",
                      "minimized per kind and schema": args.minimize}
        text = report.write(runner.totals, parameters)
        Path(args.out).write_text(text, encoding="utf-8")
        # the raw results, to rewrite the report without a rerun (`report`)
        RAW.parent.mkdir(parents=True, exist_ok=True)
        runner.totals.sets.clear()  # regenerated from the seeds
        RAW.write_bytes(pickle.dumps((runner.totals, parameters)))
        print(report.verdict(runner.totals))
    finally:
        runner.close()
    return 0


def _show(args: argparse.Namespace) -> int:
    schema_set = generate(args.seed)
    for name in schema_set.subgraphs:
        print(f"# subgraph {name}\n{schema_set.sdl(name)}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from .run import Composer, Runner, classify, show_expected, spec_verdict

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    operation = Operation(text, json.loads(args.variables) if args.variables else {})
    schema_set = generate(args.seed)
    supergraph, errors = Composer().compose([schema_set])[args.seed]
    if supergraph is None:
        print("composition failed:", *errors, sep="\n")
        return 1
    runner = Runner(queries_per_schema=0)
    try:
        answers = runner.ask_once(schema_set, supergraph, operation)
    finally:
        runner.close()
    ours, reference, expected = answers
    print("govgraph: ", ours.show())
    print("reference:", reference.show())
    print("the spec: ", show_expected(expected))
    print("verdict:  ", classify(ours, reference) or "agree", "-",
          spec_verdict(ours, reference, expected))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .run import SPEC_AMBIGUOUS
    from .sample import SAMPLE_QUERIES, SAMPLE_SEEDS, run_sample

    totals = run_sample()
    print(f"# {len(SAMPLE_SEEDS)} schemas x {SAMPLE_QUERIES} queries: "
          f"{len(totals.disagreements)} disagreements, govgraph off the spec on "
          f"{len(totals.ours_off_spec)}; entries for those the spec does not decide:")
    for found in totals.disagreements:
        if found.spec != SPEC_AMBIGUOUS:
            continue
        print(f"\n[[disagreement]]\nseed = {found.seed}\nquery = {found.index}\n"
              f'kind = "{found.kind}"\n# {found.arbiter}\n'
              f"# govgraph:  {found.ours[:300]}\n# reference: {found.reference[:300]}\n"
              'reason = ""')
    return 0


def _report(args: argparse.Namespace) -> int:
    from . import report

    totals, parameters = pickle.loads(RAW.read_bytes())
    found = [*totals.disagreements, *totals.ours_off_spec]
    totals.sets = {d.seed: generate(d.seed) for d in found}
    Path(args.out).write_text(report.write(totals, parameters), encoding="utf-8")
    print(report.verdict(totals))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.random")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the corpus; writes RESULTS.md")
    run.add_argument("--schemas", type=int, default=200)
    run.add_argument("--queries", type=int, default=100, help="queries per schema set")
    run.add_argument("--start", type=int, default=0, help="first seed")
    run.add_argument("--budget-s", type=float, default=1800.0)
    run.add_argument("--minimize", type=int, default=1,
                     help="disagreements minimized per kind and schema set")
    run.add_argument("--out", default="tests/conformance/RESULTS.md")
    run.set_defaults(func=_run)
    show = commands.add_parser("show", help="the subgraph SDLs of a seed")
    show.add_argument("seed", type=int)
    show.set_defaults(func=_show)
    replay = commands.add_parser("replay", help="one query through both gateways")
    replay.add_argument("seed", type=int)
    replay.add_argument("file")
    replay.add_argument("--variables")
    replay.set_defaults(func=_replay)
    rewrite = commands.add_parser("report", help="rewrite RESULTS.md from the last run")
    rewrite.add_argument("--out", default="tests/conformance/RESULTS.md")
    rewrite.set_defaults(func=_report)
    sample = commands.add_parser("sample", help="the test's fixed sample")
    sample.set_defaults(func=_sample)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
