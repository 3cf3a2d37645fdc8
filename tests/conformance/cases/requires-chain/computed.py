"""Derived fields: `dueDay` needs `submittedDay`; `alert` needs `dueDay`, itself required."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def due_day(application: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    return application["submittedDay"] + 20


def workload(application: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return f"3 {args['unit']}"


def alert(application: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return f"{application['region']}: due on day {application['dueDay']}"


COMPUTED = {
    "deadlines": {"Application.dueDay": due_day, "Application.workload": workload},
    "alerts": {"Application.alert": alert},
}
