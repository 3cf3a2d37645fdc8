"""Circuit breakers for every subgraph, partitioned or not, counting only the upstream's own
failures; half-open with a single probe; state in error extensions and one log line per
transition. Real processes: fake subgraphs stopped, killed or answering garbage.
"""
from __future__ import annotations

import time
from pathlib import Path

from resilience_stack import (
    FakeSubgraph,
    Gateway,
    breaker_moves,
    beta_partition,
    fake_subgraphs,  # noqa: F401 - the `fakes` fixture
    send,
    send_all,
    start_gateway,
)

BOTH = '{ a { n } b(region: "r1") { n } }'


def _gateway(tmp: Path, alpha: FakeSubgraph, beta: FakeSubgraph, deadline_s: float = 5,
             alpha_timeout_s: float = 0.5) -> Gateway:
    return start_gateway(tmp, f"""
[gateway]
request_deadline_s = {deadline_s}
[upstream]
deduplicate = false
[subgraphs.alpha]
url = "{alpha.url()}"
timeout_s = {alpha_timeout_s}
breaker_failures = 2
breaker_reset_s = 1.0
""" + beta_partition(beta, "shard_timeout_s = 0.5\nbreaker_failures = 2\nbreaker_reset_s = 1.0"))


def _alpha_error(body: dict) -> dict:
    errors = [e for e in body.get("errors", []) if e["extensions"].get("serviceName") == "alpha"]
    assert len(errors) == 1, body
    return errors[0]


def _opens_after_two_failures(gateway: Gateway, alpha: FakeSubgraph, code: str,
                              calls_reaching_alpha: int) -> None:
    """Two failures of alpha open its breaker; the third request skips alpha at once, and
    beta's data is in every answer."""
    for _ in range(2):
        failed = send(gateway.url, BOTH)
        assert failed.body["data"]["b"] == [{"n": 2}]
        assert _alpha_error(failed.body)["extensions"]["code"] == code
    skipped = send(gateway.url, BOTH)
    error = _alpha_error(skipped.body)
    assert error["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    assert error["extensions"]["circuit"] == "open"
    assert "skipped after repeated failures" in error["message"]
    assert skipped.body["data"] == {"a": None, "b": [{"n": 2}]}
    assert skipped.seconds < 0.3
    assert ("alpha", "", "open") in breaker_moves(gateway.output())
    if calls_reaching_alpha >= 0:
        assert alpha.stats()["total"] == calls_reaching_alpha


def test_a_hung_subgraph_is_skipped_after_repeated_timeouts_and_probed_back(
        fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = _gateway(tmp_path, alpha, beta)
    try:
        alpha.stop_process()  # SIGSTOP: connections are accepted by the kernel, never answered
        _opens_after_two_failures(gateway, alpha, "SUBGRAPH_TIMEOUT", -1)
        alpha.continue_process()
        time.sleep(1.1)
        healed = send(gateway.url, BOTH)
        assert "errors" not in healed.body, healed.body
        assert breaker_moves(gateway.output()) == [("alpha", "", "open"), ("alpha", "", "half_open"),
                                                   ("alpha", "", "closed")]
    finally:
        gateway.process.stop()


def test_a_killed_subgraph_opens_its_breaker(fakes: tuple[FakeSubgraph, FakeSubgraph],
                                             tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = _gateway(tmp_path, alpha, beta)
    try:
        assert "errors" not in send(gateway.url, BOTH).body
        alpha.kill()  # kill -9: connections are refused
        _opens_after_two_failures(gateway, alpha, "SUBGRAPH_UNAVAILABLE", -1)
    finally:
        gateway.process.stop()


def test_garbage_and_5xx_open_the_breaker(fakes: tuple[FakeSubgraph, FakeSubgraph],
                                          tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = _gateway(tmp_path, alpha, beta)
    try:
        alpha.set(mode="garbage")
        _opens_after_two_failures(gateway, alpha, "SUBGRAPH_BAD_RESPONSE", 2)
    finally:
        gateway.process.stop()
    alpha.set(mode="error500")
    gateway = _gateway(tmp_path, alpha, beta)
    try:
        _opens_after_two_failures(gateway, alpha, "SUBGRAPH_BAD_RESPONSE", 4)
    finally:
        gateway.process.stop()


def test_half_open_lets_a_single_probe_through(fakes: tuple[FakeSubgraph, FakeSubgraph],
                                               tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = _gateway(tmp_path, alpha, beta, alpha_timeout_s=2)
    try:
        alpha.set(mode="garbage")
        for _ in range(2):
            send(gateway.url, "{ a { n } }")
        assert alpha.stats()["total"] == 2
        alpha.set(mode="answer", delay=0.5)
        time.sleep(1.1)
        replies = send_all(gateway.url, [("query($n: Int) { a(n: $n) { n } }", {"n": i})
                                         for i in range(6)])
        answered = [r for r in replies if "errors" not in r.body]
        refused = [r for r in replies if "errors" in r.body]
        assert len(answered) == 1, [r.body for r in replies]
        assert alpha.stats()["total"] == 3  # the probe alone reached alpha
        assert {r.body["errors"][0]["extensions"]["circuit"] for r in refused} == {"half_open"}
        after = send(gateway.url, "{ a { n } }")
        assert "errors" not in after.body, after.body
    finally:
        gateway.process.stop()


def test_the_requests_own_deadline_does_not_count_against_the_subgraph(
        fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path) -> None:
    alpha, beta = fakes
    # alpha may take 3 s, but the whole request only has 0.4 s
    gateway = _gateway(tmp_path, alpha, beta, deadline_s=0.4, alpha_timeout_s=3)
    try:
        alpha.set(delay=1.0)
        for _ in range(3):
            cut = send(gateway.url, "{ a { n } }")
            assert cut.body["data"] == {"a": None}
            assert cut.seconds < 1.0
        alpha.set(delay=0)
        assert "errors" not in send(gateway.url, "{ a { n } }").body
        assert alpha.stats()["total"] == 4  # never skipped
        assert breaker_moves(gateway.output()) == []
    finally:
        gateway.process.stop()


def test_a_failing_shard_opens_only_its_own_breaker(fakes: tuple[FakeSubgraph, FakeSubgraph],
                                                    tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = _gateway(tmp_path, alpha, beta)
    try:
        beta.stop_process()
        for _ in range(2):
            send(gateway.url, '{ b(region: "r1") { n } }')
        skipped = send(gateway.url, BOTH)
        assert skipped.seconds < 0.3
        assert skipped.body["data"]["a"] == {"n": 1}
        [error] = skipped.body["errors"]
        assert error["extensions"]["partitionKey"] == "r1"
        assert error["extensions"]["circuit"] == "open"
        assert breaker_moves(gateway.output()) == [("beta", "r1", "open")]
    finally:
        beta.continue_process()
        gateway.process.stop()


def test_a_probe_cut_short_by_the_requests_deadline_frees_the_next_probe(
        fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = _gateway(tmp_path, alpha, beta, deadline_s=0.5, alpha_timeout_s=3)
    try:
        alpha.set(mode="garbage")
        for _ in range(2):
            send(gateway.url, "{ a { n } }")
        time.sleep(1.1)
        alpha.set(mode="answer", delay=2)
        cut = send(gateway.url, "{ a { n } }")  # the probe: the request's deadline ends it
        assert cut.body["data"] == {"a": None} and cut.seconds < 1.5
        alpha.set(delay=0)
        healed = send(gateway.url, "{ a { n } }")  # the next request may probe again
        assert "errors" not in healed.body, healed.body
        assert alpha.stats()["total"] == 4
    finally:
        gateway.process.stop()
