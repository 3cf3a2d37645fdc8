"""The gateways under test: how to start each one on a supergraph and a port."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"
GATEWAYS = Path(__file__).resolve().parent / "gateways"

# Every govgraph target admits the workloads' operations: W1's query has an estimated cost of
# 24,420 (demand control, `[gateway] max_cost`, 20,000 by default); the peer gateways enforce
# no such limit. Then govgraph's deduplication switches, as configuration files.
GOVGRAPH_LIMITS_TOML = "[gateway]\nmax_cost = 1000000\n"
GOVGRAPH_NODEDUP_TOML = GOVGRAPH_LIMITS_TOML + "\n[upstream]\ndeduplicate = false\n"
GOVGRAPH_INBOUND_TOML = GOVGRAPH_LIMITS_TOML + "deduplicate_requests = true\n"


@dataclass(frozen=True, slots=True)
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    config_text: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """One gateway configuration; `unavailable` says why it cannot run here, if it cannot."""

    name: str
    description: str
    launch: Callable[[Path, int, Mapping[str, str], Path | None], Launch]
    unavailable: Callable[[], str | None] = lambda: None


def _apollo(supergraph: Path, port: int, urls: Mapping[str, str], config: Path | None) -> Launch:
    return Launch(
        ["node", str(GATEWAYS / "apollo.mjs"), str(supergraph), str(port)],
        env={"NODE_ENV": "production"},
    )


def _hive(mode: str) -> Callable[[Path, int, Mapping[str, str], Path | None], Launch]:
    def launch(supergraph: Path, port: int, urls: Mapping[str, str], config: Path | None) -> Launch:
        argv = [
            str(NODE_BIN / "hive-gateway"),
            "supergraph",
            str(supergraph),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--fork",
            "1",
            "--config-path",
            str(GATEWAYS / "hive.config.mjs"),
        ]
        return Launch(argv, env={"BENCH_HIVE_DEDUP": mode, "NODE_ENV": "production"})

    return launch


def _govgraph(
    config_text: str | None,
) -> Callable[[Path, int, Mapping[str, str], Path | None], Launch]:
    def launch(supergraph: Path, port: int, urls: Mapping[str, str], config: Path | None) -> Launch:
        argv = [
            str(ROOT / ".venv" / "bin" / "govgraph"),
            "gateway",
            "--supergraph",
            str(supergraph),
            "--port",
            str(port),
            "--workers",
            "1",
        ]
        if config_text is not None and config is not None:
            argv += ["--config", str(config)]
        env = {f"GOVGRAPH_SUBGRAPH_{name.upper()}_URL": url for name, url in urls.items()}
        return Launch(argv, env=env, config_text=config_text)

    return launch


# `govgraph-base-nodedup` runs the gateway of another checkout (e.g. a `git worktree` of an
# earlier commit) with this tree's interpreter: the warm path before and after a change, side
# by side in the same rounds. Set the checkout's directory in this variable.
BASE_TREE_ENV = "GOVGRAPH_BENCH_BASE"


def _govgraph_base(
    config_text: str,
) -> Callable[[Path, int, Mapping[str, str], Path | None], Launch]:
    current = _govgraph(config_text)

    def launch(supergraph: Path, port: int, urls: Mapping[str, str], config: Path | None) -> Launch:
        mine = current(supergraph, port, urls, config)
        base = os.environ.get(BASE_TREE_ENV, "")
        # -P: no directory of this tree comes first on the path, so the checkout's `gateway`
        # package (PYTHONPATH) is the one imported; the command line is the same
        argv = [
            str(ROOT / ".venv" / "bin" / "python"),
            "-P",
            str(Path(__file__).parent / "gateway_of_tree.py"),
            *mine.argv[1:],
        ]
        return Launch(argv, env={**mine.env, "PYTHONPATH": base}, config_text=mine.config_text)

    return launch


def _govgraph_base_missing() -> str | None:
    base = os.environ.get(BASE_TREE_ENV)
    if not base:
        return f"set {BASE_TREE_ENV} to a checkout of the gateway to compare with (e.g. a git worktree)"
    if not (Path(base) / "gateway" / "commands.py").exists():
        return (
            f"{BASE_TREE_ENV}={base} holds no gateway/commands.py (what gateway_of_tree.py imports)"
        )
    return _govgraph_missing()


def _govgraph_missing() -> str | None:
    if not (ROOT / "gateway" / "engine.py").exists():
        return "the govgraph gateway engine (gateway/engine.py) does not exist yet"
    if not (ROOT / ".venv" / "bin" / "govgraph").exists():
        return "the govgraph command is not installed in .venv"
    return None


def _node_missing(path: Path) -> Callable[[], str | None]:
    return lambda: None if path.exists() else f"{path} is missing: run npm install in {ROOT}"


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            "govgraph",
            "govgraph gateway, one worker, default configuration (but `max_cost` "
            "raised to admit W1's query, as on every govgraph target)",
            _govgraph(GOVGRAPH_LIMITS_TOML),
            _govgraph_missing,
        ),
        Target(
            "govgraph-nodedup",
            "govgraph with in-flight subgraph request deduplication off",
            _govgraph(GOVGRAPH_NODEDUP_TOML),
            _govgraph_missing,
        ),
        Target(
            "govgraph-inbound",
            "govgraph with identical in-flight client requests shared too",
            _govgraph(GOVGRAPH_INBOUND_TOML),
            _govgraph_missing,
        ),
        Target(
            "govgraph-base-nodedup",
            f"govgraph-nodedup as the checkout in ${BASE_TREE_ENV} has it (not run by default)",
            _govgraph_base(GOVGRAPH_NODEDUP_TOML),
            _govgraph_base_missing,
        ),
        Target(
            "apollo",
            "Apollo Gateway on Apollo Server (Node), static supergraph",
            _apollo,
            _node_missing(ROOT / "node_modules" / "@apollo" / "gateway"),
        ),
        Target(
            "hive",
            "Hive Gateway CLI (Node), defaults: in-flight subgraph requests deduplicated",
            _hive("default"),
            _node_missing(NODE_BIN / "hive-gateway"),
        ),
        Target(
            "hive-nodedup",
            "Hive Gateway with in-flight subgraph request deduplication off",
            _hive("off"),
            _node_missing(NODE_BIN / "hive-gateway"),
        ),
        Target(
            "hive-inbound",
            "Hive Gateway with identical in-flight client requests shared too",
            _hive("inbound"),
            _node_missing(NODE_BIN / "hive-gateway"),
        ),
    )
}

# every comparison the results report: deduplication off, on by default, and client requests shared too
DEFAULT_TARGETS = [
    "govgraph",
    "govgraph-nodedup",
    "govgraph-inbound",
    "apollo",
    "hive",
    "hive-nodedup",
    "hive-inbound",
]


def select(names: list[str]) -> list[Target]:
    """Targets by name, in the order given; an unknown name is an error that lists the known ones."""
    unknown = [name for name in names if name not in TARGETS]
    if unknown:
        raise ValueError(f"unknown target {unknown[0]!r}; known targets: {', '.join(TARGETS)}")
    return [TARGETS[name] for name in names]
