"""`govgraph subgraph provincial` as a real process: durability across kill -9, bad input over HTTP, CLI errors."""
from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from internal_tokens import citizen, officer, write_key
from subgraph_process import GOVGRAPH, ROOT, SubgraphProcess, free_port

from resolvers.datadir import province_db_path
from resolvers.provincial.seed import seed_province
from resolvers.reference import province


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("data")
    for code in ("44", "11"):
        p = province(code)
        assert p is not None
        seed_province(province_db_path(directory, p.code), p, 0.05)
    return directory


class Server(SubgraphProcess):
    """`govgraph subgraph provincial` for some provinces, verifying claims with DIR/internal.key."""

    def __init__(self, data_dir: Path, *provinces: str, extra: tuple[str, ...] = (), capture: bool = False) -> None:
        self.key_file = data_dir / "internal.key"
        if not self.key_file.exists():
            write_key(data_dir)
        args = ["--internal-key-file", str(self.key_file), *extra]
        for code in provinces:
            args += ["--province", code]
        super().__init__("provincial", data_dir, *args, capture=capture)

    def post(self, code: str, query: str, variables: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        """POST as `headers` say (an officer of the province with every step, when none are given)."""
        return self.post_to(f"/provinces/{code}/graphql", query, variables,
                            officer(self.key_file, code) if headers is None else headers)


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    running = Server(data_dir, "44", "110000")
    try:
        yield running
    finally:
        running.stop()


SUBMIT = """mutation($input: SubmitApplicationInput!) { submitApplication(input: $input) {
  replayed queryCode application { applicationNo status } } }"""


def test_submitted_application_survives_kill_9_and_its_key_still_replays(tmp_path: Path) -> None:
    p = province("44")
    assert p is not None
    seed_province(province_db_path(tmp_path, p.code), p, 0.05)
    first = Server(tmp_path, "44")
    try:
        _, data = first.post("440000", '{ implementationItem: applications(first: 1) { item { taskCode } } }')
        task = data["data"]["implementationItem"][0]["item"]["taskCode"]
        payload = {"provinceCode": "440000", "taskCode": task, "applicantId": "P00000000042",
                   "channel": "MOBILE", "idempotencyKey": "durable-1"}
        status, created = first.post("440000", SUBMIT, {"input": payload}, citizen(first.key_file, "P00000000042"))
        assert status == 200 and "errors" not in created, created
        number = created["data"]["submitApplication"]["application"]["applicationNo"]
        first.kill9()
    finally:
        first.stop()
    second = Server(tmp_path, "44")
    try:
        _, found = second.post("440000", 'query($n: ID!) { application(applicationNo: $n) { applicationNo status } }',
                               {"n": number})
        assert found["data"]["application"] == {"applicationNo": number, "status": "SUBMITTED"}
        _, again = second.post("440000", SUBMIT, {"input": payload}, citizen(second.key_file, "P00000000042"))
        receipt = again["data"]["submitApplication"]
        assert receipt["replayed"] is True and receipt["application"]["applicationNo"] == number
        _, listed = second.post("440000", '{ applications(first: 500, applicantId: "P00000000042") { applicationNo } }')
        assert [a["applicationNo"] for a in listed["data"]["applications"]].count(number) == 1
    finally:
        second.stop()


def test_health_lists_the_served_provinces(server: Server) -> None:
    assert server.health["provinces"] == ["110000", "440000"]


def test_each_province_path_serves_its_own_shard(server: Server) -> None:
    for code in ("110000", "440000"):
        status, body = server.post(code, '{ applications(first: 3) { provinceCode applicationNo } }')
        assert status == 200 and body["data"]["applications"]
        for app in body["data"]["applications"]:
            assert app["provinceCode"] == code and app["applicationNo"].startswith(code[:2])


@pytest.mark.parametrize(("path_code", "query", "named"), [
    ("990000", "{ applications { applicationNo } }", "'990000'"),
    ("440000", '{ serviceHalls(provinceCode: "320000") { hallCode } }', "'320000'"),
    ("440000", '{ application(applicationNo: "4401-2025") { status } }', "'4401-2025'"),
    ("440000", '{ _entities(representations: [{__typename: "CatalogItem", catalogCode: "BAD00"}]) { __typename } }',
     "'BAD00'"),
    ("440000", '{ implementationItem(provinceCode: "440000", taskCode: "NO-SUCH") { name } }', "'NO-SUCH'"),
    ("440000", '{ applications(status: FINISHED) { applicationNo } }', "FINISHED"),
])
def test_bad_input_is_a_graphql_error_naming_the_value(server: Server, path_code: str, query: str, named: str) -> None:
    status, body = server.post(path_code, query)
    assert status == 200
    assert body["errors"] and named in body["errors"][0]["message"]
    assert "Traceback" not in json.dumps(body)


def test_malformed_application_number_error_shows_the_format(server: Server) -> None:
    _, body = server.post("440000", '{ application(applicationNo: "abc") { status } }')
    assert "yyyyMMdd" in body["errors"][0]["message"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_server_cleanly(data_dir: Path, sig: signal.Signals) -> None:
    running = Server(data_dir, "11")
    try:
        running.process.send_signal(sig)
        assert running.process.wait(timeout=15) == 0
        assert running.process.stderr is not None
        assert "Traceback" not in running.process.stderr.read().decode()
    finally:
        running.stop()


def test_unknown_province_option_exits_2_naming_it(data_dir: Path) -> None:
    result = subprocess.run([*GOVGRAPH, "subgraph", "provincial", "--province", "710000", "--data-dir", str(data_dir)],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "'710000'" in result.stderr


def test_missing_database_refuses_to_start_and_says_to_seed(tmp_path: Path) -> None:
    result = subprocess.run([*GOVGRAPH, "subgraph", "provincial", "--province", "44", "--port", str(free_port()),
                             "--data-dir", str(tmp_path)], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "govgraph seed" in result.stderr and "440000.db" in result.stderr


def test_sdl_command_prints_the_federation_sdl() -> None:
    result = subprocess.run([*GOVGRAPH, "subgraph", "sdl", "provincial"], check=False, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert 'type Application @key(fields: "provinceCode applicationNo")' in result.stdout


@pytest.mark.parametrize("flag", [False, True])
def test_one_log_line_per_request_only_with_access_log(data_dir: Path, flag: bool) -> None:
    """A scatter sends 31 requests at once: logging each one is opt-in."""
    running = Server(data_dir, "44", extra=("--access-log",) if flag else (), capture=True)
    try:
        status, _ = running.post("440000", "{ applications(first: 1) { applicationNo } }")
        assert status == 200
        log = running.stop_and_read_log()
    finally:
        running.stop()
    assert ("POST /provinces/440000/graphql HTTP/1.1" in log) is flag, log
    assert "Application startup complete" in log


def test_kept_documents_serve_each_request_its_own_variables_and_errors(server: Server) -> None:
    """Parsed and validated documents are reused across requests; answers and errors are not."""
    query = "query($first: Int) { applications(first: $first) { applicationNo } }"
    _, one = server.post("440000", query, {"first": 1})
    _, two = server.post("440000", query, {"first": 2})
    assert len(one["data"]["applications"]) == 1 and len(two["data"]["applications"]) == 2
    bad = "{ applications(first: 1) { noSuchField } }"
    for _ in range(2):
        _, answer = server.post("440000", bad)
        assert answer.get("data") is None and "noSuchField" in answer["errors"][0]["message"], answer
    _, again = server.post("110000", query, {"first": 1})
    assert again["data"]["applications"][0]["applicationNo"].startswith("11"), again
