"""Rows of the national database as typed, immutable records."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DivisionRecord:
    code: str
    parent_code: str | None
    level: str
    name_zh: str
    name_pinyin: str
    name_en: str
    iso3166_2: str | None
    division_type: str | None
    has_platform: bool


@dataclass(frozen=True, slots=True)
class DepartmentRecord:
    uscc: str
    name: str


@dataclass(frozen=True, slots=True)
class CatalogItemRecord:
    catalog_code: str
    name: str
    item_type: str
    department_uscc: str
    legal_time_limit: int
    legal_time_unit: str
    service_objects: tuple[str, ...]
    use_levels: tuple[str, ...]
    cross_province: bool
    cross_province_year: int | None
    cross_province_modes: tuple[str, ...]
    result_licence_type: str | None
    parent_code: str | None
    law_name: str | None
    version: int


@dataclass(frozen=True, slots=True)
class LicenceTypeRecord:
    type_code: str
    name: str
    owner_uscc: str
    holder_type: str


@dataclass(frozen=True, slots=True)
class SharedDataResourceRecord:
    resource_code: str
    name: str
    provider_uscc: str
    share_type: str
    share_conditions: str | None
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    subject_id: str
    subject_type: str
    masked_name: str
    certificate_type: str
    masked_certificate_no: str
    auth_level: str
    home_division: str


@dataclass(frozen=True, slots=True)
class MandateRecord:
    principal_id: str
    agent_id: str
    scope: tuple[str, ...]
    valid_until: str | None


@dataclass(frozen=True, slots=True)
class EvaluationSummaryRecord:
    division_code: str
    period: str
    total: int
    counts_by_level: tuple[int, int, int, int, int]
    negative_rectified_rate: float | None
    negative_callback_rate: float | None


@dataclass(frozen=True, slots=True)
class CapabilityRecord:
    division_code: str
    year: int
    overall_index: float
    level: str
    online_service_effectiveness: float
    online_handling_maturity: float
    service_channel_completeness: float
    item_coverage: float
    guide_accuracy: float
