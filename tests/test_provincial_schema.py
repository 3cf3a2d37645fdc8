"""The provincial subgraph in-process: federation SDL, batched entities, mutations and their rules."""
from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resolvers.audit import AuditLog
from resolvers.provincial.repository import ShardRepository
from resolvers.provincial.seed import seed_province
from resolvers.reference import province
from subgraphs.claims import Claims
from subgraphs.provincial.context import ShardContext
from subgraphs.provincial.schema import print_sdl, schema

GUANGDONG = province("44")
assert GUANGDONG is not None
OFFICER = Claims(kind="officer", subject="O4400001", province="440000", purpose="办件审查",
                 stages=frozenset({"ACCEPT", "UNDERTAKE", "AUDIT", "APPROVE", "DELIVER", "WITHDRAW"}))
"""An officer of Guangdong who may take every step: these tests are about the data, not access."""
APPLICANT = Claims(kind="citizen", subject="P00000000001")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "440000.db"
    seed_province(path, GUANGDONG, 0.05)
    return path


class Shard(ShardRepository):
    """A shard's repository with its audit log, as the app pairs them."""

    audit_log: AuditLog


@pytest.fixture
def repo(seeded: Path, tmp_path: Path) -> Iterator[Shard]:
    path = tmp_path / "440000.db"
    shutil.copy(seeded, path)
    repository = Shard.open(path, GUANGDONG)
    assert isinstance(repository, Shard)
    repository.audit_log = AuditLog.open(tmp_path / "audit.db")
    yield repository
    repository.audit_log.close()
    repository.close()


def run(repo: ShardRepository, query: str, variables: dict[str, Any] | None = None, claims: Claims = OFFICER) -> Any:
    assert isinstance(repo, Shard)
    context = ShardContext.for_request(repo, repo.audit_log, claims)
    return asyncio.run(schema.execute(query, variable_values=variables, context_value=context))


def ok(repo: ShardRepository, query: str, variables: dict[str, Any] | None = None,
       claims: Claims = OFFICER) -> dict[str, Any]:
    result = run(repo, query, variables, claims)
    assert result.errors is None, result.errors
    return result.data


def error_message(repo: ShardRepository, query: str, variables: dict[str, Any] | None = None,
                  claims: Claims = OFFICER) -> str:
    result = run(repo, query, variables, claims)
    assert result.errors, result.data
    return result.errors[0].message


def first(repo: ShardRepository, sql: str, *params: Any) -> Any:
    return repo.connection.execute(sql, params).fetchone()


# ---------------------------------------------------------------- SDL


def test_service_sdl_is_federation_v2_with_province_keys(repo: ShardRepository) -> None:
    sdl = ok(repo, "{ _service { sdl } }")["_service"]["sdl"]
    assert sdl == print_sdl()
    assert 'schema @link(url: "https://specs.apollo.dev/federation/v2.' in sdl
    for key in ('type Application @key(fields: "provinceCode applicationNo")',
                'type ImplementationItem @key(fields: "provinceCode taskCode")',
                'type ServiceHall @key(fields: "provinceCode hallCode")',
                'type ELicence @authenticated @key(fields: "provinceCode licenceId")',
                'type Evaluation @key(fields: "provinceCode evaluationId")',
                'type DataAccessRecord @requiresScopes(scopes: [["auditor"], ["officer"]]) '
                '@key(fields: "provinceCode recordId")',
                'type Agency @key(fields: "provinceCode uscc")',
                'type Subject @key(fields: "subjectId")',
                'type CatalogItem @key(fields: "catalogCode")',
                'type Division @key(fields: "code")',
                'type LicenceType @key(fields: "typeCode", resolvable: false)'):
        assert key in sdl


# ---------------------------------------------------------------- _entities, batched

ENTITY_QUERY = """query($r: [_Any!]!) { _entities(representations: $r) {
  __typename
  ... on Application { applicationNo status }
  ... on ImplementationItem { taskCode name }
  ... on ServiceHall { hallCode name }
  ... on ELicence { licenceId licenceStatus: status }
  ... on Evaluation { evaluationId level }
  ... on DataAccessRecord { recordId outcome }
  ... on Agency { uscc name }
  ... on CatalogItem { catalogCode }
} }"""

ENTITY_TABLES = {
    "Application": ("applications", "application_no", "applicationNo"),
    "ImplementationItem": ("items", "task_code", "taskCode"),
    "ServiceHall": ("halls", "hall_code", "hallCode"),
    "ELicence": ("licences", "licence_id", "licenceId"),
    "Evaluation": ("evaluations", "evaluation_id", "evaluationId"),
    "DataAccessRecord": ("data_access", "record_id", "recordId"),
    "Agency": ("agencies", "uscc", "uscc"),
}


@pytest.mark.parametrize("typename", sorted(ENTITY_TABLES))
def test_entities_of_one_type_cost_one_sql_statement(repo: ShardRepository, typename: str) -> None:
    table, column, field = ENTITY_TABLES[typename]
    keys = [row[0] for row in repo.connection.execute(f"SELECT {column} FROM {table} ORDER BY 1 LIMIT 4")]
    assert len(keys) >= 2, f"seed has too few {table}"
    representations = [{"__typename": typename, "provinceCode": "440000", field: key} for key in keys]
    statements: list[str] = []
    repo.connection.set_trace_callback(statements.append)
    data = ok(repo, ENTITY_QUERY, {"r": representations})
    repo.connection.set_trace_callback(None)
    assert [e[field] for e in data["_entities"]] == keys
    assert all(e["__typename"] == typename for e in data["_entities"])
    # a rating is shown to whoever may read its application: one more batched statement finds them
    assert len(statements) == (2 if typename == "Evaluation" else 1), statements
    assert f"FROM {table} WHERE" in statements[0]


def test_mixed_representations_cost_one_statement_per_type(repo: ShardRepository) -> None:
    apps = [r[0] for r in repo.connection.execute("SELECT application_no FROM applications LIMIT 5")]
    items = [r[0] for r in repo.connection.execute("SELECT task_code FROM items LIMIT 3")]
    catalogue = [r[0] for r in repo.connection.execute("SELECT catalog_code FROM catalogue LIMIT 3")]
    representations = (
        [{"__typename": "Application", "provinceCode": "440000", "applicationNo": n} for n in apps]
        + [{"__typename": "ImplementationItem", "provinceCode": "440000", "taskCode": t} for t in items]
        + [{"__typename": "CatalogItem", "catalogCode": c} for c in catalogue]
    )
    statements: list[str] = []
    repo.connection.set_trace_callback(statements.append)
    data = ok(repo, ENTITY_QUERY, {"r": representations})
    repo.connection.set_trace_callback(None)
    assert len(data["_entities"]) == 11
    assert sorted(s.split(" WHERE")[0] for s in statements) == [
        "SELECT * FROM applications", "SELECT * FROM catalogue", "SELECT * FROM items"]


def test_subject_applications_are_batched_newest_first(repo: ShardRepository) -> None:
    subjects = [r[0] for r in repo.connection.execute(
        "SELECT applicant_id FROM applications GROUP BY applicant_id HAVING COUNT(*) >= 2 LIMIT 3")]
    assert subjects
    statements: list[str] = []
    repo.connection.set_trace_callback(statements.append)
    data = ok(repo, """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Subject { subjectId applications(first: 2) { applicationNo submittedAt } licences { licenceId } } } }""",
              {"r": [{"__typename": "Subject", "subjectId": s} for s in subjects]})
    repo.connection.set_trace_callback(None)
    assert len(statements) == 2  # one for applications, one for licences
    for subject, entity in zip(subjects, data["_entities"]):
        times = [a["submittedAt"] for a in entity["applications"]]
        assert len(times) == 2 and times == sorted(times, reverse=True)
        newest = first(repo, "SELECT MAX(submitted_at) FROM applications WHERE applicant_id = ?", subject)[0]
        assert times[0] == newest


def test_division_metrics_resolve_for_own_province_only(repo: ShardRepository) -> None:
    data = ok(repo, """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Division { code metrics { onTimeCompletionRate onlineAvailabilityRate satisfactionRate ratings } } } }""",
              {"r": [{"__typename": "Division", "code": "440000"}, {"__typename": "Division", "code": "110000"}]})
    own, other = data["_entities"]
    assert other is None
    ratings, positive = first(
        repo, "SELECT COUNT(*), SUM(level IN ('SATISFIED','VERY_SATISFIED')) FROM evaluations")
    assert own["metrics"]["ratings"] == ratings
    assert own["metrics"]["satisfactionRate"] == pytest.approx(positive / ratings, abs=1e-4)
    assert 0 < own["metrics"]["onlineAvailabilityRate"] <= 1
    assert 0 < own["metrics"]["onTimeCompletionRate"] <= 1


def test_catalog_item_implementations_come_from_this_province(repo: ShardRepository) -> None:
    code, task = first(repo, "SELECT catalog_code, task_code FROM items WHERE catalog_code IS NOT NULL")
    data = ok(repo, """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on CatalogItem { implementations { provinceCode taskCode catalogItem { catalogCode } } } } }""",
              {"r": [{"__typename": "CatalogItem", "catalogCode": code}]})
    implementations = data["_entities"][0]["implementations"]
    assert {"provinceCode": "440000", "taskCode": task, "catalogItem": {"catalogCode": code}} in implementations


def test_entity_of_another_province_is_an_error_naming_it(repo: ShardRepository) -> None:
    result = run(repo, ENTITY_QUERY, {"r": [
        {"__typename": "Application", "provinceCode": "110000", "applicationNo": "11000020250105000001"}]})
    assert result.errors and "'110000'" in result.errors[0].message


# ---------------------------------------------------------------- mutations

SUBMIT = """mutation($input: SubmitApplicationInput!) { submitApplication(input: $input) {
  replayed queryCode application { provinceCode applicationNo status history { status } item { taskCode } } } }"""
ADVANCE = """mutation($no: ID!, $to: ApplicationStatus!, $stage: ReviewStage, $result: CompletionResult) {
  advanceApplication(applicationNo: $no, to: $to, stage: $stage, result: $result) {
    status reviewStage acceptedAt dueAt completedAt result overdue history { status stage } resultLicence { licenceId } } }"""
RATE = """mutation($no: ID!, $level: EvaluationLevel!, $channel: Channel!) {
  rateApplication(applicationNo: $no, level: $level, channel: $channel, comment: "ok",
                  dimensions: [{name: "服务态度", score: 2}]) {
    evaluationId level channel dimensions { name score } rectification { status deadline } application { applicationNo } } }"""


def _submission(repo: ShardRepository, key: str, **changes: Any) -> dict[str, Any]:
    task = first(repo, "SELECT task_code FROM items WHERE result_licence_type IS NOT NULL ORDER BY task_code")[0]
    payload = {"provinceCode": "440000", "taskCode": task, "applicantId": "P00000000001",
               "channel": "PC", "idempotencyKey": key}
    payload.update(changes)
    return payload


def test_submit_twice_with_one_idempotency_key_creates_one_application(repo: ShardRepository) -> None:
    before = first(repo, "SELECT COUNT(*) FROM applications")[0]
    one = ok(repo, SUBMIT, {"input": _submission(repo, "key-1")}, APPLICANT)["submitApplication"]
    two = ok(repo, SUBMIT, {"input": _submission(repo, "key-1")}, APPLICANT)["submitApplication"]
    assert one["replayed"] is False and two["replayed"] is True
    assert one["application"] == two["application"] and one["queryCode"] == two["queryCode"]
    assert first(repo, "SELECT COUNT(*) FROM applications")[0] == before + 1
    number = one["application"]["applicationNo"]
    assert number.startswith("44") and len(number) == 20
    assert one["application"]["status"] == "SUBMITTED"
    assert one["application"]["history"] == [{"status": "SUBMITTED"}]


def test_reused_idempotency_key_with_other_payload_is_an_error(repo: ShardRepository) -> None:
    ok(repo, SUBMIT, {"input": _submission(repo, "key-2")}, APPLICANT)
    message = error_message(repo, SUBMIT, {"input": _submission(repo, "key-2", channel="MOBILE")}, APPLICANT)
    assert "'key-2'" in message and "different payload" in message


def test_submit_with_unknown_task_code_names_it(repo: ShardRepository) -> None:
    message = error_message(repo, SUBMIT, {"input": _submission(repo, "key-3", taskCode="NOPE123")}, APPLICANT)
    assert "'NOPE123'" in message


def test_legal_lifecycle_path_completes_issues_a_licence_and_can_be_rated(repo: ShardRepository) -> None:
    created = ok(repo, SUBMIT, {"input": _submission(repo, "path")}, APPLICANT)["submitApplication"]["application"]
    number = created["applicationNo"]
    steps = [("PRE_REVIEW", None), ("ACCEPTED", None), ("IN_REVIEW", "UNDERTAKE"), ("IN_REVIEW", "AUDIT"),
             ("SUSPENDED", None), ("IN_REVIEW", None), ("IN_REVIEW", "APPROVE"), ("COMPLETED", None),
             ("DELIVERED", None)]
    state: dict[str, Any] = {}
    for to, stage in steps:
        state = ok(repo, ADVANCE, {"no": number, "to": to, "stage": stage})["advanceApplication"]
        assert state["status"] == to
    assert [(h["status"], h["stage"]) for h in state["history"]] == [
        ("SUBMITTED", None), ("PRE_REVIEW", None), ("ACCEPTED", None), ("IN_REVIEW", "UNDERTAKE"),
        ("IN_REVIEW", "AUDIT"), ("SUSPENDED", "AUDIT"), ("IN_REVIEW", "AUDIT"), ("IN_REVIEW", "APPROVE"),
        ("COMPLETED", None), ("DELIVERED", None)]
    assert state["result"] == "ISSUED" and state["resultLicence"]["licenceId"].startswith("1.2.156.3005.2.")
    assert state["acceptedAt"] and state["dueAt"] and state["completedAt"] and state["overdue"] is False
    rated = ok(repo, RATE, {"no": number, "level": "VERY_DISSATISFIED", "channel": "PC"}, APPLICANT)["rateApplication"]
    assert rated["application"]["applicationNo"] == number
    assert rated["evaluationId"].startswith("440000E")
    assert rated["rectification"]["status"] == "PENDING_CALLBACK"
    again = error_message(repo, RATE, {"no": number, "level": "SATISFIED", "channel": "PC"}, APPLICANT)
    assert number in again and "PC" in again
    other_channel = ok(repo, RATE, {"no": number, "level": "SATISFIED", "channel": "MOBILE"}, APPLICANT)["rateApplication"]
    assert other_channel["rectification"] is None


def test_illegal_transition_names_both_statuses_and_changes_nothing(repo: ShardRepository) -> None:
    number = ok(repo, SUBMIT, {"input": _submission(repo, "illegal")}, APPLICANT)["submitApplication"]["application"]["applicationNo"]
    message = error_message(repo, ADVANCE, {"no": number, "to": "DELIVERED"})
    assert "SUBMITTED" in message and "DELIVERED" in message
    assert first(repo, "SELECT status FROM applications WHERE application_no = ?", number)[0] == "SUBMITTED"
    assert first(repo, "SELECT COUNT(*) FROM status_events WHERE application_no = ?", number)[0] == 1


def test_withdrawn_application_cannot_be_reopened(repo: ShardRepository) -> None:
    number = ok(repo, SUBMIT, {"input": _submission(repo, "withdraw")}, APPLICANT)["submitApplication"]["application"]["applicationNo"]
    ok(repo, ADVANCE, {"no": number, "to": "WITHDRAWN"})
    message = error_message(repo, ADVANCE, {"no": number, "to": "ACCEPTED"})
    assert "WITHDRAWN" in message and "ACCEPTED" in message


def test_review_stages_cannot_be_skipped(repo: ShardRepository) -> None:
    number = ok(repo, SUBMIT, {"input": _submission(repo, "stages")}, APPLICANT)["submitApplication"]["application"]["applicationNo"]
    ok(repo, ADVANCE, {"no": number, "to": "ACCEPTED"})
    ok(repo, ADVANCE, {"no": number, "to": "IN_REVIEW"})
    message = error_message(repo, ADVANCE, {"no": number, "to": "COMPLETED"})
    assert "IN_REVIEW" in message and "COMPLETED" in message and "APPROVE" in message


def test_unfinished_application_cannot_be_rated(repo: ShardRepository) -> None:
    number = ok(repo, SUBMIT, {"input": _submission(repo, "rate-early")}, APPLICANT)["submitApplication"]["application"]["applicationNo"]
    message = error_message(repo, RATE, {"no": number, "level": "SATISFIED", "channel": "PC"}, APPLICANT)
    assert number in message and "SUBMITTED" in message
    assert first(repo, "SELECT COUNT(*) FROM evaluations WHERE application_no = ?", number)[0] == 0


# ---------------------------------------------------------------- queries and bad input


def test_track_application_needs_the_query_code(repo: ShardRepository) -> None:
    number, code = first(repo, "SELECT application_no, query_code FROM applications LIMIT 1")
    query = """query($no: ID!, $code: String!) { trackApplication(provinceCode: "440000", applicationNo: $no,
               queryCode: $code) { applicationNo status } }"""
    assert ok(repo, query, {"no": number, "code": code})["trackApplication"]["applicationNo"] == number
    wrong = "x" + code
    assert number in error_message(repo, query, {"no": number, "code": wrong})


def test_applications_are_listed_newest_first_and_filtered(repo: ShardRepository) -> None:
    data = ok(repo, '{ applications(first: 5, status: DELIVERED) { applicationNo status submittedAt } }')
    rows = data["applications"]
    assert len(rows) == 5 and {r["status"] for r in rows} == {"DELIVERED"}
    assert [r["submittedAt"] for r in rows] == sorted((r["submittedAt"] for r in rows), reverse=True)
    newest = first(repo, "SELECT MAX(submitted_at) FROM applications WHERE status = 'DELIVERED'")[0]
    assert rows[0]["submittedAt"] == newest
    page = ok(repo, 'query($b: ID) { applications(first: 2, status: DELIVERED, before: $b) { applicationNo } }',
              {"b": rows[1]["applicationNo"]})["applications"]
    assert [r["applicationNo"] for r in page] == [r["applicationNo"] for r in rows[2:4]]


def test_my_licences_and_halls(repo: ShardRepository) -> None:
    holder = first(repo, "SELECT holder_id FROM licences LIMIT 1")[0]
    licences = ok(repo, 'query($s: ID) { myLicences(provinceCode: "440000", subjectId: $s) '
                        '{ licenceId holder { subjectId } } }', {"s": holder})["myLicences"]
    assert licences and all(lic["holder"]["subjectId"] == holder for lic in licences)
    county = first(repo, "SELECT division_code FROM halls WHERE level = 'COUNTY'")[0]
    local = ok(repo, 'query($d: ID) { serviceHalls(provinceCode: "440000", divisionCode: $d) { division { code } } }',
               {"d": county})["serviceHalls"]
    assert local and {h["division"]["code"] for h in local} == {county}
    halls = ok(repo, '{ serviceHalls(provinceCode: "440000", crossProvinceOnly: true) { hallCode hasCrossProvinceWindow } }')
    assert halls["serviceHalls"] and all(h["hasCrossProvinceWindow"] for h in halls["serviceHalls"])


@pytest.mark.parametrize(("query", "named"), [
    ('{ implementationItem(provinceCode: "320000", taskCode: "x") { name } }', "'320000'"),
    ('{ implementationItem(provinceCode: "440000", taskCode: "NO-SUCH-TASK") { name } }', "'NO-SUCH-TASK'"),
    ('{ application(applicationNo: "12345") { status } }', "'12345'"),
    ('{ serviceHalls(provinceCode: "440000", divisionCode: "449999") { name } }', "'449999'"),
    ('{ application(applicationNo: "32000020250101000001") { status } }', "'32000020250101000001'"),
    ('{ _entities(representations: [{__typename: "CatalogItem", catalogCode: "ZZ9999999999"}]) { __typename } }',
     "'ZZ9999999999'"),
])
def test_bad_input_errors_name_the_value(repo: ShardRepository, query: str, named: str) -> None:
    assert named in error_message(repo, query)


def test_malformed_application_number_shows_expected_format(repo: ShardRepository) -> None:
    message = error_message(repo, '{ application(applicationNo: "44-abc") { status } }')
    assert "'44-abc'" in message and "yyyyMMdd" in message


def test_representation_without_its_key_field_is_a_clear_error(repo: ShardRepository) -> None:
    message = error_message(repo, '{ _entities(representations: [{__typename: "Application", provinceCode: "440000"}])'
                                  ' { __typename } }')
    assert "'applicationNo'" in message and "Application" in message


def test_licence_file_url_is_purpose_bound_and_every_call_is_audited(repo: ShardRepository) -> None:
    licence_id, application_no = first(
        repo, "SELECT licence_id, application_no FROM licences WHERE application_no IS NOT NULL")
    other_no = first(repo, "SELECT application_no FROM applications WHERE applicant_id != "
                           "(SELECT holder_id FROM licences WHERE licence_id = ?)", licence_id)[0]
    query = """query($r: [_Any!]!, $no: ID) { _entities(representations: $r) {
        ... on ELicence { fileUrl(purpose: {applicationNo: $no, reason: "办件材料核验"}) } } }"""
    def rep() -> list[dict[str, str]]:  # strawberry pops __typename from the representations it is given
        return [{"__typename": "ELicence", "provinceCode": "440000", "licenceId": licence_id}]

    before = first(repo, "SELECT COUNT(*) FROM data_access")[0]
    granted = ok(repo, query, {"r": rep(), "no": application_no})["_entities"][0]["fileUrl"]
    denied = ok(repo, query, {"r": rep(), "no": other_no})["_entities"][0]["fileUrl"]
    assert licence_id in granted and denied is None
    rows = repo.connection.execute(
        "SELECT outcome, application_no, purpose FROM data_access ORDER BY record_id DESC LIMIT 2").fetchall()
    assert first(repo, "SELECT COUNT(*) FROM data_access")[0] == before + 2
    assert [tuple(r) for r in rows] == [("DENIED", other_no, "办件材料核验"), ("GRANTED", application_no, "办件材料核验")]


def test_evaluation_ranking_entry_matches_division_metrics(repo: ShardRepository) -> None:
    fields = "provinceCode division { code } satisfactionRate onTimeCompletionRate onlineAvailabilityRate"
    ranking = ok(repo, f"{{ evaluationRanking {{ {fields} }} }}")["evaluationRanking"]
    entities = '{ _entities(representations: [{__typename: "Division", code: "440000"}]) '
    metrics = ok(repo, entities + f"{{ ... on Division {{ metrics {{ {fields} }} }} }} }}")["_entities"][0]["metrics"]
    assert ranking == [metrics]
    assert metrics["provinceCode"] == "440000" and metrics["division"] == {"code": "440000"}
