"""Read access to the national database, shaped for DataLoaders.

Every `get_many(keys)` answers a whole batch with ONE SQL statement and returns the
rows in key order (None where a key is unknown), which is the contract of a DataLoader.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from resolvers.national.records import (
    CapabilityRecord,
    CatalogItemRecord,
    DepartmentRecord,
    DivisionRecord,
    EvaluationSummaryRecord,
    LicenceTypeRecord,
    MandateRecord,
    SharedDataResourceRecord,
    SubjectRecord,
)

R = TypeVar("R")

# Far below SQLite's limit of 32766 host parameters per statement.
MAX_BATCH = 10_000


def _division(row: sqlite3.Row) -> DivisionRecord:
    return DivisionRecord(
        row["code"], row["parent_code"], row["level"], row["name_zh"], row["name_pinyin"],
        row["name_en"], row["iso3166_2"], row["division_type"], bool(row["has_platform"]),
    )


def _department(row: sqlite3.Row) -> DepartmentRecord:
    return DepartmentRecord(row["uscc"], row["name"])


def _catalog_item(row: sqlite3.Row) -> CatalogItemRecord:
    return CatalogItemRecord(
        catalog_code=row["catalog_code"],
        name=row["name"],
        item_type=row["item_type"],
        department_uscc=row["department_uscc"],
        legal_time_limit=row["legal_time_limit"],
        legal_time_unit=row["legal_time_unit"],
        service_objects=tuple(json.loads(row["service_objects"])),
        use_levels=tuple(json.loads(row["use_levels"])),
        cross_province=bool(row["cross_province"]),
        cross_province_year=row["cross_province_year"],
        cross_province_modes=tuple(json.loads(row["cross_province_modes"])),
        result_licence_type=row["result_licence_type"],
        parent_code=row["parent_code"],
        law_name=row["law_name"],
        version=row["version"],
    )


def _licence_type(row: sqlite3.Row) -> LicenceTypeRecord:
    return LicenceTypeRecord(row["type_code"], row["name"], row["owner_uscc"], row["holder_type"])


def _shared_data_resource(row: sqlite3.Row) -> SharedDataResourceRecord:
    return SharedDataResourceRecord(
        row["resource_code"], row["name"], row["provider_uscc"], row["share_type"],
        row["share_conditions"], tuple(json.loads(row["fields"])),
    )


def _subject(row: sqlite3.Row) -> SubjectRecord:
    return SubjectRecord(
        row["subject_id"], row["subject_type"], row["masked_name"], row["certificate_type"],
        row["masked_certificate_no"], row["auth_level"], row["home_division"],
    )


def _mandate(row: sqlite3.Row) -> MandateRecord:
    return MandateRecord(
        row["principal_id"], row["agent_id"], tuple(json.loads(row["scope"])), row["valid_until"]
    )


def _evaluation(row: sqlite3.Row) -> EvaluationSummaryRecord:
    return EvaluationSummaryRecord(
        row["division_code"], row["period"], row["total"],
        (row["very_dissatisfied"], row["dissatisfied"], row["basically_satisfied"],
         row["satisfied"], row["very_satisfied"]),
        row["negative_rectified_rate"], row["negative_callback_rate"],
    )


def _capability(row: sqlite3.Row) -> CapabilityRecord:
    return CapabilityRecord(
        row["division_code"], row["year"], row["overall_index"], row["level"],
        row["online_service_effectiveness"], row["online_handling_maturity"],
        row["service_channel_completeness"], row["item_coverage"], row["guide_accuracy"],
    )


class Table(Generic[R]):
    """Batched lookups by primary key (one or more columns) in one table."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        table: str,
        key_columns: Sequence[str],
        factory: Callable[[sqlite3.Row], R],
    ) -> None:
        self._connection = connection
        self._table = table
        self._key_columns = tuple(key_columns)
        self._factory = factory

    def get_many(self, keys: Sequence[Hashable]) -> list[R | None]:
        """The rows for `keys`, in key order; one SQL statement per batch of up to MAX_BATCH keys."""
        found: dict[Hashable, R] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), MAX_BATCH):
            found.update(self._fetch(unique[start:start + MAX_BATCH]))
        return [found.get(key) for key in keys]

    def _fetch(self, keys: list[Hashable]) -> dict[Hashable, R]:
        if not keys:
            return {}
        if len(self._key_columns) == 1:
            column = self._key_columns[0]
            marks = ", ".join("?" for _ in keys)
            sql = f"SELECT * FROM {self._table} WHERE {column} IN ({marks})"
            params: list[Any] = list(keys)
            rows = self._connection.execute(sql, params).fetchall()
            return {row[column]: self._factory(row) for row in rows}
        width = len(self._key_columns)
        tuple_marks = "(" + ", ".join("?" for _ in range(width)) + ")"
        columns = ", ".join(self._key_columns)
        sql = (
            f"SELECT * FROM {self._table} WHERE ({columns}) IN "
            f"(VALUES {', '.join(tuple_marks for _ in keys)})"
        )
        params = [part for key in keys for part in cast(tuple[Any, ...], key)]
        rows = self._connection.execute(sql, params).fetchall()
        return {tuple(row[c] for c in self._key_columns): self._factory(row) for row in rows}


class NationalRepository:
    """The national database, opened once per process and shared by its requests."""

    def __init__(self, db_path: Path) -> None:
        if not db_path.exists():
            raise FileNotFoundError(
                f"National database {db_path} does not exist: run `govgraph seed` first."
            )
        self.connection = sqlite3.connect(db_path, check_same_thread=False)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA query_only=ON")
        c = self.connection
        self.divisions = Table(c, "divisions", ["code"], _division)
        self.departments = Table(c, "departments", ["uscc"], _department)
        self.catalog_items = Table(c, "catalog_items", ["catalog_code"], _catalog_item)
        self.licence_types = Table(c, "licence_types", ["type_code"], _licence_type)
        self.shared_data_resources = Table(
            c, "shared_data_resources", ["resource_code"], _shared_data_resource
        )
        self.subjects = Table(c, "subjects", ["subject_id"], _subject)
        self.evaluation_summaries = Table(
            c, "evaluation_summaries", ["division_code", "period"], _evaluation
        )
        self.capabilities = Table(c, "capability_assessments", ["division_code", "year"], _capability)

    def close(self) -> None:
        self.connection.close()

    def provinces(self, include_non_federated: bool) -> list[DivisionRecord]:
        """Provincial-level divisions in GB/T 2260 order; the three without a platform on request."""
        sql = "SELECT * FROM divisions WHERE level = 'PROVINCIAL'"
        if not include_non_federated:
            sql += " AND has_platform = 1"
        return [_division(r) for r in self.connection.execute(sql + " ORDER BY position")]

    def children_of(self, codes: Sequence[str]) -> list[list[DivisionRecord]]:
        """The direct children of each division, one statement for the batch."""
        grouped: dict[str, list[DivisionRecord]] = {code: [] for code in codes}
        unique = list(grouped)
        if unique:
            marks = ", ".join("?" for _ in unique)
            rows = self.connection.execute(
                f"SELECT * FROM divisions WHERE parent_code IN ({marks}) ORDER BY position", unique
            )
            for row in rows:
                grouped[row["parent_code"]].append(_division(row))
        return [grouped[code] for code in codes]

    def mandates_of(self, principal_ids: Sequence[str]) -> list[list[MandateRecord]]:
        """The agents each legal person has mandated, one statement for the batch."""
        grouped: dict[str, list[MandateRecord]] = {pid: [] for pid in principal_ids}
        unique = list(grouped)
        if unique:
            marks = ", ".join("?" for _ in unique)
            rows = self.connection.execute(
                f"SELECT * FROM mandates WHERE principal_id IN ({marks}) "
                "ORDER BY principal_id, agent_id",
                unique,
            )
            for row in rows:
                grouped[row["principal_id"]].append(_mandate(row))
        return [grouped[pid] for pid in principal_ids]

    def search_catalog(
        self,
        keyword: str | None,
        item_type: str | None,
        cross_province_only: bool,
        first: int,
    ) -> list[CatalogItemRecord]:
        """Catalogue entries whose name contains `keyword`, by code, at most `first` of them."""
        clauses: list[str] = []
        params: list[Any] = []
        if keyword:
            escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("name LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if item_type:
            clauses.append("item_type = ?")
            params.append(item_type)
        if cross_province_only:
            clauses.append("cross_province = 1")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(first)
        rows = self.connection.execute(
            f"SELECT * FROM catalog_items{where} ORDER BY catalog_code LIMIT ?", params
        )
        return [_catalog_item(r) for r in rows]

    def list_shared_data_resources(self, share_type: str | None) -> list[SharedDataResourceRecord]:
        """The shared-data resource catalogue, optionally of one share type, by code."""
        if share_type is None:
            rows = self.connection.execute(
                "SELECT * FROM shared_data_resources ORDER BY resource_code"
            )
        else:
            rows = self.connection.execute(
                "SELECT * FROM shared_data_resources WHERE share_type = ? ORDER BY resource_code",
                (share_type,),
            )
        return [_shared_data_resource(r) for r in rows]
