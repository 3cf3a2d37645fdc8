"""A `@requires` field with arguments: the estimate scales the required weight."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def estimate(goods: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    value = goods["weight"] * args["factor"]
    return value + 100 if args.get("express") else value


COMPUTED = {"freight": {"Goods.estimate": estimate}}
