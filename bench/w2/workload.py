"""W2: the portal's queries through govgraph with the provincial subgraph served as 31 shards.

The stack is what `govgraph run` starts: `govgraph seed`, `govgraph subgraph national`,
`govgraph subgraph provincial` per shard and the gateway with a shard map. The driver
is not written yet: this workload reports the first missing piece instead of numbers.
"""
from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from bench.targets import ROOT

REQUIRED_COMMANDS = ("gateway", "seed", "subgraph", "run")


def missing_prerequisite() -> str:
    """The first piece of the portal stack that is not there yet, as a sentence."""
    declared = {entry.name for entry in importlib.metadata.entry_points(group="govgraph.commands")}
    for command in REQUIRED_COMMANDS:
        if command not in declared:
            return f"`govgraph {command}` is not declared"
    if not (ROOT / "gateway" / "engine.py").exists():
        return "the govgraph gateway engine (gateway/engine.py) does not exist yet"
    for package in ("subgraphs/national", "subgraphs/provincial"):
        if not any((ROOT / package).glob("*.py")):
            return f"{package} has no code yet"
    return "the portal operations and the sharded-stack driver are not written yet (placeholder)"


def run_w2(workdir: Path) -> dict[str, Any]:
    """Placeholder: always reports the missing piece; the driver lands with the sharded stack."""
    return {"workload": "w2", "skipped": missing_prerequisite()}
