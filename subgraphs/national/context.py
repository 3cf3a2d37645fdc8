"""Per-request context of the national subgraph: the repository and fresh DataLoaders.

Loaders live for one request, so a batch never mixes requests and nothing is cached
across callers.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader

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
from resolvers.national.repository import NationalRepository
from subgraphs.audit import AuditTrail
from subgraphs.claims import Claims

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

def _loader(batch: Callable[[Sequence[K]], list[V]]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        return batch(keys)

    return DataLoader(load_fn=load)


@dataclass(slots=True)
class Loaders:
    """One DataLoader per lookup; each batch is one SQL statement."""

    divisions: DataLoader[str, DivisionRecord | None]
    children: DataLoader[str, list[DivisionRecord]]
    departments: DataLoader[str, DepartmentRecord | None]
    catalog_items: DataLoader[str, CatalogItemRecord | None]
    licence_types: DataLoader[str, LicenceTypeRecord | None]
    shared_data_resources: DataLoader[str, SharedDataResourceRecord | None]
    subjects: DataLoader[str, SubjectRecord | None]
    mandates: DataLoader[str, list[MandateRecord]]
    evaluation_summaries: DataLoader[tuple[str, str], EvaluationSummaryRecord | None]
    capabilities: DataLoader[tuple[str, int], CapabilityRecord | None]

    @classmethod
    def over(cls, repository: NationalRepository) -> Loaders:
        return cls(
            divisions=_loader(repository.divisions.get_many),
            children=_loader(repository.children_of),
            departments=_loader(repository.departments.get_many),
            catalog_items=_loader(repository.catalog_items.get_many),
            licence_types=_loader(repository.licence_types.get_many),
            shared_data_resources=_loader(repository.shared_data_resources.get_many),
            subjects=_loader(repository.subjects.get_many),
            mandates=_loader(repository.mandates_of),
            evaluation_summaries=_loader(repository.evaluation_summaries.get_many),
            capabilities=_loader(repository.capabilities.get_many),
        )


@dataclass(slots=True)
class NationalContext:
    """What every resolver sees as `info.context`: data, the verified caller, the audit trail."""

    repository: NationalRepository
    loaders: Loaders
    claims: Claims
    audit: AuditTrail
