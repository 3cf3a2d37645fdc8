"""Fields that tell an omitted argument (no variable value and no default in the subgraph
operation) from an explicit null and from a value."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _mode(args: Mapping[str, Any], name: str) -> str:
    if name not in args:
        return "omitted"
    return "null" if args[name] is None else str(args[name]).lower()


def label(item: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    mode = _mode(args, "upper")
    return item["name"].upper() if mode == "true" else f"{item['name']} ({mode})"


def flag(root: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return _mode(args, "on")


COMPUTED = {"labels": {"Item.label": label, "Query.flag": flag}}
