"""Idempotency keys of advanceApplication and rateApplication, as submitApplication has:
a retry with the key returns the first result and writes nothing again; the key with another
payload is refused. Through `govgraph gateway` and a real provincial shard process.
"""
from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from audit.live_stack import PROJECT_DIR, Process, free_port, govgraph_command, http
from resilience_stack import send

from gateway.stack import dump_toml
from resolvers.datadir import province_db_path
from resolvers.provincial.seed import seed_province
from resolvers.reference import province

ADVANCE = """mutation($no: ID!, $to: ApplicationStatus!, $key: String) {
  advanceApplication(applicationNo: $no, to: $to, idempotencyKey: $key) { applicationNo status }
}"""
SUBMIT = """mutation($input: SubmitApplicationInput!) {
  submitApplication(input: $input) { application { applicationNo } }
}"""
RATE = """mutation($no: ID!, $level: EvaluationLevel!, $key: String) {
  rateApplication(applicationNo: $no, level: $level, channel: PC, idempotencyKey: $key) {
    evaluationId level
  }
}"""


@dataclass
class Shard:
    db: Path
    gateway: str

    def read(self, sql: str, *args: object) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shard]:
    data = tmp_path_factory.mktemp("data")
    guangdong = province("44")
    assert guangdong is not None
    db = province_db_path(data, guangdong.code)
    seed_province(db, guangdong, 0.05)
    port = free_port()
    subgraph = Process(govgraph_command("subgraph", "provincial", "--province", "44", "--port",
                                        str(port), "--data-dir", str(data)))
    gateway: Process | None = None
    try:
        subgraph.wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health").status == 200,
                            "a healthy Guangdong shard")
        config = tomllib.loads((PROJECT_DIR / "govgraph.toml").read_text(encoding="utf-8"))
        config["gateway"].pop("supergraph", None)
        config["subgraphs"]["national"]["url"] = f"http://127.0.0.1:{free_port()}/graphql"
        config["partitions"]["provincial"]["shards"] = {
            "440000": f"http://127.0.0.1:{port}/provinces/440000/graphql"}
        path = data / "gateway.toml"
        path.write_text(dump_toml(config), encoding="utf-8")
        gateway_port = free_port()
        gateway = Process(govgraph_command(
            "gateway", "--supergraph", str(PROJECT_DIR / "schema" / "supergraph.graphql"),
            "--config", str(path), "--port", str(gateway_port)))
        gateway.wait_until(lambda: http("GET", f"http://127.0.0.1:{gateway_port}/health").status
                           == 200, "a healthy gateway")
        yield Shard(db, f"http://127.0.0.1:{gateway_port}/graphql")
    finally:
        if gateway is not None:
            gateway.stop()
        subgraph.stop()


def _one(shard: Shard, sql: str) -> str:
    rows = shard.read(sql)
    assert rows, sql
    return str(rows[0][0])


def test_advance_with_a_key_is_applied_once_and_replays_its_result(shard: Shard) -> None:
    task = _one(shard, "SELECT task_code FROM items ORDER BY task_code LIMIT 1")
    submitted = send(shard.gateway, SUBMIT, {"input": {
        "provinceCode": "440000", "taskCode": task, "applicantId": "P00000000042",
        "channel": "PC", "idempotencyKey": "submit-for-advance"}}).body
    assert "errors" not in submitted, submitted
    number = submitted["data"]["submitApplication"]["application"]["applicationNo"]
    events = len(shard.read("SELECT seq FROM status_events WHERE application_no = ?", number))
    variables = {"no": number, "to": "ACCEPTED", "key": "advance-once-1"}
    first = send(shard.gateway, ADVANCE, variables).body
    assert "errors" not in first, first
    assert first["data"]["advanceApplication"] == {"applicationNo": number, "status": "ACCEPTED"}
    again = send(shard.gateway, ADVANCE, variables).body
    assert again == first  # ACCEPTED -> ACCEPTED would be refused: this is a replay
    assert len(shard.read("SELECT seq FROM status_events WHERE application_no = ?", number)) \
        == events + 1
    # without a key, the same request is a second write, which the lifecycle refuses
    plain = send(shard.gateway, ADVANCE, {"no": number, "to": "ACCEPTED"}).body
    assert plain["data"] is None and "errors" in plain
    # the key with another payload is refused, and nothing is written
    other = send(shard.gateway, ADVANCE, {**variables, "to": "WITHDRAWN"}).body
    [error] = other["errors"]
    assert "advance-once-1" in error["message"] and "different payload" in error["message"]
    assert shard.read("SELECT status FROM applications WHERE application_no = ?", number) \
        == [("ACCEPTED",)]


def test_rate_with_a_key_is_applied_once_and_replays_the_first_evaluation(shard: Shard) -> None:
    number = _one(shard, "SELECT application_no FROM applications WHERE status IN "
                         "('COMPLETED', 'DELIVERED') AND application_no NOT IN "
                         "(SELECT application_no FROM evaluations WHERE channel = 'PC') "
                         "ORDER BY application_no LIMIT 1")
    variables = {"no": number, "level": "SATISFIED", "key": "rate-once-1"}
    first = send(shard.gateway, RATE, variables).body
    assert "errors" not in first, first
    again = send(shard.gateway, RATE, variables).body
    assert again == first
    assert len(shard.read("SELECT evaluation_id FROM evaluations WHERE application_no = ?",
                          number)) >= 1
    assert shard.read("SELECT COUNT(*) FROM evaluations WHERE application_no = ? AND channel = "
                      "'PC'", number) == [(1,)]
    other = send(shard.gateway, RATE, {**variables, "level": "DISSATISFIED"}).body
    assert "different payload" in other["errors"][0]["message"]
    # a key once used for a rating cannot name an advance
    advance = send(shard.gateway, ADVANCE, {"no": number, "to": "ACCEPTED",
                                            "key": "rate-once-1"}).body
    assert "rateApplication" in advance["errors"][0]["message"]
