"""The provincial seed: deterministic, realistic lifecycles, cross-province subjects, fast."""
from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import time
from pathlib import Path

import pytest

from resolvers.datadir import database_digest
from resolvers.provincial import codes, lifecycle
from resolvers.provincial.seed import seed_province
from resolvers.reference import basic_catalogue, province, uscc_is_valid

GUANGDONG = province("440000")
BEIJING = province("11")
assert GUANGDONG is not None and BEIJING is not None


def digest(path: Path) -> str:
    h = hashlib.sha256()
    database_digest(path, h)
    return h.hexdigest()


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[sqlite3.Connection, float]:
    path = tmp_path_factory.mktemp("full") / "440000.db"
    started = time.perf_counter()
    seed_province(path, GUANGDONG, 1.0)
    elapsed = time.perf_counter() - started
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    return connection, elapsed


def test_same_province_and_scale_give_the_same_database(tmp_path: Path) -> None:
    seed_province(tmp_path / "a.db", GUANGDONG, 0.05)
    seed_province(tmp_path / "b.db", GUANGDONG, 0.05)
    seed_province(tmp_path / "c.db", BEIJING, 0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db", "b.db", "c.db"]  # no temp or WAL files left
    assert digest(tmp_path / "a.db") == digest(tmp_path / "b.db")
    assert digest(tmp_path / "a.db") != digest(tmp_path / "c.db")


def test_scale_one_seeds_in_a_few_seconds_with_enough_data(full: tuple[sqlite3.Connection, float]) -> None:
    db, elapsed = full
    assert elapsed < 10, f"seeding took {elapsed:.1f}s"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM applications").fetchone()[0] >= 2000
    national = db.execute("SELECT COUNT(*) FROM items WHERE catalog_code IS NOT NULL").fetchone()[0]
    share = national / len(basic_catalogue(1.0))
    assert 0.85 <= share <= 0.95
    local = [r[0] for r in db.execute("SELECT task_code FROM items WHERE catalog_code IS NULL")]
    assert len(local) >= 20 and all(t.startswith("440000") and len(t) == 31 for t in local)
    assert all(len(r[0]) == 31 for r in db.execute("SELECT task_code FROM items"))
    assert db.execute("SELECT COUNT(*) FROM halls WHERE hall_code NOT LIKE '44%'").fetchone()[0] == 0
    for table in ("licences", "evaluations", "halls", "item_halls", "data_access"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > 0, table


def test_codes_route_to_the_province(full: tuple[sqlite3.Connection, float]) -> None:
    db, _ = full
    for (number,) in db.execute("SELECT application_no FROM applications"):
        parts = codes.parse_application_no(number)
        assert parts is not None and parts[0].startswith("44") and parts[1][:4] in ("2024", "2025")
    for uscc, division in db.execute("SELECT uscc, division_code FROM agencies"):
        assert uscc_is_valid(uscc) and uscc[2:8] == division
    for licence_id, type_code, issuer in db.execute("SELECT licence_id, type_code, issuer_uscc FROM licences"):
        assert licence_id.startswith(f"1.2.156.3005.2.{type_code}.{issuer}.")
        assert issuer[2:4] == "44"


def test_every_history_follows_the_lifecycle_in_time_order(full: tuple[sqlite3.Connection, float]) -> None:
    db, _ = full
    events: dict[str, list[sqlite3.Row]] = {}
    for row in db.execute("SELECT * FROM status_events ORDER BY application_no, seq"):
        events.setdefault(row["application_no"], []).append(row)
    statuses = set()
    for app in db.execute("SELECT * FROM applications"):
        history = events[app["application_no"]]
        assert history[0]["status"] == "SUBMITTED" and history[0]["at"] == app["submitted_at"]
        stage = None
        for before, after in itertools.pairwise(history):
            assert before["at"] <= after["at"]
            result = app["result"] if after["status"] == "COMPLETED" else None
            stage = lifecycle.check_transition(before["status"], after["status"], stage, after["stage"], result)
        assert history[-1]["status"] == app["status"]
        assert "2024-01-01" <= history[-1]["at"][:10] <= "2025-12-31"
        if app["accepted_at"]:
            assert app["due_at"] and app["due_at"] >= app["accepted_at"]
        if app["status"] in lifecycle.FINISHED:
            assert app["completed_at"] and app["result"]
        statuses.add(app["status"])
    assert {"DELIVERED", "COMPLETED", "NOT_ACCEPTED", "WITHDRAWN", "IN_REVIEW"} <= statuses
    overdue = db.execute("SELECT COUNT(*) FROM applications WHERE completed_at > due_at").fetchone()[0]
    assert overdue > 0
    suspended = db.execute("SELECT COUNT(*) FROM status_events WHERE status = 'SUSPENDED'").fetchone()[0]
    supplements = db.execute("SELECT COUNT(*) FROM status_events WHERE status = 'SUPPLEMENT_REQUIRED'").fetchone()[0]
    assert suspended > 0 and supplements > 0


def test_ratings_follow_the_rules(full: tuple[sqlite3.Connection, float]) -> None:
    db, _ = full
    rows = db.execute(
        "SELECT e.*, a.status FROM evaluations e JOIN applications a USING (application_no)").fetchall()
    assert rows
    for row in rows:
        assert row["status"] in lifecycle.FINISHED
        negative = row["level"] in ("DISSATISFIED", "VERY_DISSATISFIED")
        assert (row["rect_status"] is not None) == negative
        assert all(1 <= d["score"] <= 5 for d in json.loads(row["dimensions"]))
    levels = {row["level"] for row in rows}
    assert len(levels) == 5


def test_some_subjects_have_applications_in_several_provinces(tmp_path: Path) -> None:
    applicants = []
    for p in (GUANGDONG, BEIJING):
        path = tmp_path / f"{p.code}.db"
        seed_province(path, p, 0.05)
        with sqlite3.connect(path) as db:
            applicants.append({r[0] for r in db.execute("SELECT applicant_id FROM applications")})
    shared = applicants[0] & applicants[1]
    assert any(s.startswith("P") for s in shared) and any(s.startswith("L") for s in shared)
