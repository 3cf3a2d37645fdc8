"""The engine's one planner is used from two threads: the preparing worker (new operations)
and the event loop (an operation planned again without the fields a caller may not see)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from graphql import parse

from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.planner.operation import normalize, select_operation

W1 = Path(__file__).resolve().parents[1] / "bench" / "w1"


def test_plans_made_in_two_threads_at_once_are_the_plans_made_alone() -> None:
    gateway = Gateway((W1 / "supergraph.graphql").read_text(encoding="utf-8"), GatewayConfig())
    queries = [
        (W1 / "query.graphql").read_text(encoding="utf-8"),
        "{ topProducts(first: 3) { name reviews { body author { username } } inStock } }",
    ]
    operations = []
    for text in queries:
        document = parse(text)
        operations.append(normalize(gateway.schema, document, select_operation(document, None), {}))
    alone = [gateway._plan(op, None).print() for op in operations]
    seen: list[list[str]] = [[], []]

    def plan_many(i: int) -> None:
        for _ in range(40):
            seen[i].append(gateway._plan(operations[i], None).print())

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=plan_many, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    for i in (0, 1):
        assert len(seen[i]) == 40
        assert all(text == alone[i] for text in seen[i])
