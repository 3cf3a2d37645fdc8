"""A conformance case on disk: subgraph SDLs, fixtures, the composed supergraph, queries.

Layout of `cases/<name>/`:

    subgraphs/<subgraph>.graphql   one Federation v2 SDL per subgraph
    data.json                      {"<subgraph>": fixture} (see subgraph_server)
    computed.py                    optional: COMPUTED = {"<subgraph>": {"Type.field": fn}},
                                   and reset() to forget state kept between requests
    down.txt                       optional: names of subgraphs that are not running
    reference-unsupported.txt      optional: why no reference gateway serves this supergraph
                                   (generated queries are then not compared)
    supergraph.graphql             composed by scripts/compose-supergraph.mjs
    queries.toml                   [[query]] tables, see `Query`
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subgraph_server import Computed, Subgraph

CASES_DIR = Path(__file__).parent / "cases"
PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(slots=True, frozen=True)
class Query:
    """One operation and the exact response a conforming gateway gives.

    `response` is the full GraphQL response; each expected error is matched against a
    distinct actual error on the keys it names (`message`, `path`, `extensions` subset),
    with `code_pattern` accepting any `extensions.code` the regular expression matches in
    full. `calls` fixes how many requests each named subgraph receives; `order` fixes the
    sequence of subgraphs called. `gateway_error` marks errors raised by the gateway itself,
    whose codes differ between gateways, so the reference is held to data and error paths
    only. `unordered` compares lists as
    multisets, for answers whose order the spec leaves open (such as `__schema { types }`).
    `reference_diverges` names a spec behaviour @apollo/gateway does not implement; the
    reference is then not compared on this query. `reference_data_only` names an error
    report the reference gets wrong, so it is held to `data` alone. `reference_calls` is
    the reference's own traffic where it makes more requests than govgraph (it is held to
    these counts instead of `calls`).
    """

    name: str
    query: str
    response: dict[str, Any]
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    calls: dict[str, int] = field(default_factory=dict)
    order: list[str] | None = None
    gateway_error: bool = False
    reference_diverges: str | None = None
    unordered: bool = False
    reference_data_only: str | None = None
    reference_calls: dict[str, int] | None = None


@dataclass(slots=True)
class Case:
    name: str
    path: Path
    sdls: dict[str, str]
    fixtures: dict[str, Any]
    computed: dict[str, dict[str, Computed]]
    down: frozenset[str]
    queries: list[Query]
    reset_state: Callable[[], None] = lambda: None
    reference_unsupported: str | None = None

    @property
    def supergraph_path(self) -> Path:
        return self.path / "supergraph.graphql"

    def build_subgraphs(self) -> dict[str, Subgraph]:
        """Fresh subgraph instances (empty request logs) for every running subgraph."""
        return {
            name: Subgraph(name, sdl, self.fixtures.get(name, {}), self.computed.get(name))
            for name, sdl in self.sdls.items() if name not in self.down
        }


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "queries.toml").is_file())


def load_case(name: str) -> Case:
    path = CASES_DIR / name
    sdls = {p.stem: p.read_text(encoding="utf-8")
            for p in sorted((path / "subgraphs").glob("*.graphql"))}
    data_path = path / "data.json"
    fixtures = json.loads(data_path.read_text(encoding="utf-8")) if data_path.exists() else {}
    computed: dict[str, dict[str, Computed]] = {}
    reset_state: Callable[[], None] = lambda: None
    computed_path = path / "computed.py"
    if computed_path.exists():
        spec = importlib.util.spec_from_file_location(f"conformance_case_{name}", computed_path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        computed = dict(module.COMPUTED)
        reset_state = getattr(module, "reset", reset_state)
    down_path = path / "down.txt"
    down = frozenset(down_path.read_text().split()) if down_path.exists() else frozenset()
    raw = tomllib.loads((path / "queries.toml").read_text(encoding="utf-8"))
    queries = [
        Query(
            name=q["name"],
            query=q["query"],
            response=json.loads(q["response"]),
            variables=json.loads(q["variables"]) if "variables" in q else None,
            operation_name=q.get("operation_name"),
            calls=dict(q.get("calls", {})),
            order=q.get("order"),
            gateway_error=bool(q.get("gateway_error", False)),
            reference_diverges=q.get("reference_diverges"),
            unordered=bool(q.get("unordered", False)),
            reference_data_only=q.get("reference_data_only"),
            reference_calls=dict(q["reference_calls"]) if "reference_calls" in q else None,
        )
        for q in raw.get("query", [])
    ]
    unsupported_path = path / "reference-unsupported.txt"
    unsupported = (unsupported_path.read_text(encoding="utf-8").strip()
                   if unsupported_path.exists() else None)
    return Case(name, path, sdls, fixtures, computed, down, queries, reset_state, unsupported)


def compose(case: Case) -> None:
    """Write the case's supergraph with the reference composer (placeholder URLs)."""
    specs = [f"{name}=http://{name}.invalid/graphql={case.path / 'subgraphs' / (name + '.graphql')}"
             for name in case.sdls]
    subprocess.run(["node", str(PROJECT_DIR / "scripts" / "compose-supergraph.mjs"),
                    str(case.supergraph_path), *specs], check=True, cwd=PROJECT_DIR)


if __name__ == "__main__":
    import sys

    for case_name in sys.argv[1:] or case_names():
        compose(load_case(case_name))
        print(f"composed {case_name}")
