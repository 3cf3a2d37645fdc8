"""Mutations with side effects, so the order in which the gateway runs them shows in the answers."""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

_counter = itertools.count(1)


def reset() -> None:
    global _counter
    _counter = itertools.count(1)


def submit(root: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f"A{next(_counter)}", "item": args["item"]}


def record_event(root: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    return next(_counter)


def state(application: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return "RECEIVED" if application["id"].startswith("A") else "UNKNOWN"


COMPUTED = {
    "applications": {"Mutation.submitApplication": submit},
    "status": {"Mutation.recordEvent": record_event, "Application.state": state},
}
