"""The national subgraph over real HTTP: federation SDL, batched `_entities`, queries, bad input."""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from internal_tokens import as_caller, write_key

from resolvers import reference
from resolvers.datadir import national_db_path
from resolvers.national.seed import seed_national
from subgraphs.claims import ClaimsGate
from subgraphs.national.app import create_app
from subgraphs.national.schema import print_sdl

SCALE = 0.05


@dataclass
class Subgraph:
    """A national subgraph served by uvicorn on a free port, with its SQL statements recorded.

    Requests come from a national officer with a stated purpose unless `headers` say otherwise."""

    url: str
    connection: sqlite3.Connection
    key_file: Path
    statements: list[str] = field(default_factory=list)

    def post(self, query: str, variables: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        caller = as_caller(self.key_file, "national", sub="N0001", purpose="跨省通办核验") if headers is None else headers
        request = urllib.request.Request(
            self.url + "/graphql", data=body, method="POST",
            headers={"content-type": "application/json", **caller},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def query(self, query: str, variables: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        status, payload = self.post(query, variables, headers)
        assert status == 200, payload
        assert "errors" not in payload, payload["errors"]
        data: dict[str, Any] = payload["data"]
        return data

    def selects_on(self, table: str) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT")
                and re.search(rf"\bFROM {table}\b", s)]


@pytest.fixture(scope="module")
def subgraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Subgraph]:
    data_dir: Path = tmp_path_factory.mktemp("national")
    seed_national(national_db_path(data_dir), SCALE)
    key_file = write_key(data_dir)
    app = create_app(data_dir, key_file.read_bytes().strip())
    assert isinstance(app, ClaimsGate)
    connection: sqlite3.Connection = app.app.state.repository.connection  # type: ignore[attr-defined]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (server.started and server.servers):
        assert time.monotonic() < deadline, "the national subgraph did not start"
        assert thread.is_alive(), "the national subgraph stopped while starting"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    handle = Subgraph(f"http://127.0.0.1:{port}", connection, key_file)
    connection.set_trace_callback(handle.statements.append)
    try:
        yield handle
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def sql(subgraph: Subgraph) -> Subgraph:
    subgraph.statements.clear()
    return subgraph


ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Division { code nameZh }
    ... on Department { uscc name }
    ... on CatalogItem { catalogCode name }
    ... on LicenceType { typeCode name }
    ... on SharedDataResource { resourceCode name }
    ... on Subject { subjectId maskedName maskedCertificateNo }
  }
}
"""


def test_health_answers_ok(subgraph: Subgraph) -> None:
    with urllib.request.urlopen(subgraph.url + "/health", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read())["status"] == "ok"


def test_service_sdl_is_a_federation_v2_sdl_with_a_key_on_every_entity(subgraph: Subgraph) -> None:
    sdl = subgraph.query("{ _service { sdl } }")["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl
    for entity, key in [
        ("Division", "code"), ("Department", "uscc"), ("CatalogItem", "catalogCode"),
        ("LicenceType", "typeCode"), ("SharedDataResource", "resourceCode"),
        ("Subject", "subjectId"),
    ]:
        assert f'type {entity} @key(fields: "{key}")' in sdl
    assert "type TimeLimit @shareable" in sdl
    assert sdl == print_sdl()


def _entities(subgraph: Subgraph, typename: str, key: str, values: list[str]) -> list[Any]:
    representations = [{"__typename": typename, key: value} for value in values]
    data = subgraph.query(ENTITIES, {"representations": representations})
    entities: list[Any] = data["_entities"]
    return entities


def test_division_entities_resolve_in_order_with_one_query(sql: Subgraph) -> None:
    codes = ["650000", "440000", "990000", "110000", "440000"]
    result = _entities(sql, "Division", "code", codes)
    expected = [reference.province(c) for c in codes]
    assert [r and r["code"] for r in result] == [p and p.code for p in expected]
    assert [r and r["nameZh"] for r in result] == [p and p.name_zh for p in expected]
    assert len(sql.selects_on("divisions")) == 1


def test_prefecture_and_county_entities_resolve_in_one_query(sql: Subgraph) -> None:
    codes = ["440103", "440100", "110101", "440199"]
    result = _entities(sql, "Division", "code", codes)
    assert [r and (r["code"], r["nameZh"]) for r in result] == [
        ("440103", "荔湾区"), ("440100", "广州市"), ("110101", "东城区"), None,
    ]
    assert len(sql.selects_on("divisions")) == 1


def test_county_resolves_with_its_prefecture_and_province_as_parents(subgraph: Subgraph) -> None:
    data = subgraph.query("""{
      division(code: "440103") {
        code nameZh nameEn level hasPlatform type
        parent { code nameZh level parent { code nameZh level parent { code } } }
      }
    }""")
    assert data["division"] == {
        "code": "440103", "nameZh": "荔湾区", "nameEn": "Liwan District", "level": "COUNTY",
        "hasPlatform": False, "type": None,
        "parent": {
            "code": "440100", "nameZh": "广州市", "level": "PREFECTURAL",
            "parent": {"code": "440000", "nameZh": "广东省", "level": "PROVINCIAL", "parent": None},
        },
    }


def test_children_of_a_province_are_its_prefectures_and_of_a_prefecture_its_counties(
    sql: Subgraph,
) -> None:
    data = sql.query("""{
      guangdong: division(code: "440000") { children { code level children { code level } } }
      beijing: division(code: "110000") { children { code children { code nameZh } } }
      county: division(code: "440103") { children { code } }
    }""")
    prefectures = data["guangdong"]["children"]
    assert [p["code"] for p in prefectures] == [p.code for p in reference.prefectures("440000")]
    assert all(p["level"] == "PREFECTURAL" for p in prefectures)
    for prefecture in prefectures:
        assert [c["code"] for c in prefecture["children"]] == [
            c.code for c in reference.counties(prefecture["code"])
        ]
        assert all(c["level"] == "COUNTY" for c in prefecture["children"])
    beijing = data["beijing"]["children"]
    assert [p["code"] for p in beijing] == ["110100"]
    assert {"code": "110101", "nameZh": "东城区"} in beijing[0]["children"]
    assert data["county"]["children"] == []
    # One statement per level of the tree, however many prefectures it has.
    assert len([s for s in sql.selects_on("divisions") if "parent_code IN" in s]) == 2


def test_catalog_item_entities_resolve_in_order_with_one_query(sql: Subgraph) -> None:
    catalogue = reference.basic_catalogue(SCALE)
    wanted = [catalogue[7], catalogue[0], catalogue[19]]
    codes = [wanted[0].catalog_code, "019990009000", wanted[1].catalog_code, wanted[2].catalog_code]
    result = _entities(sql, "CatalogItem", "catalogCode", codes)
    assert result[1] is None
    assert [(r["catalogCode"], r["name"]) for r in result if r] == [
        (e.catalog_code, e.name) for e in wanted
    ]
    assert len(sql.selects_on("catalog_items")) == 1


def test_department_licence_type_and_resource_entities_are_batched(sql: Subgraph) -> None:
    departments = list(reference.DEPARTMENTS[:6])
    result = _entities(sql, "Department", "uscc", [d.uscc for d in departments])
    assert [(r["uscc"], r["name"]) for r in result] == [(d.uscc, d.name) for d in departments]

    licences = list(reversed(reference.LICENCE_TYPES[:8]))
    result = _entities(sql, "LicenceType", "typeCode", [t.type_code for t in licences])
    assert [(r["typeCode"], r["name"]) for r in result] == [(t.type_code, t.name) for t in licences]

    resources = list(reference.SHARED_DATA_RESOURCES[3:9])
    result = _entities(sql, "SharedDataResource", "resourceCode", [r.resource_code for r in resources])
    assert [r["name"] for r in result] == [r.name for r in resources]

    assert len(sql.selects_on("departments")) == 1
    assert len(sql.selects_on("licence_types")) == 1
    assert len(sql.selects_on("shared_data_resources")) == 1


def test_every_subject_id_resolves_masked_and_in_one_query(sql: Subgraph) -> None:
    ids = list(reference.subject_ids(SCALE))
    result = _entities(sql, "Subject", "subjectId", ids)
    assert [r["subjectId"] for r in result] == ids
    assert len(sql.selects_on("subjects")) == 1
    for subject in result:
        assert re.fullmatch(r"[0-9A-Z]{4}\*{10}[0-9A-Z]{4}", subject["maskedCertificateNo"])
        assert "*" in subject["maskedName"]


def test_mixed_entity_batch_costs_one_query_per_type(sql: Subgraph) -> None:
    representations = [
        {"__typename": "Division", "code": "440000"},
        {"__typename": "Subject", "subjectId": reference.subject_ids(SCALE)[0]},
        {"__typename": "Division", "code": "110000"},
        {"__typename": "Subject", "subjectId": reference.subject_ids(SCALE)[-1]},
        {"__typename": "Department", "uscc": reference.DEPARTMENTS[0].uscc},
    ]
    result = sql.query(ENTITIES, {"representations": representations})["_entities"]
    assert [r["__typename"] for r in result] == [r["__typename"] for r in representations]
    assert result[2]["nameZh"] == "北京市"
    assert len(sql.selects_on("divisions")) == 1
    assert len(sql.selects_on("subjects")) == 1
    assert len(sql.selects_on("departments")) == 1


def test_nested_departments_of_a_search_are_loaded_in_one_query(sql: Subgraph) -> None:
    data = sql.query("{ searchCatalog(first: 20) { catalogCode responsibleDepartment { name } } }")
    items = data["searchCatalog"]
    assert len(items) == 20
    by_uscc = {d.uscc: d.name for d in reference.DEPARTMENTS}
    by_code = {e.catalog_code: by_uscc[e.department_uscc] for e in reference.basic_catalogue(SCALE)}
    assert [i["responsibleDepartment"]["name"] for i in items] == [
        by_code[i["catalogCode"]] for i in items
    ]
    assert len(sql.selects_on("departments")) == 1


def test_provinces_lists_31_platforms_or_all_34(subgraph: Subgraph) -> None:
    platforms = subgraph.query("{ provinces { code hasPlatform } }")["provinces"]
    assert [p["code"] for p in platforms] == [p.code for p in reference.PLATFORM_PROVINCES]
    everything = subgraph.query("{ provinces(includeNonFederated: true) { code iso3166_2 type } }")
    assert len(everything["provinces"]) == 34
    assert everything["provinces"][-1] == {"code": "820000", "iso3166_2": "CN-MO", "type": "SAR"}


def test_division_capability_and_evaluation_summary(subgraph: Subgraph) -> None:
    data = subgraph.query("""{
      division(code: "440000") {
        nameEn
        capability(year: 2025) { year level overallIndex onlineServiceEffectiveness
          onlineHandlingMaturity serviceChannelCompleteness itemCoverage guideAccuracy
          division { code } }
        before: capability(year: 2010) { year }
        evaluationSummary(period: "2025-Q2") { period total byLevel { level count } }
      }
    }""")
    division = data["division"]
    assert division["nameEn"] == "Guangdong"
    assert division["before"] is None
    capability = division["capability"]
    assert capability["division"] == {"code": "440000"}
    overall = capability["overallIndex"]
    band = "VERY_HIGH" if overall >= 90 else "HIGH" if overall >= 80 else (
        "MEDIUM" if overall >= 70 else "LOW")
    assert capability["level"] == band
    indices = [capability[k] for k in ("onlineServiceEffectiveness", "onlineHandlingMaturity",
                                       "serviceChannelCompleteness", "itemCoverage", "guideAccuracy")]
    assert min(indices) <= overall <= max(indices)
    summary = division["evaluationSummary"]
    assert summary["period"] == "2025-Q2"
    assert [c["level"] for c in summary["byLevel"]] == [1, 2, 3, 4, 5]
    assert sum(c["count"] for c in summary["byLevel"]) == summary["total"] > 0


def test_catalog_item_exposes_its_parent_department_and_cross_province_listing(
    subgraph: Subgraph,
) -> None:
    entry = next(e for e in reference.basic_catalogue(1.0) if e.parent_code and e.cross_province)
    catalogue_at_scale = {e.catalog_code for e in reference.basic_catalogue(SCALE)}
    if entry.catalog_code not in catalogue_at_scale:
        entry = next(e for e in reference.basic_catalogue(SCALE) if e.parent_code is None)
    data = subgraph.query(
        """query($code: ID!) { catalogItem(catalogCode: $code) {
             catalogCode name itemType parent { catalogCode }
             legalTimeLimit { value unit } crossProvince { nationalHighFrequency modes }
             responsibleDepartment { uscc } } }""",
        {"code": entry.catalog_code},
    )["catalogItem"]
    assert data["name"] == entry.name
    assert data["itemType"] == entry.item_type
    assert data["parent"] == ({"catalogCode": entry.parent_code} if entry.parent_code else None)
    assert data["legalTimeLimit"] == {"value": entry.legal_time_limit, "unit": entry.legal_time_unit}
    assert data["crossProvince"]["nationalHighFrequency"] is entry.cross_province
    assert data["responsibleDepartment"] == {"uscc": entry.department_uscc}


def test_search_catalog_filters_by_keyword_type_and_cross_province(subgraph: Subgraph) -> None:
    catalogue = reference.basic_catalogue(SCALE)
    word = catalogue[0].name[:2]
    data = subgraph.query(
        "query($w: String) { searchCatalog(keyword: $w, first: 500) { name } }", {"w": word}
    )
    assert [i["name"] for i in data["searchCatalog"]] == [e.name for e in catalogue if word in e.name]
    data = subgraph.query(
        "{ searchCatalog(itemType: ADMINISTRATIVE_LICENSING, crossProvinceOnly: true, first: 500)"
        " { itemType crossProvince { nationalHighFrequency } } }"
    )
    expected = [e for e in catalogue if e.item_type == "ADMINISTRATIVE_LICENSING" and e.cross_province]
    assert len(data["searchCatalog"]) == len(expected)
    assert all(i["crossProvince"]["nationalHighFrequency"] for i in data["searchCatalog"])
    literal = subgraph.query('{ searchCatalog(keyword: "%") { name } }')["searchCatalog"]
    assert literal == []


def test_shared_data_resources_filter_by_share_type(subgraph: Subgraph) -> None:
    data = subgraph.query(
        "{ sharedDataResources(shareType: CONDITIONAL) { name shareConditions provider { name } } }"
    )
    expected = [r for r in reference.SHARED_DATA_RESOURCES if r.share_type == "CONDITIONAL"]
    assert sorted(r["name"] for r in data["sharedDataResources"]) == sorted(r.name for r in expected)
    assert all(r["shareConditions"] and r["provider"]["name"] for r in data["sharedDataResources"])


def test_me_is_null_without_identity_and_the_subject_with_one(subgraph: Subgraph) -> None:
    assert subgraph.query("{ me { subjectId } }", headers={}) == {"me": None}
    legal_person = reference.subject_ids(SCALE)[-1]
    data = subgraph.query(
        "{ me { subjectId type certificateType mandates { scope agent { subjectId type } } } }",
        headers=as_caller(subgraph.key_file, "enterprise", sub=legal_person),
    )
    me = data["me"]
    assert me["subjectId"] == legal_person
    assert (me["type"], me["certificateType"]) == ("LEGAL_PERSON", "49")
    assert me["mandates"], "every legal person has mandated at least one agent"
    assert all(m["agent"]["type"] == "NATURAL_PERSON" for m in me["mandates"])


def test_subject_exposes_no_raw_identity_field(subgraph: Subgraph) -> None:
    data = subgraph.query('{ __type(name: "Subject") { fields { name } } }')
    names = {f["name"] for f in data["__type"]["fields"]}
    assert {"maskedName", "maskedCertificateNo"} <= names
    assert not {"name", "certificateNo", "idNumber"} & names


def test_unknown_licence_type_is_null_not_an_error(subgraph: Subgraph) -> None:
    assert subgraph.query('{ licenceType(typeCode: "nope") { name } }') == {"licenceType": None}
    known = reference.LICENCE_TYPES[0]
    data = subgraph.query(
        "query($c: ID!) { licenceType(typeCode: $c) { name holderType owner { uscc } } }",
        {"c": known.type_code},
    )
    assert data["licenceType"] == {
        "name": known.name, "holderType": known.holder_type, "owner": {"uscc": known.owner_uscc},
    }


MALFORMED_ENTITY = (
    '{ _entities(representations: [{__typename: "CatalogItem", catalogCode: "AB"}])'
    " { __typename } }"
)

UNKNOWN_TYPENAME = (
    '{ _entities(representations: [{__typename: "Province", code: "440000"}]) { __typename } }'
)
MISSING_KEY = '{ _entities(representations: [{__typename: "Division"}]) { __typename } }'


def _error(subgraph: Subgraph, query: str) -> str:
    status, payload = subgraph.post(query)
    assert status == 200, payload
    assert payload.get("errors"), payload
    message: str = payload["errors"][0]["message"]
    return message


@pytest.mark.parametrize(
    ("query", "fragments"),
    [
        ('{ catalogItem(catalogCode: "XYZ") { name } }', ['"XYZ"', "12"]),
        ('{ catalogItem(catalogCode: "019990009000") { name } }', ['"019990009000"', "Unknown"]),
        ('{ division(code: "44") { nameZh } }', ['"44"', "6 digits"]),
        ('{ division(code: "990000") { nameZh } }', ['"990000"', "Unknown division"]),
        ('{ division(code: "440000") { evaluationSummary(period: "2025Q1") { total } } }',
         ['"2025Q1"', "2025-Q1"]),
        ("{ searchCatalog(first: 0) { name } }", ["first", "0"]),
        (MALFORMED_ENTITY, ['"AB"', "12"]),
        (UNKNOWN_TYPENAME, ["'Province'", "Division"]),
        (MISSING_KEY, ['"code"', "Division"]),
    ],
)
def test_bad_input_is_a_graphql_error_naming_the_value(
    subgraph: Subgraph, query: str, fragments: list[str]
) -> None:
    message = _error(subgraph, query)
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message


def test_an_invalid_query_is_answered_with_an_error_not_a_500(subgraph: Subgraph) -> None:
    status, payload = subgraph.post("{ catalogItem { name } }")
    assert status in (200, 400)
    assert "catalogCode" in payload["errors"][0]["message"]
