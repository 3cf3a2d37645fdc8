"""Reads and writes of one provincial shard.

Every read that an entity or a list field needs takes a batch of keys and issues one SQL
statement (``WHERE key IN (...)``), so that a DataLoader can turn N lookups into one query.
Every write runs in its own ``BEGIN IMMEDIATE`` transaction and is committed (synchronous=FULL)
before the method returns.
"""
from __future__ import annotations

import functools
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from resolvers.provincial import codes, lifecycle
from resolvers.provincial.calendar import (
    CHINA,
    add_working_days,
    parse_timestamp,
    timestamp,
    working_days_between,
    years_later,
)
from resolvers.provincial.storage import CONTACTS_DDL, connect
from resolvers.reference import Province

K = TypeVar("K")
Row = sqlite3.Row

POSITIVE_LEVELS = ("SATISFIED", "VERY_SATISFIED")
NEGATIVE_LEVELS = ("DISSATISFIED", "VERY_DISSATISFIED")
COMPLETION_RESULTS = ("ISSUED", "RETURNED", "VOIDED", "DELETED", "FORWARDED", "SUPPLEMENT_TIMEOUT", "DONE")
DELIVERY_METHODS = ("COUNTER_PICKUP", "POST", "ELECTRONIC")


class ShardInputError(ValueError):
    """Input that names something this shard does not have, or a rule it breaks."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What an applicant sends to open an application (the idempotency key guards retries)."""

    task_code: str
    applicant_id: str
    channel: str
    idempotency_key: str
    agent_id: str | None = None
    receiving_division: str | None = None

    def payload_hash(self) -> str:
        """Fingerprint of everything but the key, to tell a retry from a different request."""
        body = json.dumps([self.task_code, self.applicant_id, self.channel, self.agent_id,
                           self.receiving_division])
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Receipt:
    """The application a submission created or, for a retried key, the one it created before."""

    application: Row
    query_code: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class Metrics:
    """Evaluation figures of the province, computed from the shard's own records."""

    on_time_completion_rate: float | None
    online_availability_rate: float | None
    satisfaction_rate: float | None
    completed_applications: int
    implemented_items: int
    ratings: int
    negative_ratings: int


def _group(rows: Iterable[Row], column: str) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row[column], []).append(row)
    return grouped


def _marks(count: int) -> str:
    return ",".join("?" * count)


# Idempotency keys of writes other than submissions (which keep theirs on the application row):
# the key, the write it was used for, a fingerprint of its payload, and what the write produced.
RECEIPTS_DDL = """CREATE TABLE IF NOT EXISTS write_receipts (
    idempotency_key TEXT PRIMARY KEY, operation TEXT NOT NULL, payload_hash TEXT NOT NULL,
    result_id TEXT NOT NULL
)"""

W = TypeVar("W", bound=Callable[..., Row])


def _once(operation: str, table: str, column: str) -> Callable[[W], W]:
    """Make a write take an optional `idempotency_key`, as submissions do: the first write with
    a key is kept with it (in the same transaction), a retry returns what that write produced
    (`table` row by `column`), and the key with another payload is refused."""

    def wrap(write: W) -> W:
        @functools.wraps(write)
        def once(self: ShardRepository, *args: Any, idempotency_key: str | None = None, **kwargs: Any) -> Row:
            if idempotency_key is None:
                return write(self, *args, **kwargs)
            if not idempotency_key.strip():
                raise ShardInputError("idempotencyKey must not be empty.")
            payload = [args, sorted((k, v) for k, v in kwargs.items() if not callable(v))]
            fingerprint = hashlib.sha256(json.dumps(payload, default=list).encode()).hexdigest()
            with self._transaction() as db:
                db.execute(RECEIPTS_DDL)
                kept = db.execute("SELECT * FROM write_receipts WHERE idempotency_key = ?",
                                  (idempotency_key,)).fetchone()
                if kept is not None:
                    if (kept["operation"], kept["payload_hash"]) != (operation, fingerprint):
                        raise ShardInputError(
                            f"Idempotency key {idempotency_key!r} was already used for {kept['operation']} "
                            f"with a different payload; use a new key for a new write."
                        )
                    return db.execute(f"SELECT * FROM {table} WHERE {column} = ?", (kept["result_id"],)).fetchone()
                row = write(self, *args, **kwargs)  # inside this transaction, as a savepoint
                db.execute("INSERT INTO write_receipts VALUES (?,?,?,?)",
                           (idempotency_key, operation, fingerprint, row[column]))
                return row

        return once  # type: ignore[return-value]

    return wrap


class ShardRepository:
    """The database of one province; `connection` is exposed so tests can trace statements."""

    def __init__(self, connection: sqlite3.Connection, province: Province) -> None:
        self.connection = connection
        self.province = province

    @classmethod
    def open(cls, path: Path, province: Province) -> ShardRepository:
        """Open the shard file, refusing one that was seeded for another province."""
        connection = connect(path)
        row = connection.execute("SELECT value FROM meta WHERE key = 'province_code'").fetchone()
        if row is None or row[0] != province.code:
            connection.close()
            raise ShardInputError(f"{path} holds province {row[0] if row else 'unknown'}, not {province.code}.")
        connection.execute(CONTACTS_DDL)  # data directories seeded before contacts were kept
        return cls(connection, province)

    def close(self) -> None:
        self.connection.close()

    # ---------------------------------------------------------------- batched reads

    def _one_each(self, table: str, column: str, keys: Sequence[K]) -> list[Row | None]:
        if not keys:
            return []
        rows = self.connection.execute(
            f"SELECT * FROM {table} WHERE {column} IN ({_marks(len(keys))})", list(keys)
        ).fetchall()
        found = {row[column]: row for row in rows}
        return [found.get(key) for key in keys]

    def _many_each(self, sql: str, column: str, keys: Sequence[K], extra: Sequence[Any] = ()) -> list[list[Row]]:
        if not keys:
            return []
        rows = self.connection.execute(sql.format(marks=_marks(len(keys))), [*keys, *extra]).fetchall()
        grouped = _group(rows, column)
        return [grouped.get(key, []) for key in keys]

    def items(self, task_codes: Sequence[str]) -> list[Row | None]:
        return self._one_each("items", "task_code", task_codes)

    def agencies(self, usccs: Sequence[str]) -> list[Row | None]:
        return self._one_each("agencies", "uscc", usccs)

    def halls(self, hall_codes: Sequence[str]) -> list[Row | None]:
        return self._one_each("halls", "hall_code", hall_codes)

    def applications(self, numbers: Sequence[str]) -> list[Row | None]:
        return self._one_each("applications", "application_no", numbers)

    def licences(self, licence_ids: Sequence[str]) -> list[Row | None]:
        return self._one_each("licences", "licence_id", licence_ids)

    def evaluations(self, evaluation_ids: Sequence[str]) -> list[Row | None]:
        return self._one_each("evaluations", "evaluation_id", evaluation_ids)

    def access_records(self, record_ids: Sequence[str]) -> list[Row | None]:
        return self._one_each("data_access", "record_id", record_ids)

    def contacts(self, subject_ids: Sequence[str]) -> list[Row | None]:
        return self._one_each("applicant_contacts", "subject_id", subject_ids)

    def catalogue_entries(self, catalog_codes: Sequence[str]) -> list[Row | None]:
        return self._one_each("catalogue", "catalog_code", catalog_codes)

    def divisions(self, division_codes: Sequence[str]) -> list[Row | None]:
        return self._one_each("divisions", "code", division_codes)

    def items_for_catalogue(self, catalog_codes: Sequence[str]) -> list[list[Row]]:
        return self._many_each(
            "SELECT * FROM items WHERE catalog_code IN ({marks}) ORDER BY task_code", "catalog_code", catalog_codes
        )

    def halls_for_items(self, task_codes: Sequence[str]) -> list[list[Row]]:
        return self._many_each(
            "SELECT l.task_code, h.* FROM item_halls l JOIN halls h ON h.hall_code = l.hall_code "
            "WHERE l.task_code IN ({marks}) ORDER BY h.hall_code", "task_code", task_codes,
        )

    def events_for_applications(self, numbers: Sequence[str]) -> list[list[Row]]:
        return self._many_each(
            "SELECT * FROM status_events WHERE application_no IN ({marks}) ORDER BY application_no, seq",
            "application_no", numbers,
        )

    def licences_for_applications(self, numbers: Sequence[str]) -> list[Row | None]:
        return [group[0] if group else None for group in self._many_each(
            "SELECT * FROM licences WHERE application_no IN ({marks}) ORDER BY licence_id",
            "application_no", numbers,
        )]

    def evaluations_for_applications(self, numbers: Sequence[str]) -> list[Row | None]:
        """The latest rating of each application (one per channel may exist)."""
        return [group[0] if group else None for group in self._many_each(
            "SELECT * FROM evaluations WHERE application_no IN ({marks}) ORDER BY evaluated_at DESC",
            "application_no", numbers,
        )]

    def licences_for_subjects(self, subject_ids: Sequence[str]) -> list[list[Row]]:
        return self._many_each(
            "SELECT * FROM licences WHERE holder_id IN ({marks}) ORDER BY issued_on DESC, licence_id",
            "holder_id", subject_ids,
        )

    def applications_for_subjects(self, subject_ids: Sequence[str], first: int) -> list[list[Row]]:
        """The newest `first` applications of each subject, in one windowed query."""
        return self._many_each(
            "SELECT * FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY applicant_id "
            "ORDER BY submitted_at DESC, application_no DESC) AS rank FROM applications a "
            "WHERE applicant_id IN ({marks})) WHERE rank <= ? ORDER BY submitted_at DESC, application_no DESC",
            "applicant_id", subject_ids, (first,),
        )

    # ---------------------------------------------------------------- lists

    def list_halls(self, division_code: str | None, cross_province_only: bool) -> list[Row]:
        sql = "SELECT * FROM halls WHERE 1=1"
        params: list[Any] = []
        if division_code is not None:
            sql += " AND (division_code = ? OR substr(division_code, 1, 4) || '00' = ?)"
            params += [division_code, division_code]
        if cross_province_only:
            sql += " AND cross_province_window = 1"
        return self.connection.execute(sql + " ORDER BY hall_code", params).fetchall()

    def list_applications(
        self, first: int, status: str | None, task_code: str | None, applicant_id: str | None,
        submitted_before: str | None,
    ) -> list[Row]:
        """Newest first; `submitted_before` (an application number) pages backwards."""
        sql = "SELECT * FROM applications WHERE 1=1"
        params: list[Any] = []
        for column, value in (("status", status), ("task_code", task_code), ("applicant_id", applicant_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if submitted_before is not None:
            sql += (" AND (submitted_at, application_no) < "
                    "(SELECT submitted_at, application_no FROM applications WHERE application_no = ?)")
            params.append(submitted_before)
        sql += " ORDER BY submitted_at DESC, application_no DESC LIMIT ?"
        params.append(first)
        return self.connection.execute(sql, params).fetchall()

    def metrics(self) -> Metrics:
        """On-time completion, online availability (depth III/IV) and satisfaction rates."""
        row = self.connection.execute(
            "SELECT (SELECT COUNT(*) FROM applications WHERE completed_at IS NOT NULL AND due_at IS NOT NULL), "
            "(SELECT COUNT(*) FROM applications WHERE completed_at IS NOT NULL AND completed_at <= due_at), "
            "(SELECT COUNT(*) FROM items), "
            "(SELECT COUNT(*) FROM items WHERE online_depth IN ('IV_FULL_ONLINE', 'III_ONLINE_PRE_REVIEW')), "
            "(SELECT COUNT(*) FROM evaluations), "
            f"(SELECT COUNT(*) FROM evaluations WHERE level IN ({_marks(2)})), "
            f"(SELECT COUNT(*) FROM evaluations WHERE level IN ({_marks(2)}))",
            [*POSITIVE_LEVELS, *NEGATIVE_LEVELS],
        ).fetchone()
        completed, on_time, items, online, ratings, positive, negative = row

        def rate(part: int, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        return Metrics(rate(on_time, completed), rate(online, items), rate(positive, ratings),
                       completed, items, ratings, negative)

    # ---------------------------------------------------------------- writes

    def _transaction(self) -> _Transaction:
        return _Transaction(self.connection)

    def submit(self, submission: Submission, now: Callable[[], datetime] = lambda: datetime.now(CHINA)) -> Receipt:
        """Create an application once per idempotency key; a retry returns the first one."""
        fingerprint = submission.payload_hash()
        with self._transaction() as db:
            existing = db.execute(
                "SELECT * FROM applications WHERE idempotency_key = ?", (submission.idempotency_key,)
            ).fetchone()
            if existing is not None:
                if existing["payload_hash"] != fingerprint:
                    raise ShardInputError(
                        f"Idempotency key {submission.idempotency_key!r} was already used for application "
                        f"{existing['application_no']} with a different payload; use a new key for a new submission."
                    )
                return Receipt(existing, existing["query_code"], replayed=True)
            item = db.execute("SELECT * FROM items WHERE task_code = ?", (submission.task_code,)).fetchone()
            if item is None:
                raise ShardInputError(
                    f"Unknown task code {submission.task_code!r}: province {self.province.code} implements no such item."
                )
            if submission.receiving_division is not None and not submission.receiving_division.isdigit():
                raise ShardInputError(f"Receiving division {submission.receiving_division!r} is not a 6-digit code.")
            moment = now()
            prefix = codes.application_no(item["division_code"], moment, 0)[:14]
            last = db.execute(
                "SELECT MAX(application_no) FROM applications WHERE application_no LIKE ?", (prefix + "%",)
            ).fetchone()[0]
            number = codes.application_no(item["division_code"], moment, int(last[14:]) + 1 if last else 1)
            query_code = f"{secrets.randbelow(10**6):06d}"
            cross_mode = None
            if submission.receiving_division and submission.receiving_division[:2] != self.province.prefix:
                cross_mode = "REMOTE_RECEIPT"
            db.execute(
                "INSERT INTO applications (application_no, task_code, applicant_id, agent_id, channel, status, "
                "query_code, submitted_at, cross_mode, receiving_division, handling_division, idempotency_key, "
                "payload_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (number, item["task_code"], submission.applicant_id, submission.agent_id, submission.channel,
                 lifecycle.SUBMITTED, query_code, timestamp(moment), cross_mode,
                 submission.receiving_division if cross_mode else None,
                 item["division_code"] if cross_mode else None, submission.idempotency_key, fingerprint),
            )
            db.execute(
                "INSERT INTO status_events (application_no, seq, status, at, actor_role) VALUES (?,?,?,?,?)",
                (number, 1, lifecycle.SUBMITTED, timestamp(moment), lifecycle.ACTOR_ROLES[lifecycle.SUBMITTED]),
            )
            created = db.execute("SELECT * FROM applications WHERE application_no = ?", (number,)).fetchone()
        return Receipt(created, query_code, replayed=False)

    @_once("advanceApplication", "applications", "application_no")
    def advance(
        self, application_no: str, target: str, *, stage: str | None = None, opinion: str | None = None,
        result: str | None = None, supplement_list: Sequence[str] | None = None,
        suspension_reason: str | None = None, delivery_method: str | None = None,
        tracking_no: str | None = None, now: Callable[[], datetime] = lambda: datetime.now(CHINA),
        permit: Callable[[Row, str], None] | None = None,
    ) -> Row:
        """Move an application one step along the lifecycle table, recording the event.

        `permit(application, step)` may refuse the move (by raising) once its step is known
        (`lifecycle.step_of`); nothing is written then.
        """
        with self._transaction() as db:
            app = db.execute("SELECT * FROM applications WHERE application_no = ?", (application_no,)).fetchone()
            if app is None:
                raise ShardInputError(f"Application {application_no!r} does not exist in province {self.province.code}.")
            if result is not None and result not in COMPLETION_RESULTS:
                raise ShardInputError(f"Unknown completion result {result!r}.")
            item = db.execute("SELECT * FROM items WHERE task_code = ?", (app["task_code"],)).fetchone()
            if target == lifecycle.COMPLETED and result is None:
                result = "SUPPLEMENT_TIMEOUT" if app["status"] == lifecycle.SUPPLEMENT_REQUIRED else (
                    "ISSUED" if item["result_licence_type"] else "DONE")
            try:
                new_stage = lifecycle.check_transition(app["status"], target, app["review_stage"], stage, result)
            except lifecycle.TransitionError as error:
                raise ShardInputError(str(error)) from None
            if permit is not None:
                permit(app, lifecycle.step_of(app["status"], target, app["review_stage"], new_stage))
            moment = now()
            at = timestamp(moment)
            changes: dict[str, Any] = {"status": target, "review_stage": new_stage}
            if target == lifecycle.ACCEPTED:
                changes["accepted_at"] = at
                changes["due_at"] = timestamp(add_working_days(moment, item["promised_limit_value"]))
            elif target == lifecycle.SUSPENDED:
                changes["suspended_at"] = at
            elif target == lifecycle.IN_REVIEW and app["status"] == lifecycle.SUSPENDED:
                changes["suspended_at"] = None
                if app["due_at"] and app["suspended_at"]:
                    paused = working_days_between(parse_timestamp(app["suspended_at"]), moment)
                    changes["due_at"] = timestamp(add_working_days(parse_timestamp(app["due_at"]), paused))
            elif target == lifecycle.COMPLETED:
                changes["completed_at"] = at
                changes["result"] = result
            elif target == lifecycle.DELIVERED:
                method = delivery_method or "ELECTRONIC"
                if method not in DELIVERY_METHODS:
                    raise ShardInputError(f"Unknown delivery method {method!r}.")
                changes.update(delivery_method=method, tracking_no=tracking_no, delivered_at=at)
            assignments = ", ".join(f"{column} = ?" for column in changes)
            db.execute(f"UPDATE applications SET {assignments} WHERE application_no = ?",
                       [*changes.values(), application_no])
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM status_events WHERE application_no = ?",
                             (application_no,)).fetchone()[0]
            role = lifecycle.STAGE_ROLES[new_stage] if target == lifecycle.IN_REVIEW and new_stage else \
                lifecycle.ACTOR_ROLES[target]
            db.execute(
                "INSERT INTO status_events VALUES (?,?,?,?,?,?,?,?,?)",
                (application_no, seq, target, new_stage, at, role, opinion,
                 json.dumps(list(supplement_list), ensure_ascii=False) if supplement_list else None,
                 suspension_reason),
            )
            if target == lifecycle.COMPLETED and result == "ISSUED" and item["result_licence_type"]:
                self._issue_licence(db, app, item, moment)
            return db.execute("SELECT * FROM applications WHERE application_no = ?", (application_no,)).fetchone()

    def _issue_licence(self, db: sqlite3.Connection, app: Row, item: Row, moment: datetime) -> None:
        issuer = item["agency_uscc"]
        serial = db.execute("SELECT COUNT(*) FROM licences WHERE issuer_uscc = ?", (issuer,)).fetchone()[0] + 1
        licence_id = codes.licence_id(item["result_licence_type"], issuer, serial)
        while db.execute("SELECT 1 FROM licences WHERE licence_id = ?", (licence_id,)).fetchone():
            serial += 1
            licence_id = codes.licence_id(item["result_licence_type"], issuer, serial)
        db.execute(
            "INSERT INTO licences VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (licence_id, item["result_licence_type"], f"{self.province.prefix}{moment:%Y}{serial:08d}",
             app["applicant_id"], issuer, f"{moment:%Y-%m-%d}", f"{moment:%Y-%m-%d}",
             f"{years_later(moment, 5):%Y-%m-%d}", "VALID", "A", app["application_no"]),
        )

    @_once("rateApplication", "evaluations", "evaluation_id")
    def rate(
        self, application_no: str, level: str, channel: str, comment: str | None,
        dimensions: Sequence[tuple[str, int]], hall_code: str | None = None, window_no: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(CHINA),
    ) -> Row:
        """Rate a finished application, once per channel; bottom-two levels open a rectification."""
        with self._transaction() as db:
            app = db.execute("SELECT * FROM applications WHERE application_no = ?", (application_no,)).fetchone()
            if app is None:
                raise ShardInputError(f"Application {application_no!r} does not exist in province {self.province.code}.")
            if app["status"] not in lifecycle.FINISHED:
                raise ShardInputError(
                    f"Application {application_no} is {app['status']}; only COMPLETED or DELIVERED applications can be rated."
                )
            if db.execute("SELECT 1 FROM evaluations WHERE application_no = ? AND channel = ?",
                          (application_no, channel)).fetchone():
                raise ShardInputError(f"Application {application_no} was already rated on channel {channel}.")
            for name, score in dimensions:
                if not 1 <= score <= 5:
                    raise ShardInputError(f"Dimension {name!r} has score {score}; scores run from 1 to 5.")
            if hall_code is not None and db.execute("SELECT 1 FROM halls WHERE hall_code = ?", (hall_code,)).fetchone() is None:
                raise ShardInputError(f"Unknown service hall {hall_code!r} in province {self.province.code}.")
            last = db.execute("SELECT MAX(evaluation_id) FROM evaluations").fetchone()[0]
            serial = int(last[len(self.province.code) + 1:]) + 1 if last else 1
            evaluation_id = f"{self.province.code}E{serial:08d}"
            moment = now()
            rect: tuple[Any, ...] = (None, None)
            if level in NEGATIVE_LEVELS:
                rect = ("PENDING_CALLBACK", timestamp(add_working_days(moment, 15)))
            db.execute(
                "INSERT INTO evaluations (evaluation_id, application_no, channel, level, hall_code, window_no, "
                "dimensions, comment, evaluated_at, rect_status, rect_deadline) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (evaluation_id, application_no, channel, level, hall_code, window_no,
                 json.dumps([{"name": n, "score": s} for n, s in dimensions], ensure_ascii=False),
                 comment, timestamp(moment), *rect),
            )
            return db.execute("SELECT * FROM evaluations WHERE evaluation_id = ?", (evaluation_id,)).fetchone()

    def record_access(
        self, licence: Row, requester_uscc: str, requester_role: str, purpose: str,
        application_no: str | None, authorisation_ref: str | None, outcome: str,
        now: Callable[[], datetime] = lambda: datetime.now(CHINA),
    ) -> Row:
        """Write the audit row that every e-licence download must leave behind."""
        with self._transaction() as db:
            last = db.execute("SELECT MAX(record_id) FROM data_access").fetchone()[0]
            serial = int(last[len(self.province.code) + 1:]) + 1 if last else 1
            record_id = f"{self.province.code}A{serial:08d}"
            db.execute(
                "INSERT INTO data_access VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (record_id, None, licence["licence_id"], requester_uscc, requester_role, purpose,
                 application_no, licence["holder_id"], timestamp(now()), outcome, authorisation_ref),
            )
            return db.execute("SELECT * FROM data_access WHERE record_id = ?", (record_id,)).fetchone()


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection;
    inside a transaction already open, a savepoint that the outer transaction commits."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.nested = False

    def __enter__(self) -> sqlite3.Connection:
        self.nested = self.connection.in_transaction
        self.connection.execute("SAVEPOINT nested" if self.nested else "BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if not self.nested:
            self.connection.execute("ROLLBACK" if kind is not None else "COMMIT")
            return
        if kind is not None:
            self.connection.execute("ROLLBACK TO nested")
        self.connection.execute("RELEASE nested")

