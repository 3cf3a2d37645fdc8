"""govgraph against the spec and the reference on a fixed sample of random schemas and queries.

The sample (tests/conformance/random/sample.py: generated subgraph sets x generated queries)
runs through govgraph and Hive Gateway with the Rust query planner, and every query is also
answered by the oracle (tests/conformance/random/oracle.py), which computes the spec's
answer without any gateway. govgraph must answer every query the spec decides as the spec
does; a disagreement with the reference is allowed only where govgraph is the one answering
as the spec does, or, where the spec allows more than one answer, when it is listed with a
reason in tests/conformance/random/known.toml. Node missing fails the test: without the
composer nothing is served.
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

from tests.conformance.random.run import SPEC_AMBIGUOUS, SPEC_OURS  # noqa: E402
from tests.conformance.random.sample import (  # noqa: E402
    KNOWN,
    SAMPLE_QUERIES,
    SAMPLE_SEEDS,
    known,
    run_sample,
)


@pytest.mark.timeout(400)
def test_random_sample_answers_as_the_spec_does() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the reference composer and gateway cannot run",
                    pytrace=False)
    tolerated = known()
    totals = run_sample()
    assert totals.served == len(SAMPLE_SEEDS), "every sample schema set is served"
    assert totals.queries == len(SAMPLE_SEEDS) * SAMPLE_QUERIES
    decided = totals.queries - totals.spec_ambiguous
    # the oracle must decide nearly everything, or this test would check little
    assert decided >= 0.9 * totals.queries, (decided, totals.queries)

    off_spec = "\n\n".join(
        f"seed {d.seed} query {d.index} ({d.kind}):\n{d.operation.query}\n"
        f"variables: {d.operation.variables}\ngovgraph: {d.ours[:1500]}\n"
        f"the spec: {d.expected[:1500]}" for d in totals.ours_off_spec[:10])
    assert not totals.ours_off_spec, (
        f"govgraph is off the spec's answer on {len(totals.ours_off_spec)} quer(ies) (replay "
        f"one with `.venv/bin/python -m tests.conformance.random replay SEED FILE`):\n\n"
        f"{off_spec}")
    assert totals.ours_spec == decided

    # a disagreement with the reference is the reference's mistake, or undecided and known
    undecided = [d for d in totals.disagreements if d.spec == SPEC_AMBIGUOUS]
    new = [d for d in undecided if d.key() not in tolerated]
    seen = {d.key() for d in undecided}
    stale = sorted(k for k in tolerated if k not in seen)
    if stale:
        warnings.warn(f"known disagreements no longer seen (remove them from {KNOWN.name}): "
                      f"{stale}", stacklevel=1)
    report = "\n\n".join(
        f"seed {d.seed} query {d.index}: {d.kind}\n{d.operation.query}\n"
        f"variables: {d.operation.variables}\ngovgraph:  {d.ours[:1500]}\n"
        f"reference: {d.reference[:1500]}" for d in new[:10])
    assert not new, (f"{len(new)} disagreement(s) with the reference the spec does not decide; "
                     f"list each with a reason in {KNOWN.name}:\n\n{report}")
    assert all(d.spec in (SPEC_OURS, SPEC_AMBIGUOUS) for d in totals.disagreements)
