"""Bounded use of upstreams: connection caps and concurrency limits per subgraph and per shard,
with a bounded wait; a fetch without a slot fails fast and costs the upstream's breaker nothing.

Real processes: a slow fake subgraph that counts the connections it holds open, and
`govgraph gateway` in front of it.
"""
from __future__ import annotations

from pathlib import Path

from resilience_stack import (
    FakeSubgraph,
    beta_partition,
    fake_subgraphs,  # noqa: F401 - the `fakes` fixture
    send,
    send_all,
    start_gateway,
)


def _config(alpha: FakeSubgraph, beta: FakeSubgraph, extra: str = "") -> str:
    return f"""
[gateway]
request_deadline_s = 10
[upstream]
deduplicate = false
timeout_s = 5
breaker_failures = 1
breaker_reset_s = 30
[subgraphs.alpha]
url = "{alpha.url()}"
max_connections = 4
max_concurrency = 4
max_queue = 2
queue_timeout_s = 0.3
""" + beta_partition(beta, "shard_max_concurrency = 2\nbreaker_failures = 1\nbreaker_reset_s = 30") + extra


def test_connections_to_a_slow_subgraph_never_exceed_its_cap_and_excess_fetches_fail_fast(
        fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = start_gateway(tmp_path, _config(alpha, beta))
    try:
        alpha.set(delay=1.0)
        replies = send_all(gateway.url, [("query($n: Int) { a(n: $n) { n } }", {"n": i})
                                         for i in range(16)])
        answered = [r for r in replies if "errors" not in r.body]
        refused = [r for r in replies if r.codes() == ["UPSTREAM_SATURATED"]]
        assert len(answered) + len(refused) == 16, [r.body for r in replies]
        assert 4 <= len(answered) <= 6
        assert all(r.body["data"] == {"a": None} for r in refused)
        assert max(r.seconds for r in refused) < 0.9  # never waited for the slow subgraph
        assert min(r.seconds for r in answered) >= 1.0
        error = refused[0].body["errors"][0]
        assert error["extensions"]["serviceName"] == "alpha"
        assert "no free slot" in error["message"]
        stats = alpha.stats()
        assert stats["peak"] <= 4, stats  # counted by the subgraph's own sockets
        assert stats["total"] == len(answered)
        # saturation is the gateway's trouble, not alpha's: a breaker that opens on the first
        # failure is still closed
        alpha.set(delay=0)
        after = send(gateway.url, "{ a { n } }")
        assert "errors" not in after.body, after.body
        assert alpha.stats()["total"] == len(answered) + 1
    finally:
        gateway.process.stop()


def test_one_shard_holds_no_more_fetches_than_its_limit_and_its_neighbour_is_unaffected(
        fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = start_gateway(tmp_path, _config(alpha, beta, "[subgraphs.beta]\nmax_queue = 1\n"
                                                           "queue_timeout_s = 0.3"))
    try:
        beta.set(delay=1.0)
        query = "query($r: ID, $n: Int) { b(region: $r, n: $n) { n } }"
        calls = [(query, {"r": "r1", "n": i}) for i in range(6)] + [(query, {"r": "r2", "n": 0})]
        replies = send_all(gateway.url, calls)
        to_r1, to_r2 = replies[:6], replies[6]
        assert "errors" not in to_r2.body, to_r2.body
        answered = [r for r in to_r1 if "errors" not in r.body]
        refused = [r for r in to_r1 if r.codes() == ["UPSTREAM_SATURATED"]]
        assert len(answered) == 2 and len(refused) == 4, [r.body for r in to_r1]
        assert all(r.body["errors"][0]["extensions"]["partitionKey"] == "r1" for r in refused)
        assert beta.stats()["busyPeak"]["/r1/graphql"] == 2
    finally:
        gateway.process.stop()


def test_limits_are_read_per_subgraph_over_the_upstream_defaults_and_bad_values_are_named(
        tmp_path: Path) -> None:
    import pytest

    from gateway.config import ConfigError, load_config

    path = tmp_path / "gw.toml"
    path.write_text("[gateway]\nmax_requests_in_flight = 7\n[upstream]\nmax_connections = 50\n"
                    "queue_timeout_s = 0.2\n[subgraphs.alpha]\nmax_connections = 3\nmax_queue = 0\n"
                    "[partitions.beta]\nshard_max_concurrency = 2\n"
                    '[partitions.beta.shards]\nk1 = "http://127.0.0.1:9/graphql"\n', encoding="utf-8")
    config = load_config(path, env={})
    assert config.max_requests_in_flight == 7
    alpha, other = config.policy_for("alpha"), config.policy_for("other")
    assert (alpha.max_connections, alpha.max_queue, alpha.queue_timeout_s) == (3, 0, 0.2)
    assert (other.max_connections, other.max_queue) == (50, 1024)
    assert config.partitions["beta"].shard_max_concurrency == 2
    for bad, named in (("[upstream]\nmax_concurrency = 0\n", "upstream.max_concurrency"),
                       ("[subgraphs.alpha]\nmax_queue = -1\n", "subgraphs.alpha.max_queue"),
                       ("[gateway]\nmax_requests_in_flight = 0\n", "gateway.max_requests_in_flight")):
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError, match=named):
            load_config(path, env={})
