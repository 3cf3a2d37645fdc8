"""Every hand-written query of every case, through govgraph and through the reference gateway."""
from __future__ import annotations

import pytest
from case import Query
from conftest import Stack
from expectations import call_mismatches, ordered, response_mismatches


def _report(label: str, query: Query, response: dict, problems: list[str]) -> str:
    return (f"{label} does not conform on {query.name}:\n" + "\n".join(problems)
            + f"\nquery:\n{query.query}\nvariables: {ordered(query.variables)}"
            + f"\nresponse: {ordered(response)}")


def test_govgraph_gives_the_expected_response(stack: Stack, query: Query) -> None:
    response, requests = stack.run("govgraph", query)
    problems = response_mismatches(query, response) + call_mismatches(query, requests)
    assert not problems, _report("govgraph", query, response, problems)


def test_reference_gateway_agrees_with_the_expected_response(stack: Stack, query: Query) -> None:
    """Keeps the expectations honest: @apollo/gateway is held to the same answers."""
    if query.reference_diverges:
        pytest.skip(f"@apollo/gateway does not implement this: {query.reference_diverges}")
    response, requests = stack.run("apollo", query)
    problems = response_mismatches(query, response, strict_errors=not query.gateway_error,
                                   data_only=query.reference_data_only is not None)
    problems += call_mismatches(query, requests, query.reference_calls)
    assert not problems, _report("@apollo/gateway", query, response, problems)
