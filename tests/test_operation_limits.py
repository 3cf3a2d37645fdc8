"""Operations are bounded before validation and planning: a document of more than
`[gateway] max_tokens` stops the parser, and one whose fragments expand past
`max_expanded_selections`, or whose fields nest deeper than `max_depth`, is refused with a
coded request error, in time linear in the document whatever its expanded size."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from graphql import parse
from tiny_gateway import tiny_gateway

from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.planner.operation import OperationLimitError, OperationSize, measure


def doubling_query(levels: int = 30) -> str:
    """1.2 KB that spreads the last fragment 2^(levels - 1) times."""
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n"
                        for i in range(levels - 1))
    return (f"query Doubling {{ ...F0 }}\n{fragments}"
            f"fragment F{levels - 1} on Query {{ provinces {{ code }} }}\n")


def aliased_query(count: int) -> str:
    return "{ " + " ".join(f"a{i}: provinces {{ code }}" for i in range(count)) + " }"


UNLIMITED = {"max_selections": 10**18, "max_depth": 10**6}


def test_doubling_fragments_are_refused_and_the_gateway_still_answers() -> None:
    async def scenario() -> None:
        async with tiny_gateway() as tiny:
            refused = await tiny.post(doubling_query())
            assert refused.status == 400
            assert refused.error["extensions"] == {"code": "MAX_EXPANDED_SELECTIONS_EXCEEDED"}
            assert 'Operation "Doubling" has more than 10000 selections' in refused.error["message"]
            assert "[gateway] max_expanded_selections" in refused.error["message"]
            assert "data" not in refused.json
            assert tiny.subgraph_calls == []
            ordinary = await tiny.post("{ provinces { code name } }")
            assert ordinary.status == 200
            assert ordinary.json == {"data": {"provinces": [{"code": "440000",
                                                             "name": "广东省"}]}}
    asyncio.run(scenario())


def test_the_count_of_a_doubling_chain_is_exact_without_expanding_it() -> None:
    # F29 holds 2 selections; every other fragment holds 2 spreads of the next one
    size = 2
    for _ in range(29):
        size = 2 * (1 + size)
    document = parse(doubling_query())
    assert measure(document, **UNLIMITED) == OperationSize(selections=1 + size, depth=2)
    assert 1 + size > 2**30


def test_an_operation_at_the_limit_is_planned_and_one_past_it_is_refused() -> None:
    async def scenario() -> None:
        async with tiny_gateway(GatewayConfig(max_expanded_selections=40)) as tiny:
            at_limit = await tiny.post(aliased_query(20))  # 20 x (provinces + code)
            assert at_limit.status == 200
            assert at_limit.json["data"]["a19"] == [{"code": "440000"}]
            past_limit = await tiny.post(aliased_query(20).replace("code", "code name", 1))
            assert past_limit.status == 400
            assert past_limit.error["extensions"]["code"] == "MAX_EXPANDED_SELECTIONS_EXCEEDED"
    asyncio.run(scenario())


def test_the_ten_thousand_alias_query_stops_the_parser_or_else_the_selection_count() -> None:
    query = aliased_query(10_000)  # 60,000 tokens, 20,000 selections

    async def scenario() -> None:
        async with tiny_gateway() as tiny:
            refused = await tiny.post(query)
            assert refused.status == 400
            assert refused.error == {
                "message": "The document has more than 15000 tokens, the limit set by [gateway] "
                           "max_tokens; send a smaller document.",
                "extensions": {"code": "MAX_TOKENS_EXCEEDED"}}
        async with tiny_gateway(GatewayConfig(max_tokens=100_000)) as tiny:
            refused = await tiny.post(query)
            assert refused.status == 400
            assert refused.error["extensions"] == {"code": "MAX_EXPANDED_SELECTIONS_EXCEEDED"}
            assert tiny.subgraph_calls == []
    asyncio.run(scenario())


def test_the_count_follows_nested_fragments_and_inline_fragments() -> None:
    document = parse("""
        query {
          provinces { ...Named ... on Division { parent { ...Coded } } }
        }
        fragment Named on Division { name ...Coded ...Coded }
        fragment Coded on Division { code ... on Division { name } }
    """)
    # provinces 1 + ...Named 1 + Named (name 1 + 2 x (...Coded 1 + Coded 3)) 9
    # + inline fragment 1 + parent 1 + ...Coded 1 + Coded 3
    assert measure(document, **UNLIMITED) == OperationSize(selections=17, depth=3)


def test_every_operation_of_a_document_is_measured_and_the_largest_reported() -> None:
    document = parse("query Small { provinces { code } } "
                     "query Large { provinces { code name parent { code } } }")
    assert measure(document, **UNLIMITED) == OperationSize(selections=5, depth=3)
    with pytest.raises(OperationLimitError, match='Operation "Large" has more than 4'):
        measure(document, max_selections=4, max_depth=10)


def test_fields_nested_past_max_depth_are_refused_through_fragments_too() -> None:
    nested = ("{ provinces { parent { parent { ...P } } } } "
              "fragment P on Division { parent { code } }")
    document = parse(nested)
    assert measure(document, **UNLIMITED).depth == 5
    measure(document, max_selections=100, max_depth=5)
    with pytest.raises(OperationLimitError, match=r"more than 4 levels deep.*max_depth") as deep:
        measure(document, max_selections=100, max_depth=4)
    assert deep.value.code == "MAX_DEPTH_EXCEEDED"

    async def scenario() -> None:
        async with tiny_gateway(GatewayConfig(max_depth=4)) as tiny:
            refused = await tiny.post(nested)
            assert refused.status == 400
            assert refused.error["extensions"] == {"code": "MAX_DEPTH_EXCEEDED"}
    asyncio.run(scenario())


def test_a_memoised_fragment_spread_deeper_down_is_still_held_to_max_depth() -> None:
    document = parse("{ provinces { ...P parent { parent { ...P } } } } "
                     "fragment P on Division { parent { code } }")
    assert measure(document, **UNLIMITED).depth == 5
    with pytest.raises(OperationLimitError, match="levels deep"):
        measure(document, max_selections=100, max_depth=4)


def test_limits_are_read_from_the_gateway_table(tmp_path: Path) -> None:
    path = tmp_path / "govgraph.toml"
    path.write_text("[gateway]\nmax_tokens = 4000\nmax_expanded_selections = 2500\n"
                    "max_depth = 30\n")
    config = load_config(path, env={})
    assert (config.max_tokens, config.max_expanded_selections, config.max_depth) == (4000, 2500, 30)
    defaults = GatewayConfig()
    assert (defaults.max_tokens, defaults.max_expanded_selections, defaults.max_depth) == (
        15_000, 10_000, 100)


@pytest.mark.parametrize("line, message", [
    ("max_expanded_selections = 0", "gateway.max_expanded_selections must be a whole number "
                                    "greater than zero, got 0"),
    ("max_tokens = 0", "gateway.max_tokens must be a whole number greater than zero, got 0"),
    ("max_depth = -3", "gateway.max_depth must be a whole number greater than zero, got -3"),
    ("max_expanded_selections = 1.5", "gateway.max_expanded_selections must be a whole number "
                                      "greater than zero, got 1.5"),
    ("max_depth = true", "gateway.max_depth must be a whole number greater than zero, got True"),
])
def test_limits_that_are_not_positive_whole_numbers_are_refused(
        tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "govgraph.toml"
    path.write_text(f"[gateway]\n{line}\n")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(path, env={})


def test_planning_past_max_planning_effort_is_refused_with_its_own_code() -> None:
    query = "{ provinces { code name parent { code name parent { code name } } } }"

    async def scenario() -> None:
        async with tiny_gateway(GatewayConfig(max_planning_effort=5)) as tiny:
            refused = await tiny.post(query)
            assert refused.status == 200
            assert refused.json["data"] is None
            assert refused.error["extensions"] == {"code": "PLANNING_EFFORT_EXCEEDED"}
            assert "[gateway] max_planning_effort" in refused.error["message"]
            assert tiny.subgraph_calls == []
        async with tiny_gateway(GatewayConfig(max_planning_effort=50)) as tiny:
            planned = await tiny.post(query)
            assert planned.status == 200 and "errors" not in planned.json
    asyncio.run(scenario())
