"""The SQLite schema of one provincial shard and how to open it.

Nested value lists (materials, fee items, handle forms, dimensions) are JSON columns so that
one row read gives the whole entity; relations between entities are proper tables.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = "1"

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS divisions (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL, parent_code TEXT
);
CREATE TABLE IF NOT EXISTS catalogue (
    catalog_code TEXT PRIMARY KEY, name TEXT NOT NULL, item_type TEXT NOT NULL,
    legal_time_limit INTEGER, legal_time_unit TEXT, cross_province INTEGER NOT NULL,
    cross_modes TEXT NOT NULL, result_licence_type TEXT, service_objects TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agencies (
    uscc TEXT PRIMARY KEY, name TEXT NOT NULL, nature TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions(code)
);
CREATE TABLE IF NOT EXISTS items (
    task_code TEXT PRIMARY KEY,
    catalog_code TEXT REFERENCES catalogue(catalog_code),
    handle_item_code TEXT, name TEXT NOT NULL, item_type TEXT NOT NULL, use_level TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions(code),
    agency_uscc TEXT NOT NULL REFERENCES agencies(uscc), entrusted_by TEXT,
    legal_limit_value INTEGER, legal_limit_unit TEXT,
    promised_limit_value INTEGER NOT NULL, promised_limit_unit TEXT NOT NULL,
    project_type TEXT NOT NULL,
    fee_charged INTEGER NOT NULL, fee_online_payment INTEGER NOT NULL,
    fee_basis TEXT NOT NULL, fee_items TEXT NOT NULL,
    acceptance_conditions TEXT NOT NULL, materials TEXT NOT NULL, handle_forms TEXT NOT NULL,
    online_depth TEXT NOT NULL, online_url TEXT, max_on_site_visits INTEGER NOT NULL,
    on_site_reason TEXT, handling_scope TEXT NOT NULL,
    cross_modes TEXT, receiving_divisions TEXT, result_licence_type TEXT,
    status TEXT NOT NULL, version INTEGER NOT NULL, effective_from TEXT, effective_until TEXT
);
CREATE INDEX IF NOT EXISTS items_by_catalogue ON items(catalog_code);
CREATE TABLE IF NOT EXISTS halls (
    hall_code TEXT PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions(code), address TEXT NOT NULL,
    longitude REAL, latitude REAL, opening_hours TEXT NOT NULL, phone TEXT,
    cross_province_window INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS item_halls (
    task_code TEXT NOT NULL REFERENCES items(task_code),
    hall_code TEXT NOT NULL REFERENCES halls(hall_code),
    PRIMARY KEY (task_code, hall_code)
);
CREATE TABLE IF NOT EXISTS applications (
    application_no TEXT PRIMARY KEY,
    task_code TEXT NOT NULL REFERENCES items(task_code),
    applicant_id TEXT NOT NULL, agent_id TEXT, channel TEXT NOT NULL,
    status TEXT NOT NULL, review_stage TEXT, query_code TEXT NOT NULL,
    submitted_at TEXT NOT NULL, accepted_at TEXT, due_at TEXT, suspended_at TEXT,
    completed_at TEXT, result TEXT,
    delivery_method TEXT, tracking_no TEXT, delivered_at TEXT,
    cross_mode TEXT, receiving_division TEXT, handling_division TEXT, receiving_hall TEXT,
    counterpart_no TEXT,
    idempotency_key TEXT UNIQUE, payload_hash TEXT
);
CREATE INDEX IF NOT EXISTS applications_by_applicant ON applications(applicant_id, submitted_at);
CREATE INDEX IF NOT EXISTS applications_by_submission ON applications(submitted_at);
CREATE TABLE IF NOT EXISTS status_events (
    application_no TEXT NOT NULL REFERENCES applications(application_no),
    seq INTEGER NOT NULL, status TEXT NOT NULL, stage TEXT, at TEXT NOT NULL,
    actor_role TEXT NOT NULL, opinion TEXT, supplement_list TEXT, suspension_reason TEXT,
    PRIMARY KEY (application_no, seq)
);
CREATE TABLE IF NOT EXISTS licences (
    licence_id TEXT PRIMARY KEY, type_code TEXT NOT NULL, licence_no TEXT NOT NULL,
    holder_id TEXT NOT NULL, issuer_uscc TEXT NOT NULL REFERENCES agencies(uscc),
    issued_on TEXT NOT NULL, valid_from TEXT, valid_until TEXT, status TEXT NOT NULL,
    trust_level TEXT NOT NULL, application_no TEXT REFERENCES applications(application_no)
);
CREATE INDEX IF NOT EXISTS licences_by_holder ON licences(holder_id);
CREATE INDEX IF NOT EXISTS licences_by_application ON licences(application_no);
CREATE TABLE IF NOT EXISTS evaluations (
    evaluation_id TEXT PRIMARY KEY,
    application_no TEXT NOT NULL REFERENCES applications(application_no),
    channel TEXT NOT NULL, level TEXT NOT NULL, hall_code TEXT, window_no TEXT,
    dimensions TEXT NOT NULL, comment TEXT, evaluated_at TEXT NOT NULL,
    rect_status TEXT, rect_deadline TEXT, rect_callback_at TEXT, rect_result TEXT,
    UNIQUE (application_no, channel)
);
CREATE TABLE IF NOT EXISTS data_access (
    record_id TEXT PRIMARY KEY, resource_code TEXT, licence_id TEXT,
    requester_uscc TEXT NOT NULL, requester_role TEXT NOT NULL, purpose TEXT NOT NULL,
    application_no TEXT, subject_id TEXT, at TEXT NOT NULL, outcome TEXT NOT NULL,
    authorisation_ref TEXT
);
"""
CONTACTS_DDL = """CREATE TABLE IF NOT EXISTS applicant_contacts (
    subject_id TEXT PRIMARY KEY, certificate_no TEXT NOT NULL, phone TEXT NOT NULL
)"""
"""The real-name details an applicant gave the platform; raw, so only the owner's platform holds them."""


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """Open a shard database in WAL mode with durable (FULL) commits."""
    if not create and not path.exists():
        raise FileNotFoundError(path)
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def create_schema(connection: sqlite3.Connection) -> None:
    """Create every table of a shard (idempotent)."""
    connection.executescript(DDL)
    connection.execute(CONTACTS_DDL)
