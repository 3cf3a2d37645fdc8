"""Compare a gateway's response, and the subgraph requests it made, with a case's expectation."""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from case import Query
from subgraph_server import RecordedRequest


def ordered(value: Any) -> str:
    """JSON text that keeps key order, since a response's fields follow the selection order."""
    return json.dumps(value, ensure_ascii=False)


def canonical(value: Any) -> Any:
    """The value with every list sorted, for comparisons where list order is not fixed."""
    if isinstance(value, list):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def error_matches(expected: dict[str, Any], actual: dict[str, Any], strict: bool) -> bool:
    if "path" in expected and actual.get("path") != expected["path"]:
        return False
    if not strict:
        return True
    if "message" in expected and actual.get("message") != expected["message"]:
        return False
    extensions = actual.get("extensions") or {}
    for key, value in (expected.get("extensions") or {}).items():
        if extensions.get(key) != value:
            return False
    pattern = expected.get("code_pattern")
    return pattern is None or re.fullmatch(pattern, str(extensions.get("code", ""))) is not None


def response_mismatches(query: Query, response: dict[str, Any], strict_errors: bool = True,
                        data_only: bool = False) -> list[str]:
    """Every way `response` differs from the expected response (empty when it conforms)."""
    problems: list[str] = []
    expected = query.response
    if "data" in expected or "data" in response:
        if "data" not in response:
            problems.append("the response has no `data` entry")
        elif query.unordered and canonical(response["data"]) != canonical(expected.get("data")):
            problems.append(f"data differs (in any order):\n  expected {ordered(expected.get('data'))}\n"
                            f"  got      {ordered(response['data'])}")
        elif not query.unordered and ordered(response["data"]) != ordered(expected.get("data")):
            problems.append(f"data differs:\n  expected {ordered(expected.get('data'))}\n"
                            f"  got      {ordered(response['data'])}")
    if data_only:
        return problems
    wanted = list(expected.get("errors") or [])
    got = list(response.get("errors") or [])
    if not wanted and got:
        problems.append(f"unexpected errors: {ordered(got)}")
    elif len(wanted) != len(got) and strict_errors:
        problems.append(f"expected {len(wanted)} error(s), got {len(got)}: {ordered(got)}")
    else:
        unmatched = list(got)
        for error in wanted:
            match = next((a for a in unmatched if error_matches(error, a, strict_errors)), None)
            if match is None:
                problems.append(f"no error like {ordered(error)} among {ordered(got)}")
            else:
                unmatched.remove(match)
    return problems


def call_mismatches(query: Query, requests: list[tuple[str, RecordedRequest]],
                    calls: dict[str, int] | None = None) -> list[str]:
    """Differences between the expected (`calls`, else the query's) and the actual subgraph
    traffic."""
    problems: list[str] = []
    counts = Counter(name for name, _ in requests)
    for name, count in (query.calls if calls is None else calls).items():
        if counts.get(name, 0) != count:
            problems.append(f"expected {count} request(s) to subgraph {name!r}, got "
                            f"{counts.get(name, 0)}: {[r.query for n, r in requests if n == name]}")
    if query.order is not None:
        sequence = [name for name, _ in requests]
        if sequence != query.order:
            problems.append(f"expected subgraph requests in order {query.order}, got {sequence}")
    return problems

