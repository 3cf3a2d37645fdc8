"""Is a gateway's answer the expected one? Compared as JSON values, so key order and spacing do not count."""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    byte_identical: bool
    reason: str


def judge(status: int, body: bytes, expected: str) -> Verdict:
    """Correct means HTTP 200 and a JSON value equal to the reference answer, errors included."""
    if body == expected.encode():
        return Verdict(True, True, "byte-identical to the reference answer")
    if status != 200:
        return Verdict(False, False, f"HTTP {status}: {_excerpt(body)}")
    try:
        value = json.loads(body)
    except ValueError:
        return Verdict(False, False, f"not JSON: {_excerpt(body)}")
    if value == json.loads(expected):
        return Verdict(True, False, "equal to the reference answer as JSON (key order or spacing differ)")
    if isinstance(value, dict) and value.get("errors"):
        return Verdict(False, False, f"errors: {_excerpt(json.dumps(value['errors']).encode())}")
    return Verdict(False, False, f"data differs from the reference answer: {_excerpt(body)}")


def _excerpt(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"
