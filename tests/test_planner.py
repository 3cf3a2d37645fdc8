"""Query plans over hand-written supergraphs: their shape, as a reader of Apollo's plans expects."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.planner.plan import FetchNode, QueryPlan
from schema.supergraph import Supergraph, SupergraphError

FIXTURES = Path(__file__).parent / "fixtures"
CASES = Path(__file__).parent / "conformance" / "cases"


def _gateway(name: str) -> Gateway:
    return Gateway((FIXTURES / name).read_text(encoding="utf-8"), GatewayConfig())


def test_join_v01_fields_without_join_field_belong_to_the_owner() -> None:
    gateway = _gateway("join-v0.1.graphql")
    plan = gateway.plan_for("{ topProducts { name inStock price } }").print()
    assert (
        plan
        == """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          name
          __typename
          upc
          price
        }
      }
    },
    Flatten(path: "topProducts.@") {
      Fetch(service: "inventory") {
        {
          ... on Product {
            __typename
            upc
          }
        } =>
        {
          _entities(representations: $representations) {
            ... on Product {
              inStock
            }
          }
        }
      },
    },
  },
}"""
    )


def test_plan_of_a_single_subgraph_query_is_one_fetch() -> None:
    plan = _gateway("join-v0.1.graphql").plan_for("{ topProducts { upc } }")
    fetches = plan.fetches()
    assert len(fetches) == 1 and fetches[0].service == "products"
    assert fetches[0].operation == "{topProducts {upc}}"


def test_a_supergraph_without_the_join_spec_is_refused_with_the_reason() -> None:
    with pytest.raises(SupergraphError, match="join spec"):
        Supergraph("type Query { a: Int }")
    with pytest.raises(SupergraphError, match="empty"):
        Supergraph("  ")
    with pytest.raises(SupergraphError, match="not valid GraphQL"):
        Supergraph("type Query {")


def test_skip_and_include_on_variables_become_condition_nodes_of_one_shared_plan() -> None:
    gateway = _gateway("join-v0.1.graphql")
    query = "query ($stock: Boolean!) { topProducts { name inStock @include(if: $stock) } }"
    plan = gateway.plan_for(query).print()
    assert "Include(if: $stock) {" in plan
    assert "inStock @include(if: $stock)" in plan
    skipped = gateway.plan_for(query.replace("@include", "@skip")).print()
    assert "Skip(if: $stock) {" in skipped


def test_objects_whose_key_is_null_are_not_sent_as_representations() -> None:
    import asyncio

    from gateway.executor import ExecutionContext, Executor

    sdl = Path(__file__).parent / "conformance" / "cases" / "null-keys" / "supergraph.graphql"
    gateway = Gateway(sdl.read_text(encoding="utf-8"), GatewayConfig())
    plan = gateway.plan_for("{ licences { no holder { id maskedName } } }")
    sent: list[list[dict]] = []

    async def transport(fetch, variables, representations, ctx):  # type: ignore[no-untyped-def]
        if representations is None:
            return {
                "data": {
                    "licences": [
                        {"no": "L1", "holder": {"__typename": "Holder", "id": "h1"}},
                        {"no": "L2", "holder": {"__typename": "Holder", "id": None}},
                        {"no": "L3", "holder": None},
                    ]
                }
            }
        sent.append(representations)
        return {"data": {"_entities": [{"maskedName": "张*"} for _ in representations]}}

    ctx = ExecutionContext({}, {}, deadline=1e12, object_types=gateway.object_types)
    asyncio.run(Executor(transport).run(plan.node, ctx))
    assert sent == [[{"__typename": "Holder", "id": "h1"}]]
    assert ctx.data["licences"][1]["holder"] == {"__typename": "Holder", "id": None}


def test_a_feature_linked_for_security_that_the_gateway_lacks_is_refused_at_load() -> None:
    sdl = (
        Path(__file__).parent
        / "conformance"
        / "cases"
        / "context-fromcontext"
        / "supergraph.graphql"
    ).read_text(encoding="utf-8")
    context = '@link(url: "https://specs.apollo.dev/context/v0.1", for: SECURITY)'
    extra = ' @link(url: "https://specs.apollo.dev/tenantIsolation/v0.1", for: SECURITY)'
    unknown = sdl.replace(context, context + extra)
    assert unknown != sdl
    Supergraph(sdl)  # context/v0.1 is implemented
    # so are the access-control features
    Supergraph(sdl.replace(context, context + extra.replace("tenantIsolation", "authenticated")))
    with pytest.raises(SupergraphError, match=r"tenantIsolation/v0\.1 for SECURITY"):
        Supergraph(unknown)


def _progressive(label: str) -> str:
    sdl = (
        Path(__file__).parent
        / "conformance"
        / "cases"
        / "override-progressive"
        / "supergraph.graphql"
    ).read_text(encoding="utf-8")
    return sdl.replace('overrideLabel: "percent(100)"', f'overrideLabel: "{label}"')


def _services(plan: QueryPlan) -> frozenset[str]:
    return frozenset(f.service for f in plan.fetches())


def test_custom_override_label_is_switched_in_configuration() -> None:
    off = Gateway(_progressive("beta"), GatewayConfig())
    on = Gateway(_progressive("beta"), GatewayConfig(override_labels=["beta"]))
    assert off._override_labels() == frozenset()
    assert on._override_labels() == frozenset({"beta"})
    query = '{ product(id: "p1") { price } }'
    assert "modern" not in _services(off.plan_for(query, override_labels=off._override_labels()))
    assert "modern" in _services(on.plan_for(query, override_labels=on._override_labels()))


def test_percent_override_label_is_decided_per_request() -> None:
    gateway = Gateway(_progressive("percent(30)"), GatewayConfig())
    random.seed(7)
    decisions = [gateway._override_labels() for _ in range(2000)]
    share = sum(1 for d in decisions if "percent(30)" in (d or ())) / len(decisions)
    assert 0.25 < share < 0.35
    query = '{ product(id: "p1") { price } }'
    plans = {
        _services(gateway.plan_for(query, override_labels=labels)) for labels in set(decisions)
    }
    assert plans == {frozenset({"legacy"}), frozenset({"legacy", "modern"})}


def test_an_object_whose_typename_is_not_a_name_is_not_fetched_and_breaks_nothing() -> None:
    import asyncio

    from gateway.executor import ExecutionContext, Executor

    sdl = Path(__file__).parent / "conformance" / "cases" / "null-keys" / "supergraph.graphql"
    gateway = Gateway(sdl.read_text(encoding="utf-8"), GatewayConfig())
    plan = gateway.plan_for("{ licences { no holder { id maskedName } } }")
    sent: list[list[dict]] = []

    async def transport(fetch, variables, representations, ctx):  # type: ignore[no-untyped-def]
        if representations is None:
            return {
                "data": {
                    "licences": [
                        {"no": "L1", "holder": {"__typename": "Holder", "id": "h1"}},
                        {"no": "L2", "holder": {"__typename": ["Holder"], "id": "h2"}},
                    ]
                }
            }
        sent.append(representations)
        return {"data": {"_entities": [{"maskedName": "张*"} for _ in representations]}}

    ctx = ExecutionContext({}, {}, deadline=1e12, object_types=gateway.object_types)
    asyncio.run(Executor(transport).run(plan.node, ctx))
    assert sent == [[{"__typename": "Holder", "id": "h1"}]]


def test_a_fetch_waits_only_for_the_fetches_its_inputs_come_from() -> None:
    """Guangdong's divisions are fetched right after Guangdong's halls, not after the
    31-shard evaluation scatter that runs beside them (no global levels)."""
    from gateway.config import load_config
    from gateway.planner.plan import FlattenNode, ParallelNode, SequenceNode

    root = Path(__file__).parent.parent
    gateway = Gateway(
        (root / "schema" / "supergraph.graphql").read_text(encoding="utf-8"),
        load_config(root / "govgraph.toml", env={}),
    )
    plan = gateway.plan_for(
        '{ serviceHalls(provinceCode: "440000") { division { nameZh } } '
        "evaluationRanking { satisfactionRate } }"
    )
    assert isinstance(plan.node, ParallelNode)
    halls, ranking = plan.node.nodes
    assert isinstance(halls, SequenceNode)
    assert [type(n) for n in halls.nodes] == [FetchNode, FlattenNode]
    assert "serviceHalls" in halls.nodes[0].operation
    assert isinstance(ranking, FetchNode) and "evaluationRanking" in ranking.operation


def test_a_shareable_root_field_is_shared_out_when_that_costs_no_more_fetches() -> None:
    """`citizen` is @shareable in registry and benefits, each owning part of the selection:
    two root fetches side by side, where one root fetch and an entity fetch after it would
    cost as many fetches and one more round trip."""
    from gateway.planner.plan import ParallelNode

    supergraph = (
        Path(__file__).parent
        / "conformance"
        / "cases"
        / "shareable-root-cost"
        / "supergraph.graphql"
    )
    gateway = Gateway(supergraph.read_text(encoding="utf-8"), GatewayConfig())
    plan = gateway.plan_for(
        '{ a: citizen(id: "c1") { name pension } b: citizen(id: "c2") { pension } }'
    )
    assert isinstance(plan.node, ParallelNode), plan.print()
    services = sorted(f.service for f in plan.node.nodes if isinstance(f, FetchNode))
    assert services == ["benefits", "registry"], plan.print()
    assert all("_entities" not in f.operation for f in plan.fetches())
    # a selection one owner serves whole stays in one fetch
    single = gateway.plan_for('{ citizen(id: "c1") { id pension } }')
    assert [f.service for f in single.fetches()] == ["benefits"]


def test_root_subgraphs_are_chosen_for_the_whole_operation() -> None:
    """`portalInfo` and `hall` are shareable in catalog and queue; only queue serves
    `hall { waiting }` in one fetch, so both root fields go there together. At equal fetch
    counts the plan with root fetches side by side wins over a root fetch and an entity
    fetch waiting for it."""
    from gateway.planner.plan import ParallelNode

    supergraph = (
        Path(__file__).parent
        / "conformance"
        / "cases"
        / "shareable-root-set"
        / "supergraph.graphql"
    )
    gateway = Gateway(supergraph.read_text(encoding="utf-8"), GatewayConfig())
    together = gateway.plan_for('{ portalInfo { motto } hall(id: "h1") { name waiting } }')
    assert [f.service for f in together.fetches()] == ["queue"], together.print()
    tie = gateway.plan_for('{ portalInfo { motto } hall(id: "h1") { name } }')
    assert [f.service for f in tie.fetches()] == ["catalog"], tie.print()
    side = gateway.plan_for('{ halls { id } hall(id: "h1") { waiting } }')
    assert isinstance(side.node, ParallelNode), side.print()
    assert sorted(f.service for f in side.fetches()) == ["catalog", "queue"]
    assert all("_entities" not in f.operation for f in side.fetches()), side.print()


def test_a_requirement_read_from_some_types_prints_under_their_abstract_type() -> None:
    """Plan text only: representation fields read from objects of several types print under
    the interface or union those types make up, else under `A|B`."""
    from gateway.planner.builder import _print_reps
    from gateway.planner.plan import RepField

    sdl = (CASES / "requires-type-condition" / "supergraph.graphql").read_text(encoding="utf-8")
    planner = Gateway(sdl, GatewayConfig()).planner
    handle = RepField("handle", "handle", only=frozenset({"Email", "Phone"}))
    company = RepField("company", "company", only=frozenset({"WorkAddress"}))
    odd = RepField("domain", "domain", only=frozenset({"Email", "WorkAddress"}))
    contact = RepField("contact", "contact", (handle,))
    text = _print_reps([contact, company, odd], type_name=planner._condition_name)
    assert "... on Contact {" in text
    assert "... on WorkAddress {" in text
    assert "... on Email|WorkAddress {" in text
