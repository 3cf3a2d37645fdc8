"""Honest outcomes of writes: a mutation that was sent but whose answer was lost is reported as
SUBGRAPH_OUTCOME_UNKNOWN (never as unavailable), with the idempotency key to retry with.
Real processes: a fake subgraph that reads the request and then drops the connection.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from resilience_stack import (
    FakeSubgraph,
    Gateway,
    beta_partition,
    fake_subgraphs,  # noqa: F401 - the `fakes` fixture
    send,
    start_gateway,
)


@pytest.fixture
def gateway(fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path) -> Iterator[Gateway]:
    alpha, beta = fakes
    started = start_gateway(tmp_path, f"""
[gateway]
request_deadline_s = 5
[subgraphs.alpha]
url = "{alpha.url()}"
timeout_s = 0.5
""" + beta_partition(beta, "shard_timeout_s = 0.5"))
    try:
        yield started
    finally:
        started.process.stop()


def _only_error(body: dict) -> dict:
    assert len(body.get("errors", [])) == 1, body
    return body["errors"][0]


def test_a_write_whose_connection_dropped_after_sending_is_unknown_with_its_key(
        fakes: tuple[FakeSubgraph, FakeSubgraph], gateway: Gateway) -> None:
    alpha, beta = fakes
    alpha.set(mode="drop")
    lost = send(gateway.url, 'mutation { write(n: 1, idempotencyKey: "k-1") { n } }')
    error = _only_error(lost.body)
    assert error["extensions"]["code"] == "SUBGRAPH_OUTCOME_UNKNOWN"
    assert error["extensions"]["idempotencyKey"] == "k-1"
    assert error["extensions"]["serviceName"] == "alpha"
    assert "may or may not have been applied" in error["message"]
    assert lost.body["data"] == {"write": None}
    assert alpha.stats()["total"] == 1  # sent once, never again behind the client's back
    # the key inside an input object, given as a variable
    nested = send(gateway.url, "mutation($i: WriteInput!) { writeInput(input: $i) { n } }",
                  {"i": {"n": 2, "idempotencyKey": "k-2"}})
    assert _only_error(nested.body)["extensions"]["idempotencyKey"] == "k-2"
    # a write without a key is still unknown, with no key to offer
    keyless = _only_error(send(gateway.url, "mutation { write(n: 3) { n } }").body)
    assert keyless["extensions"]["code"] == "SUBGRAPH_OUTCOME_UNKNOWN"
    assert "idempotencyKey" not in keyless["extensions"]
    # a query that loses its answer changed nothing: it is simply unavailable
    read = _only_error(send(gateway.url, "{ a { n } }").body)
    assert read["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"


def test_a_write_that_timed_out_after_sending_is_unknown(
        fakes: tuple[FakeSubgraph, FakeSubgraph], gateway: Gateway) -> None:
    alpha, beta = fakes
    alpha.set(delay=2)
    late = send(gateway.url, 'mutation { write(n: 1, idempotencyKey: "k-late") { n } }')
    error = _only_error(late.body)
    assert error["extensions"]["code"] == "SUBGRAPH_OUTCOME_UNKNOWN"
    assert error["extensions"]["idempotencyKey"] == "k-late"
    assert late.seconds < 1.5


def test_a_write_to_a_dead_subgraph_was_not_sent_and_says_so(
        fakes: tuple[FakeSubgraph, FakeSubgraph], gateway: Gateway) -> None:
    alpha, beta = fakes
    alpha.kill()
    refused = _only_error(
        send(gateway.url, 'mutation { write(n: 1, idempotencyKey: "k-dead") { n } }').body)
    assert refused["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    assert "idempotencyKey" not in refused["extensions"]


def test_a_write_to_a_shard_that_dropped_the_connection_is_unknown_with_its_key(
        fakes: tuple[FakeSubgraph, FakeSubgraph], gateway: Gateway) -> None:
    alpha, beta = fakes
    beta.set(mode="drop")
    lost = send(gateway.url, 'mutation { mark(region: "r2", idempotencyKey: "m-1") { n } }')
    error = _only_error(lost.body)
    assert error["extensions"]["code"] == "SUBGRAPH_OUTCOME_UNKNOWN"
    assert error["extensions"]["partitionKey"] == "r2"
    assert error["extensions"]["idempotencyKey"] == "m-1"
    assert beta.stats()["requests"] == {"/r2/graphql": 1}
