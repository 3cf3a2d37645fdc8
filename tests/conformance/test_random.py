"""govgraph against the reference on a fixed sample of random schemas and queries.

The sample (tests/conformance/random/sample.py: 8 generated subgraph sets x 30 generated
queries) runs through govgraph and Hive Gateway with the Rust query planner. Every
disagreement must be listed, with a reason, in tests/conformance/random/known.toml; any
other one fails the test, so a planner regression is caught. Node missing fails the test:
without the reference nothing is compared.
"""
from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from tests.conformance.random.sample import KNOWN, known, run_sample  # noqa: E402


@pytest.mark.timeout(400)
def test_random_sample_agrees_with_the_reference_except_known_disagreements() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the reference composer and gateway cannot run",
                    pytrace=False)
    tolerated = known()
    disagreements = run_sample()
    new = [d for d in disagreements if d.key() not in tolerated]
    seen = {d.key() for d in disagreements}
    fixed = sorted(k for k in tolerated if k not in seen)
    if fixed:
        warnings.warn(f"known disagreements no longer seen (remove them from {KNOWN.name}): "
                      f"{fixed}", stacklevel=1)
    report = "\n\n".join(
        f"seed {d.seed} query {d.index}: {d.kind}\n{d.operation.query}\n"
        f"variables: {d.operation.variables}\ngovgraph:  {d.ours[:1500]}\n"
        f"reference: {d.reference[:1500]}" for d in new[:10])
    assert not new, (f"{len(new)} new disagreement(s) with the reference (replay one with "
                     f"`.venv/bin/python -m tests.conformance.random replay SEED FILE`; list "
                     f"a tolerated one in {KNOWN.name}):\n\n{report}")
