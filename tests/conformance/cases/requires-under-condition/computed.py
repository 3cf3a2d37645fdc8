"""A `@requires` field computed from the note it receives in the representation."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def note_label(book: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    return f"note {book['note']}"


COMPUTED = {"shipping": {"Book.noteLabel": note_label}}
