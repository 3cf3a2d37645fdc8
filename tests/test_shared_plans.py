"""Documents and plans shared by replicas through Redis: a second gateway validates and plans
nothing the first already did, and answers the same; plans survive the trip exactly."""
from __future__ import annotations

import asyncio
import hashlib
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from unittest import mock

import pytest
import redis.asyncio as redis
from graphql import print_ast
from redis_servers import SHARED_REDIS_URL, unique_prefix
from test_portal_partitions import (
    IMPLEMENTATIONS,
    PERSON_APPLICATIONS,
    PERSON_EVERYWHERE,
    RANKING,
    TRACK,
)
from tiny_gateway import SUPERGRAPH, TinyGateway, tiny_gateway

import gateway.engine
from gateway.config import CacheConfig, GatewayConfig, PartitionConfig, load_config
from gateway.engine import Gateway
from gateway.plan_codec import CorruptPlan, decode_plan, encode_plan
from gateway.planner.plan import TopField
from gateway.server import create_app

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).with_name("conformance") / "cases"
QUERY = "query Provinces { provinces { code name parent { code } } }"


def shared_config(prefix: str) -> GatewayConfig:
    return GatewayConfig(cache=CacheConfig(redis_url=SHARED_REDIS_URL, key_prefix=prefix,
                                           timeout_s=2.0))


class Counted:
    """Counts the calls of a function it wraps."""

    def __init__(self, function: object) -> None:
        self.function = function
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        return self.function(*args, **kwargs)  # type: ignore[operator]


@asynccontextmanager
async def replica(of: TinyGateway, config: GatewayConfig) -> AsyncIterator[TinyGateway]:
    """Another gateway over the same supergraph and subgraph (a replica)."""
    engine = Gateway(of.gateway.supergraph.sdl, config)
    await engine.startup()
    try:
        yield TinyGateway(engine, create_app(engine, config), of.subgraph_calls)
    finally:
        await engine.shutdown()


def test_a_second_replica_validates_and_plans_nothing_the_first_did() -> None:
    prefix = unique_prefix()

    async def scenario() -> None:
        async with tiny_gateway(shared_config(prefix)) as first, \
                replica(first, shared_config(prefix)) as second:
            validate = Counted(gateway.engine.validate)
            with mock.patch.object(gateway.engine, "validate", validate):
                plans = [Counted(first.gateway.planner.plan), Counted(second.gateway.planner.plan)]
                first.gateway.planner.plan = plans[0]  # type: ignore[method-assign]
                second.gateway.planner.plan = plans[1]  # type: ignore[method-assign]
                one = await first.post(QUERY, {"govgraph-query-plan": "true"})
                assert (validate.calls, plans[0].calls) == (1, 1)
                two = await second.post(QUERY, {"govgraph-query-plan": "true"})
                assert (validate.calls, plans[1].calls) == (1, 0)
            assert one.status == two.status == 200
            assert one.json == two.json
            assert one.json["data"] == {"provinces": [{"code": "440000", "name": "广东省",
                                                       "parent": None}]}
            assert len(first.subgraph_calls) == 2  # one each: answers are not cached

    asyncio.run(scenario())


def test_a_second_replica_answers_an_invalid_document_with_the_first_ones_errors() -> None:
    prefix = unique_prefix()

    async def scenario() -> None:
        async with tiny_gateway(shared_config(prefix)) as first, \
                replica(first, shared_config(prefix)) as second:
            one = await first.post("{ provinces { nope } }")
            validate = Counted(gateway.engine.validate)
            with mock.patch.object(gateway.engine, "validate", validate):
                two = await second.post("{ provinces { nope } }")
            assert validate.calls == 0
            assert one.status == two.status == 400
            assert one.json == two.json
            assert "nope" in two.error["message"]

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["plan", "doc"])
def test_a_corrupt_shared_entry_is_ignored_and_overwritten(kind: str) -> None:
    prefix = unique_prefix()

    async def scenario() -> None:
        client = redis.Redis.from_url(SHARED_REDIS_URL)
        async with tiny_gateway(shared_config(prefix)) as first:
            await first.post(QUERY)
            keys = [k async for k in client.scan_iter(f"{prefix}{kind}:*")]
            assert len(keys) == 1
            await client.set(keys[0], b"\x00garbage")
            async with replica(first, shared_config(prefix)) as second:
                plan = Counted(second.gateway.planner.plan)
                second.gateway.planner.plan = plan  # type: ignore[method-assign]
                reply = await second.post(QUERY)
                assert reply.status == 200
                assert reply.json["data"]["provinces"][0]["code"] == "440000"
                assert plan.calls == (1 if kind == "plan" else 0)
        assert await client.get(keys[0]) != b"\x00garbage"
        await client.aclose()

    asyncio.run(scenario())


def test_without_redis_nothing_is_shared() -> None:
    async def scenario() -> None:
        async with tiny_gateway() as first, replica(first, GatewayConfig()) as second:
            plan = Counted(second.gateway.planner.plan)
            second.gateway.planner.plan = plan  # type: ignore[method-assign]
            await first.post(QUERY)
            await second.post(QUERY)
            assert plan.calls == 1

    asyncio.run(scenario())


def test_a_new_supergraph_does_not_read_the_old_ones_plans() -> None:
    prefix = unique_prefix()
    old = Gateway(SUPERGRAPH.replace("URL", "http://127.0.0.1:9/graphql"), shared_config(prefix))
    new = Gateway(SUPERGRAPH.replace("URL", "http://127.0.0.1:9/graphql") + "\n# v2\n",
                  shared_config(prefix))
    assert old.shared.scope != new.shared.scope


# ---- the codec -------------------------------------------------------------------------------


def _plans() -> list[tuple[str, Gateway, str, str | None]]:
    cases = []
    for case in sorted(CASES.iterdir()):
        if not (case / "queries.toml").is_file():
            continue
        engine = Gateway((case / "supergraph.graphql").read_text(encoding="utf-8"),
                         GatewayConfig())
        for q in tomllib.loads((case / "queries.toml").read_text(encoding="utf-8"))["query"]:
            cases.append((f"{case.name}/{q['name']}", engine, q["query"], q.get("operationName")))
    portal = Gateway((ROOT / "schema" / "supergraph.graphql").read_text(encoding="utf-8"),
                     load_config(ROOT / "govgraph.toml"))
    for name, text in (("implementations", IMPLEMENTATIONS), ("track", TRACK),
                       ("person_applications", PERSON_APPLICATIONS),
                       ("person_everywhere", PERSON_EVERYWHERE), ("ranking", RANKING)):
        cases.append((f"portal/{name}", portal, text, None))
    return cases


def test_every_plan_of_the_conformance_and_portal_operations_survives_the_codec() -> None:
    checked = 0
    for name, engine, text, operation_name in _plans():
        try:
            plan = engine.plan_for(text, operation_name)
        except Exception:  # an operation the cases expect to be refused
            continue
        raw = encode_plan(plan)
        back = decode_plan(raw)
        assert back.print() == plan.print(), name
        assert encode_plan(back) == raw, name
        for ours, theirs in zip(plan.fetches(), back.fetches(), strict=True):
            assert ours.operation == theirs.operation, name
            assert _top(ours.root_fields) == _top(theirs.root_fields), name
            assert {t: _top(f) for t, f in ours.entity_fields.items()} == {
                t: _top(f) for t, f in theirs.entity_fields.items()}, name
        checked += 1
    assert checked > 150


def _top(fields: tuple[TopField, ...]) -> list[tuple[str, str, list[str]]]:
    return [(f.response_key, f.name, [print_ast(a) for a in f.arguments]) for f in fields]


@pytest.mark.parametrize("damage", [
    lambda raw: raw[:-5],
    lambda raw: raw.replace(b'"fetch"', b'"fetcx"'),
    lambda raw: b"0" * 64 + b"\n" + raw.partition(b"\n")[2],
    lambda raw: b"not a plan",
])
def test_a_damaged_plan_is_refused_whole(damage: object) -> None:
    engine = Gateway(SUPERGRAPH.replace("URL", "http://127.0.0.1:9/graphql"), GatewayConfig())
    raw = encode_plan(engine.plan_for(QUERY))
    with pytest.raises(CorruptPlan):
        decode_plan(damage(raw))  # type: ignore[operator]


def test_a_well_formed_entry_of_the_wrong_shape_is_refused() -> None:
    body = b'{"k": "flatten", "path": ["a"], "node": {"k": "sequence", "nodes": []}, "more": []}'
    with pytest.raises(CorruptPlan):
        decode_plan(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


def test_replicas_whose_shards_live_elsewhere_share_plans_but_not_other_routing() -> None:
    def scope(template: str, prefix_length: int = 2) -> str:
        config = GatewayConfig(partitions={"national": PartitionConfig(
            subgraph="national", shards={"440000": template.format("440000")},
            prefix_length=prefix_length)})
        sdl = SUPERGRAPH.replace("URL", "http://127.0.0.1:9/graphql")
        return Gateway(sdl, config).shared.scope

    assert scope("http://10.0.0.1/{}") == scope("http://10.0.0.2/{}")
    assert scope("http://10.0.0.1/{}") != scope("http://10.0.0.1/{}", prefix_length=3)
