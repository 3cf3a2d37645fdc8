"""A post's title in the locale of the site it is reached from (an argument @fromContext)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def title(post: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    if "locale" not in args or args["locale"] is None:
        return "<no locale>"
    return str(post["titles"][args["locale"]])


COMPUTED = {"blog": {"Post.title": title}}
