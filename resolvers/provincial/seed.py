"""Deterministic demo data for one provincial shard.

``seed_province`` derives everything from ``random.Random(f"{code}:{scale}")`` and never reads
the clock, so the same province and scale always give the same database. The first few
persons and legal persons of ``subject_ids(scale)`` get an application in every province, so the national
portal has people whose records span all shards.
"""
from __future__ import annotations

import functools
import json
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from resolvers import reference
from resolvers.national.seed import resident_id_number
from resolvers.provincial import codes, lifecycle
from resolvers.provincial.calendar import (
    CHINA,
    add_working_days,
    office_moment,
    timestamp,
    working_days_between,
    years_later,
)
from resolvers.provincial.storage import SCHEMA_VERSION, connect, create_schema
from resolvers.reference import (
    LICENCE_TYPES,
    PLATFORM_PROVINCES,
    CatalogEntry,
    Province,
    basic_catalogue,
    subject_ids,
    uscc,
)

HORIZON = datetime(2025, 12, 31, 18, 0, tzinfo=CHINA)
"""Seeded histories stop here, so late applications are still in progress."""
FIRST_DAY = datetime(2024, 1, 2, 9, 0, tzinfo=CHINA)
DEMO_SUBJECTS = 8
"""Persons (plus two legal persons) with one application in every province (cross-province demo)."""

PROVINCIAL_DEPARTMENTS = (
    "公安厅", "市场监督管理局", "人力资源和社会保障厅", "住房和城乡建设厅", "交通运输厅",
    "卫生健康委员会", "教育厅", "民政厅", "自然资源厅", "生态环境厅", "医疗保障局", "商务厅",
)
COUNTY_DEPARTMENTS = ("市场监督管理局", "人力资源和社会保障局", "民政局", "行政审批局")
LOCAL_SERVICES = (
    "居住证签注", "人才引进落户", "高层次人才认定", "老年人优待证办理", "新生儿出生一件事",
    "企业开办一件事", "灵活就业人员社保登记", "公租房申请", "住房公积金提取", "残疾人两项补贴申领",
    "高龄津贴申领", "不动产登记信息查询", "港澳台居民居住证申领", "职业技能等级认定", "创业担保贷款申请",
    "义务教育入学登记", "特困人员认定", "临时救助申请", "犬只登记", "烟花爆竹零售许可",
    "户外广告设置审批", "城市道路占用许可", "出租汽车驾驶员从业资格注册", "文物保护单位修缮审批",
    "旅行社分社备案", "医疗机构校验", "养老机构备案", "食品小作坊登记",
)
MATERIALS = (
    ("居民身份证", "政府部门核发"), ("营业执照", "政府部门核发"), ("申请表", "申请人自备"),
    ("户口簿", "政府部门核发"), ("授权委托书", "申请人自备"), ("不动产权证书", "政府部门核发"),
    ("场所使用证明", "申请人自备"), ("章程", "申请人自备"), ("近期免冠照片", "申请人自备"),
    ("婚姻状况证明", "政府部门核发"), ("社保缴费证明", "政府部门核发"),
)
DEPTHS = ("IV_FULL_ONLINE", "III_ONLINE_PRE_REVIEW", "II_DOWNLOAD_OR_BOOK", "I_GUIDE_ONLY")
LEVELS = ("VERY_SATISFIED", "SATISFIED", "BASICALLY_SATISFIED", "DISSATISFIED", "VERY_DISSATISFIED")
DIMENSIONS = ("办事效率", "办事指南精确度", "服务态度")
SUSPENSION_REASONS = ("听证", "现场核查", "专家评审", "检验检测", "公示")
SUPPLEMENT_ITEMS = ("身份证明复印件不清晰", "缺少授权委托书", "申请表未签字", "场所证明过期")


@dataclass(slots=True)
class Agency:
    uscc: str
    name: str
    nature: str
    division_code: str


@dataclass(slots=True)
class Item:
    task_code: str
    division_code: str
    agency: Agency
    promised_days: int
    immediate: bool
    result_licence_type: str | None
    cross_modes: tuple[str, ...]
    serves_persons: bool
    hall_codes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Rows:
    """Rows per table, inserted with one executemany each inside a single transaction."""

    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, *values: Any) -> None:
        self.tables.setdefault(table, []).append(values)


def seed_province(db_path: Path, province: Province, scale: float) -> None:
    """Write the shard database of `province` at `db_path` (atomically: temp file, then rename)."""
    rng = random.Random(f"{province.code}:{scale}")
    rows = Rows()
    rows.add("meta", "province_code", province.code)
    rows.add("meta", "scale", repr(scale))
    rows.add("meta", "schema_version", SCHEMA_VERSION)
    names = _divisions(province, rows)
    counties = [code for code in names if code[4:] != "00"]
    agencies, county_agencies = _agencies(rng, province, names, counties, rows)
    halls = _halls(rng, province, names, counties, rows)
    catalogue = basic_catalogue(scale)
    for entry in catalogue:
        rows.add(
            "catalogue", entry.catalog_code, entry.name, entry.item_type, entry.legal_time_limit,
            entry.legal_time_unit, int(entry.cross_province), ",".join(entry.cross_province_modes),
            entry.result_licence_type, ",".join(entry.service_objects),
        )
    items = _items(rng, province, catalogue, scale, agencies, county_agencies, counties, halls, rows)
    _applications(rng, province, items, scale, rows)
    _contacts(rows)

    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    connection = connect(tmp, create=True)
    try:
        create_schema(connection)
        connection.execute("BEGIN")
        for table, values in rows.tables.items():
            marks = ",".join("?" * len(values[0]))
            connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        connection.execute("COMMIT")
    finally:
        connection.close()
    for stale in (Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    os.replace(tmp, db_path)


@functools.cache
def _all_counties() -> tuple[str, ...]:
    return tuple(c.code for p in PLATFORM_PROVINCES for f in reference.prefectures(p.code)
                 for c in reference.counties(f.code))


def _contacts(rows: Rows) -> None:
    """The real-name details the platform took from each applicant and agent: certificate number and phone.

    Each subject's details come from a generator of its own id, so a person is the same person in
    every province and the rest of the shard's data does not depend on them.
    """
    subjects = sorted({s for app in rows.tables.get("applications", []) for s in (app[2], app[3]) if s})
    regions = _all_counties()
    for subject in subjects:
        rng = random.Random(f"contact:{subject}")
        if subject.startswith("P"):
            birth = f"{rng.randrange(1950, 2008)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
            certificate = resident_id_number(rng.choice(regions), birth, rng.randrange(1000))
        else:
            certificate = uscc("9", "1", rng.choice(regions)[:4] + "00", f"{rng.randrange(10**8):08d}")
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        rows.add("applicant_contacts", subject, certificate, phone)


def _divisions(province: Province, rows: Rows) -> dict[str, str]:
    """The province's prefectures and counties from the national table; code -> name as agencies and halls say it."""
    rows.add("divisions", province.code, province.name_zh, "PROVINCIAL", None)
    names = {province.code: province.name_zh}
    municipality = province.prefix in reference.MUNICIPALITY_PREFIXES
    for prefecture in reference.prefectures(province.code):
        # A municipality's 市辖区 is spoken of by the municipality's own name.
        pref_name = province.name_zh if municipality else prefecture.name_zh
        rows.add("divisions", prefecture.code, prefecture.name_zh, "PREFECTURAL", province.code)
        names[prefecture.code] = pref_name
        for county in reference.counties(prefecture.code):
            rows.add("divisions", county.code, county.name_zh, "COUNTY", prefecture.code)
            names[county.code] = pref_name + county.name_zh
    return names


def _org_body(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789") for _ in range(8))


def _agencies(
    rng: random.Random, province: Province, names: dict[str, str], counties: list[str], rows: Rows
) -> tuple[list[Agency], dict[str, list[Agency]]]:
    provincial: list[Agency] = []
    for name in PROVINCIAL_DEPARTMENTS:
        agency = Agency(uscc("1", "1", province.code, _org_body(rng)), f"{province.name_zh}{name}",
                        "STATUTORY_ORGAN", province.code)
        provincial.append(agency)
    by_county: dict[str, list[Agency]] = {}
    for county in counties:
        for name in COUNTY_DEPARTMENTS:
            nature = "AUTHORISED_ORGANISATION" if name == "行政审批局" else "STATUTORY_ORGAN"
            agency = Agency(uscc("1", "1", county, _org_body(rng)), f"{names[county]}{name}", nature, county)
            by_county.setdefault(county, []).append(agency)
    for agency in provincial + [a for group in by_county.values() for a in group]:
        rows.add("agencies", agency.uscc, agency.name, agency.nature, agency.division_code)
    return provincial, by_county


def _halls(
    rng: random.Random, province: Province, names: dict[str, str], counties: list[str], rows: Rows
) -> dict[str, list[str]]:
    """One provincial hall, one hall per prefecture, one centre per county; keyed by division."""
    halls: dict[str, list[str]] = {}
    places = [(province.code, "PROVINCIAL", f"{province.name_zh}政务服务中心")]
    for prefecture in sorted({c[:4] + "00" for c in counties}):
        places.append((prefecture, "MUNICIPAL", f"{names[prefecture]}市民服务中心"))
    places += [(c, "COUNTY", f"{names[c]}便民服务中心") for c in counties]
    for seq, (division, level, name) in enumerate(places, start=1):
        hall_code = f"{division}{seq:04d}"
        cross = level != "COUNTY" or rng.random() < 0.3
        rows.add(
            "halls", hall_code, name, level, division, f"{names[division]}人民路{seq}号{name}一楼",
            round(73 + rng.random() * 60, 6), round(18 + rng.random() * 35, 6),
            "周一至周五 09:00-12:00, 13:30-17:30", f"0{rng.randint(10, 999)}-{rng.randint(10000000, 99999999)}",
            int(cross),
        )
        halls.setdefault(division, []).append(hall_code)
    return halls


def _items(
    rng: random.Random,
    province: Province,
    catalogue: tuple[CatalogEntry, ...],
    scale: float,
    agencies: list[Agency],
    county_agencies: dict[str, list[Agency]],
    counties: list[str],
    halls: dict[str, list[str]],
    rows: Rows,
) -> list[Item]:
    departments = sorted({e.department_uscc for e in catalogue})
    share = rng.uniform(0.85, 0.95)
    chosen = rng.sample(list(catalogue), max(1, round(len(catalogue) * share)))
    chosen.sort(key=lambda e: e.catalog_code)
    items: list[Item] = []
    for entry in chosen:
        county_level = rng.random() < 0.3
        if county_level:
            county = rng.choice(counties)
            agency = rng.choice(county_agencies[county])
            level, digit, division = "COUNTY", "4", county
        else:
            # A national department's items land with the same provincial counterpart every time.
            agency = agencies[departments.index(entry.department_uscc) % len(agencies)]
            level, digit, division = "PROVINCIAL", "2", province.code
        task_code = codes.implementation_code(agency.uscc, digit, entry.catalog_code)
        item = _item_row(
            rng, rows, province, task_code, entry.catalog_code, entry.name, entry.item_type, level,
            division, agency, entry.legal_time_limit, entry.legal_time_unit,
            tuple(entry.cross_province_modes) if entry.cross_province else (),
            entry.result_licence_type, "NATURAL_PERSON" in entry.service_objects, counties, halls,
        )
        items.append(item)
    for serial in range(1, max(3, round(24 * min(scale, 1.0))) + 1):
        name = f"{province.name_zh}{LOCAL_SERVICES[(serial - 1) % len(LOCAL_SERVICES)]}"
        if serial > len(LOCAL_SERVICES):
            name += f"（{serial}）"
        agency = rng.choice(agencies)
        task_code = codes.local_task_code(province.code, agency.uscc, "2", serial)
        items.append(_item_row(
            rng, rows, province, task_code, None, name, rng.choice(("PUBLIC_SERVICE", "OTHER_ADMINISTRATIVE_POWER")),
            "PROVINCIAL", province.code, agency, None, None, (), None, True, counties, halls,
        ))
    return items


def _item_row(
    rng: random.Random,
    rows: Rows,
    province: Province,
    task_code: str,
    catalog_code: str | None,
    name: str,
    item_type: str,
    use_level: str,
    division: str,
    agency: Agency,
    legal_value: int | None,
    legal_unit: str | None,
    cross_modes: tuple[str, ...],
    licence_type: str | None,
    serves_persons: bool,
    counties: list[str],
    halls: dict[str, list[str]],
) -> Item:
    legal = legal_value if legal_value is not None else rng.choice((10, 15, 20, 30))
    immediate = rng.random() < 0.12
    promised = 0 if immediate else max(1, round(legal * rng.uniform(0.3, 0.7)))
    depth = rng.choices(DEPTHS, weights=(45, 30, 15, 10))[0]
    visits = {"IV_FULL_ONLINE": 0, "III_ONLINE_PRE_REVIEW": 1, "II_DOWNLOAD_OR_BOOK": 1, "I_GUIDE_ONLY": 2}[depth]
    forms = ["ONLINE"] if depth in DEPTHS[:2] else []
    if depth != "IV_FULL_ONLINE" or rng.random() < 0.6:
        forms.append("WINDOW")
    if rng.random() < 0.3:
        forms.append("MAIL")
    if rng.random() < 0.2:
        forms.append("SELF_SERVICE_TERMINAL")
    charged = rng.random() < 0.15
    fee_items = [{"name": "工本费", "standard": f"{rng.choice((5, 10, 20, 50))}元/件"}] if charged else []
    fee_basis = [{"lawName": "行政事业性收费标准管理办法", "articleNo": "第十条", "issuer": "国家发展改革委、财政部",
                  "effectiveDate": "2018-07-01"}] if charged else []
    materials = []
    for m_name, source in rng.sample(MATERIALS, rng.randint(2, 5)):
        substitutable = None
        if source == "政府部门核发" and LICENCE_TYPES and rng.random() < 0.5:
            substitutable = rng.choice(LICENCE_TYPES).type_code
        materials.append({
            "name": m_name, "required": rng.random() < 0.85,
            "form": rng.choice(("PAPER", "ELECTRONIC", "PAPER_AND_ELECTRONIC")),
            "copies": rng.choice((1, 1, 2)), "sourceChannel": source, "substitutableBy": substitutable,
            "templateUrl": None, "sampleUrl": None,
        })
    receiving = sorted(rng.sample(counties, min(len(counties), 3))) if cross_modes else None
    scope = "CROSS_PROVINCE" if cross_modes else (
        "PROVINCE_WIDE" if use_level == "PROVINCIAL" else rng.choice(("CITY_WIDE", "COUNTY_WIDE")))
    rows.add(
        "items", task_code, catalog_code, f"{task_code}000", name, item_type, use_level, division,
        agency.uscc, None, legal, legal_unit or "WORKING_DAY", promised, "WORKING_DAY",
        "IMMEDIATE" if immediate else "PROMISED", int(charged), int(charged and rng.random() < 0.7),
        json.dumps(fee_basis, ensure_ascii=False), json.dumps(fee_items, ensure_ascii=False),
        "申请人符合法定条件，材料齐全、符合法定形式。", json.dumps(materials, ensure_ascii=False),
        json.dumps(forms), depth,
        f"https://zwfw.example.gov.cn/{province.code}/item/{task_code}" if depth != "I_GUIDE_ONLY" else None,
        visits, "需核验原件" if visits else None, scope,
        ",".join(cross_modes) if cross_modes else None, ",".join(receiving) if receiving else None,
        licence_type, "IN_FORCE", 1, "2023-01-01", None,
    )
    item = Item(task_code, division, agency, promised, immediate, licence_type, cross_modes, serves_persons)
    if "WINDOW" in forms:
        local = halls.get(division, []) + halls.get(division[:4] + "00", [])
        pool = local if local else [h for group in halls.values() for h in group]
        item.hall_codes = sorted(set(rng.sample(pool, min(len(pool), rng.randint(1, 3)))))
        for hall in item.hall_codes:
            rows.add("item_halls", task_code, hall)
    return item


@dataclass(slots=True)
class Case:
    """One application while its history is being generated."""

    application_no: str
    item: Item
    status: str = lifecycle.SUBMITTED
    stage: str | None = None
    events: list[tuple[Any, ...]] = field(default_factory=list)
    accepted_at: datetime | None = None
    due_at: datetime | None = None
    suspended_at: datetime | None = None
    completed_at: datetime | None = None
    result: str | None = None
    delivery: tuple[str, str | None, str] | None = None

    def move(self, target: str, at: datetime, stage: str | None = None, result: str | None = None,
             opinion: str | None = None, supplement: list[str] | None = None,
             reason: str | None = None) -> bool:
        """Record one lifecycle step; False when it falls after the horizon (still in progress)."""
        if at > HORIZON:
            return False
        self.stage = lifecycle.check_transition(self.status, target, self.stage, stage, result)
        self.suspended_at = at if target == lifecycle.SUSPENDED else None
        self.status = target
        role = lifecycle.STAGE_ROLES[self.stage] if target == lifecycle.IN_REVIEW and self.stage else \
            lifecycle.ACTOR_ROLES[target]
        self.events.append((
            self.application_no, len(self.events) + 1, target, self.stage, timestamp(at), role, opinion,
            json.dumps(supplement, ensure_ascii=False) if supplement else None, reason,
        ))
        return True


def _applications(rng: random.Random, province: Province, items: list[Item], scale: float, rows: Rows) -> None:
    subjects = subject_ids(scale)
    persons = [s for s in subjects if s.startswith("P")] or list(subjects)
    legal = [s for s in subjects if s.startswith("L")] or list(subjects)
    weights = [rng.paretovariate(1.2) for _ in items]
    count = round(2000 * scale * rng.uniform(1.02, 1.2))
    span = (HORIZON - timedelta(days=1) - FIRST_DAY).total_seconds()
    plans: list[tuple[datetime, Item, str]] = []
    for subject in persons[:DEMO_SUBJECTS] + legal[:2]:
        pool = [i for i in items if i.serves_persons == subject.startswith("P")] or items
        plans.append((FIRST_DAY + timedelta(seconds=rng.random() * span), rng.choice(pool), subject))
    for _ in range(count):
        item = rng.choices(items, weights=weights)[0]
        subject = rng.choice(persons if item.serves_persons else legal)
        plans.append((FIRST_DAY + timedelta(seconds=rng.random() * span), item, subject))
    plans.sort(key=lambda p: p[0])
    sequences: dict[tuple[str, str], int] = {}
    licence_serial = 0
    evaluation_serial = 0
    access_serial = 0
    for submitted, item, subject in plans:
        submitted = submitted.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59))
        key = (item.division_code, f"{submitted:%Y%m%d}")
        sequences[key] = sequences.get(key, 0) + 1
        number = codes.application_no(item.division_code, submitted, sequences[key])
        channel = rng.choices(("PC", "MOBILE", "WINDOW", "SELF_SERVICE", "MAIL"), weights=(35, 30, 25, 6, 4))[0]
        case = Case(number, item)
        case.events.append((number, 1, lifecycle.SUBMITTED, None, timestamp(submitted), "申请人", None, None, None))
        clock = submitted
        _run_lifecycle(rng, case, clock)
        cross = None
        if item.cross_modes and rng.random() < 0.15:
            other = rng.choice([p.code for p in PLATFORM_PROVINCES if p.code != province.code])
            cross = (rng.choice(item.cross_modes), other, item.division_code)
        rows.add(
            "applications", number, item.task_code, subject,
            rng.choice(persons) if rng.random() < 0.1 else None, channel, case.status, case.stage,
            f"{rng.randint(0, 999999):06d}", timestamp(submitted),
            timestamp(case.accepted_at) if case.accepted_at else None,
            timestamp(case.due_at) if case.due_at else None,
            timestamp(case.suspended_at) if case.suspended_at else None,
            timestamp(case.completed_at) if case.completed_at else None, case.result,
            case.delivery[0] if case.delivery else None, case.delivery[1] if case.delivery else None,
            case.delivery[2] if case.delivery else None,
            cross[0] if cross else None, cross[1] if cross else None, cross[2] if cross else None,
            None, None, None, None,
        )
        for event in case.events:
            rows.add("status_events", *event)
        if case.result == "ISSUED" and item.result_licence_type and case.completed_at:
            licence_serial += 1
            issued = case.completed_at
            status = rng.choices(("VALID", "EXPIRED", "REVOKED", "CANCELLED"), weights=(90, 4, 3, 3))[0]
            rows.add(
                "licences", codes.licence_id(item.result_licence_type, item.agency.uscc, licence_serial),
                item.result_licence_type, f"{province.prefix}{issued:%Y}{licence_serial:08d}", subject,
                item.agency.uscc, f"{issued:%Y-%m-%d}", f"{issued:%Y-%m-%d}",
                f"{years_later(issued, 5):%Y-%m-%d}", status, "A", number,
            )
            if rng.random() < 0.2:
                access_serial += 1
                rows.add(
                    "data_access", f"{province.code}A{access_serial:08d}", None,
                    codes.licence_id(item.result_licence_type, item.agency.uscc, licence_serial),
                    item.agency.uscc, "承办人", "办件材料核验（免提交）", number, subject,
                    timestamp(issued + timedelta(days=rng.randint(30, 300))), "GRANTED", "申请人授权",
                )
        if case.status in lifecycle.FINISHED and case.completed_at and rng.random() < 0.7:
            evaluation_serial += 1
            _evaluation(rng, rows, province, case, channel, evaluation_serial)


def _run_lifecycle(rng: random.Random, case: Case, clock: datetime) -> None:
    """Walk one application through a plausible history, stopping at the horizon."""
    def later(hours: float) -> datetime:
        """Staff act in office hours, so each step lands on the next open moment."""
        nonlocal clock
        clock = office_moment(clock + timedelta(hours=hours * rng.uniform(0.5, 1.5)))
        return clock

    item = case.item
    if rng.random() < 0.03:
        case.move(lifecycle.WITHDRAWN, later(6), opinion="申请人主动撤回")
        return
    if rng.random() < 0.5 and not case.move(lifecycle.PRE_REVIEW, later(4)):
        return
    while rng.random() < 0.15:
        if not case.move(lifecycle.SUPPLEMENT_REQUIRED, later(8), opinion="材料需补正",
                         supplement=rng.sample(SUPPLEMENT_ITEMS, rng.randint(1, 2))):
            return
        if rng.random() < 0.1:
            case.move(lifecycle.COMPLETED, later(24 * 30), result="SUPPLEMENT_TIMEOUT", opinion="逾期未补正")
            if case.status == lifecycle.COMPLETED:
                case.completed_at = clock
                case.result = "SUPPLEMENT_TIMEOUT"
            return
        if not case.move(lifecycle.PRE_REVIEW, later(48)):
            return
    if rng.random() < 0.06:
        case.move(lifecycle.NOT_ACCEPTED, later(8), opinion="不属于本机关职权范围")
        return
    if not case.move(lifecycle.ACCEPTED, later(6)):
        return
    case.accepted_at = clock
    case.due_at = add_working_days(clock, item.promised_days)
    if rng.random() < 0.02:
        case.move(lifecycle.WITHDRAWN, later(24), opinion="申请人主动撤回")
        return
    if not item.immediate:
        budget_hours = max(item.promised_days, 1) * 24 * (1.6 if rng.random() < 0.1 else 0.45)
        for stage in lifecycle.REVIEW_STAGES:
            if not case.move(lifecycle.IN_REVIEW, later(budget_hours / 3), stage=stage):
                return
            if stage == "AUDIT" and rng.random() < 0.06:
                started = later(2)
                if not case.move(lifecycle.SUSPENDED, started, reason=rng.choice(SUSPENSION_REASONS)):
                    return
                resumed = later(24 * rng.randint(3, 15))
                if not case.move(lifecycle.IN_REVIEW, resumed, stage=stage):
                    return
                if case.due_at is not None:
                    case.due_at = add_working_days(case.due_at, working_days_between(started, resumed))
    result = ("ISSUED" if item.result_licence_type else "DONE") if rng.random() < 0.94 else "RETURNED"
    if not case.move(lifecycle.COMPLETED, later(4), result=result, opinion="准予许可" if result != "RETURNED" else "不予许可"):
        return
    case.completed_at = clock
    case.result = result
    if rng.random() < 0.85:
        method = rng.choices(("ELECTRONIC", "COUNTER_PICKUP", "POST"), weights=(50, 30, 20))[0]
        at = later(24 * rng.randint(1, 5))
        if case.move(lifecycle.DELIVERED, at):
            tracking = f"SF{rng.randint(10**11, 10**12 - 1)}" if method == "POST" else None
            case.delivery = (method, tracking, timestamp(at))


def _evaluation(rng: random.Random, rows: Rows, province: Province, case: Case, channel: str, serial: int) -> None:
    level = rng.choices(LEVELS, weights=(62, 25, 8, 3, 2))[0]
    base = 5 - LEVELS.index(level)
    evaluated = (case.completed_at or HORIZON) + timedelta(hours=rng.randint(1, 72))
    dimensions = [{"name": d, "score": max(1, min(5, base + rng.choice((-1, 0, 0, 0, 1))))} for d in DIMENSIONS]
    rect: tuple[Any, ...] = (None, None, None, None)
    if level in LEVELS[3:]:
        deadline = add_working_days(evaluated, 15)
        rect = (rng.choice(("RECTIFIED", "EXPLAINED", "RECTIFYING")), timestamp(deadline),
                timestamp(evaluated + timedelta(days=rng.randint(1, 5))), "已回访并说明办理依据")
    hall = case.item.hall_codes[0] if channel == "WINDOW" and case.item.hall_codes else None
    rows.add(
        "evaluations", f"{province.code}E{serial:08d}", case.application_no, channel, level, hall,
        f"{rng.randint(1, 30):02d}" if hall else None, json.dumps(dimensions, ensure_ascii=False),
        None, timestamp(evaluated), *rect,
    )

