"""govgraph against @apollo/gateway: same supergraph, same subgraphs, same queries.

When the two disagree on a generated query, Hive Gateway is asked too. The test fails
only when both references agree with each other against govgraph (and do not merely both
fail where govgraph answers); otherwise the difference is reported as a warning.

`data` must be equal, key order included; errors are compared by presence and by the
set of paths they point at (their wording and codes differ between gateways).
"""
from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
from case import Query
from conftest import Stack
from expectations import ordered
from graphql import build_client_schema, get_introspection_query
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from query_strategy import FixtureValues, labelled_override_fields, operations

# generated queries per case; raise it for a deeper local search
GENERATED_EXAMPLES = int(os.environ.get("GOVGRAPH_CONFORMANCE_EXAMPLES", "25"))


def _errors(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors, counting those @apollo/gateway files under `extensions.valueCompletion`."""
    completion = (response.get("extensions") or {}).get("valueCompletion") or []
    return list(response.get("errors") or []) + list(completion)


def _nulled_at(data: Any, path: list[Any]) -> tuple[Any, ...]:
    """The path cut at the first null on it: several errors may null the same subtree, and
    which of them a gateway reports depends on its fetch order, not on the spec."""
    if data is None:
        return ()
    node = data
    for depth, segment in enumerate(path):
        try:
            node = node[segment]
        except (KeyError, IndexError, TypeError):
            return tuple(path[:depth + 1])
        if node is None:
            return tuple(path[:depth + 1])
    return tuple(path)


def _error_paths(response: dict[str, Any]) -> list[tuple[Any, ...]]:
    data = response.get("data")
    return sorted({_nulled_at(data, list(error.get("path") or [])) for error in _errors(response)},
                  key=repr)


def _fetch_failures_expected(stack: Stack) -> bool:
    """Down or failing subgraphs: where a fetch error points is not fixed by the spec."""
    return bool(stack.case.down) or any("$http" in f for f in stack.case.fixtures.values())


def _gateway_completes_nulls(stack: Stack) -> bool:
    """Lenient subgraphs return nulls the supergraph forbids; @apollo/gateway nulls the
    parents correctly but reports those errors only sometimes, so only data is compared."""
    return any(f.get("$lenient") for f in stack.case.fixtures.values())


def differences(stack: Stack, ours: dict[str, Any], reference: dict[str, Any],
                data_only: bool = False) -> list[str]:
    problems: list[str] = []
    if ("data" in ours) != ("data" in reference):
        problems.append("only one response has a `data` entry")
    elif ordered(ours.get("data")) != ordered(reference.get("data")):
        problems.append("data differs")
    if data_only:
        return problems
    if bool(_errors(ours)) != bool(_errors(reference)):
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
    if stack.case.reference_unsupported:
        pytest.skip(f"no reference serves this supergraph: {stack.case.reference_unsupported}")
    govgraph = stack.gateway("govgraph")
    apollo = stack.gateway("apollo")
    introspection = apollo.execute(get_introspection_query())
    assert "data" in introspection, f"@apollo/gateway refused introspection: {introspection}"
    schema = build_client_schema(introspection["data"])
    values = FixtureValues.collect(*stack.case.fixtures.values())
    # @apollo/gateway ignores progressive override labels, so those fields are not compared
    excluded = labelled_override_fields(stack.case.supergraph_path.read_text(encoding="utf-8"))

    @settings(max_examples=GENERATED_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.generate),
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def agree(data: st.DataObject) -> None:
        text = data.draw(operations(schema, values, excluded), label="query")
        stack.host.reset()
        stack.case.reset_state()
        ours = govgraph.execute(text)
        stack.case.reset_state()
        try:
            reference = stack.gateway("apollo").execute(text)
        except OSError as error:
            if not stack.revive_references():
                raise
            warnings.warn(f"no verdict on {stack.case.name}: @apollo/gateway's node process "
                          f"died on {text!r} ({error})", stacklevel=1)
            return
        data_only = _gateway_completes_nulls(stack)
        problems = differences(stack, ours, reference, data_only=data_only)
        if problems:
            # @apollo/gateway has planner bugs of its own: a second reference settles it
            try:
                second = stack.second_opinion().execute(text)
            except OSError as error:
                if not stack.revive_references():
                    raise
                warnings.warn(f"no verdict on {stack.case.name}: Hive Gateway's node process "
                              f"died on {text!r} ({error})", stacklevel=1)
                return
            if not differences(stack, ours, second, data_only=data_only):
                warnings.warn(f"@apollo/gateway alone differs on {stack.case.name}: {text!r} -> "
                              f"{ordered(reference)}; govgraph and Hive Gateway answer "
                              f"{ordered(ours)}", stacklevel=1)
                return
            if differences(stack, reference, second, data_only=data_only):
                warnings.warn(f"no verdict on {stack.case.name}: the references disagree with each "
                              f"other on {text!r}: @apollo/gateway {ordered(reference)}, Hive "
                              f"Gateway {ordered(second)}, govgraph {ordered(ours)}", stacklevel=1)
                return
            if _errors(reference) and not _errors(ours):
                warnings.warn(f"no verdict on {stack.case.name}: both references fail on {text!r} "
                              f"({ordered(reference)}) where govgraph answers {ordered(ours)}",
                              stacklevel=1)
                return
            problems.append(f"Hive Gateway agrees with @apollo/gateway: {ordered(second)}")
        assert not problems, _report(text, None, ours, reference, problems)

    agree()
