"""A `@requires` field reading `size(x: 2)`, which another type's `size` shares a name with."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def size_label(book: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return "/".join(book["size"])


COMPUTED = {"shipping": {"Book.sizeLabel": size_label}}
