"""The append-only, tamper-evident log of accesses to personal shared data.

One entry per access: who (caller kind and subject), the stated purpose, which records, which
province, when, and the gateway's request id. Each entry carries the hash of the entry before
it, and its own hash covers its content and that link, so changing or removing an entry
breaks the chain at that point (`verify`). Entries live in their own SQLite file in the data
directory, committed in WAL mode with ``synchronous=FULL`` before the access is answered, so
an entry survives ``kill -9``. The log has no update or delete path.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

AUDIT_DIR = "audit"
GENESIS = "0" * 64

DDL = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, request_id TEXT, kind TEXT NOT NULL, subject TEXT,
    purpose TEXT, province TEXT, action TEXT NOT NULL, records TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
)
"""


def audit_log_path(data_dir: Path, name: str) -> Path:
    """DIR/audit/<name>.db: a province's 6-digit code, or "national"."""
    return data_dir / AUDIT_DIR / f"{name}.db"


@dataclass(frozen=True, slots=True)
class Access:
    """What one access touched, and on whose behalf."""

    kind: str
    subject: str | None
    purpose: str | None
    province: str | None
    action: str
    records: tuple[str, ...]
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One access as the log holds it: its place, its time, and its link in the chain."""

    seq: int
    at: str
    access: Access
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the chain: intact, or the first entry where it breaks and why."""

    intact: bool
    entries: int
    broken_at: int | None = None
    reason: str | None = None


def entry_hash(seq: int, at: str, access: Access, prev_hash: str) -> str:
    """sha256 over everything an entry says and the hash of the entry before it."""
    body = json.dumps([seq, at, access.request_id, access.kind, access.subject, access.purpose, access.province,
                       access.action, list(access.records), prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _entry(row: sqlite3.Row) -> AuditEntry:
    access = Access(row["kind"], row["subject"], row["purpose"], row["province"], row["action"],
                    tuple(json.loads(row["records"])), row["request_id"])
    return AuditEntry(row["seq"], row["at"], access, row["prev_hash"], row["hash"])


class AuditLog:
    """One process's (one shard's) audit log file."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> AuditLog:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(DDL)
        return cls(connection)

    def close(self) -> None:
        self.connection.close()

    def append(self, access: Access) -> AuditEntry:
        """Write one entry, chained to the last one, and commit it durably before returning."""
        at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        with self._lock:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                last = self.connection.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
                digest = entry_hash(seq, at, access, prev)
                self.connection.execute(
                    "INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (seq, at, access.request_id, access.kind, access.subject, access.purpose, access.province,
                     access.action, json.dumps(list(access.records), ensure_ascii=False), prev, digest),
                )
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
        return AuditEntry(seq, at, access, prev, digest)

    def entries(self, first: int, after: int | None = None) -> list[AuditEntry]:
        """Up to `first` entries in order, those after sequence number `after` when given."""
        rows = self.connection.execute(
            "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (after or 0, first)
        ).fetchall()
        return [_entry(row) for row in rows]

    def verify(self) -> ChainReport:
        """Walk the whole chain: a changed entry, a removed one or a reordering is found and named."""
        previous, expected_seq, count = GENESIS, 1, 0
        for row in self.connection.execute("SELECT * FROM audit_log ORDER BY seq"):
            entry = _entry(row)
            count += 1
            if entry.seq != expected_seq:
                return ChainReport(False, count, entry.seq, f"entry {expected_seq} is missing")
            if entry.prev_hash != previous:
                return ChainReport(False, count, entry.seq, "it does not link to the entry before it")
            if entry_hash(entry.seq, entry.at, entry.access, entry.prev_hash) != entry.hash:
                return ChainReport(False, count, entry.seq, "its content does not match its hash")
            previous, expected_seq = entry.hash, entry.seq + 1
        return ChainReport(True, count)
