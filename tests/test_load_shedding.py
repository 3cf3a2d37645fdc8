"""Load shedding over real HTTP: past `max_requests_in_flight`, a request is answered 503 at
once with Retry-After (seconds) and retry-after-ms, before its body is read or parsed, and
the admitted requests are served as if nothing happened.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from audit.live_stack import http
from resilience_stack import (
    FakeSubgraph,
    beta_partition,
    fake_subgraphs,  # noqa: F401 - the `fakes` fixture
    send,
    send_all,
    start_gateway,
)


def test_requests_past_the_in_flight_limit_get_503_quickly_and_the_others_succeed(
        fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path) -> None:
    alpha, beta = fakes
    gateway = start_gateway(tmp_path, f"""
[gateway]
max_requests_in_flight = 4
[upstream]
deduplicate = false
[subgraphs.alpha]
url = "{alpha.url()}"
""" + beta_partition(beta, ""))
    try:
        alpha.set(delay=1.0)
        # the first four are admitted and held by the slow subgraph...
        with ThreadPoolExecutor(4) as pool:
            admitted = [pool.submit(send, gateway.url, "query($n: Int) { a(n: $n) { n } }",
                                    {"n": i}) for i in range(4)]
            time.sleep(0.4)
            # ...the next six are refused at once
            refused = send_all(gateway.url, [("query($n: Int) { a(n: $n) { n } }", {"n": i})
                                             for i in range(4, 10)])
            # a body that is not even JSON is refused the same way: it is never read
            unread = http("POST", gateway.url, body=b"{not json",
                          headers={"content-type": "application/json", "x-request-id": "shed-1"})
            served = [f.result() for f in admitted]
        assert all(r.reply.status == 200 and r.body == {"data": {"a": {"n": 1}}} for r in served)
        for r in refused:
            assert r.reply.status == 503, r.reply.body
            assert r.seconds < 0.5
            assert int(r.reply.headers["retry-after"]) >= 1
            ms = int(r.reply.headers["retry-after-ms"])
            assert ms >= 100
            [error] = r.body["errors"]
            assert error["extensions"] == {"code": "GATEWAY_OVERLOADED", "retryAfterMs": ms}
            assert "at most 4 requests at once" in error["message"]
        assert unread.status == 503
        assert unread.headers["x-request-id"] == "shed-1"
        assert json.loads(unread.body)["errors"][0]["extensions"]["code"] == "GATEWAY_OVERLOADED"
        assert alpha.stats()["total"] == 4
        alpha.set(delay=0)
        # the slots are free again once the admitted requests are answered
        assert send(gateway.url, "{ a { n } }").reply.status == 200
        assert http("GET", gateway.url.replace("/graphql", "/health")).status == 200
    finally:
        gateway.process.stop()
