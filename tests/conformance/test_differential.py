"""govgraph against @apollo/gateway: same supergraph, same subgraphs, same queries.

`data` must be equal, key order included; errors are compared by presence and by the
set of paths they point at (their wording and codes differ between gateways).
"""
from __future__ import annotations

from typing import Any

import pytest
from graphql import build_client_schema, get_introspection_query
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from case import Query
from conftest import Stack
from expectations import ordered
from query_strategy import FixtureValues, operations

GENERATED_EXAMPLES = 20


def _error_paths(response: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted({tuple(error.get("path") or ()) for error in response.get("errors") or []},
                  key=repr)


def _fetch_failures_expected(stack: Stack) -> bool:
    """Down or failing subgraphs: where a fetch error points is not fixed by the spec."""
    return bool(stack.case.down) or any("$http" in f for f in stack.case.fixtures.values())


def differences(stack: Stack, ours: dict[str, Any], reference: dict[str, Any],
                data_only: bool = False) -> list[str]:
    problems: list[str] = []
    if ("data" in ours) != ("data" in reference):
        problems.append("only one response has a `data` entry")
    elif ordered(ours.get("data")) != ordered(reference.get("data")):
        problems.append("data differs")
    if data_only:
        return problems
    if bool(ours.get("errors")) != bool(reference.get("errors")):
        problems.append("only one response has errors")
    elif not _fetch_failures_expected(stack) and _error_paths(ours) != _error_paths(reference):
        problems.append(f"error paths differ: {_error_paths(ours)} vs {_error_paths(reference)}")
    return problems


def _report(query: str, variables: Any, ours: dict[str, Any], reference: dict[str, Any],
            problems: list[str]) -> str:
    return ("govgraph and @apollo/gateway disagree: " + "; ".join(problems)
            + f"\nquery:\n{query}\nvariables: {ordered(variables)}"
            + f"\ngovgraph:        {ordered(ours)}\n@apollo/gateway: {ordered(reference)}")


def test_handwritten_queries_agree_with_apollo_gateway(stack: Stack, query: Query) -> None:
    if query.reference_diverges:
        pytest.skip(f"@apollo/gateway does not implement this: {query.reference_diverges}")
    ours, _ = stack.run("govgraph", query)
    reference, _ = stack.run("apollo", query)
    problems = differences(stack, ours, reference, data_only=query.reference_data_only is not None)
    assert not problems, _report(query.query, query.variables, ours, reference, problems)


def test_generated_queries_agree_with_apollo_gateway(stack: Stack) -> None:
    govgraph = stack.gateway("govgraph")
    apollo = stack.gateway("apollo")
    introspection = apollo.execute(get_introspection_query())
    assert "data" in introspection, f"@apollo/gateway refused introspection: {introspection}"
    schema = build_client_schema(introspection["data"])
    values = FixtureValues.collect(*stack.case.fixtures.values())

    @settings(max_examples=GENERATED_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.generate),
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def agree(data: st.DataObject) -> None:
        text = data.draw(operations(schema, values), label="query")
        stack.host.reset()
        stack.case.reset_state()
        ours = govgraph.execute(text)
        stack.case.reset_state()
        reference = apollo.execute(text)
        problems = differences(stack, ours, reference)
        assert not problems, _report(text, None, ours, reference, problems)

    agree()
