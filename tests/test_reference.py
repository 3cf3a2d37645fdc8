"""The national reference data: real division codes, a deterministic catalogue and subject list."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from resolvers import reference

ROOT = Path(__file__).resolve().parent.parent

# GB/T 2260 codes of the 31 platforms, as DOMAIN.md lists them.
PLATFORM_CODES = [
    "110000",
    "120000",
    "130000",
    "140000",
    "150000",
    "210000",
    "220000",
    "230000",
    "310000",
    "320000",
    "330000",
    "340000",
    "350000",
    "360000",
    "370000",
    "410000",
    "420000",
    "430000",
    "440000",
    "450000",
    "460000",
    "500000",
    "510000",
    "520000",
    "530000",
    "540000",
    "610000",
    "620000",
    "630000",
    "640000",
    "650000",
]


def test_the_31_platform_provinces_have_the_real_gb_t_2260_codes() -> None:
    assert [p.code for p in reference.PLATFORM_PROVINCES] == PLATFORM_CODES
    assert all(p.has_platform for p in reference.PLATFORM_PROVINCES)
    assert reference.province("44") == reference.province("440000")
    guangdong = reference.province("440000")
    assert guangdong is not None
    assert (guangdong.name_zh, guangdong.name_en, guangdong.iso3166_2) == (
        "广东省",
        "Guangdong",
        "CN-GD",
    )
    assert guangdong.division_type == "PROVINCE"
    assert reference.province("540000").name_zh == "西藏自治区"  # type: ignore[union-attr]


def test_taiwan_hong_kong_and_macao_are_listed_without_a_platform() -> None:
    assert len(reference.PROVINCES) == 34
    listed_only = [p for p in reference.PROVINCES if not p.has_platform]
    assert [(p.code, p.division_type) for p in listed_only] == [
        ("710000", "CLAIMED_PROVINCE"),
        ("810000", "SAR"),
        ("820000", "SAR"),
    ]


def test_province_lookup_answers_none_for_unknown_or_malformed_codes() -> None:
    for value in ("99", "990000", "440100", "4", "abcdef", ""):
        assert reference.province(value) is None, value


def test_iso_codes_follow_the_table_order() -> None:
    expected = "BJ TJ HE SX NM LN JL HL SH JS ZJ AH FJ JX SD HA HB HN GD GX HI CQ SC GZ YN XZ SN GS QH NX XJ"
    assert [p.iso3166_2 for p in reference.PLATFORM_PROVINCES] == [
        f"CN-{c}" for c in expected.split()
    ]


def test_catalogue_at_scale_one_has_at_least_300_unique_twelve_character_codes() -> None:
    catalogue = reference.basic_catalogue(1.0)
    codes = [e.catalog_code for e in catalogue]
    assert len(catalogue) >= 300
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 12 for code in codes)
    assert codes == sorted(codes)


def test_catalogue_entries_reference_known_parents_departments_and_licence_types() -> None:
    catalogue = reference.basic_catalogue(1.0)
    codes = {e.catalog_code for e in catalogue}
    departments = {d.uscc for d in reference.DEPARTMENTS}
    licence_types = {t.type_code for t in reference.LICENCE_TYPES}
    for entry in catalogue:
        assert entry.item_type in reference.ITEM_TYPE_CODES
        assert entry.catalog_code.startswith(reference.ITEM_TYPE_CODES[entry.item_type])
        assert entry.department_uscc in departments
        assert entry.parent_code is None or entry.parent_code in codes
        assert entry.result_licence_type is None or entry.result_licence_type in licence_types
        assert entry.legal_time_limit > 0
        assert entry.service_objects
    assert any(e.parent_code for e in catalogue), "sub-items (子项) exist"
    assert "食品经营许可" in {e.name for e in catalogue}


def test_about_140_items_are_on_the_cross_province_list_at_scale_one() -> None:
    listed = [e for e in reference.basic_catalogue(1.0) if e.cross_province]
    assert len(listed) == reference.CROSS_PROVINCE_ITEMS
    assert (
        sum(e.cross_province_year == 2020 for e in listed) == reference.CROSS_PROVINCE_FIRST_BATCH
    )
    assert all(e.cross_province_modes and "FULL_ONLINE" in e.cross_province_modes for e in listed)
    unlisted = [e for e in reference.basic_catalogue(1.0) if not e.cross_province]
    assert all(e.cross_province_modes == () and e.cross_province_year is None for e in unlisted)


def test_catalogue_size_follows_the_scale_and_smaller_scales_are_subsets() -> None:
    small, full, large = (reference.basic_catalogue(s) for s in (0.05, 1.0, 2.0))
    assert len(small) == 20
    assert len(large) > len(full)
    assert set(small) <= set(full) <= set(large)
    assert len({e.catalog_code for e in large}) == len(large)


def test_departments_have_valid_unified_social_credit_codes() -> None:
    for department in reference.DEPARTMENTS:
        assert reference.uscc_is_valid(department.uscc), department
        assert department.uscc[2:8] == "100000"
    assert not reference.uscc_is_valid("111000000000751923")
    assert "国家市场监督管理总局" in {d.name for d in reference.DEPARTMENTS}


def test_licence_types_and_shared_resources_belong_to_known_departments() -> None:
    departments = {d.uscc for d in reference.DEPARTMENTS}
    names = {t.name for t in reference.LICENCE_TYPES}
    assert {"营业执照", "食品经营许可证", "居民户口簿", "结婚证", "机动车驾驶证"} <= names
    for licence in reference.LICENCE_TYPES:
        assert licence.owner_uscc in departments
        assert licence.type_code.startswith(licence.owner_uscc) and len(licence.type_code) == 21
        assert licence.holder_type in ("NATURAL_PERSON", "LEGAL_PERSON")
    for resource in reference.SHARED_DATA_RESOURCES:
        assert resource.provider_uscc in departments
        assert (resource.share_conditions is not None) == (resource.share_type == "CONDITIONAL")
        assert resource.fields


def test_subject_ids_are_persons_then_legal_persons_and_unique() -> None:
    ids = reference.subject_ids(1.0)
    persons = [i for i in ids if i.startswith("P")]
    legal = [i for i in ids if i.startswith("L")]
    assert (len(persons), len(legal)) == (5000, 1000)
    assert ids == tuple(persons + legal)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[PL]\d{11}", i) for i in ids)
    assert set(reference.subject_ids(0.05)) <= set(ids)


def _fingerprint_in_fresh_interpreter(hash_seed: str) -> str:
    code = (
        "import hashlib; from resolvers import reference as r; "
        "print(hashlib.sha256(repr((r.basic_catalogue(1.0), r.subject_ids(0.3), r.DEPARTMENTS, "
        "r.LICENCE_TYPES, r.SHARED_DATA_RESOURCES)).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def test_reference_data_is_identical_in_every_interpreter() -> None:
    here = hashlib.sha256(
        repr(
            (
                reference.basic_catalogue(1.0),
                reference.subject_ids(0.3),
                reference.DEPARTMENTS,
                reference.LICENCE_TYPES,
                reference.SHARED_DATA_RESOURCES,
            )
        ).encode()
    ).hexdigest()
    assert _fingerprint_in_fresh_interpreter("1") == here
    assert _fingerprint_in_fresh_interpreter("4242") == here


def test_every_platform_province_has_prefectures_with_counties_under_unique_codes() -> None:
    codes = [d.code for d in reference.DIVISIONS]
    assert len(codes) == len(set(codes))
    assert not set(codes) & {p.code for p in reference.PROVINCES}
    for p in reference.PLATFORM_PROVINCES:
        prefectures = reference.prefectures(p.code)
        expected = 1 if p.prefix in reference.MUNICIPALITY_PREFIXES else 3
        assert len(prefectures) >= expected, p.code
        for prefecture in prefectures:
            assert re.fullmatch(rf"{p.prefix}\d\d00", prefecture.code), prefecture
            assert prefecture.level == "PREFECTURAL" and prefecture.parent_code == p.code
            counties = reference.counties(prefecture.code)
            assert 3 <= len(counties) <= 8, prefecture
            for county in counties:
                assert county.code[:4] == prefecture.code[:4] and county.code[4:] != "00", county
                assert county.level == "COUNTY"
                assert reference.division(county.code) == county
    assert not reference.prefectures("710000") and not reference.prefectures("440100")


def test_each_county_sits_under_a_prefecture_of_its_own_province() -> None:
    by_code = {d.code: d for d in reference.DIVISIONS}
    counties = [d for d in reference.DIVISIONS if d.level == "COUNTY"]
    assert len(counties) > 2 * len(reference.PLATFORM_PROVINCES)
    for county in counties:
        parent = by_code[county.parent_code]
        assert parent.level == "PREFECTURAL", county
        assert parent.parent_code[:2] == county.code[:2], county
        assert reference.province(parent.parent_code) is not None


def test_capitals_and_municipal_districts_carry_their_real_codes_and_names() -> None:
    expected = {
        "440100": ("广州市", "Guangzhou City", "440000"),
        "440103": ("荔湾区", "Liwan District", "440100"),
        "110100": ("市辖区", "City Districts", "110000"),
        "110101": ("东城区", "Dongcheng District", "110100"),
        "310115": ("浦东新区", "Pudong Xin District", "310100"),
        "650100": ("乌鲁木齐市", "Wulumuqi City", "650000"),
    }
    for code, (name_zh, name_en, parent) in expected.items():
        entry = reference.division(code)
        assert entry is not None, code
        assert (entry.name_zh, entry.name_en, entry.parent_code) == (name_zh, name_en, parent)
    assert reference.division("440000") is None and reference.division("999999") is None
    assert [d.code for d in reference.prefectures("110000")] == ["110100"]


def test_division_table_is_identical_in_every_interpreter() -> None:
    code = (
        "import hashlib; from resolvers import reference as r; "
        "print(hashlib.sha256(repr(r.DIVISIONS).encode()).hexdigest())"
    )
    here = hashlib.sha256(repr(reference.DIVISIONS).encode()).hexdigest()
    for hash_seed in ("1", "4242"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert out.stdout.strip() == here
