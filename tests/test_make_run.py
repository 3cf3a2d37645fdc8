"""`make run` and `govgraph run` bring the stack up on free ports and take it down cleanly.

These tests start real processes: the make target, the supervisor and its children.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from demo.stack import Ports, write_gateway_config

ROOT = Path(__file__).resolve().parent.parent
SCALE = "0.05"
PROVINCE = "440000"
STARTUP_S = 240.0
STOP_S = 30.0


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, Any] = json.loads(response.read())
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _try_graphql(
    url: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any] | str:
    """The data, or a description of what went wrong instead."""
    try:
        return _graphql(url, query, variables)
    except (AssertionError, OSError, ValueError) as exc:
        return f"{url} did not answer {query} with data: {exc!r}"


class Running:
    """A started process whose merged output is collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                if any(text in line for line in self.lines):
                    return
                pytest.fail(
                    f"exited with {self.process.returncode} before printing {text!r}:\n{self.output}"
                )
            time.sleep(0.2)
        pytest.fail(f"did not print {text!r} within {timeout:g} s:\n{self.output}")

    def wait_exit(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {timeout:g} s after SIGTERM:\n{self.output}")
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """Teardown: whatever is left of the process group goes, whatever the test did."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)


def _wait_closed(ports: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        still = [port for port in ports if _listening(port)]
        if not still or time.monotonic() > deadline:
            return still
        time.sleep(0.2)


def _env(ports: list[int], data_dir: Path) -> dict[str, str]:
    gateway, national, provincial = ports
    return dict(
        os.environ,
        GOVGRAPH_GATEWAY_PORT=str(gateway),
        GOVGRAPH_NATIONAL_PORT=str(national),
        GOVGRAPH_PROVINCIAL_PORT=str(provincial),
        GOVGRAPH_DATA_DIR=str(data_dir),
        GOVGRAPH_SEED_SCALE=SCALE,
    )


def _govgraph(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *args]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    subprocess.run(
        _govgraph("seed", "--scale", SCALE, "--data-dir", str(data_dir)),
        cwd=ROOT,
        check=True,
        timeout=STARTUP_S,
    )
    return data_dir


@pytest.fixture
def started() -> Iterator[list[Running]]:
    running: list[Running] = []
    yield running
    for process in running:
        process.kill()


def _assert_subgraphs_answer(national: int, provincial: int) -> None:
    data = _graphql(f"http://127.0.0.1:{national}/graphql", "{ provinces { code nameEn } }")
    codes = {p["code"]: p["nameEn"] for p in data["provinces"]}
    assert len(codes) == 31
    assert codes[PROVINCE] == "Guangdong"

    shard = f"http://127.0.0.1:{provincial}/provinces/{PROVINCE}/graphql"
    data = _graphql(
        shard, f'{{ serviceHalls(provinceCode: "{PROVINCE}") {{ provinceCode name }} }}'
    )
    assert data["serviceHalls"], "the seeded Guangdong shard lists no service hall"
    assert {hall["provinceCode"] for hall in data["serviceHalls"]} == {PROVINCE}


def test_run_moves_every_url_of_the_demo_config_to_the_chosen_ports(tmp_path: Path) -> None:
    ports = Ports(gateway=5400, national=5401, provincial=5402)
    written, supergraph = write_gateway_config(ROOT / "govgraph.toml", tmp_path, ports, None)
    assert written == tmp_path / "gateway.toml"
    assert supergraph == ROOT / "schema" / "supergraph.graphql"

    demo = load_config(ROOT / "govgraph.toml", env={})
    effective = load_config(written, env={})
    assert (effective.host, effective.port) == ("127.0.0.1", 5400)
    assert effective.supergraph == str(supergraph)
    assert effective.subgraph_urls["national"] == "http://127.0.0.1:5401/graphql"
    shards = effective.partitions["provincial"].shards
    assert len(shards) == 31
    assert shards[PROVINCE] == f"http://127.0.0.1:5402/provinces/{PROVINCE}/graphql"

    # The demo's identity is added: the development profile and its own keys.
    assert effective.profile == "development" and effective.introspection
    assert effective.auth.jwt_key_file == str(tmp_path / "keys" / "token.key")
    assert effective.auth.internal_key_file == str(tmp_path / "keys" / "internal.key")
    assert list(effective.auth.api_keys) == ["demo-aggregator"]
    assert (tmp_path / "keys" / "token.key").stat().st_mode & 0o077 == 0
    effective.profile, effective.introspection = demo.profile, demo.introspection
    effective.expose_query_plan, effective.ide = demo.expose_query_plan, demo.ide
    demo.auth.jwt_key_file = effective.auth.jwt_key_file
    demo.auth.internal_key_file = effective.auth.internal_key_file
    demo.auth.algorithms, demo.auth.api_keys = effective.auth.algorithms, effective.auth.api_keys

    # Everything else but the addresses survives the rewrite unchanged.
    for config in (demo, effective):
        config.host, config.port, config.supergraph = "", 0, None
        config.subgraph_urls.clear()
        config.partitions["provincial"].shards.clear()
    assert effective == demo


def test_run_serves_the_subgraphs_and_exits_zero_on_sigterm(
    seeded: Path, started: list[Running]
) -> None:
    ports = _free_ports(3)
    gateway, national, provincial = ports
    stack = Running(_govgraph("run", "--subgraphs-only"), _env(ports, seeded))
    started.append(stack)
    stack.wait_for(f"national    http://127.0.0.1:{national}/graphql", STARTUP_S)

    _assert_subgraphs_answer(national, provincial)
    assert not _listening(gateway)

    # Only the supervisor gets the signal: it must stop its children itself.
    stack.process.send_signal(signal.SIGTERM)
    assert stack.wait_exit(STOP_S) == 0, stack.output
    assert _wait_closed([national, provincial], 5) == []


def test_run_stops_the_others_and_shows_the_output_of_a_part_that_fails_to_start(
    tmp_path: Path, started: list[Running]
) -> None:
    ports = _free_ports(3)
    _, _, provincial = ports
    empty = tmp_path / "no-data"  # nothing seeded: the national subgraph refuses to start
    stack = Running(_govgraph("run", "--subgraphs-only"), _env(ports, empty))
    started.append(stack)
    code = stack.wait_exit(STARTUP_S)

    assert code != 0, stack.output
    assert "national exited during start-up" in stack.output
    assert "last output of national" in stack.output
    assert "run `govgraph seed` first" in stack.output
    assert _wait_closed([provincial], 5) == []


def test_run_names_a_port_in_use_in_words_before_starting_anything(
    seeded: Path, started: list[Running]
) -> None:
    ports = _free_ports(3)
    gateway, _, _ = ports
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", gateway))
        squatter.listen()
        stack = Running(_govgraph("run"), _env(ports, seeded))
        started.append(stack)
        code = stack.wait_exit(STARTUP_S)
    assert code == 2, stack.output
    assert stack.lines == [
        f"govgraph run: port {gateway} for the gateway part is not free on 127.0.0.1 "
        "(address already in use): choose another with --gateway-port or GOVGRAPH_GATEWAY_PORT"
    ]


def test_run_names_two_parts_given_the_same_port_without_a_repr(
    seeded: Path, started: list[Running]
) -> None:
    port, national = _free_ports(2)
    env = _env([port, national, port], seeded)
    stack = Running(_govgraph("run"), env)
    started.append(stack)
    assert stack.wait_exit(STARTUP_S) == 2
    assert "Ports(" not in stack.output
    assert f"the gateway and the provincial part both have port {port}" in stack.output


def test_make_run_seeds_serves_all_three_parts_and_stops_on_sigterm(
    tmp_path: Path, started: list[Running]
) -> None:
    ports = _free_ports(3)
    gateway, national, provincial = ports
    data_dir = tmp_path / "data"
    make = Running(["make", "--no-print-directory", "run"], _env(ports, data_dir))
    started.append(make)
    make.wait_for(f"gateway     http://127.0.0.1:{gateway}/graphql", STARTUP_S)

    assert (data_dir / "national.db").is_file()
    assert (data_dir / "provinces" / f"{PROVINCE}.db").is_file()
    config = (data_dir / "gateway.toml").read_text()
    assert f"http://127.0.0.1:{provincial}/provinces/{PROVINCE}/graphql" in config
    _assert_subgraphs_answer(national, provincial)

    # Checked after the stop, so a gateway that answers wrongly still gets the stop tested.
    through_gateway = _try_graphql(
        f"http://127.0.0.1:{gateway}/graphql",
        f'{{ provinces {{ code nameEn }} serviceHalls(provinceCode: "{PROVINCE}") {{ name }} }}',
    )

    curl = next(line for line in make.lines if line.strip().startswith("curl "))
    printed_example = _try_graphql(
        f"http://127.0.0.1:{gateway}/graphql", json.loads(curl.split(" -d '", 1)[1][:-1])["query"]
    )

    # What a terminal's Ctrl-C or a service manager does: signal the whole group.
    os.killpg(make.process.pid, signal.SIGTERM)
    make.wait_exit(STOP_S)
    assert _wait_closed(ports, 5) == [], make.output
    with pytest.raises(ProcessLookupError):
        os.killpg(make.process.pid, 0)

    assert isinstance(through_gateway, dict), through_gateway
    assert {p["code"] for p in through_gateway["provinces"]} >= {"110000", PROVINCE}
    assert through_gateway["serviceHalls"], "the gateway returned no Guangdong service hall"
    assert isinstance(printed_example, dict), (
        f"the example make run prints fails: {printed_example}"
    )
    assert printed_example["serviceHalls"][0]["division"]["nameZh"]
