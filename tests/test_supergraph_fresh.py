"""The checked-in supergraph is what the current subgraph SDLs compose to."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED_IN = ROOT / "schema" / "supergraph.graphql"


def test_checked_in_supergraph_matches_a_fresh_composition(tmp_path: Path) -> None:
    assert (ROOT / "node_modules" / "@theguild" / "federation-composition").is_dir(), (
        "the reference composer is not installed: run `npm ci` (make test does it)"
    )
    fresh = tmp_path / "supergraph.graphql"
    result = subprocess.run(
        [str(ROOT / "scripts" / "supergraph.sh"), str(fresh)],
        cwd=ROOT,
        env=dict(os.environ, GOVGRAPH_PYTHON=sys.executable, GOVGRAPH_BUILD_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"composition failed:\n{result.stdout}{result.stderr}"
    assert CHECKED_IN.is_file(), "schema/supergraph.graphql is missing: run make supergraph"

    expected = fresh.read_text(encoding="utf-8")
    actual = CHECKED_IN.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                "schema/supergraph.graphql (checked in)",
                "fresh composition",
                n=2,
            )
        )
        raise AssertionError(
            "schema/supergraph.graphql is out of date with the subgraph SDLs: "
            f"run make supergraph and commit the result.\n{diff[:6000]}"
        )
