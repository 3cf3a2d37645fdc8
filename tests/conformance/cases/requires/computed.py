"""Fields the inventory subgraph derives from the `@requires` fields of the representation."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def shipping_estimate(product: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    # free for expensive items, otherwise half the weight
    return 0 if product["price"] > 1000 else product["weight"] // 2


def packaging(product: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    dimensions = product["dimensions"]
    return "crate" if dimensions["size"] * dimensions["weight"] > 100 else "box"


COMPUTED = {
    "inventory": {
        "Product.shippingEstimate": shipping_estimate,
        "Product.packaging": packaging,
    },
}
