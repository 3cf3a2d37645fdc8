"""Per-request context of a provincial shard: its repository and fresh DataLoaders.

Loaders live for one request, so a batch never mixes callers; each batch is one SQL statement.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader

from resolvers.audit import AuditLog
from resolvers.provincial.codes import APPLICATION_NO_FORMAT, parse_application_no
from resolvers.provincial.repository import Row, ShardInputError, ShardRepository
from subgraphs.audit import AuditTrail
from subgraphs.claims import ANONYMOUS, Claims
from subgraphs.errors import excerpt

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

def _loader(batch: Callable[[Sequence[K]], list[V]]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        return batch(keys)

    return DataLoader(load_fn=load)


def _subject_applications(repository: ShardRepository) -> DataLoader[tuple[str, int], list[Row]]:
    """Keys are (subject, first); one query per distinct `first` in the batch (normally one)."""

    async def load(keys: list[tuple[str, int]]) -> list[list[Row]]:
        found: dict[tuple[str, int], list[Row]] = {}
        for first in {f for _, f in keys}:
            subjects = sorted({s for s, f in keys if f == first})
            for subject, rows in zip(subjects, repository.applications_for_subjects(subjects, first)):
                found[(subject, first)] = rows
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


@dataclass(slots=True)
class Loaders:
    """One DataLoader per lookup of the shard."""

    items: DataLoader[str, Row | None]
    agencies: DataLoader[str, Row | None]
    halls: DataLoader[str, Row | None]
    applications: DataLoader[str, Row | None]
    licences: DataLoader[str, Row | None]
    evaluations: DataLoader[str, Row | None]
    access_records: DataLoader[str, Row | None]
    catalogue: DataLoader[str, Row | None]
    items_for_catalogue: DataLoader[str, list[Row]]
    halls_for_items: DataLoader[str, list[Row]]
    history: DataLoader[str, list[Row]]
    application_licence: DataLoader[str, Row | None]
    application_evaluation: DataLoader[str, Row | None]
    subject_licences: DataLoader[str, list[Row]]
    subject_applications: DataLoader[tuple[str, int], list[Row]]
    contacts: DataLoader[str, Row | None]

    @classmethod
    def over(cls, repository: ShardRepository) -> Loaders:
        return cls(
            items=_loader(repository.items),
            agencies=_loader(repository.agencies),
            halls=_loader(repository.halls),
            applications=_loader(repository.applications),
            licences=_loader(repository.licences),
            evaluations=_loader(repository.evaluations),
            access_records=_loader(repository.access_records),
            catalogue=_loader(repository.catalogue_entries),
            items_for_catalogue=_loader(repository.items_for_catalogue),
            halls_for_items=_loader(repository.halls_for_items),
            history=_loader(repository.events_for_applications),
            application_licence=_loader(repository.licences_for_applications),
            application_evaluation=_loader(repository.evaluations_for_applications),
            subject_licences=_loader(repository.licences_for_subjects),
            subject_applications=_subject_applications(repository),
            contacts=_loader(repository.contacts),
        )


@dataclass(slots=True)
class ShardContext:
    """What every resolver of one shard needs: the province, its data, the verified caller and
    the request's audit trail."""

    repository: ShardRepository
    loaders: Loaders
    claims: Claims
    audit: AuditTrail

    @classmethod
    def for_request(cls, repository: ShardRepository, audit_log: AuditLog, claims: Claims = ANONYMOUS,
                    request_id: str | None = None) -> ShardContext:
        trail = AuditTrail(audit_log, claims, repository.province.code, request_id or claims.request_id)
        return cls(repository, Loaders.over(repository), claims, trail)

    @property
    def province_code(self) -> str:
        return self.repository.province.code

    def require_province(self, code: str) -> None:
        """Refuse a province code this shard does not serve, naming both."""
        if code != self.province_code:
            raise ShardInputError(
                f"Province code {excerpt(code)!r} is not served by this shard, which serves {self.province_code} "
                f"({self.repository.province.name_en}); send the request to that province's endpoint."
            )

    def require_application_no(self, value: str) -> None:
        """Refuse a malformed application number or one that belongs to another province."""
        parts = parse_application_no(value)
        if parts is None:
            raise ShardInputError(
                f"Malformed application number {excerpt(value)!r}: expected {APPLICATION_NO_FORMAT}."
            )
        if parts[0][:2] != self.repository.province.prefix:
            raise ShardInputError(
                f"Application number {excerpt(value)!r} belongs to division {parts[0]}, not to province "
                f"{self.province_code} served here."
            )
