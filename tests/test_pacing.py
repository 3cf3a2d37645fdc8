"""Pacing: how many admitted requests run their plans at once (`[gateway] execution_limit`).

The gate on its own (turns in arrival order, cancellation, the adaptive limit), then real
processes: a gateway in front of a slow fake subgraph keeps many fetches in flight when it
has CPU to spare, honours a fixed limit, and a request that waits for a
turn has that wait counted against its deadline.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from resilience_stack import (
    FakeSubgraph,
    fake_subgraphs,  # noqa: F401 - the `fakes` fixture
    send_all,
    start_gateway,
)

from gateway import pacing
from gateway.config import ConfigError, load_config
from gateway.pacing import ExecutionGate


def test_turns_are_taken_in_arrival_order_and_never_more_than_the_limit() -> None:
    async def scenario() -> tuple[list[int], int]:
        gate = ExecutionGate(2)
        order: list[int] = []
        most = 0
        release = asyncio.Event()

        async def request(n: int) -> None:
            nonlocal most
            await gate.acquire()
            order.append(n)
            most = max(most, gate.active)
            await release.wait()
            gate.release()

        tasks = [asyncio.create_task(request(n)) for n in range(6)]
        await asyncio.sleep(0.01)
        assert order == [0, 1] and gate.waiting == 4
        release.set()
        await asyncio.gather(*tasks)
        assert gate.active == 0
        return order, most

    order, most = asyncio.run(scenario())
    assert order == [0, 1, 2, 3, 4, 5]
    assert most == 2


def test_a_cancelled_waiter_takes_no_turn_and_a_turn_handed_to_one_is_given_back() -> None:
    async def scenario() -> None:
        gate = ExecutionGate(1)
        await gate.acquire()
        waiting = asyncio.create_task(gate.acquire())
        behind = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        waiting.cancel()  # the client went away while it waited
        await asyncio.sleep(0)
        assert waiting.cancelled()
        gate.release()  # the turn skips the cancelled waiter
        await behind
        assert gate.active == 1 and gate.waiting == 0
        # handed the turn, then cancelled before it ran: the turn comes back
        handed = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        gate.release()
        handed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert gate.active == 0
        await asyncio.wait_for(gate.acquire(), 1)  # free again
        assert gate.active == 1

    asyncio.run(scenario())


def test_the_adaptive_limit_halves_while_the_worker_is_busy_and_doubles_when_it_idles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pacing, "INTERVAL_S", 0.02)

    async def scenario() -> None:
        limits: list[int] = []
        gate = ExecutionGate(64, adaptive=True, minimum=2, on_limit=limits.append)
        assert gate.limit == 64
        for _ in range(10):  # CPU work only: each interval halves the limit
            await gate.acquire()
            ends = time.monotonic() + 0.03
            while time.monotonic() < ends:
                pass
            gate.release()
        assert gate.limit == 2  # and never below the minimum
        assert limits == [64, 32, 16, 8, 4, 2]  # each change told once (a gauge)
        # waiting for I/O with requests queued: the limit grows back and lets them in
        holders = [asyncio.create_task(gate.acquire()) for _ in range(2)]
        await asyncio.gather(*holders)
        queued = [asyncio.create_task(gate.acquire()) for _ in range(6)]
        await asyncio.sleep(0)
        assert gate.waiting == 6
        # nothing ends, nothing arrives: the limit is reconsidered on a timer
        await asyncio.wait_for(asyncio.gather(*queued), 1)
        assert gate.limit >= 8 and gate.active == 8
        assert limits[-1] == gate.limit

    asyncio.run(scenario())


def test_a_gate_kept_across_event_loops_still_reconsiders_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pacing, "INTERVAL_S", 0.02)
    gate = ExecutionGate(8, adaptive=True, minimum=1)
    gate.limit = 1

    async def left_waiting() -> None:
        await gate.acquire()
        asyncio.get_running_loop().create_task(gate.acquire())  # still waiting at the end
        await asyncio.sleep(0)

    asyncio.run(left_waiting())  # the loop closes with a waiter and its timer pending
    gate.active, gate.limit = 1, 1
    gate._waiters.clear()

    async def next_loop() -> None:
        queued = asyncio.create_task(gate.acquire())
        await asyncio.wait_for(queued, 1)  # the limit grows on this loop's timer

    asyncio.run(next_loop())
    assert gate.limit >= 2


def test_the_execution_limit_is_auto_a_number_or_zero(tmp_path: Path) -> None:
    assert load_config(None, env={}).execution_limit == "auto"
    path = tmp_path / "g.toml"
    path.write_text("[gateway]\nexecution_limit = 3\n")
    assert load_config(path, env={}).execution_limit == 3
    assert load_config(None, env={"GOVGRAPH_EXECUTION_LIMIT": "0"}).execution_limit == 0
    for bad in ("-1", '"fast"', "true"):
        path.write_text(f"[gateway]\nexecution_limit = {bad}\n")
        with pytest.raises(ConfigError, match="execution_limit must be"):
            load_config(path, env={})


QUERY = "query($n: Int) { a(n: $n) { n } }"


def _config(alpha: FakeSubgraph, gateway: str) -> str:
    return f"""
[gateway]
{gateway}
[upstream]
deduplicate = false
timeout_s = 5
[subgraphs.alpha]
url = "{alpha.url()}"
"""


def test_an_idle_worker_keeps_many_fetches_to_a_slow_subgraph_in_flight(
    fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path
) -> None:
    alpha, _ = fakes
    gateway = start_gateway(tmp_path, _config(alpha, "request_deadline_s = 10"))
    try:
        alpha.set(delay=1.0)
        replies = send_all(gateway.url, [(QUERY, {"n": i}) for i in range(16)])
        assert all("errors" not in r.body for r in replies), [r.body for r in replies]
        # waiting for a subgraph costs no CPU: the adaptive limit never held them back
        assert alpha.stats()["busyPeak"]["/graphql"] >= 12, alpha.stats()
    finally:
        gateway.process.stop()


def test_a_fixed_limit_is_honoured_and_the_wait_for_a_turn_counts_against_the_deadline(
    fakes: tuple[FakeSubgraph, FakeSubgraph], tmp_path: Path
) -> None:
    alpha, _ = fakes
    gateway = start_gateway(
        tmp_path, _config(alpha, "execution_limit = 1\nrequest_deadline_s = 1.0")
    )
    try:
        alpha.set(delay=0.6)
        before = alpha.stats()["total"]  # readiness probes
        replies = send_all(gateway.url, [(QUERY, {"n": i}) for i in range(2)])
        # the first runs at once and is answered after 0.6 s; the second waits 0.6 s for its
        # turn, so 0.4 s of its deadline are left for a fetch that takes 0.6 s
        answered = [r for r in replies if "errors" not in r.body]
        # cut by the request's deadline, or by the fetch's own timer, which the deadline caps
        late = [r for r in replies if r.codes() in (["GATEWAY_TIMEOUT"], ["SUBGRAPH_TIMEOUT"])]
        assert len(answered) == 1 and len(late) == 1, [r.body for r in replies]
        assert late[0].body["data"] == {"a": None}
        stats = alpha.stats()
        assert stats["busyPeak"]["/graphql"] == 1, stats  # one plan ran at a time
        assert stats["total"] - before == 2, stats
    finally:
        gateway.process.stop()
