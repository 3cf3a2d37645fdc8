"""Deterministic seed of the national database from the reference data.

Identities are generated raw (name, certificate number) and masked before they are
written, so the national database never holds a raw identity number.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from resolvers import reference
from resolvers.national.masking import (
    mask_certificate_no,
    mask_organisation_name,
    mask_person_name,
)
from resolvers.national.tables import TABLES

PERIODS: tuple[str, ...] = tuple(f"{year}-Q{q}" for year in (2024, 2025) for q in range(1, 5))
ASSESSMENT_YEARS: tuple[int, ...] = (2023, 2024, 2025)
CATALOGUE_VERSION = 1

# Weights of the five indices in the overall capability index; they sum to 1.
CAPABILITY_WEIGHTS: dict[str, float] = {
    "online_service_effectiveness": 0.30,
    "online_handling_maturity": 0.25,
    "service_channel_completeness": 0.15,
    "item_coverage": 0.15,
    "guide_accuracy": 0.15,
}

CERTIFICATE_RESIDENT_ID = "111"
CERTIFICATE_CREDIT_CODE = "49"

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅晨浩宇欣怡子涵梓轩思远佳琪雨萱俊杰文博一鸣诗涵嘉怡"
_TRADE_WORDS = "恒达华信瑞丰泰和鼎盛宏远金诚永安天成中兴新元博睿嘉禾润泽汇通景明"
_INDUSTRIES = ("科技", "贸易", "餐饮管理", "建筑工程", "物流", "医药", "文化传媒", "农业发展", "电子商务", "咨询服务")
_MANDATE_SCOPES = ("企业登记", "税务办理", "社保登记", "证照申领", "公积金缴存", "招投标")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def seed_national(db_path: Path, scale: float = 1.0) -> None:
    """Write the national database at `db_path`; the file appears only once it is complete."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
    tmp_path.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(tmp_path)
        try:
            connection.execute("PRAGMA journal_mode=OFF")
            connection.execute("PRAGMA synchronous=OFF")
            with connection:
                for statement in TABLES:
                    connection.execute(statement)
                _write(connection, scale)
            connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()
        os.replace(tmp_path, db_path)
    finally:
        tmp_path.unlink(missing_ok=True)


def seeded_scale(db_path: Path) -> float | None:
    """The scale an existing national database was seeded at; None if it cannot be read."""
    try:
        connection = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = 'scale'").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return None
    return float(row[0]) if row else None


def _write(connection: sqlite3.Connection, scale: float) -> None:
    rng = random.Random(f"govgraph-national:{scale!r}")
    connection.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("scale", repr(scale)), ("catalogue_version", str(CATALOGUE_VERSION))],
    )
    connection.executemany(
        "INSERT INTO divisions VALUES (?, NULL, 'PROVINCIAL', ?, ?, ?, ?, ?, ?, ?)",
        [
            (p.code, p.name_zh, p.name_pinyin, p.name_en, p.iso3166_2, p.division_type,
             int(p.has_platform), position)
            for position, p in enumerate(reference.PROVINCES)
        ],
    )
    # Prefectures and counties follow the provinces; each is served by its province's platform.
    connection.executemany(
        "INSERT INTO divisions VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, 0, ?)",
        [
            (d.code, d.parent_code, d.level, d.name_zh, d.name_pinyin, d.name_en, position)
            for position, d in enumerate(reference.DIVISIONS, start=len(reference.PROVINCES))
        ],
    )
    connection.executemany(
        "INSERT INTO departments VALUES (?, ?)",
        [(d.uscc, d.name) for d in reference.DEPARTMENTS],
    )
    connection.executemany(
        "INSERT INTO catalog_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (e.catalog_code, e.name, e.item_type, e.department_uscc, e.legal_time_limit,
             e.legal_time_unit, _json(e.service_objects), _json(e.use_levels),
             int(e.cross_province), e.cross_province_year, _json(e.cross_province_modes),
             e.result_licence_type, e.parent_code, e.law_name, CATALOGUE_VERSION)
            for e in reference.basic_catalogue(scale)
        ],
    )
    connection.executemany(
        "INSERT INTO licence_types VALUES (?, ?, ?, ?)",
        [(t.type_code, t.name, t.owner_uscc, t.holder_type) for t in reference.LICENCE_TYPES],
    )
    connection.executemany(
        "INSERT INTO shared_data_resources VALUES (?, ?, ?, ?, ?, ?)",
        [
            (r.resource_code, r.name, r.provider_uscc, r.share_type, r.share_conditions,
             _json(r.fields))
            for r in reference.SHARED_DATA_RESOURCES
        ],
    )
    subjects = list(_subjects(reference.subject_ids(scale), rng))
    connection.executemany("INSERT INTO subjects VALUES (?, ?, ?, ?, ?, ?, ?)", subjects)
    persons = [str(row[0]) for row in subjects if row[1] == "NATURAL_PERSON"]
    legal_persons = [str(row[0]) for row in subjects if row[1] == "LEGAL_PERSON"]
    connection.executemany(
        "INSERT INTO mandates VALUES (?, ?, ?, ?)", list(_mandates(legal_persons, persons, rng))
    )
    connection.executemany(
        "INSERT INTO evaluation_summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        list(_evaluation_summaries(scale, rng)),
    )
    connection.executemany(
        "INSERT INTO capability_assessments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        list(_capabilities(rng)),
    )


def _json(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def resident_id_number(region: str, birth: str, sequence: int) -> str:
    """An 18-digit GB 11643 citizen identity number with its ISO 7064 MOD 11-2 check character."""
    body = f"{region}{birth}{sequence:03d}"
    return body + _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]


def _subjects(ids: tuple[str, ...], rng: random.Random) -> Iterator[tuple[object, ...]]:
    platforms = reference.PLATFORM_PROVINCES
    # Identity numbers and credit codes carry real codes of the division table, so their
    # masked region prefix names a prefecture the national database knows.
    counties = {
        p.code: [c.code for f in reference.prefectures(p.code) for c in reference.counties(f.code)]
        for p in platforms
    }
    for subject_id in ids:
        home = rng.choice(platforms)
        if subject_id.startswith("P"):
            name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
            region = rng.choice(counties[home.code])
            birth = f"{rng.randrange(1950, 2008)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
            number = resident_id_number(region, birth, rng.randrange(1000))
            level = rng.choices(
                ("L2_SELF_DECLARED", "L3_TWO_FACTOR_REGISTRY", "L4_FACE_MATCH", "L5_CERT_OR_COUNTER"),
                weights=(10, 40, 35, 15),
            )[0]
            yield (subject_id, "NATURAL_PERSON", mask_person_name(name), CERTIFICATE_RESIDENT_ID,
                   mask_certificate_no(number), level, home.code)
        else:
            prefecture = rng.choice(reference.prefectures(home.code))
            city = (home if prefecture.name_zh == "市辖区" else prefecture).name_zh[:2]
            name = (city + rng.choice(_TRADE_WORDS) + rng.choice(_TRADE_WORDS)
                    + rng.choice(_INDUSTRIES) + "有限公司")
            division = prefecture.code
            code = reference.uscc("9", "1", division, f"{rng.randrange(10**8):08d}")
            level = rng.choice(("L3_TWO_FACTOR_REGISTRY", "L5_CERT_OR_COUNTER"))
            yield (subject_id, "LEGAL_PERSON", mask_organisation_name(name), CERTIFICATE_CREDIT_CODE,
                   mask_certificate_no(code), level, home.code)


def _mandates(
    legal_persons: list[str], persons: list[str], rng: random.Random
) -> Iterator[tuple[object, ...]]:
    for principal in legal_persons:
        for agent in sorted(rng.sample(persons, rng.choice((1, 1, 2)))):
            scope = sorted(rng.sample(_MANDATE_SCOPES, rng.randrange(1, 4)))
            valid_until = f"{rng.choice((2025, 2026, 2027))}-12-31" if rng.random() < 0.8 else None
            yield (principal, agent, _json(tuple(scope)), valid_until)


def _evaluation_summaries(scale: float, rng: random.Random) -> Iterator[tuple[object, ...]]:
    for p in reference.PLATFORM_PROVINCES:
        size = rng.uniform(0.5, 2.0)
        for period in PERIODS:
            total = max(10, round(40_000 * scale * size * rng.uniform(0.85, 1.15)))
            shares = [rng.uniform(0.002, 0.006), rng.uniform(0.004, 0.01), rng.uniform(0.02, 0.05),
                      rng.uniform(0.15, 0.25)]
            counts = [round(total * s) for s in shares]
            counts.append(total - sum(counts))
            negative = counts[0] + counts[1]
            rectified = round(rng.uniform(0.92, 1.0), 4) if negative else None
            callback = round(rng.uniform(0.95, 1.0), 4) if negative else None
            yield (p.code, period, total, *counts, rectified, callback)


def capability_level(overall: float) -> str:
    """The band of an overall index: ≥ 90 very high, 80–90 high, 70–80 medium, below low."""
    if overall >= 90:
        return "VERY_HIGH"
    if overall >= 80:
        return "HIGH"
    if overall >= 70:
        return "MEDIUM"
    return "LOW"


def _capabilities(rng: random.Random) -> Iterator[tuple[object, ...]]:
    for p in reference.PLATFORM_PROVINCES:
        baseline = rng.uniform(66.0, 92.0)
        for offset, year in enumerate(ASSESSMENT_YEARS):
            level = baseline + offset * rng.uniform(0.5, 3.0)
            indices = {name: round(min(99.5, max(40.0, level + rng.uniform(-6, 6))), 2)
                       for name in CAPABILITY_WEIGHTS}
            overall = round(sum(indices[n] * w for n, w in CAPABILITY_WEIGHTS.items()), 2)
            yield (p.code, year, overall, capability_level(overall), *indices.values())
