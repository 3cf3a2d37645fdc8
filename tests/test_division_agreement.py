"""National and provincial databases agree on divisions: every code a shard writes resolves nationally."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from portal_stack import gateway_config, query, start_gateway, start_portal

from resolvers import reference
from resolvers.datadir import national_db_path
from resolvers.national.seed import seed_national
from resolvers.provincial import codes
from resolvers.provincial.seed import seed_province

SCALE = 0.05

# Every place a shard writes a division code, as (description, SQL answering the codes).
DIVISION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("divisions", "SELECT code FROM divisions"),
    ("division parents", "SELECT parent_code FROM divisions WHERE parent_code IS NOT NULL"),
    ("agencies", "SELECT division_code FROM agencies"),
    ("agency credit codes", "SELECT substr(uscc, 3, 6) FROM agencies"),
    ("halls", "SELECT division_code FROM halls"),
    ("hall codes", "SELECT substr(hall_code, 1, 6) FROM halls"),
    ("items", "SELECT division_code FROM items"),
    ("handling divisions", "SELECT handling_division FROM applications WHERE handling_division IS NOT NULL"),
    ("receiving divisions", "SELECT receiving_division FROM applications WHERE receiving_division IS NOT NULL"),
)


@pytest.fixture(scope="module")
def national_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("national")
    seed_national(national_db_path(data_dir), SCALE)
    return national_db_path(data_dir)


@pytest.fixture(scope="module")
def national(national_db: Path) -> dict[str, tuple[str | None, str]]:
    """code -> (parent code, level) of every division in a seeded national database."""
    connection = sqlite3.connect(national_db)
    try:
        rows = connection.execute("SELECT code, parent_code, level FROM divisions").fetchall()
    finally:
        connection.close()
    return {code: (parent, level) for code, parent, level in rows}


def _codes_used(db_path: Path) -> dict[str, set[str]]:
    connection = sqlite3.connect(db_path)
    try:
        used = {name: {c for (c,) in connection.execute(sql)} for name, sql in DIVISION_COLUMNS}
        receiving = connection.execute(
            "SELECT receiving_divisions FROM items WHERE receiving_divisions IS NOT NULL"
        )
        used["item receiving divisions"] = {c for (text,) in receiving for c in text.split(",") if c}
        numbers = connection.execute("SELECT application_no FROM applications")
        prefixes = set()
        for (number,) in numbers:
            parsed = codes.parse_application_no(number)
            assert parsed is not None, number
            prefixes.add(parsed[0])
        used["application numbers"] = prefixes
    finally:
        connection.close()
    return used


@pytest.mark.parametrize("province", reference.PLATFORM_PROVINCES, ids=lambda p: p.code)
def test_every_division_code_of_a_seeded_shard_exists_nationally(
    province: reference.Province,
    national: dict[str, tuple[str | None, str]],
    tmp_path: Path,
) -> None:
    db_path = tmp_path / f"{province.code}.db"
    seed_province(db_path, province, SCALE)
    used = _codes_used(db_path)
    for place, found in used.items():
        unknown = sorted(c for c in found if c not in national)
        assert not unknown, f"{place} of {province.code} use codes the national database lacks: {unknown}"
    assert used["application numbers"], province.code
    for prefix in used["application numbers"]:
        assert prefix[:2] == province.prefix
        assert prefix == province.code or national[prefix][1] == "COUNTY", prefix
    assert any(national[c][1] == "COUNTY" for c in used["halls"]), "county halls exist"


def test_shard_division_tree_matches_the_national_one(
    national: dict[str, tuple[str | None, str]], tmp_path: Path
) -> None:
    province = reference.province("440000")
    assert province is not None
    db_path = tmp_path / "440000.db"
    seed_province(db_path, province, SCALE)
    connection = sqlite3.connect(db_path)
    try:
        shard = {code: (parent, level) for code, parent, level in
                 connection.execute("SELECT code, parent_code, level FROM divisions")}
    finally:
        connection.close()
    expected = {code: entry for code, entry in national.items() if code[:2] == "44"}
    assert shard == expected


def test_masked_identity_numbers_keep_a_prefecture_of_the_subjects_home_province(
    national_db: Path, national: dict[str, tuple[str | None, str]]
) -> None:
    connection = sqlite3.connect(national_db)
    try:
        rows = connection.execute(
            "SELECT subject_type, masked_certificate_no, home_division FROM subjects"
        ).fetchall()
    finally:
        connection.close()
    assert {kind for kind, _, _ in rows} == {"NATURAL_PERSON", "LEGAL_PERSON"}
    for kind, masked, home in rows:
        if kind == "NATURAL_PERSON":
            # A resident id starts with its county code; the mask keeps that code's prefecture part.
            parent, level = national.get(masked[:4] + "00", (None, ""))
            assert (parent, level) == (home, "PREFECTURAL"), masked
        else:
            # A credit code carries its division after two characters; the mask keeps the province.
            assert masked[2:4] == home[:2], masked

HALLS = """
query Halls($province: ID!) {
  serviceHalls(provinceCode: $province) {
    hallCode level
    division { code nameZh level parent { code } }
  }
}"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = start_portal(tmp_path_factory.mktemp("portal"))
    try:
        config = gateway_config(stack, tmp_path_factory.mktemp("gw") / "gateway.toml")
        process, url = start_gateway(config)
        try:
            yield url
        finally:
            process.stop()
    finally:
        stack.close()


@pytest.mark.parametrize("province_code", ["440000", "110000"])
def test_service_halls_name_their_prefecture_and_county_through_the_gateway(
    gateway: str, province_code: str
) -> None:
    reply = query(gateway, HALLS, {"province": province_code})
    assert "errors" not in reply, reply["errors"]
    halls = reply["data"]["serviceHalls"]
    by_level = {hall["level"]: hall for hall in halls}
    assert set(by_level) == {"PROVINCIAL", "MUNICIPAL", "COUNTY"}
    for hall in halls:
        division = hall["division"]
        code = division["code"]
        if code == province_code:
            expected = reference.province(code)
            assert expected is not None
            assert (division["nameZh"], division["level"]) == (expected.name_zh, "PROVINCIAL")
            continue
        entry = reference.division(code)
        assert entry is not None, code
        assert (division["nameZh"], division["level"], division["parent"]) == (
            entry.name_zh, entry.level, {"code": entry.parent_code},
        )
