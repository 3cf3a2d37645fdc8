"""Who may see and change what, enforced by the subgraphs themselves: real subgraph processes
over HTTP, each caller minted as the gateway would sign it (tests/internal_tokens.py)."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from internal_tokens import CLAIMS_HEADER, as_caller, citizen, mint, officer, write_key
from subgraph_process import SubgraphProcess

from resolvers.audit import audit_log_path
from resolvers.datadir import national_db_path, province_db_path
from resolvers.national.seed import seed_national
from resolvers.provincial.seed import seed_province
from resolvers.reference import province

SCALE = 0.05
GD, BJ = "440000", "110000"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("security-seed")
    seed_national(national_db_path(directory), SCALE)
    for code in (GD, BJ):
        p = province(code)
        assert p is not None
        seed_province(province_db_path(directory, code), p, SCALE)
    write_key(directory)
    return directory


def copy_of(seeded: Path, target: Path) -> Path:
    """A private copy of the seeded data (with empty audit logs), for tests that kill or damage it."""
    shutil.copytree(seeded, target, ignore=shutil.ignore_patterns("audit"))
    return target


class Provincial(SubgraphProcess):
    def __init__(self, data_dir: Path, *extra: str, key: bool = True, **kwargs: Any) -> None:
        self.key_file = data_dir / "internal.key"
        args = ["--internal-key-file", str(self.key_file)] if key else []
        super().__init__("provincial", data_dir, *args, "--province", GD, "--province", BJ, *extra, **kwargs)

    def post(self, code: str, query: str, variables: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        status, body = self.post_to(f"/provinces/{code}/graphql", query, variables, headers or {})
        assert status == 200, body
        return body


class National(SubgraphProcess):
    def __init__(self, data_dir: Path) -> None:
        self.key_file = data_dir / "internal.key"
        super().__init__("national", data_dir, "--internal-key-file", str(self.key_file))

    def post(self, query: str, variables: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        status, body = self.post_to("/graphql", query, variables, headers or {})
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def shards(seeded: Path) -> Iterator[Provincial]:
    with Provincial(seeded) as server:
        yield server


@pytest.fixture(scope="module")
def national(seeded: Path) -> Iterator[National]:
    with National(seeded) as server:
        yield server


def db(data_dir: Path, code: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{province_db_path(data_dir, code)}?mode=ro", uri=True)


def one(data_dir: Path, code: str, sql: str, *params: Any) -> Any:
    with db(data_dir, code) as connection:
        return connection.execute(sql, params).fetchone()


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def refused(body: dict[str, Any], code: str = "FORBIDDEN") -> str:
    """The message of a refusal with `code`; the refused field carries no data."""
    assert codes(body) == [code], body
    return str(body["errors"][0]["message"])


def applicant_with_two_applications(data_dir: Path) -> tuple[str, str]:
    """(subject, a finished application of theirs) of Guangdong."""
    row = one(data_dir, GD, "SELECT applicant_id, application_no FROM applications WHERE status IN "
                            "('COMPLETED','DELIVERED') AND applicant_id IN (SELECT applicant_id FROM applications "
                            "GROUP BY applicant_id HAVING COUNT(*) >= 2) ORDER BY application_no LIMIT 1")
    return str(row[0]), str(row[1])


def application_of_someone_else(data_dir: Path, subject: str, status: str = "DELIVERED") -> str:
    row = one(data_dir, GD, "SELECT application_no FROM applications WHERE applicant_id != ? AND status = ? "
                            "AND (agent_id IS NULL OR agent_id != ?) ORDER BY application_no LIMIT 1",
              subject, status, subject)
    return str(row[0])


LIST = 'query($s: ID) { applications(provinceCode: "440000", first: 500, applicantId: $s) ' \
       "{ applicationNo applicant { subjectId } } }"
ONE = "query($n: ID!) { application(applicationNo: $n) { applicationNo status applicant { subjectId } } }"
LICENCES = 'query($s: ID) { myLicences(provinceCode: "440000", subjectId: $s) { licenceId holder { subjectId } } }'
SUBMIT = """mutation($input: SubmitApplicationInput!) { submitApplication(input: $input) {
  queryCode application { applicationNo status } } }"""
ADVANCE = """mutation($n: ID!, $to: ApplicationStatus!) { advanceApplication(applicationNo: $n, to: $to) {
  status reviewStage } }"""
RATE = """mutation($n: ID!) { rateApplication(applicationNo: $n, level: SATISFIED, channel: MOBILE) { evaluationId } }"""
AUDIT_LOG = """query($after: Int) { auditLog(provinceCode: "440000", first: 500, after: $after) {
  seq kind subjectId purpose provinceCode action records requestId prevHash hash } }"""


def task_code(data_dir: Path) -> str:
    return str(one(data_dir, GD, "SELECT task_code FROM items ORDER BY task_code LIMIT 1")[0])


def submit(shards: Provincial, data_dir: Path, subject: str, key: str, applicant: str | None = None) -> dict[str, Any]:
    payload = {"provinceCode": GD, "taskCode": task_code(data_dir), "applicantId": applicant or subject,
               "channel": "PC", "idempotencyKey": f"{key}-{time.time_ns()}"}
    return shards.post(GD, SUBMIT, {"input": payload}, citizen(shards.key_file, subject))


def count(data_dir: Path, table: str) -> int:
    return int(one(data_dir, GD, f"SELECT COUNT(*) FROM {table}")[0])


def last_audit_seq(shards: Provincial) -> int:
    entries = shards.post(GD, AUDIT_LOG, {}, as_caller(shards.key_file, "auditor", sub="A1"))["data"]["auditLog"]
    return int(entries[-1]["seq"]) if entries else 0


def audit_since(shards: Provincial, seq: int) -> list[dict[str, Any]]:
    body = shards.post(GD, AUDIT_LOG, {"after": seq}, as_caller(shards.key_file, "auditor", sub="A1"))
    assert "errors" not in body, body
    entries: list[dict[str, Any]] = body["data"]["auditLog"]
    return entries


# ---------------------------------------------------------------- verified claims


@pytest.mark.parametrize("forge", ["other key", "expired", "audience", "issuer", "garbage"])
def test_a_forged_expired_or_misaddressed_token_refuses_the_whole_request(
        shards: Provincial, tmp_path: Path, forge: str) -> None:
    key = shards.key_file
    token = {
        "other key": lambda: mint(write_key(tmp_path, "other.key"), "officer", province=GD, sub="O1"),
        "expired": lambda: mint(key, "officer", province=GD, sub="O1", issued_at=time.time() - 600),
        "audience": lambda: mint(key, "officer", province=GD, sub="O1", audience="someone-else"),
        "issuer": lambda: mint(key, "officer", province=GD, sub="O1", issuer="a-local-process"),
        "garbage": lambda: "not.a.token",
    }[forge]()
    body = shards.post(GD, '{ serviceHalls(provinceCode: "440000") { hallCode } }', headers={CLAIMS_HEADER: token})
    assert not any((body["data"] or {}).values())
    assert refused(body, "UNAUTHENTICATED").startswith("Unauthenticated:")
    assert token not in json.dumps(body)


def test_the_x_govgraph_subject_header_names_nobody(shards: Provincial, national: National,
                                                   seeded: Path) -> None:
    subject, _ = applicant_with_two_applications(seeded)
    body = shards.post(GD, LIST, {"s": subject}, {"x-govgraph-subject": subject})
    assert not any((body["data"] or {}).values()) and codes(body) == ["UNAUTHENTICATED"]
    assert national.post("{ me { subjectId } }", headers={"x-govgraph-subject": subject}) == {"data": {"me": None}}
    mine = national.post("{ me { subjectId } }", headers=citizen(national.key_file, subject))
    assert mine == {"data": {"me": {"subjectId": subject}}}


def test_without_an_internal_key_every_caller_is_anonymous_and_start_up_says_so(seeded: Path) -> None:
    server = Provincial(seeded, key=False, capture=True)
    try:
        body = server.post(GD, LIST, {}, officer(server.key_file, GD))
        assert not any((body["data"] or {}).values()) and codes(body) == ["UNAUTHENTICATED"]
        log = server.stop_and_read_log()
    finally:
        server.stop()
    assert log.count("every request is served as anonymous") == 1, log


def test_the_key_file_can_come_from_the_environment(seeded: Path) -> None:
    server = Provincial(seeded, key=False, env={"GOVGRAPH_INTERNAL_KEY_FILE": str(seeded / "internal.key")})
    try:
        body = server.post(GD, LIST, {}, officer(server.key_file, GD))
        assert "errors" not in body and body["data"]["applications"], body
    finally:
        server.stop()


def test_a_short_key_file_refuses_to_start(seeded: Path, tmp_path: Path) -> None:
    data = copy_of(seeded, tmp_path / "data")
    (data / "internal.key").write_text("only-twenty-bytes...\n")
    with pytest.raises(AssertionError, match="at least 32"):
        Provincial(data)


# ---------------------------------------------------------------- anonymous


def test_anonymous_reads_public_data_and_an_applications_status_with_its_query_code(
        shards: Provincial, seeded: Path) -> None:
    assert shards.post(GD, '{ serviceHalls(provinceCode: "440000") { hallCode } }')["data"]["serviceHalls"]
    assert shards.post(GD, "{ evaluationRanking { satisfactionRate } }")["data"]["evaluationRanking"]
    number, query_code, status = one(seeded, GD, "SELECT application_no, query_code, status FROM applications LIMIT 1")
    track = 'query($n: ID!, $c: String!) { trackApplication(provinceCode: "440000", applicationNo: $n, queryCode: $c)'
    found = shards.post(GD, track + " { status history { status } } }", {"n": number, "c": query_code})
    assert found["data"]["trackApplication"]["status"] == status
    personal = shards.post(GD, track + " { status applicant { subjectId } applicantPhone } }",
                           {"n": number, "c": query_code})
    assert set(codes(personal)) == {"UNAUTHENTICATED"}
    assert personal["data"]["trackApplication"] == {"status": status, "applicant": None, "applicantPhone": None}


def test_anonymous_cannot_enumerate_a_provinces_applicants(shards: Provincial, seeded: Path) -> None:
    body = shards.post(GD, LIST)
    assert not any((body["data"] or {}).values())
    refused(body, "UNAUTHENTICATED")
    assert not re.search(r"[PL]\d{11}", json.dumps(body))
    number = one(seeded, GD, "SELECT application_no FROM applications LIMIT 1")[0]
    assert codes(shards.post(GD, ONE, {"n": number})) == ["UNAUTHENTICATED"]
    holder = one(seeded, GD, "SELECT holder_id FROM licences LIMIT 1")[0]
    assert codes(shards.post(GD, LICENCES, {"s": holder})) == ["UNAUTHENTICATED"]


def test_anonymous_changes_nothing(shards: Provincial, seeded: Path) -> None:
    subject, finished = applicant_with_two_applications(seeded)
    open_one = one(seeded, GD, "SELECT application_no FROM applications WHERE status = 'IN_REVIEW'")[0]
    before = (count(seeded, "applications"), count(seeded, "status_events"), count(seeded, "evaluations"))
    payload = {"provinceCode": GD, "taskCode": task_code(seeded), "applicantId": subject, "channel": "PC",
               "idempotencyKey": "anonymous"}
    for query, variables in ((SUBMIT, {"input": payload}), (ADVANCE, {"n": open_one, "to": "WITHDRAWN"}),
                             (RATE, {"n": finished})):
        body = shards.post(GD, query, variables)
        assert not any((body["data"] or {}).values()) and codes(body) == ["UNAUTHENTICATED"], body
    assert (count(seeded, "applications"), count(seeded, "status_events"), count(seeded, "evaluations")) == before


# ---------------------------------------------------------------- citizens and enterprises


def test_a_citizen_reads_its_own_applications_and_licences_only(shards: Provincial, seeded: Path) -> None:
    subject, _ = applicant_with_two_applications(seeded)
    me = citizen(shards.key_file, subject)
    own = shards.post(GD, LIST, {}, me)["data"]["applications"]
    expected = one(seeded, GD, "SELECT COUNT(*) FROM applications WHERE applicant_id = ?", subject)[0]
    assert len(own) == expected >= 2 and {a["applicant"]["subjectId"] for a in own} == {subject}
    assert shards.post(GD, ONE, {"n": own[0]["applicationNo"]}, me)["data"]["application"]["applicationNo"]
    other_no = application_of_someone_else(seeded, subject)
    other = one(seeded, GD, "SELECT applicant_id FROM applications WHERE application_no = ?", other_no)[0]
    assert "own records" in refused(shards.post(GD, LIST, {"s": other}, me))
    assert refused(shards.post(GD, ONE, {"n": other_no}, me))
    holder = one(seeded, GD, "SELECT holder_id FROM licences WHERE holder_id != ? LIMIT 1", subject)[0]
    assert refused(shards.post(GD, LICENCES, {"s": holder}, me))
    mine = shards.post(GD, LICENCES, {}, citizen(shards.key_file, holder))["data"]["myLicences"]
    assert mine and {lic["holder"]["subjectId"] for lic in mine} == {holder}
    entity = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Subject { applications { applicationNo } } } }"""
    someone = shards.post(GD, entity, {"r": [{"__typename": "Subject", "subjectId": other}]}, me)
    assert codes(someone) == ["FORBIDDEN"]


def test_a_citizen_submits_only_for_itself(shards: Provincial, seeded: Path) -> None:
    subject, _ = applicant_with_two_applications(seeded)
    before = count(seeded, "applications")
    body = submit(shards, seeded, subject, "for-another", applicant="P99999999999")
    assert not any((body["data"] or {}).values()) and "only for itself" in refused(body)
    assert count(seeded, "applications") == before
    created = submit(shards, seeded, subject, "for-itself")["data"]["submitApplication"]
    assert created["application"]["status"] == "SUBMITTED"
    assert count(seeded, "applications") == before + 1


def test_a_citizen_rates_only_its_own_finished_application(shards: Provincial, seeded: Path) -> None:
    subject, finished = applicant_with_two_applications(seeded)
    me = citizen(shards.key_file, subject)
    before = count(seeded, "evaluations")
    other = application_of_someone_else(seeded, subject)
    assert "only its applicant" in refused(shards.post(GD, RATE, {"n": other}, me))
    fresh = submit(shards, seeded, subject, "rate-early")["data"]["submitApplication"]["application"]["applicationNo"]
    early = shards.post(GD, RATE, {"n": fresh}, me)
    assert codes(early) == ["BAD_USER_INPUT"] and "COMPLETED or DELIVERED" in early["errors"][0]["message"]
    assert count(seeded, "evaluations") == before
    rated = shards.post(GD, RATE, {"n": finished}, me)
    assert "errors" not in rated, rated
    assert count(seeded, "evaluations") == before + 1


def test_an_applicant_may_withdraw_its_application_but_not_advance_it(shards: Provincial, seeded: Path) -> None:
    subject, _ = applicant_with_two_applications(seeded)
    me = citizen(shards.key_file, subject)
    number = submit(shards, seeded, subject, "withdraw")["data"]["submitApplication"]["application"]["applicationNo"]
    assert "only withdraw" in refused(shards.post(GD, ADVANCE, {"n": number, "to": "ACCEPTED"}, me))
    assert one(seeded, GD, "SELECT status FROM applications WHERE application_no = ?", number)[0] == "SUBMITTED"
    assert shards.post(GD, ADVANCE, {"n": number, "to": "WITHDRAWN"}, me)["data"]["advanceApplication"] == {
        "status": "WITHDRAWN", "reviewStage": None}


# ---------------------------------------------------------------- officers


def test_an_officer_reads_its_own_province_and_nothing_of_another(shards: Provincial, seeded: Path) -> None:
    body = shards.post(GD, LIST, {}, officer(shards.key_file, GD))
    assert len(body["data"]["applications"]) == count(seeded, "applications")
    beijing = 'query { applications(provinceCode: "110000", first: 5) { applicationNo applicant { subjectId } } }'
    other = shards.post(BJ, beijing, {}, officer(shards.key_file, GD))
    assert not any((other["data"] or {}).values()) and "province 440000" in refused(other)
    number = one(seeded, BJ, "SELECT application_no FROM applications LIMIT 1")[0]
    assert codes(shards.post(BJ, ONE, {"n": number}, officer(shards.key_file, GD))) == ["FORBIDDEN"]


def test_an_officer_advances_only_through_the_stages_its_role_allows(shards: Provincial, seeded: Path) -> None:
    subject, _ = applicant_with_two_applications(seeded)
    number = submit(shards, seeded, subject, "stages")["data"]["submitApplication"]["application"]["applicationNo"]
    window = officer(shards.key_file, GD, stages=["ACCEPT"])
    accepted = shards.post(GD, ADVANCE, {"n": number, "to": "ACCEPTED"}, window)
    assert accepted["data"]["advanceApplication"]["status"] == "ACCEPTED", accepted
    events = one(seeded, GD, "SELECT COUNT(*) FROM status_events WHERE application_no = ?", number)[0]
    message = refused(shards.post(GD, ADVANCE, {"n": number, "to": "IN_REVIEW"}, window))
    assert "UNDERTAKE" in message and "ACCEPT" in message
    beijing_officer = officer(shards.key_file, BJ)
    assert "province 110000" in refused(shards.post(GD, ADVANCE, {"n": number, "to": "IN_REVIEW"}, beijing_officer))
    assert one(seeded, GD, "SELECT status FROM applications WHERE application_no = ?", number)[0] == "ACCEPTED"
    assert one(seeded, GD, "SELECT COUNT(*) FROM status_events WHERE application_no = ?", number)[0] == events
    undertaker = officer(shards.key_file, GD, stages=["UNDERTAKE"])
    moved = shards.post(GD, ADVANCE, {"n": number, "to": "IN_REVIEW"}, undertaker)["data"]["advanceApplication"]
    assert moved == {"status": "IN_REVIEW", "reviewStage": "UNDERTAKE"}


# ---------------------------------------------------------------- national officers, auditors, aggregators


def test_a_national_officer_reads_personal_data_only_with_a_purpose_and_changes_nothing(
        shards: Provincial, seeded: Path) -> None:
    bare = as_caller(shards.key_file, "national", sub="N1")
    assert shards.post(GD, "{ evaluationRanking { satisfactionRate } }", {}, bare)["data"]["evaluationRanking"]
    assert "stated purpose" in refused(shards.post(GD, LIST, {}, bare))
    stated = as_caller(shards.key_file, "national", sub="N1", purpose="跨省通办核验")
    assert shards.post(GD, LIST, {}, stated)["data"]["applications"]
    number = one(seeded, GD, "SELECT application_no FROM applications WHERE status = 'IN_REVIEW'")[0]
    assert codes(shards.post(GD, ADVANCE, {"n": number, "to": "WITHDRAWN"}, stated)) == ["FORBIDDEN"]


def test_an_auditor_reads_the_audit_log_and_nobody_else_does(shards: Provincial) -> None:
    auditor = as_caller(shards.key_file, "auditor", sub="A1")
    assert "errors" not in shards.post(GD, AUDIT_LOG, {}, auditor)
    assert "audit log only" in refused(shards.post(GD, LIST, {}, auditor))
    for caller in (officer(shards.key_file, GD), citizen(shards.key_file, "P00000000001")):
        assert "Only an auditor" in refused(shards.post(GD, AUDIT_LOG, {}, caller))
    assert codes(shards.post(GD, AUDIT_LOG)) == ["UNAUTHENTICATED"]


def test_an_aggregator_reads_public_data_only(shards: Provincial) -> None:
    aggregator = as_caller(shards.key_file, "aggregator", sub="agg-1")
    assert shards.post(GD, '{ serviceHalls(provinceCode: "440000") { hallCode } }', {}, aggregator)["data"]
    assert "public data only" in refused(shards.post(GD, LIST, {}, aggregator))


# ---------------------------------------------------------------- audit


def test_every_read_of_someone_elses_data_is_audited_and_an_owners_is_not(shards: Provincial, seeded: Path) -> None:
    subject, _ = applicant_with_two_applications(seeded)
    seq = last_audit_seq(shards)
    shards.post(GD, LIST, {}, citizen(shards.key_file, subject))
    assert audit_since(shards, seq) == []
    headers = as_caller(shards.key_file, "officer", sub="O-7", province=GD, stages=[], purpose="材料核验",
                        rid="req-audit-1")
    listed = shards.post(GD, LIST, {"s": subject}, headers)["data"]["applications"]
    holder, licence = one(seeded, GD, "SELECT holder_id, licence_id FROM licences LIMIT 1")
    shards.post(GD, LICENCES, {"s": holder}, headers)
    entries = audit_since(shards, seq)
    assert [(e["action"], e["kind"], e["subjectId"], e["purpose"], e["provinceCode"], e["requestId"])
            for e in entries] == [("Application", "officer", "O-7", "材料核验", GD, "req-audit-1"),
                                  ("ELicence", "officer", "O-7", "材料核验", GD, "req-audit-1")]
    assert entries[0]["records"] == [a["applicationNo"] for a in listed]
    assert licence in entries[1]["records"]
    assert entries[1]["prevHash"] == entries[0]["hash"]


def test_a_national_profile_read_is_audited_in_the_national_log(national: National, seeded: Path) -> None:
    subject, _ = applicant_with_two_applications(seeded)
    entity = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Subject { maskedName } } }"""
    representation = {"r": [{"__typename": "Subject", "subjectId": subject}]}
    assert codes(national.post(entity, representation)) == ["UNAUTHENTICATED"]
    other = citizen(national.key_file, "P00000000001")
    assert codes(national.post(entity, representation, other)) == ["FORBIDDEN"]
    bare = as_caller(national.key_file, "national", sub="N1")
    assert "stated purpose" in refused(national.post(entity, representation, bare))
    stated = as_caller(national.key_file, "national", sub="N1", purpose="统计核验", rid="req-national")
    assert "*" in national.post(entity, representation, stated)["data"]["_entities"][0]["maskedName"]
    log = national.post("{ nationalAuditLog(first: 500) { kind purpose records requestId } "
                        "nationalAuditChain { intact } }", headers=as_caller(national.key_file, "auditor", sub="A"))
    assert log["data"]["nationalAuditLog"][-1] == {"kind": "national", "purpose": "统计核验", "records": [subject],
                                                   "requestId": "req-national"}
    assert log["data"]["nationalAuditChain"] == {"intact": True}


def test_an_audit_entry_survives_kill_9_right_after_the_access(seeded: Path, tmp_path: Path) -> None:
    data = copy_of(seeded, tmp_path / "data")
    first = Provincial(data)
    try:
        number = one(data, GD, "SELECT application_no FROM applications LIMIT 1")[0]
        headers = as_caller(first.key_file, "officer", sub="O-9", province=GD, stages=[], rid="req-kill")
        assert shards_ok(first.post(GD, ONE, {"n": number}, headers))
        first.kill9()
    finally:
        first.stop()
    second = Provincial(data)
    try:
        entries = audit_since(second, 0)
        assert [(e["requestId"], e["records"]) for e in entries] == [("req-kill", [number])]
    finally:
        second.stop()


def shards_ok(body: dict[str, Any]) -> bool:
    assert "errors" not in body, body
    return True


@pytest.mark.parametrize("tamper", ["change", "remove"])
def test_tampering_with_the_audit_log_is_detected(seeded: Path, tmp_path: Path, tamper: str) -> None:
    data = copy_of(seeded, tmp_path / "data")
    server = Provincial(data)
    try:
        headers = officer(server.key_file, GD, stages=[])
        for number in [r[0] for r in db(data, GD).execute("SELECT application_no FROM applications LIMIT 3")]:
            shards_ok(server.post(GD, ONE, {"n": number}, headers))
        chain = '{ auditChain(provinceCode: "440000") { intact entries brokenAt reason } }'
        auditor = as_caller(server.key_file, "auditor", sub="A1")
        assert server.post(GD, chain, {}, auditor)["data"]["auditChain"]["intact"] is True
        with sqlite3.connect(audit_log_path(data, GD)) as log:
            if tamper == "change":
                log.execute("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 2")
            else:
                log.execute("DELETE FROM audit_log WHERE seq = 2")
        report = server.post(GD, chain, {}, auditor)["data"]["auditChain"]
    finally:
        server.stop()
    assert report["intact"] is False
    assert report["brokenAt"] == (2 if tamper == "change" else 3)
    assert report["reason"] == ("its content does not match its hash" if tamper == "change"
                                else "entry 2 is missing")


def test_a_read_that_cannot_be_audited_is_not_answered(seeded: Path, tmp_path: Path) -> None:
    data = copy_of(seeded, tmp_path / "data")
    with Provincial(data) as server:
        number = one(data, GD, "SELECT application_no FROM applications LIMIT 1")[0]
        headers = officer(server.key_file, GD, stages=[])
        assert shards_ok(server.post(GD, ONE, {"n": number}, headers))
        with sqlite3.connect(audit_log_path(data, GD)) as log:
            log.execute("ALTER TABLE audit_log RENAME TO audit_log_gone")
        body = server.post(GD, ONE, {"n": number}, headers)
        public = server.post(GD, '{ serviceHalls(provinceCode: "440000") { hallCode } }', {}, headers)
    assert body["data"] is None and codes(body) == ["INTERNAL_SERVER_ERROR"]
    assert number not in json.dumps(body)
    assert public["data"]["serviceHalls"], "a request that reads nothing personal needs no audit entry"


# ---------------------------------------------------------------- masking


def test_identifiers_are_masked_unless_owner_or_officer_of_the_province_with_a_purpose(
        shards: Provincial, seeded: Path) -> None:
    subject, number = applicant_with_two_applications(seeded)
    raw_no, raw_phone = one(seeded, GD, "SELECT certificate_no, phone FROM applicant_contacts WHERE subject_id = ?",
                            subject)
    query = "query($n: ID!) { application(applicationNo: $n) { applicantCertificateNo applicantPhone } }"

    def seen(headers: dict[str, str]) -> tuple[str, str]:
        found = shards.post(GD, query, {"n": number}, headers)["data"]["application"]
        return found["applicantCertificateNo"], found["applicantPhone"]

    assert seen(citizen(shards.key_file, subject)) == (raw_no, raw_phone)
    assert seen(officer(shards.key_file, GD, purpose="材料核验")) == (raw_no, raw_phone)
    masked = (raw_no[:4] + "*" * (len(raw_no) - 8) + raw_no[-4:], raw_phone[:3] + "****" + raw_phone[-4:])
    assert seen(officer(shards.key_file, GD)) == masked
    assert seen(as_caller(shards.key_file, "national", sub="N1", purpose="跨省通办核验")) == masked
    number, agent, certificate = one(
        seeded, GD, "SELECT a.application_no, a.agent_id, c.certificate_no FROM applications a JOIN applicant_contacts c "
                    "ON c.subject_id = a.applicant_id WHERE a.agent_id IS NOT NULL AND a.agent_id != a.applicant_id "
                    "ORDER BY a.application_no LIMIT 1")
    assert seen(citizen(shards.key_file, agent))[0] == certificate[:4] + "*" * (len(certificate) - 8) + certificate[-4:]


# ---------------------------------------------------------------- no echo


def assert_no_echo(body: dict[str, Any], huge: str) -> None:
    text = json.dumps(body, ensure_ascii=False)
    assert body.get("errors"), body
    assert huge[:81] not in text, text[:400]
    for error in body["errors"]:
        assert len(error["message"]) <= 400, error["message"][:400]
        assert not re.search(r"Traceback|SELECT |sqlite|/tmp/|\.py\b|https?://", error["message"]), error


def test_no_error_echoes_more_than_a_short_excerpt_of_a_huge_input(shards: Provincial, national: National) -> None:
    huge = "x" * 1_000_000
    assert_no_echo(national.post("query($c: ID!) { catalogItem(catalogCode: $c) { name } }", {"c": huge}), huge)
    assert_no_echo(national.post("query($c: ID!) { division(code: $c) { nameZh } }", {"c": huge}), huge)
    assert_no_echo(national.post('{ catalogItem(catalogCode: "%s") { name } }' % huge), huge)
    officer_headers = officer(shards.key_file, GD)
    assert_no_echo(shards.post(GD, ONE, {"n": huge}, officer_headers), huge)
    assert_no_echo(shards.post(GD, '{ implementationItem(provinceCode: "440000", taskCode: "%s") { name } }' % huge,
                               {}, officer_headers), huge)
    assert_no_echo(shards.post(GD, '{ applications(first: "%s") { applicationNo } }' % huge, {}, officer_headers), huge)
    assert_no_echo(national.post("{ %s }" % huge), huge)
    request = urllib.request.Request(national.base + "/graphql", method="POST", headers={"content-type": "application/json"},
                                     data=json.dumps({"query": "{ provinces { code } }", "operationName": huge}).encode())
    with pytest.raises(urllib.error.HTTPError) as refusal:
        urllib.request.urlopen(request, timeout=30)
    assert refusal.value.code == 400 and len(refusal.value.read()) < 200


@pytest.mark.parametrize("subgraph", ["provincial", "national"])
def test_a_database_error_reaches_the_client_as_one_generic_sentence(
        seeded: Path, tmp_path: Path, subgraph: str) -> None:
    data = copy_of(seeded, tmp_path / "data")
    if subgraph == "provincial":
        server: Provincial | National = Provincial(data)
        path, table, query = province_db_path(data, GD), "halls", '{ serviceHalls(provinceCode: "440000") { name } }'
    else:
        server = National(data)
        path, table, query = national_db_path(data), "divisions", "{ provinces { nameZh } }"
    try:
        with sqlite3.connect(path) as connection:
            connection.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")
        status, body = server.post_to(f"/provinces/{GD}/graphql" if subgraph == "provincial" else "/graphql", query)
    finally:
        server.stop()
    assert status == 200
    assert_no_echo(body, "x" * 100)
    assert codes(body) == ["INTERNAL_SERVER_ERROR"]
    assert table not in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["requestId"] in body["errors"][0]["message"]
