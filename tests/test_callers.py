"""Each kind of caller through the real gateway and the real subgraphs: what it may read
and change, and what it is refused (issue table in README, "Who may see and change what").

The gateway verifies the client's token (or API key) and signs claims for the subgraphs;
the subgraphs apply row and mutation rules from those claims. Every refusal is checked
both in the answer and in the database (nothing written).
"""
from __future__ import annotations

import hashlib
import json
import re
import time
import tomllib
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from audit.live_stack import PROJECT_DIR, post_graphql
from portal_stack import PortalStack, gateway_config, query, start_gateway, start_portal

from demo.stack import dump_toml

API_KEY = "aggregator-key-for-the-caller-tests-0123456789"
# an aggregator held to the demo's trusted documents, as the demo holds its own
TRUSTED_KEY = "trusted-aggregator-key-for-the-caller-tests-0123"
TRUSTED_DOCUMENTS = PROJECT_DIR / "trusted-documents.json"
GD = "440000"
JS = "320000"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStack]:
    started = start_portal(tmp_path_factory.mktemp("callers"))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def gateway(stack: PortalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = gateway_config(stack, tmp_path_factory.mktemp("callers-gw") / "govgraph.toml",
                          breaker_failures=3, breaker_reset_s=30)
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    config["auth"]["api_keys"] = {
        "test-aggregator": {"sha256": hashlib.sha256(API_KEY.encode()).hexdigest()},
        "trusted-aggregator": {"sha256": hashlib.sha256(TRUSTED_KEY.encode()).hexdigest(),
                               "trusted_documents_only": True}}
    path.write_text(dump_toml(config), encoding="utf-8")
    process, url = start_gateway(path)
    try:
        yield url
    finally:
        process.stop()


def _application(stack: PortalStack, code: str, status: str | None = None) -> dict[str, Any]:
    with stack.shard_db(code) as db:
        db.row_factory = None
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        row = db.execute("SELECT application_no, applicant_id, query_code, status FROM "
                         f"applications {where} ORDER BY application_no LIMIT 1", args).fetchone()
    assert row is not None, f"no application in {code} with status {status}"
    return dict(zip(("no", "applicant", "code", "status"), row, strict=True))


def _status(stack: PortalStack, number: str) -> str:
    with stack.shard_db(number[:2] + "0000") as db:
        return str(db.execute("SELECT status FROM applications WHERE application_no = ?",
                              (number,)).fetchone()[0])


def _codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code") for e in body.get("errors", [])}


SUBMIT = ("mutation S($input: SubmitApplicationInput!) { submitApplication(input: $input) "
          "{ application { applicationNo status } } }")


def _task(stack: PortalStack, code: str) -> str:
    with stack.shard_db(code) as db:
        return str(db.execute("SELECT task_code FROM items ORDER BY task_code LIMIT 1").fetchone()[0])


def _submitted(stack: PortalStack, gateway: str, subject: str) -> str:
    """A fresh SUBMITTED application of `subject` in Guangdong, submitted by that citizen."""
    variables = {"input": {"provinceCode": GD, "taskCode": _task(stack, GD),
                           "applicantId": subject, "channel": "PC",
                           "idempotencyKey": f"callers-{time.time_ns()}"}}
    body = query(gateway, SUBMIT, variables, stack.caller("citizen", sub=subject))
    assert "errors" not in body, body["errors"]
    application = body["data"]["submitApplication"]["application"]
    assert application["status"] == "SUBMITTED"
    return str(application["applicationNo"])


APPLICATION = "query A($no: ID!) { application(applicationNo: $no) { applicationNo status } }"
ADVANCE = ("mutation M($no: ID!) { advanceApplication(applicationNo: $no, to: ACCEPTED) "
           "{ status } }")


# ---- anonymous --------------------------------------------------------------------------

def test_anonymous_reads_public_data(stack: PortalStack, gateway: str) -> None:
    body = query(gateway, '{ provinces { code } serviceHalls(provinceCode: "440000") { name } }')
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["provinces"]) == 31 and body["data"]["serviceHalls"]


def test_anonymous_tracks_an_application_with_its_number_and_query_code(
        stack: PortalStack, gateway: str) -> None:
    app = _application(stack, GD)
    track = ("query T($no: ID!, $code: String!) { trackApplication(provinceCode: \"440000\", "
             "applicationNo: $no, queryCode: $code) { applicationNo status } }")
    body = query(gateway, track, {"no": app["no"], "code": app["code"]})
    assert body["data"]["trackApplication"] == {"applicationNo": app["no"],
                                                "status": app["status"]}
    wrong = query(gateway, track, {"no": app["no"], "code": "000000" if app["code"] != "000000"
                                   else "111111"})
    assert wrong.get("data") is None or wrong["data"].get("trackApplication") is None
    assert wrong["errors"]


def test_anonymous_reads_no_personal_data_and_changes_nothing(
        stack: PortalStack, gateway: str) -> None:
    app = _application(stack, GD)
    app["no"] = _submitted(stack, gateway, app["applicant"])
    stack.proxy.reset()
    person = query(gateway, "query P($s: ID!) { applications(applicantId: $s) { applicationNo } }",
                   {"s": app["applicant"]})
    assert not any((person["data"] or {}).values()) and _codes(person) == {"UNAUTHORIZED"}
    one = query(gateway, APPLICATION, {"no": app["no"]})
    assert one["data"] == {"application": None} and _codes(one) == {"UNAUTHORIZED"}
    moved = query(gateway, ADVANCE, {"no": app["no"]})
    assert not any((moved["data"] or {}).values()) and _codes(moved) == {"UNAUTHORIZED"}
    assert not stack.proxy.calls  # refused at the gateway: no shard was asked
    assert _status(stack, app["no"]) == "SUBMITTED"


def test_a_forged_claims_header_from_a_client_is_ignored(stack: PortalStack,
                                                         gateway: str) -> None:
    app = _application(stack, GD)
    forged = jwt.encode({"kind": "officer", "province": GD, "iss": "govgraph-gateway",
                         "aud": "govgraph-subgraphs", "exp": 9_999_999_999, "iat": 0},
                        "not-the-internal-key-but-long-enough-0123456789", algorithm="HS256")
    body = query(gateway, APPLICATION, {"no": app["no"]},
                 {"x-govgraph-claims": forged, "x-govgraph-subject": app["applicant"]})
    assert body["data"] == {"application": None} and _codes(body) == {"UNAUTHORIZED"}


# ---- citizen ------------------------------------------------------------------------------

def test_a_citizen_reads_its_own_applications_and_not_anothers(stack: PortalStack,
                                                                gateway: str) -> None:
    mine = _application(stack, GD)
    other = _application(stack, JS)
    assert other["applicant"] != mine["applicant"]
    me = stack.caller("citizen", sub=mine["applicant"])
    profile = query(gateway, "{ me { subjectId } }", headers=me)
    assert profile["data"] == {"me": {"subjectId": mine["applicant"]}}, profile
    own = query(gateway, APPLICATION, {"no": mine["no"]}, me)
    assert own["data"]["application"]["applicationNo"] == mine["no"], own
    theirs = query(gateway, APPLICATION, {"no": other["no"]}, me)
    assert theirs["data"] == {"application": None} and _codes(theirs) == {"FORBIDDEN"}
    listing = query(gateway, "query P($s: ID!) { applications(applicantId: $s) "
                             "{ applicationNo } }", {"s": other["applicant"]}, me)
    assert not listing.get("data") or not listing["data"].get("applications")
    assert "FORBIDDEN" in _codes(listing)


def test_a_citizen_submits_only_for_itself(stack: PortalStack, gateway: str) -> None:
    app = _application(stack, GD)
    other = _application(stack, JS)["applicant"]
    own = _submitted(stack, gateway, app["applicant"])
    assert _status(stack, own) == "SUBMITTED"
    with stack.shard_db(GD) as db:
        before = db.execute("SELECT count(*) FROM applications").fetchone()[0]
    someone_else = {"provinceCode": GD, "taskCode": _task(stack, GD), "applicantId": other,
                    "channel": "PC", "idempotencyKey": f"callers-{time.time_ns()}"}
    body = query(gateway, SUBMIT, {"input": someone_else},
                 stack.caller("citizen", sub=app["applicant"]))
    assert "FORBIDDEN" in _codes(body), body
    with stack.shard_db(GD) as db:
        assert db.execute("SELECT count(*) FROM applications").fetchone()[0] == before


# ---- provincial officer -------------------------------------------------------------------

def test_an_officer_reads_its_province_only(stack: PortalStack, gateway: str) -> None:
    officer = stack.caller("officer", sub="O-44", province=GD, stages=["ACCEPT"])
    here = _application(stack, GD)
    there = _application(stack, JS)
    own = query(gateway, APPLICATION, {"no": here["no"]}, officer)
    assert own["data"]["application"]["applicationNo"] == here["no"], own
    other = query(gateway, APPLICATION, {"no": there["no"]}, officer)
    assert other["data"] == {"application": None} and _codes(other) == {"FORBIDDEN"}


def test_an_officer_advances_only_through_its_stages_in_its_province(
        stack: PortalStack, gateway: str) -> None:
    app = _application(stack, GD)
    app["no"] = _submitted(stack, gateway, app["applicant"])
    approver = stack.caller("officer", sub="O-44a", province=GD, stages=["APPROVE"])
    refused = query(gateway, ADVANCE, {"no": app["no"]}, approver)
    assert "FORBIDDEN" in _codes(refused) and _status(stack, app["no"]) == "SUBMITTED"
    elsewhere = stack.caller("officer", sub="O-32", province=JS, stages=["ACCEPT"])
    refused = query(gateway, ADVANCE, {"no": app["no"]}, elsewhere)
    assert "FORBIDDEN" in _codes(refused) and _status(stack, app["no"]) == "SUBMITTED"
    acceptor = stack.caller("officer", sub="O-44b", province=GD, stages=["ACCEPT"])
    accepted = query(gateway, ADVANCE, {"no": app["no"]}, acceptor)
    assert accepted["data"] == {"advanceApplication": {"status": "ACCEPTED"}}, accepted
    assert "errors" not in accepted
    assert _status(stack, app["no"]) == "ACCEPTED"


# ---- national officer ---------------------------------------------------------------------

def test_a_national_officer_reads_personal_data_only_with_an_allowed_purpose(
        stack: PortalStack, gateway: str) -> None:
    app = _application(stack, GD)
    without = query(gateway, APPLICATION, {"no": app["no"]}, stack.caller("national", sub="N-1"))
    assert without["data"] == {"application": None} and _codes(without) == {"FORBIDDEN"}
    purpose = stack.caller("national", sub="N-1", purpose="licence-verification")
    withp = query(gateway, APPLICATION, {"no": app["no"]}, purpose)
    assert withp["data"]["application"]["applicationNo"] == app["no"], withp
    refused = post_graphql(gateway, {"query": APPLICATION, "variables": {"no": app["no"]}},
                           stack.caller("national", sub="N-1", purpose="curiosity"))
    assert refused.status == 403 and refused.json()["errors"][0]["extensions"]["code"] == \
        "FORBIDDEN"
    # changes nothing
    moved = query(gateway, ADVANCE, {"no": app["no"]}, purpose)
    assert _codes(moved) == {"UNAUTHORIZED"}


# ---- auditor ------------------------------------------------------------------------------

def test_an_auditor_reads_the_audit_log_and_no_applications(stack: PortalStack,
                                                            gateway: str) -> None:
    auditor = stack.caller("auditor", sub="A-1")
    log = query(gateway, '{ auditChain(provinceCode: "440000") { intact } }', headers=auditor)
    assert log["data"] == {"auditChain": {"intact": True}} and "errors" not in log, log
    app = _application(stack, GD)
    refused = query(gateway, APPLICATION, {"no": app["no"]}, auditor)
    assert refused["data"] == {"application": None} and _codes(refused) == {"FORBIDDEN"}
    citizen = query(gateway, '{ auditChain(provinceCode: "440000") { intact } }',
                    headers=stack.caller("citizen", sub=app["applicant"]))
    assert not any((citizen["data"] or {}).values()) and _codes(citizen) == {"UNAUTHORIZED"}


# ---- third-party aggregator -----------------------------------------------------------------

def test_an_aggregator_reads_public_data_only(stack: PortalStack, gateway: str) -> None:
    key = {"x-api-key": API_KEY}
    public = query(gateway, '{ serviceHalls(provinceCode: "440000") { name } }', headers=key)
    assert "errors" not in public and public["data"]["serviceHalls"]
    app = _application(stack, GD)
    refused = query(gateway, APPLICATION, {"no": app["no"]}, key)
    assert refused["data"] == {"application": None} and _codes(refused) == {"FORBIDDEN"}
    wrong = post_graphql(gateway, {"query": "{ provinces { code } }"}, {"x-api-key": "guess"})
    assert wrong.status == 401


def test_an_aggregator_held_to_trusted_documents_runs_only_those(stack: PortalStack,
                                                                  gateway: str) -> None:
    key = {"x-api-key": TRUSTED_KEY}
    listed = json.loads(TRUSTED_DOCUMENTS.read_text(encoding="utf-8"))
    halls = next(h for h, text in listed.items() if "HallsOfProvince" in text)
    by_hash = post_graphql(gateway, {"variables": {"province": GD}, "extensions": {
        "persistedQuery": {"version": 1, "sha256Hash": halls}}}, key)
    assert by_hash.status == 200 and by_hash.json()["data"]["serviceHalls"], by_hash.body[:300]
    by_text = post_graphql(gateway, {"query": listed[halls], "variables": {"province": GD}}, key)
    assert by_text.json()["data"] == by_hash.json()["data"]
    unlisted = post_graphql(gateway, {"query": '{ serviceHalls(provinceCode: "440000") '
                                               '{ name } }'}, key)
    assert unlisted.status == 403
    assert unlisted.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


# ---- hostile operations ---------------------------------------------------------------------

def test_a_hundred_aliases_of_a_cross_province_field_are_refused_and_open_no_breaker(
        stack: PortalStack, gateway: str) -> None:
    subject = _application(stack, GD)["applicant"]
    citizen = stack.caller("citizen", sub=subject)
    aliases = " ".join(f"a{i}: applications(applicantId: $s) {{ applicationNo }}"
                       for i in range(100))
    stack.proxy.reset()
    reply = post_graphql(gateway, {"query": f"query H($s: ID!) {{ {aliases} }}",
                                   "variables": {"s": subject}}, citizen)
    assert reply.status == 400
    assert reply.json()["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
    assert not stack.proxy.calls
    # the next ordinary query finds every province answering
    body = query(gateway, "query P($s: ID!) { applications(applicantId: $s) { applicationNo } }",
                 {"s": subject}, citizen)
    assert "errors" not in body, body.get("errors")
    assert len(stack.proxy.calls) == 31
    assert not re.search(r"CIRCUIT", json.dumps(body))
