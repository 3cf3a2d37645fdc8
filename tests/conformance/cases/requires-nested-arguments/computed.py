"""`summary` is derived from the product's info as the requirement names it: `b(x: 3)`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summary(product: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    info = product["info"]
    return f"{info['a']}/{info['b']}"


COMPUTED = {"pricing": {"Product.summary": summary}}
