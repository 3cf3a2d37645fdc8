"""DDL of the national database; one statement per table, in dependency order."""
from __future__ import annotations

TABLES: tuple[str, ...] = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE divisions (
        code TEXT PRIMARY KEY,
        parent_code TEXT REFERENCES divisions(code),
        level TEXT NOT NULL,
        name_zh TEXT NOT NULL,
        name_pinyin TEXT NOT NULL,
        name_en TEXT NOT NULL,
        iso3166_2 TEXT,
        division_type TEXT,
        has_platform INTEGER NOT NULL,
        position INTEGER NOT NULL
    )""",
    "CREATE INDEX divisions_parent ON divisions(parent_code)",
    """CREATE TABLE departments (
        uscc TEXT PRIMARY KEY,
        name TEXT NOT NULL
    )""",
    """CREATE TABLE catalog_items (
        catalog_code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        item_type TEXT NOT NULL,
        department_uscc TEXT NOT NULL REFERENCES departments(uscc),
        legal_time_limit INTEGER NOT NULL,
        legal_time_unit TEXT NOT NULL,
        service_objects TEXT NOT NULL,
        use_levels TEXT NOT NULL,
        cross_province INTEGER NOT NULL,
        cross_province_year INTEGER,
        cross_province_modes TEXT NOT NULL,
        result_licence_type TEXT,
        parent_code TEXT REFERENCES catalog_items(catalog_code),
        law_name TEXT,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX catalog_items_type ON catalog_items(item_type)",
    """CREATE TABLE licence_types (
        type_code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner_uscc TEXT NOT NULL REFERENCES departments(uscc),
        holder_type TEXT NOT NULL
    )""",
    """CREATE TABLE shared_data_resources (
        resource_code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        provider_uscc TEXT NOT NULL REFERENCES departments(uscc),
        share_type TEXT NOT NULL,
        share_conditions TEXT,
        fields TEXT NOT NULL
    )""",
    """CREATE TABLE subjects (
        subject_id TEXT PRIMARY KEY,
        subject_type TEXT NOT NULL,
        masked_name TEXT NOT NULL,
        certificate_type TEXT NOT NULL,
        masked_certificate_no TEXT NOT NULL,
        auth_level TEXT NOT NULL,
        home_division TEXT NOT NULL REFERENCES divisions(code)
    )""",
    """CREATE TABLE mandates (
        principal_id TEXT NOT NULL REFERENCES subjects(subject_id),
        agent_id TEXT NOT NULL REFERENCES subjects(subject_id),
        scope TEXT NOT NULL,
        valid_until TEXT,
        PRIMARY KEY (principal_id, agent_id)
    )""",
    """CREATE TABLE evaluation_summaries (
        division_code TEXT NOT NULL REFERENCES divisions(code),
        period TEXT NOT NULL,
        total INTEGER NOT NULL,
        very_dissatisfied INTEGER NOT NULL,
        dissatisfied INTEGER NOT NULL,
        basically_satisfied INTEGER NOT NULL,
        satisfied INTEGER NOT NULL,
        very_satisfied INTEGER NOT NULL,
        negative_rectified_rate REAL,
        negative_callback_rate REAL,
        PRIMARY KEY (division_code, period)
    )""",
    """CREATE TABLE capability_assessments (
        division_code TEXT NOT NULL REFERENCES divisions(code),
        year INTEGER NOT NULL,
        overall_index REAL NOT NULL,
        level TEXT NOT NULL,
        online_service_effectiveness REAL NOT NULL,
        online_handling_maturity REAL NOT NULL,
        service_channel_completeness REAL NOT NULL,
        item_coverage REAL NOT NULL,
        guide_accuracy REAL NOT NULL,
        PRIMARY KEY (division_code, year)
    )""",
)
