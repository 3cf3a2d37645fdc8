"""Medians over rounds and per-round ratios: the numbers a reader may compare across gateways."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from statistics import median
from typing import Any

Metric = Callable[[dict[str, Any]], float | None]


def median_of(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return median(present) if present else None


def by_target(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        grouped.setdefault(run["target"], []).append(run)
    return grouped


def reference_target(runs: list[dict[str, Any]], ok: Callable[[dict[str, Any]], bool]) -> str | None:
    """Ratios are taken against the first target (in run order) that completed a round."""
    return next((run["target"] for run in runs if ok(run)), None)


def round_ratios(runs: list[dict[str, Any]], metric: Metric, reference: str) -> dict[str, dict[int, float]]:
    """Per round, each target's metric divided by the reference target's metric in that round."""
    rounds: dict[int, dict[str, float | None]] = {}
    for run in runs:
        rounds.setdefault(run["round"], {})[run["target"]] = metric(run)
    ratios: dict[str, dict[int, float]] = {}
    for round_number, values in rounds.items():
        base = values.get(reference)
        if not base:
            continue
        for target, value in values.items():
            if value is not None:
                ratios.setdefault(target, {})[round_number] = value / base
    return ratios
