"""A permit's status computed from its validity, received in the representation."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def status(permit: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return "in force" if permit["valid"] else "lapsed"


COMPUTED = {"permits": {"Permit.status": status}}
