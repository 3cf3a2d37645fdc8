"""The code passes `mypy --strict`, `ruff check` and `ruff format --check`.

The checks cover the paths in `CLEAN`: every module of gateway/, schema/ and cache/. A listed
path that stops passing fails its check here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Paths held to every check below; pyproject.toml's [tool.mypy] and [tool.ruff] say how.
CLEAN = [
    "schema",
    "cache",
    "gateway/__init__.py",
    "gateway/cli.py",
    "gateway/commands.py",
    "gateway/config.py",
    "gateway/engine.py",
    "gateway/exchange.py",
    "gateway/executor.py",
    "gateway/inflight.py",
    "gateway/logs.py",
    "gateway/metrics.py",
    "gateway/partition.py",
    "gateway/planner/__init__.py",
    "gateway/planner/builder.py",
    "gateway/planner/fetch_graph.py",
    "gateway/planner/graph.py",
    "gateway/planner/operation.py",
    "gateway/planner/passes.py",
    "gateway/planner/plan.py",
    "gateway/planner/selection.py",
    "gateway/planner/wants.py",
    "gateway/readiness.py",
    "gateway/server.py",
    "gateway/shaping.py",
    "gateway/stack.py",
    "gateway/status.py",
    "gateway/status_page.py",
    "gateway/supergraph_source.py",
    "gateway/telemetry.py",
    "gateway/tracing.py",
    "gateway/transport.py",
    "gateway/upstream.py",
]
# Tests are linted and formatted, not type-checked.
CLEAN_TESTS = [
    "tests/test_shaping.py",
    "tests/test_static_checks.py",
    "tests/test_transport.py",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _fail_unless_clean(result: subprocess.CompletedProcess[str], command: str) -> None:
    if result.returncode != 0:
        pytest.fail(f"{command} found problems:\n{result.stdout}{result.stderr}", pytrace=False)


def test_every_listed_path_exists() -> None:
    """A renamed or deleted module must leave the list, not silently drop out of the checks."""
    missing = [path for path in CLEAN + CLEAN_TESTS if not (ROOT / path).exists()]
    assert missing == []


def test_listed_modules_pass_mypy_strict() -> None:
    # modules outside CLEAN are still read for their types, but their own errors are not
    # reported until they are listed
    result = _run("mypy", "--strict", "--follow-imports=silent", *CLEAN)
    _fail_unless_clean(result, "mypy --strict")


def test_listed_paths_pass_ruff_check() -> None:
    result = _run("ruff", "check", "--no-fix", *CLEAN, *CLEAN_TESTS)
    _fail_unless_clean(result, "ruff check")


def test_listed_paths_are_formatted() -> None:
    result = _run("ruff", "format", "--check", "--diff", *CLEAN, *CLEAN_TESTS)
    _fail_unless_clean(result, "ruff format --check")
