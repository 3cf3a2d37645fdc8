"""The fixed sample `test_random.py` runs, and the known disagreements it tolerates."""
from __future__ import annotations

import tomllib
from pathlib import Path

from .run import Runner, Totals

SAMPLE_SEEDS = list(range(1000, 1012))
SAMPLE_QUERIES = 40
KNOWN = Path(__file__).parent / "known.toml"


def known() -> dict[tuple[int, int, str], str]:
    """(seed, query index, kind) -> the reason the disagreement is tolerated."""
    entries = tomllib.loads(KNOWN.read_text(encoding="utf-8")).get("disagreement", [])
    found = {}
    for entry in entries:
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise ValueError(f"{KNOWN}: the entry {entry} gives no reason")
        found[int(entry["seed"]), int(entry["query"]), str(entry["kind"])] = reason
    return found


def run_sample() -> Totals:
    """The sample through both gateways, each answer also checked against the spec's."""
    runner = Runner(queries_per_schema=SAMPLE_QUERIES, minimize_per_kind=0,
                    max_minimized_per_kind=0)
    try:
        return runner.run(SAMPLE_SEEDS)
    finally:
        runner.close()
