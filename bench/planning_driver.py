"""The half of the planning benchmark that runs inside a checkout of govgraph.

Never imported by the harness (`bench/planning.py`, which imports nothing of the project): it
runs this file with the venv's Python, `cwd` and `PYTHONPATH` set to the checkout under test,
and `--root` naming it; the script refuses to run if `gateway` would come from anywhere else.

    planning_driver.py plan --root DIR --corpus FILE --repeats N --out FILE
        For every operation of the corpus (JSON, see `bench/planning.py`): parse, validate and
        normalise it as the engine does (untimed), then time only `gateway.planner.plan()` on a
        freshly normalised operation, N times, with the garbage collector off during each call.
        No plan cache is involved: the planner keeps nothing between calls. A call that runs
        past --op-timeout is stopped (SIGALRM) and the operation reported as timed out.
    planning_driver.py random-corpus --root DIR --sets N --queries M --seed-base S --out FILE
        N generated subgraph sets (tests/conformance/random), composed in one batch, M generated
        queries each over the API schema govgraph derives; sets that fail are counted, not kept.
    planning_driver.py doubling --root DIR --supergraph FILE --name NAME --out FILE
        The doubling operation (30 fragments, each spreading the next one twice) through the
        engine's own path (`_document`, then `_prepare`): the time until it is refused.
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _use_root(root: Path) -> None:
    root = root.resolve()
    here = Path(__file__).resolve().parent  # bench/ itself is no place to import from
    sys.path[:] = [str(root)] + [p for p in sys.path if Path(p or ".").resolve() != here]
    import gateway  # noqa: PLC0415

    origin = Path(gateway.__file__).resolve()
    if not origin.is_relative_to(root):
        raise SystemExit(f"gateway imported from {origin}, not from {root}: set PYTHONPATH")


class PlanTimeout(BaseException):
    """Raised by the alarm inside `plan()`; not an Exception, so the planner cannot catch it."""


def _alarm(signum: int, frame: Any) -> None:
    raise PlanTimeout


def plan(args: argparse.Namespace) -> dict[str, Any]:
    from graphql.execution.values import get_variable_values  # noqa: PLC0415

    from gateway import engine  # noqa: PLC0415
    from gateway.config import GatewayConfig  # noqa: PLC0415
    from gateway.planner.builder import PlanningError  # noqa: PLC0415

    corpus = json.loads(Path(args.corpus).read_text(encoding="utf-8"))
    gateways: dict[str, Any] = {}
    refused_supergraphs: dict[str, str] = {}
    for key, sdl in corpus["supergraphs"].items():
        try:
            gateways[key] = engine.Gateway(sdl, GatewayConfig())
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            refused_supergraphs[key] = f"{type(exc).__name__}: {exc}"[:300]
    # what is built now lives to the end: the collections between plan() calls skip it
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGALRM, _alarm)
    results: list[dict[str, Any]] = []
    for op in corpus["operations"]:
        result: dict[str, Any] = {"id": op["id"]}
        results.append(result)
        op_started = time.perf_counter()
        try:
            _plan_one(args, op, result, gateways, refused_supergraphs, engine, PlanningError,
                      get_variable_values)
        finally:
            # everything spent on the operation, untimed steps and failed calls included
            result["elapsed_ms"] = (time.perf_counter() - op_started) * 1000
    return {"results": results, "refused_supergraphs": refused_supergraphs}


def _plan_one(args: argparse.Namespace, op: dict[str, Any], result: dict[str, Any],
              gateways: dict[str, Any], refused_supergraphs: dict[str, str], engine: Any,
              PlanningError: type[Exception], get_variable_values: Any) -> None:  # noqa: N803
    gateway = gateways.get(op["supergraph"])
    if gateway is None:
        result.update(status="supergraph", error=refused_supergraphs[op["supergraph"]])
        return
    parsed = gateway._document(op["query"])
    if parsed.errors is not None:
        result.update(status="invalid", error=str(parsed.errors[0].get("message"))[:300])
        return
    try:
        definition = engine.select_operation(parsed.document, op.get("operation_name"))
    except Exception as exc:  # noqa: BLE001
        result.update(status="invalid", error=str(exc)[:300])
        return
    values = get_variable_values(gateway.schema, definition.variable_definitions or (),
                                 op.get("variables") or {})
    if isinstance(values, list):
        result.update(status="invalid", error=str(values[0])[:300])
        return
    variables = values.coerced
    times: list[float] = []
    cpu: list[float] = []
    try:
        for _ in range(args.repeats):
            operation = engine.normalize(gateway.schema, parsed.document, definition,
                                         variables)
            gc.disable()  # no collection inside the timed call; between calls, as usual
            signal.setitimer(signal.ITIMER_REAL, args.op_timeout)
            try:
                wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
                query_plan = gateway.planner.plan(operation)
                cpu1, wall1 = time.thread_time_ns(), time.perf_counter_ns()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                gc.enable()
            times.append((wall1 - wall0) / 1e6)
            cpu.append((cpu1 - cpu0) / 1e6)
            if sum(times) > args.op_budget * 1000:
                break  # a slow plan: fewer runs, its median is still far from the rest
    except PlanTimeout:
        result.update(status="timeout", error=f"no plan within {args.op_timeout:g} s")
        print(f"timeout: operation {op['id']}", file=sys.stderr, flush=True)
        return
    except PlanningError as exc:
        result.update(status="refused", error=str(exc)[:300])
        return
    except RecursionError as exc:
        result.update(status="fault", error=f"RecursionError: {exc}"[:300])
        return
    except Exception as exc:  # noqa: BLE001 - a planner fault is a result here
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        result.update(status="fault", error=f"{type(exc).__name__} at {where}: {exc}"[:300])
        return
    result.update(status="planned", ms=times, cpu_ms=cpu,
                  fetches=len(query_plan.fetches()))


def random_corpus(args: argparse.Namespace) -> dict[str, Any]:
    import random  # noqa: PLC0415

    from gateway.config import GatewayConfig  # noqa: PLC0415
    from gateway.engine import Gateway  # noqa: PLC0415
    from tests.conformance.random.generate import generate  # noqa: PLC0415
    from tests.conformance.random.querygen import QueryGenerator  # noqa: PLC0415
    from tests.conformance.random.run import Composer, require_node  # noqa: PLC0415

    require_node()
    seeds = list(range(args.seed_base, args.seed_base + args.sets))
    sets = [generate(seed) for seed in seeds]
    composed = Composer().compose(sets)
    supergraphs: dict[str, str] = {}
    operations: list[dict[str, Any]] = []
    failures: dict[str, int] = {}
    for schema_set in sets:
        supergraph, errors = composed.get(schema_set.seed, (None, ["no answer"]))
        if supergraph is None:
            failures["composition failed"] = failures.get("composition failed", 0) + 1
            continue
        try:
            schema = Gateway(supergraph, GatewayConfig()).schema
        except Exception:  # noqa: BLE001
            failures["govgraph refused the supergraph"] = (
                failures.get("govgraph refused the supergraph", 0) + 1)
            continue
        # the same query stream as the differential run draws for this seed
        generator = QueryGenerator(schema, schema_set, random.Random(schema_set.seed * 7919 + 1))
        key = f"random/{schema_set.seed}"
        drawn = 0
        for index in range(args.queries):
            try:
                operation = generator.operation()
            except Exception:  # noqa: BLE001
                failures["no query drawn"] = failures.get("no query drawn", 0) + 1
                continue
            drawn += 1
            operations.append({"supergraph": key, "name": f"seed {schema_set.seed} #{index}",
                               "query": operation.query, "variables": operation.variables})
        if drawn:
            supergraphs[key] = supergraph
    return {"supergraphs": supergraphs, "operations": operations, "failures": failures,
            "seeds": seeds}


def doubling(args: argparse.Namespace) -> dict[str, Any]:
    from gateway import engine  # noqa: PLC0415
    from gateway.config import GatewayConfig  # noqa: PLC0415

    levels = 30
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n"
                        for i in range(levels - 1))
    query = (f"query {args.name} {{ ...F0 }}\n{fragments}"
             f"fragment F{levels - 1} on Query {{ provinces {{ code }} }}\n")
    gateway = engine.Gateway(Path(args.supergraph).read_text(encoding="utf-8"), GatewayConfig())
    # a tree without the limit expands 2^30 selections: stop it at a bounded size, not the machine
    limit = args.memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.perf_counter()
    try:
        # the phase reached, for a run stopped from outside
        print("phase: parse, limits, validation (_document)", file=sys.stderr, flush=True)
        parsed = gateway._document(query)
        if parsed.errors is not None:
            error = parsed.errors[0]
            outcome = f"refused: {error.get('extensions', {}).get('code', error.get('message'))}"
        else:
            print("phase: normalise and plan (_prepare)", file=sys.stderr, flush=True)
            definition = engine.select_operation(parsed.document, None)
            gateway._prepare(parsed.document, definition, {})
            outcome = "planned"
    except MemoryError:
        outcome = f"MemoryError at the {args.memory_mib} MiB address-space cap"
    except Exception as exc:  # noqa: BLE001
        outcome = f"{type(exc).__name__}: {str(exc)[:200]}"
    return {"ms": (time.perf_counter() - started) * 1000, "outcome": outcome,
            "bytes": len(query)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan")
    p.add_argument("--corpus", required=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--op-timeout", type=float, default=10.0,
                   help="seconds one plan() call may take before the operation is given up")
    p.add_argument("--op-budget", type=float, default=2.0,
                   help="seconds of plan() calls per operation after which it is not repeated")
    r = commands.add_parser("random-corpus")
    r.add_argument("--sets", type=int, default=50)
    r.add_argument("--queries", type=int, default=40)
    r.add_argument("--seed-base", type=int, default=0)
    d = commands.add_parser("doubling")
    d.add_argument("--supergraph", required=True)
    d.add_argument("--name", default="Doubling")
    d.add_argument("--memory-mib", type=int, default=3072)
    for sub in (p, r, d):
        sub.add_argument("--root", required=True, type=Path)
        sub.add_argument("--out", required=True)
    args = parser.parse_args()
    _use_root(args.root)
    run = {"plan": plan, "random-corpus": random_corpus, "doubling": doubling}[args.command]
    output = run(args)
    Path(args.out).write_text(json.dumps(output), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
