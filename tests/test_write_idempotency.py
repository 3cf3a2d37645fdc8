"""Idempotency keys of advanceApplication and rateApplication, as submitApplication has:
a retry with the key returns the first result and writes nothing again; the key with another
payload is refused. Through `govgraph gateway` and a real provincial shard process.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from internal_tokens import ALL_STAGES
from resilience_stack import GuangdongStack, send, start_guangdong

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


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuangdongStack]:
    stack = start_guangdong(tmp_path_factory.mktemp("data"))
    try:
        yield stack
    finally:
        stack.close()


def _one(shard: GuangdongStack, sql: str) -> str:
    rows = shard.read(sql)
    assert rows, sql
    return str(rows[0][0])


def _officer(shard: GuangdongStack) -> dict[str, str]:
    return shard.caller("officer", sub="O44000001", province="440000", stages=ALL_STAGES)


def test_advance_with_a_key_is_applied_once_and_replays_its_result(shard: GuangdongStack) -> None:
    task = _one(shard, "SELECT task_code FROM items ORDER BY task_code LIMIT 1")
    submitted = send(shard.url, SUBMIT, {"input": {
        "provinceCode": "440000", "taskCode": task, "applicantId": "P00000000042",
        "channel": "PC", "idempotencyKey": "submit-for-advance"}},
        shard.caller("citizen", sub="P00000000042")).body
    assert "errors" not in submitted, submitted
    number = submitted["data"]["submitApplication"]["application"]["applicationNo"]
    events = len(shard.read("SELECT seq FROM status_events WHERE application_no = ?", number))
    variables = {"no": number, "to": "ACCEPTED", "key": "advance-once-1"}
    first = send(shard.url, ADVANCE, variables, _officer(shard)).body
    assert "errors" not in first, first
    assert first["data"]["advanceApplication"] == {"applicationNo": number, "status": "ACCEPTED"}
    again = send(shard.url, ADVANCE, variables, _officer(shard)).body
    assert again == first  # ACCEPTED -> ACCEPTED would be refused: this is a replay
    assert len(shard.read("SELECT seq FROM status_events WHERE application_no = ?", number)) \
        == events + 1
    # without a key, the same request is a second write, which the lifecycle refuses
    plain = send(shard.url, ADVANCE, {"no": number, "to": "ACCEPTED"}, _officer(shard)).body
    assert plain["data"] == {"advanceApplication": None} and "errors" in plain
    # the key with another payload is refused, and nothing is written
    other = send(shard.url, ADVANCE, {**variables, "to": "WITHDRAWN"}, _officer(shard)).body
    [error] = other["errors"]
    assert "advance-once-1" in error["message"] and "different payload" in error["message"]
    assert shard.read("SELECT status FROM applications WHERE application_no = ?", number) \
        == [("ACCEPTED",)]


def test_rate_with_a_key_is_applied_once_and_replays_the_first_evaluation(shard: GuangdongStack) -> None:
    number = _one(shard, "SELECT application_no FROM applications WHERE status IN "
                         "('COMPLETED', 'DELIVERED') AND application_no NOT IN "
                         "(SELECT application_no FROM evaluations WHERE channel = 'PC') "
                         "ORDER BY application_no LIMIT 1")
    [(applicant,)] = shard.read("SELECT applicant_id FROM applications WHERE application_no = ?",
                                number)
    holder = shard.caller("citizen", sub=applicant)
    variables = {"no": number, "level": "SATISFIED", "key": "rate-once-1"}
    first = send(shard.url, RATE, variables, holder).body
    assert "errors" not in first, first
    again = send(shard.url, RATE, variables, holder).body
    assert again == first
    assert len(shard.read("SELECT evaluation_id FROM evaluations WHERE application_no = ?",
                          number)) >= 1
    assert shard.read("SELECT COUNT(*) FROM evaluations WHERE application_no = ? AND channel = "
                      "'PC'", number) == [(1,)]
    other = send(shard.url, RATE, {**variables, "level": "DISSATISFIED"}, holder).body
    assert "different payload" in other["errors"][0]["message"]
    # a key once used for a rating cannot name an advance
    advance = send(shard.url, ADVANCE, {"no": number, "to": "ACCEPTED", "key": "rate-once-1"},
                   _officer(shard)).body
    assert "rateApplication" in advance["errors"][0]["message"]
