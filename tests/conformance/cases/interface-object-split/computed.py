"""`taxOffice` is derived from the account's region, which the tax subgraph only sees as @external."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tax_office(account: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return f"{account['region']} tax bureau"


COMPUTED = {"tax": {"Account.taxOffice": tax_office}}
