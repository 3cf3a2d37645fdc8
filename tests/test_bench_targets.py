"""The benchmark's govgraph targets admit the workloads they are measured on."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bench.targets import GOVGRAPH_INBOUND_TOML, GOVGRAPH_LIMITS_TOML, GOVGRAPH_NODEDUP_TOML
from gateway.config import load_config
from gateway.engine import Gateway, LimitRefusal

ROOT = Path(__file__).resolve().parents[1]
W1 = ROOT / "bench" / "w1"


@pytest.mark.parametrize(
    "text", [GOVGRAPH_LIMITS_TOML, GOVGRAPH_NODEDUP_TOML, GOVGRAPH_INBOUND_TOML]
)
def test_every_govgraph_target_plans_the_w1_query(text: str, tmp_path: Path) -> None:
    """W1's query is past the default demand-control limit; a target that refused it would
    measure error answers, not the gateway."""
    path = tmp_path / "govgraph.toml"
    path.write_text(text, encoding="utf-8")
    tomllib.loads(text)  # each target's file is valid TOML on its own
    gateway = Gateway(
        (W1 / "supergraph.graphql").read_text(encoding="utf-8"), load_config(path, env={})
    )
    plan = gateway.plan_for((W1 / "query.graphql").read_text(encoding="utf-8"))
    assert len(plan.fetches()) > 1


def test_the_default_configuration_refuses_the_w1_query() -> None:
    """Why the targets raise `max_cost`: with the defaults the query is refused before
    planning (if this fails, the limit moved and the targets may not need to raise it)."""
    gateway = Gateway(
        (W1 / "supergraph.graphql").read_text(encoding="utf-8"), load_config(None, env={})
    )
    with pytest.raises(LimitRefusal):
        gateway.plan_for((W1 / "query.graphql").read_text(encoding="utf-8"))


def test_a_run_with_wrong_answers_fails_the_benchmark() -> None:
    """Throughput of error answers measures nothing: `bench/run` names each such run and
    exits non-zero (a default limit once turned every W1 answer into an error unnoticed)."""
    from bench.cli import wrong_answers

    good = {"target": "govgraph", "round": 1, "validation": {"correct": True}}
    good["load"] = {"incorrect": 0}
    refused = {
        "target": "govgraph-nodedup",
        "round": 2,
        "validation": {"correct": False, "reason": "errors: COST_ESTIMATED_TOO_EXPENSIVE"},
        "load": {"incorrect": 900},
    }
    shed = {"target": "govgraph", "operation": "CatalogPage", "round": 1}
    shed["load"] = {"incorrect": 12}
    results = {
        "w1": {"runs": [good, refused]},
        "w2": {"runs": [shed], "latency": {"runs": [{"delay_ms": 5, "load": {"incorrect": 0}}]}},
        "w3": {"runs": [{"target": "apollo", "round": 1, "incorrect": 0}]},
    }
    assert wrong_answers(results) == [
        "W1 govgraph-nodedup 2: wrong first answer: errors: COST_ESTIMATED_TOO_EXPENSIVE",
        "W2 govgraph CatalogPage 1: 12 wrong answers",
    ]
    assert wrong_answers({"w1": {"runs": [good]}, "w3": {"failed": "no node"}}) == [
        "W3 did not complete: no node"
    ]


def test_the_base_target_runs_the_gateway_of_another_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`govgraph-base-nodedup` starts the gateway package of the checkout named in
    GOVGRAPH_BENCH_BASE, not this tree's: a real process prints which package it imported."""
    import subprocess
    import sys

    from bench.targets import BASE_TREE_ENV, TARGETS

    target = TARGETS["govgraph-base-nodedup"]
    monkeypatch.delenv(BASE_TREE_ENV, raising=False)
    assert BASE_TREE_ENV in (target.unavailable() or "")
    base = tmp_path / "base"
    (base / "gateway").mkdir(parents=True)
    (base / "gateway" / "__init__.py").write_text("", encoding="utf-8")
    (base / "gateway" / "cli.py").write_text("", encoding="utf-8")
    (base / "gateway" / "commands.py").write_text(
        "import gateway, sys\n"
        "def register_gateway(subparsers):\n"
        "    parser = subparsers.add_parser('gateway')\n"
        "    parser.add_argument('rest', nargs='*')\n"
        "    parser.set_defaults(func=lambda args: print(gateway.__file__) or 0)\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(BASE_TREE_ENV, str(base))
    assert target.unavailable() is None
    launch = target.launch(tmp_path / "sg.graphql", 4000, {"products": "http://x"}, None)
    assert launch.env["PYTHONPATH"] == str(base)
    assert launch.env["GOVGRAPH_SUBGRAPH_PRODUCTS_URL"] == "http://x"
    assert launch.config_text == GOVGRAPH_NODEDUP_TOML
    assert launch.argv[1:4] == ["-P", str(ROOT / "bench" / "gateway_of_tree.py"), "gateway"]
    # this test run's interpreter, started where the harness starts it (this tree's directory)
    done = subprocess.run(
        [sys.executable, *launch.argv[1:4]],
        cwd=ROOT,
        env={"PYTHONPATH": str(base)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(base / "gateway" / "__init__.py")
