"""Degrade, don't drop: a subgraph outage costs only the fields it serves. Root fields and the
references from one subgraph's objects to another's are nullable, so the other subgraph's
data stays in the response. Real processes: the national subgraph, Guangdong's shard and
`govgraph gateway` over the project's supergraph.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from resilience_stack import GuangdongStack, send, start_guangdong


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[GuangdongStack]:
    started = start_guangdong(tmp_path / "data")
    try:
        yield started
    finally:
        started.close()


def _codes(body: dict) -> set[tuple[str, str]]:
    return {(e["extensions"]["code"], e["extensions"]["serviceName"]) for e in body["errors"]}


def test_with_the_national_subgraph_down_the_provincial_half_stays(stack: GuangdongStack) -> None:
    halls = sorted(name for (name,) in stack.read("SELECT name FROM halls"))
    assert halls
    both = '{ provinces { code } serviceHalls(provinceCode: "440000") { name } }'
    healthy = send(stack.url, both).body
    assert "errors" not in healthy and len(healthy["data"]["provinces"]) == 31
    stack.national.popen.kill()  # kill -9
    stack.national.popen.wait(10)
    body = send(stack.url, both).body
    assert body["data"]["provinces"] is None
    assert sorted(h["name"] for h in body["data"]["serviceHalls"]) == halls
    assert _codes(body) == {("SUBGRAPH_UNAVAILABLE", "national")}
    # a provincial object's reference to a national one costs only that reference
    nested = send(stack.url, '{ serviceHalls(provinceCode: "440000") { name division { nameZh } } }')
    assert sorted(h["name"] for h in nested.body["data"]["serviceHalls"]) == halls
    assert {h["division"] for h in nested.body["data"]["serviceHalls"]} == {None}
    # one error explains every missing division: none of its own per hall, none without a code
    assert _codes(nested.body) == {("SUBGRAPH_UNAVAILABLE", "national")}
    assert len(nested.body["errors"]) == 1, nested.body["errors"]
    ranking = send(stack.url, "{ evaluationRanking { provinceCode division { nameZh } } }").body
    assert ranking["data"]["evaluationRanking"] == [{"provinceCode": "440000", "division": None}]
    track = send(stack.url, "query($no: ID!) { application(applicationNo: $no) { applicationNo "
                            "province { nameZh } item { name division { nameZh } } } }",
                 {"no": stack.read("SELECT application_no FROM applications LIMIT 1")[0][0]},
                 stack.caller("officer", sub="O44000001", province="440000")).body
    application = track["data"]["application"]
    assert application["province"] is None and application["item"]["division"] is None
    assert application["item"]["name"]


def test_with_the_provincial_shard_down_the_national_half_stays(stack: GuangdongStack) -> None:
    [(code,)] = stack.read("SELECT catalog_code FROM items WHERE catalog_code IS NOT NULL "
                           "ORDER BY catalog_code LIMIT 1")
    item = "query($c: ID!) { catalogItem(catalogCode: $c) { name implementations { taskCode } } }"
    healthy = send(stack.url, item, {"c": code}).body
    assert "errors" not in healthy and healthy["data"]["catalogItem"]["implementations"]
    stack.shard.popen.kill()
    stack.shard.popen.wait(10)
    body = send(stack.url, item, {"c": code}).body
    assert body["data"]["catalogItem"] == {"name": healthy["data"]["catalogItem"]["name"],
                                           "implementations": None}
    assert _codes(body) == {("SUBGRAPH_UNAVAILABLE", "provincial")}
    both = send(stack.url, '{ provinces { code } serviceHalls(provinceCode: "440000") { name } }')
    assert len(both.body["data"]["provinces"]) == 31
    assert both.body["data"]["serviceHalls"] is None
