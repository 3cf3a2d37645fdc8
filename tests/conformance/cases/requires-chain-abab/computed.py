"""A chain of requirements across two subgraphs: base (ledger) -> discounted (pricing)
-> taxed (ledger) -> total (pricing). Each step fails without the previous step's value."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def discounted(order: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    return order["base"] - 10


def taxed(order: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    return order["discounted"] * 2


def total(order: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    return order["taxed"] + 1


COMPUTED = {
    "ledger": {"Order.taxed": taxed},
    "pricing": {"Order.discounted": discounted, "Order.total": total},
}
