"""The new owner of `total` computes it from the @external `base`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def total(fee: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    return fee["base"] * 2


COMPUTED = {"new": {"Fee.total": total}}
