"""Postage and pickup computed from abstract `@requires` selections with type conditions."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def postage(shipment: Mapping[str, Any], args: Mapping[str, Any]) -> int:
    package = shipment["package"]
    return package["volume"] * 2 if "volume" in package else package["weight"] + 1


def pickup(shipment: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    sender = shipment["sender"]
    where = sender.get("district") or f"floor {sender.get('floor')}"
    return f"{sender['name']} at {where}"


COMPUTED = {"postage": {"Shipment.postage": postage, "Shipment.pickup": pickup}}
