"""`govgraph run` starts again a part that dies, with a delay, and the rest keeps serving.

Real processes: the supervisor, the two subgraphs and the gateway; the provincial subgraph
is killed with SIGKILL as an operator's mistake or the kernel's OOM killer would.
"""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from test_make_run import (
    PROVINCE,
    STARTUP_S,
    STOP_S,
    Running,
    _env,
    _free_ports,
    _govgraph,
    _try_graphql,
    _wait_closed,
    seeded,  # noqa: F401 - the seeded data fixture, shared with test_make_run
    started,  # noqa: F401
)

HALLS = f'{{ serviceHalls(provinceCode: "{PROVINCE}") {{ name }} }}'


def _pid(stack: Running, name: str, after: int = 0, timeout: float = 0) -> tuple[int, int]:
    """The pid of the latest start of `name` printed after line `after`, and its line."""
    pattern = re.compile(rf"^started {name} \(pid (\d+)\)")
    deadline = time.monotonic() + timeout
    while True:
        for index in range(len(stack.lines) - 1, after - 1, -1):
            found = pattern.match(stack.lines[index])
            if found:
                return int(found.group(1)), index
        if time.monotonic() > deadline:
            raise AssertionError(f"no start of {name} after line {after}:\n{stack.output}")
        time.sleep(0.2)


def _answers(url: str, query: str, timeout: float) -> dict[str, object] | str:
    deadline = time.monotonic() + timeout
    while True:
        result = _try_graphql(url, query)
        if isinstance(result, dict) or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_run_restarts_a_killed_subgraph_and_the_gateway_keeps_serving(
    seeded: Path, started: list[Running]  # noqa: F811
) -> None:
    ports = _free_ports(3)
    gateway, national, provincial = ports
    stack = Running(_govgraph("run"), _env(ports, seeded))
    started.append(stack)
    stack.wait_for(f"gateway     http://127.0.0.1:{gateway}/graphql", STARTUP_S)
    url = f"http://127.0.0.1:{gateway}/graphql"
    assert isinstance(_answers(url, HALLS, 30), dict)

    first, line = _pid(stack, "provincial")
    gateway_pid, _ = _pid(stack, "gateway")
    os.kill(first, signal.SIGKILL)
    stack.wait_for("provincial exited unexpectedly (killed by SIGKILL); restarting it in", 30)
    second, _ = _pid(stack, "provincial", line + 1, timeout=30)
    assert second != first

    # the gateway was never restarted, and answers from the new shard process again
    recovered = _answers(url, HALLS, 60)
    assert isinstance(recovered, dict) and recovered["serviceHalls"], recovered
    assert _pid(stack, "gateway")[0] == gateway_pid
    assert stack.process.poll() is None

    # a second death in a row waits twice as long
    os.kill(second, signal.SIGKILL)
    stack.wait_for("restarting it in 2 s (2 exits in a row)", 30)

    stack.process.send_signal(signal.SIGTERM)
    assert stack.wait_exit(STOP_S) == 0, stack.output
    assert _wait_closed(ports, 5) == []
