"""The national portal's one-request queries over 31 provincial shards, end to end.

Real processes throughout: the seeded national subgraph, the provincial shards,
a counting shard proxy, and gateways configured from the project's govgraph.toml.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from portal_stack import PortalStack, gateway_config, query, running_portal, start_gateway

# ---- the portal's queries (the README shows the same ones) -------------------

IMPLEMENTATIONS = """
query Implementations($code: ID!) {
  catalogItem(catalogCode: $code) {
    name
    implementations {
      provinceCode
      onlineDepth
      promisedTimeLimit { value unit }
      fee { charged }
      halls { hallCode }
    }
  }
}"""

TRACK = """
query Track($no: ID!) {
  application(applicationNo: $no) {
    provinceCode
    applicationNo
    status
    history { status at }
    item { catalogItem { name } }
  }
}"""

PERSON_APPLICATIONS = """
query PersonApplications($subject: ID!) {
  applications(applicantId: $subject, first: 20) {
    provinceCode
    applicationNo
    submittedAt
    province { nameZh }
    item { catalogItem { name } }
  }
}"""

PERSON_EVERYWHERE = """
query PersonEverywhere($no: ID!) {
  application(applicationNo: $no) {
    applicant {
      subjectId
      applications(first: 20) { provinceCode applicationNo submittedAt }
      licences { provinceCode licenceId licenceNo issuer { name } type { name } }
    }
  }
}"""

RANKING = """
{
  evaluationRanking {
    division { code nameZh }
    onTimeCompletionRate
    onlineAvailabilityRate
    satisfactionRate
  }
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStack]:
    with running_portal(tmp_path_factory.mktemp("portal")) as stack:
        yield stack


@pytest.fixture(scope="module")
def gateway(stack: PortalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = gateway_config(stack, tmp_path_factory.mktemp("gw") / "gateway.toml")
    process, url = start_gateway(config)
    try:
        yield url
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def clean_proxy(stack: PortalStack) -> None:
    stack.proxy.reset()


def _applicant_in_several_provinces(stack: PortalStack, including: str) -> str:
    """A subject whose 20 newest applications span `including` and at least two other provinces."""
    subjects: set[str] = set()
    for code in stack.province_codes():
        with stack.shard_db(code) as db:
            subjects |= {s for (s,) in db.execute("SELECT DISTINCT applicant_id FROM applications")}
    for subject in sorted(subjects):
        newest = _applications_of(stack, subject)[:20]
        provinces = {_province_of(no) for _, no in newest}
        if including in provinces and len(provinces) >= 3:
            return subject
    raise AssertionError("the seed has no subject with recent applications in three provinces")


def _province_of(application_no: str) -> str:
    return application_no[:2] + "0000"


def _some_subject(stack: PortalStack) -> str:
    """Any subject of the unified identity system (the others' expectations read the database
    afresh, so a write for this subject disturbs no other test)."""
    with stack.national_db() as db:
        return str(db.execute("SELECT subject_id FROM subjects ORDER BY subject_id DESC").fetchone()[0])


def _applications_of(stack: PortalStack, subject: str, skip: str | None = None) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for code in stack.province_codes():
        if code == skip:
            continue
        with stack.shard_db(code) as db:
            rows += db.execute("SELECT submitted_at, application_no FROM applications "
                               "WHERE applicant_id = ?", (subject,)).fetchall()
    return sorted(rows, reverse=True)


def _some_application(stack: PortalStack, code: str) -> str:
    with stack.shard_db(code) as db:
        row = db.execute("SELECT application_no FROM applications ORDER BY application_no LIMIT 1").fetchone()
    return str(row[0])


# ---- (a) one catalogue item in every province ---------------------------------

def test_catalogue_item_lists_every_provinces_implementation(stack: PortalStack, gateway: str) -> None:
    with stack.national_db() as db:
        code, name = db.execute("SELECT catalog_code, name FROM catalog_items ORDER BY catalog_code LIMIT 1").fetchone()
    implementing = set()
    for province in stack.province_codes():
        with stack.shard_db(province) as db:
            if db.execute("SELECT 1 FROM items WHERE catalog_code = ?", (code,)).fetchone():
                implementing.add(province)
    body = query(gateway, IMPLEMENTATIONS, {"code": code})
    assert "errors" not in body, body.get("errors")
    item = body["data"]["catalogItem"]
    assert item["name"] == name
    assert {i["provinceCode"] for i in item["implementations"]} == implementing
    assert all(i["promisedTimeLimit"]["unit"] for i in item["implementations"])
    # one _entities call per shard: the implementations fan out to every province once
    assert dict(stack.proxy.calls) == {p: 1 for p in stack.province_codes()}


# ---- (b) cross-region status lookup ------------------------------------------

def test_tracking_number_is_routed_to_exactly_its_province(stack: PortalStack, gateway: str) -> None:
    number = _some_application(stack, "320000")
    with stack.shard_db("320000") as db:
        history = db.execute("SELECT COUNT(*) FROM status_events WHERE application_no = ?",
                             (number,)).fetchone()[0]
    body = query(gateway, TRACK, {"no": number}, stack.caller("officer", sub="O-32", province="320000"))
    assert "errors" not in body, body.get("errors")
    application = body["data"]["application"]
    assert application["applicationNo"] == number
    assert application["provinceCode"] == "320000"
    assert len(application["history"]) == history > 0
    assert application["item"]["catalogItem"]["name"]
    assert dict(stack.proxy.calls) == {"320000": 1}
    assert body["extensions"]["partitions"]["provincial"] == {"answered": ["320000"], "failed": []}


# ---- (c) one person's applications everywhere, newest first -------------------

def test_person_applications_are_merged_newest_first_across_provinces(
        stack: PortalStack, gateway: str) -> None:
    subject = _applicant_in_several_provinces(stack, "440000")
    expected = _applications_of(stack, subject)[:20]
    body = query(gateway, PERSON_APPLICATIONS, {"subject": subject}, stack.caller("citizen", sub=subject))
    assert "errors" not in body, body.get("errors")
    got = body["data"]["applications"]
    assert [a["applicationNo"] for a in got] == [no for _, no in expected]
    assert [a["submittedAt"] for a in got] == sorted((a["submittedAt"] for a in got), reverse=True)
    assert all(a["province"]["nameZh"] for a in got)
    assert len({a["provinceCode"] for a in got}) >= 2
    assert set(stack.proxy.calls) == set(stack.province_codes())


def test_merge_sort_field_does_not_collide_with_a_client_alias_of_its_name(
        stack: PortalStack, gateway: str) -> None:
    """The merge rule sorts by `submittedAt`; the client calls another field `submittedAt`."""
    subject = _applicant_in_several_provinces(stack, "440000")
    expected = _applications_of(stack, subject)[:3]
    body = query(gateway, """query ($subject: ID!) {
      applications(applicantId: $subject, first: 3) { submittedAt: status applicationNo }
    }""", {"subject": subject}, stack.caller("citizen", sub=subject))
    assert "errors" not in body, body.get("errors")
    got = body["data"]["applications"]
    # still newest first by the real submission time, and the alias holds the status
    assert [a["applicationNo"] for a in got] == [no for _, no in expected]
    assert all(set(a) == {"submittedAt", "applicationNo"} for a in got)
    assert all(not a["submittedAt"][:1].isdigit() for a in got)


def test_entity_field_every_shard_contributes_is_fanned_out_and_concatenated(
        stack: PortalStack, gateway: str) -> None:
    subject = _applicant_in_several_provinces(stack, "440000")
    with stack.shard_db("440000") as db:
        number = db.execute("SELECT application_no FROM applications WHERE applicant_id = ? LIMIT 1",
                            (subject,)).fetchone()[0]
    licences = 0
    for code in stack.province_codes():
        with stack.shard_db(code) as db:
            licences += db.execute("SELECT COUNT(*) FROM licences WHERE holder_id = ?",
                                   (subject,)).fetchone()[0]
    body = query(gateway, PERSON_EVERYWHERE, {"no": number}, stack.caller("citizen", sub=subject))
    assert "errors" not in body, body.get("errors")
    applicant = body["data"]["application"]["applicant"]
    assert applicant["subjectId"] == subject
    expected = _applications_of(stack, subject)[:20]
    assert [a["applicationNo"] for a in applicant["applications"]] == [no for _, no in expected]
    assert len(applicant["licences"]) == licences
    assert all(lic["issuer"]["name"] for lic in applicant["licences"])


# ---- (e) the evaluation ranking ------------------------------------------------

def test_evaluation_ranking_covers_every_province_sorted(stack: PortalStack, gateway: str) -> None:
    body = query(gateway, RANKING)
    assert "errors" not in body, body.get("errors")
    ranking = body["data"]["evaluationRanking"]
    assert sorted(r["division"]["code"] for r in ranking) == stack.province_codes()
    assert all(r["division"]["nameZh"] for r in ranking)
    rates = [r["satisfactionRate"] for r in ranking if r["satisfactionRate"] is not None]
    assert rates == sorted(rates, reverse=True)


# ---- mutations -----------------------------------------------------------------

def test_mutation_without_a_known_partition_is_refused_and_calls_no_shard(
        stack: PortalStack, gateway: str) -> None:
    body = query(gateway, 'mutation { advanceApplication(applicationNo: "99000020240101000001", '
                          "to: ACCEPTED) { status } }",
                 headers=stack.caller("officer", sub="O-44", province="440000", stages=["ACCEPT"]))
    assert body["data"] == {"advanceApplication": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["PARTITION_UNKNOWN"]
    assert "99000020240101000001" in body["errors"][0]["message"]
    assert not stack.proxy.calls


def test_mutation_goes_to_exactly_one_shard(stack: PortalStack, gateway: str) -> None:
    with stack.shard_db("510000") as db:
        task = db.execute("SELECT task_code FROM items ORDER BY task_code LIMIT 1").fetchone()[0]
    subject = _some_subject(stack)
    submit = """mutation Submit($input: SubmitApplicationInput!) {
      submitApplication(input: $input) { application { provinceCode applicationNo status } replayed }
    }"""
    variables = {"input": {"provinceCode": "510000", "taskCode": task, "applicantId": subject,
                           "channel": "PC", "idempotencyKey": f"portal-{time.time_ns()}"}}
    body = query(gateway, submit, variables, stack.caller("citizen", sub=subject))
    assert "errors" not in body, body.get("errors")
    assert body["data"]["submitApplication"]["application"]["provinceCode"] == "510000"
    assert dict(stack.proxy.calls) == {"510000": 1}


# ---- who may see what, end to end -----------------------------------------------

def test_an_anonymous_caller_cannot_enumerate_a_provinces_applicants(stack: PortalStack, gateway: str) -> None:
    body = query(gateway, '{ applications(provinceCode: "440000", first: 500) '
                          "{ applicationNo applicant { subjectId } } }")
    assert not any((body["data"] or {}).values())
    # the gateway leaves the @authenticated field out of the plan: no shard is asked at all
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHORIZED"}
    assert not re.search(r"[PL]\d{11}", json.dumps(body))
    assert not stack.proxy.calls


def test_an_officers_read_is_in_its_provinces_audit_log_for_an_auditor(stack: PortalStack, gateway: str) -> None:
    number = _some_application(stack, "440000")
    rid = f"portal-{time.time_ns()}"
    read = query(gateway, TRACK, {"no": number},
                 {**stack.caller("officer", sub="O-1", province="440000"), "x-request-id": rid})
    assert "errors" not in read, read.get("errors")
    body = query(gateway, '{ auditLog(provinceCode: "440000", first: 500) { kind records requestId } '
                          'auditChain(provinceCode: "440000") { intact } }',
                 headers=stack.caller("auditor", sub="A-1"))
    assert "errors" not in body, body.get("errors")
    assert {"kind": "officer", "records": [number], "requestId": rid} in body["data"]["auditLog"]
    assert body["data"]["auditChain"] == {"intact": True}


# ---- a province that fails costs only its own part -----------------------------

def _partial(stack: PortalStack, url: str, subject: str) -> tuple[dict, float]:
    started = time.monotonic()
    body = query(url, PERSON_APPLICATIONS, {"subject": subject}, stack.caller("citizen", sub=subject))
    return body, time.monotonic() - started


def _assert_partial(stack: PortalStack, body: dict, subject: str, code: str) -> None:
    expected = _applications_of(stack, subject, skip="440000")[:20]
    assert [a["applicationNo"] for a in body["data"]["applications"]] == [no for _, no in expected]
    errors = body["errors"]
    assert len(errors) == 1, errors
    assert errors[0]["extensions"]["code"] == code
    assert errors[0]["extensions"]["serviceName"] == "provincial"
    assert errors[0]["extensions"]["partitionKey"] == "440000"
    report = body["extensions"]["partitions"]["provincial"]
    assert report["failed"] == ["440000"] and len(report["answered"]) == len(stack.province_codes()) - 1


def test_killed_province_costs_only_its_own_applications(stack: PortalStack, tmp_path: Path) -> None:
    from audit.live_stack import Process, free_port, govgraph_command
    from portal_stack import wait_healthy

    port = free_port()
    lone = Process(govgraph_command("subgraph", "provincial", "--province", "44", "--port", str(port),
                                    "--data-dir", str(stack.data_dir), "--internal-key-file", str(stack.key_file)))
    try:
        wait_healthy(lone, f"http://127.0.0.1:{port}", "a healthy Guangdong shard")
        config = gateway_config(stack, tmp_path / "gw.toml", shard_urls={
            "440000": f"http://127.0.0.1:{port}/provinces/440000/graphql"})
        gateway, url = start_gateway(config)
        try:
            subject = _applicant_in_several_provinces(stack, "440000")
            whole, _ = _partial(stack, url, subject)
            assert "errors" not in whole and any(
                a["provinceCode"] == "440000" for a in whole["data"]["applications"])
            lone.popen.kill()  # kill -9
            lone.popen.wait(10)
            body, elapsed = _partial(stack, url, subject)
            _assert_partial(stack, body, subject, "SUBGRAPH_UNAVAILABLE")
            assert elapsed < 5.0
        finally:
            gateway.stop()
    finally:
        lone.stop()


def test_hanging_province_times_out_inside_the_deadline(stack: PortalStack, gateway: str) -> None:
    subject = _applicant_in_several_provinces(stack, "440000")
    stack.proxy.modes["440000"] = "hang"
    body, elapsed = _partial(stack, gateway, subject)
    _assert_partial(stack, body, subject, "SUBGRAPH_TIMEOUT")
    assert elapsed < 5.0  # the request deadline of the test configuration


def test_garbage_from_a_province_costs_only_its_part(stack: PortalStack, gateway: str) -> None:
    subject = _applicant_in_several_provinces(stack, "440000")
    stack.proxy.modes["440000"] = "garbage"
    body, _ = _partial(stack, gateway, subject)
    _assert_partial(stack, body, subject, "SUBGRAPH_BAD_RESPONSE")


def test_circuit_breaker_skips_a_failing_province_until_it_recovers(
        stack: PortalStack, tmp_path: Path) -> None:
    config = gateway_config(stack, tmp_path / "gw.toml", breaker_failures=3, breaker_reset_s=1.5)
    gateway, url = start_gateway(config)
    try:
        subject = _applicant_in_several_provinces(stack, "440000")
        stack.proxy.modes["440000"] = "garbage"
        for _ in range(3):
            _partial(stack, url, subject)
        assert stack.proxy.calls["440000"] == 3
        body, _ = _partial(stack, url, subject)
        assert stack.proxy.calls["440000"] == 3  # skipped without a call
        _assert_partial(stack, body, subject, "SUBGRAPH_UNAVAILABLE")
        assert body["errors"][0]["extensions"]["circuit"] == "open"
        stack.proxy.modes.clear()
        time.sleep(1.6)
        healed = query(url, PERSON_APPLICATIONS, {"subject": subject}, stack.caller("citizen", sub=subject))
        assert "errors" not in healed, healed.get("errors")
        assert stack.proxy.calls["440000"] == 4
    finally:
        gateway.stop()
