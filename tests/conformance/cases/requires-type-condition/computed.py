"""Requirements under type conditions: the label needs the company of a work address,
the channel the member-specific field of a contact. A field the requirement selects
under another member must not be sent; a missing one fails the field."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def label(person: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    address = person["address"]
    if "street" in address:
        raise ValueError("the requirement selects no street")
    if "company" in address:
        return "c/o " + address["company"]
    return "private"


def channel(person: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    contact = person["contact"]
    if "domain" in contact:
        return f"{contact['handle']}@{contact['domain']}"
    return f"+{contact['country']} {contact['handle']}"


def route(person: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    address = person["address"]
    if "street" in address:  # only a work address's street is required
        return "commute to " + address["street"]
    return "works from home"


COMPUTED = {"mail": {"Person.label": label, "Person.channel": channel, "Person.route": route}}
