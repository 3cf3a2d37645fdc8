"""The shipping cost is computed from the USD price and the weight the gateway sends."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def shipping_cost(product: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    # a representation without the required USD price, or with the price under another
    # name, is a gateway bug: the field then fails instead of guessing
    return product["price"] // 10 + product["weight"]


COMPUTED = {"shipping": {"Product.shippingCost": shipping_cost}}
