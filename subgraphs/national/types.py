"""GraphQL types of the national subgraph: reference data, identity and evaluation.

Entities resolve their references through the request's DataLoaders, so `_entities`
with N representations of one type costs one SQL statement. An unknown but well-formed
key resolves to null, as federation expects; a malformed key is an error.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.federation.schema_directives import Authenticated
from strawberry.types import Info

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
from subgraphs.errors import excerpt, forbidden
from subgraphs.national import arguments
from subgraphs.national.context import NationalContext


@strawberry.enum
class DivisionType(Enum):
    PROVINCE = "PROVINCE"
    MUNICIPALITY = "MUNICIPALITY"
    AUTONOMOUS_REGION = "AUTONOMOUS_REGION"
    SAR = "SAR"
    CLAIMED_PROVINCE = "CLAIMED_PROVINCE"


@strawberry.enum
class DivisionLevel(Enum):
    PROVINCIAL = "PROVINCIAL"
    PREFECTURAL = "PREFECTURAL"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"


@strawberry.enum(description="事项类型 (national dictionary codes 01–10 and 20)")
class ItemType(Enum):
    ADMINISTRATIVE_LICENSING = "ADMINISTRATIVE_LICENSING"
    ADMINISTRATIVE_PENALTY = "ADMINISTRATIVE_PENALTY"
    ADMINISTRATIVE_COERCION = "ADMINISTRATIVE_COERCION"
    ADMINISTRATIVE_LEVY = "ADMINISTRATIVE_LEVY"
    ADMINISTRATIVE_PAYMENT = "ADMINISTRATIVE_PAYMENT"
    ADMINISTRATIVE_INSPECTION = "ADMINISTRATIVE_INSPECTION"
    ADMINISTRATIVE_CONFIRMATION = "ADMINISTRATIVE_CONFIRMATION"
    ADMINISTRATIVE_REWARD = "ADMINISTRATIVE_REWARD"
    ADMINISTRATIVE_ADJUDICATION = "ADMINISTRATIVE_ADJUDICATION"
    OTHER_ADMINISTRATIVE_POWER = "OTHER_ADMINISTRATIVE_POWER"
    PUBLIC_SERVICE = "PUBLIC_SERVICE"


@strawberry.enum(description="行使层级")
class UseLevel(Enum):
    NATIONAL = "NATIONAL"
    PROVINCIAL = "PROVINCIAL"
    MUNICIPAL = "MUNICIPAL"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"


@strawberry.enum
class ServiceObject(Enum):
    NATURAL_PERSON = "NATURAL_PERSON"
    ENTERPRISE_LEGAL_PERSON = "ENTERPRISE_LEGAL_PERSON"
    PUBLIC_INSTITUTION = "PUBLIC_INSTITUTION"
    SOCIAL_ORGANIZATION = "SOCIAL_ORGANIZATION"
    NON_LEGAL_PERSON_ENTERPRISE = "NON_LEGAL_PERSON_ENTERPRISE"
    GOVERNMENT_ORGAN = "GOVERNMENT_ORGAN"
    OTHER_ORGANIZATION = "OTHER_ORGANIZATION"


@strawberry.enum
class TimeUnit(Enum):
    WORKING_DAY = "WORKING_DAY"
    NATURAL_DAY = "NATURAL_DAY"
    HOUR = "HOUR"
    MONTH = "MONTH"


@strawberry.enum(description="跨省通办 mode (国办发〔2020〕35号)")
class CrossProvinceMode(Enum):
    FULL_ONLINE = "FULL_ONLINE"
    REMOTE_RECEIPT = "REMOTE_RECEIPT"
    MULTI_LOCATION = "MULTI_LOCATION"


@strawberry.enum
class SubjectType(Enum):
    NATURAL_PERSON = "NATURAL_PERSON"
    LEGAL_PERSON = "LEGAL_PERSON"


@strawberry.enum(description="可信等级 of a real-name account")
class AuthLevel(Enum):
    L2_SELF_DECLARED = "L2_SELF_DECLARED"
    L3_TWO_FACTOR_REGISTRY = "L3_TWO_FACTOR_REGISTRY"
    L4_FACE_MATCH = "L4_FACE_MATCH"
    L5_CERT_OR_COUNTER = "L5_CERT_OR_COUNTER"


@strawberry.enum(description="政务信息资源共享类型 (国发〔2016〕51号)")
class ShareType(Enum):
    UNCONDITIONAL = "UNCONDITIONAL"
    CONDITIONAL = "CONDITIONAL"
    NOT_SHARED = "NOT_SHARED"


@strawberry.enum
class CapabilityLevel(Enum):
    VERY_HIGH = "VERY_HIGH"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


def _context(info: Info) -> NationalContext:
    context: NationalContext = info.context
    return context


def _key_field(representation: dict[str, Any], name: str, typename: str) -> str:
    """The key field `name` of a representation; an error naming the type when it is missing."""
    value = representation.get(name)
    if value is None:
        raise arguments.InvalidArgument(
            f'A {typename} representation needs its key field "{name}"; got {excerpt(sorted(representation))}.'
        )
    return str(value)


# ---------------------------------------------------------------- reference data


@strawberry.federation.type(keys=["code"], description="GB/T 2260 administrative division")
class Division:
    code: strawberry.ID
    name_zh: str
    name_pinyin: str
    name_en: str
    iso3166_2: str | None = strawberry.field(name="iso3166_2")
    type: DivisionType | None
    level: DivisionLevel
    has_platform: bool = strawberry.field(
        description=(
            "true for a provincial-level division that runs its own platform; false for 71/81/82 "
            "(listed in GB/T 2260 but not federated) and for prefectures and counties, "
            "which their province's platform serves"
        )
    )
    parent_code: strawberry.Private[str | None]

    @classmethod
    def from_record(cls, record: DivisionRecord) -> Division:
        return cls(
            code=strawberry.ID(record.code),
            name_zh=record.name_zh,
            name_pinyin=record.name_pinyin,
            name_en=record.name_en,
            iso3166_2=record.iso3166_2,
            type=DivisionType(record.division_type) if record.division_type else None,
            level=DivisionLevel(record.level),
            has_platform=record.has_platform,
            parent_code=record.parent_code,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> Division | None:
        code = arguments.division_code(_key_field(key, "code", "Division"))
        record = await _context(info).loaders.divisions.load(code)
        return cls.from_record(record) if record else None

    @strawberry.field
    async def parent(self, info: Info) -> Division | None:
        if self.parent_code is None:
            return None
        record = await _context(info).loaders.divisions.load(self.parent_code)
        return Division.from_record(record) if record else None

    @strawberry.field(
        description="Direct subdivisions: a province's prefectures, a prefecture's counties."
    )
    async def children(self, info: Info) -> list[Division]:
        records = await _context(info).loaders.children.load(str(self.code))
        return [Division.from_record(r) for r in records]

    @strawberry.field(description="The yearly capability assessment; null for a year not assessed.")
    async def capability(self, info: Info, year: int) -> CapabilityAssessment | None:
        record = await _context(info).loaders.capabilities.load((str(self.code), year))
        return CapabilityAssessment.from_record(record, self) if record else None

    @strawberry.field(description='Ratings of one quarter, e.g. "2025-Q1"; null when none are held.')
    async def evaluation_summary(self, info: Info, period: str) -> EvaluationSummary | None:
        key = (str(self.code), arguments.period(period))
        record = await _context(info).loaders.evaluation_summaries.load(key)
        return EvaluationSummary.from_record(record, self) if record else None


@strawberry.federation.type(shareable=True)
class TimeLimit:
    value: int
    unit: TimeUnit
    note: str | None = None


@strawberry.federation.type(shareable=True)
class LegalBasis:
    law_name: str
    article_no: str | None = None
    issuer: str | None = None
    effective_date: str | None = None


@strawberry.federation.type(
    keys=["uscc"], description="Issuing ministry / State Council department (region 100000)"
)
class Department:
    uscc: strawberry.ID
    name: str

    @classmethod
    def from_record(cls, record: DepartmentRecord) -> Department:
        return cls(uscc=strawberry.ID(record.uscc), name=record.name)

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> Department | None:
        record = await _context(info).loaders.departments.load(_key_field(key, "uscc", "Department"))
        return cls.from_record(record) if record else None


async def _department(info: Info, uscc: str) -> Department | None:
    record = await _context(info).loaders.departments.load(uscc)
    return Department.from_record(record) if record else None


@strawberry.type
class CrossProvinceListing:
    national_high_frequency: bool = strawberry.field(
        description="on the 140-item 全国高频跨省通办 list"
    )
    target_year: int | None = strawberry.field(description="2020 or 2021 batch")
    modes: list[CrossProvinceMode]


@strawberry.federation.type(
    keys=["catalogCode"], description="Basic catalogue entry (基本目录), identical nationwide"
)
class CatalogItem:
    catalog_code: strawberry.ID = strawberry.field(description="12-character 基本编码")
    name: str
    item_type: ItemType
    use_levels: list[UseLevel]
    service_objects: list[ServiceObject]
    legal_time_limit: TimeLimit | None = strawberry.field(description="法定办结时限")
    cross_province: CrossProvinceListing
    legal_basis: list[LegalBasis]
    version: int
    record: strawberry.Private[CatalogItemRecord]

    @classmethod
    def from_record(cls, record: CatalogItemRecord) -> CatalogItem:
        return cls(
            catalog_code=strawberry.ID(record.catalog_code),
            name=record.name,
            item_type=ItemType(record.item_type),
            use_levels=[UseLevel(v) for v in record.use_levels],
            service_objects=[ServiceObject(v) for v in record.service_objects],
            legal_time_limit=TimeLimit(
                value=record.legal_time_limit, unit=TimeUnit(record.legal_time_unit)
            ),
            cross_province=CrossProvinceListing(
                national_high_frequency=record.cross_province,
                target_year=record.cross_province_year,
                modes=[CrossProvinceMode(v) for v in record.cross_province_modes],
            ),
            legal_basis=[LegalBasis(law_name=record.law_name)] if record.law_name else [],
            version=record.version,
            record=record,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> CatalogItem | None:
        code = arguments.catalog_code(_key_field(key, "catalogCode", "CatalogItem"))
        record = await _context(info).loaders.catalog_items.load(code)
        return cls.from_record(record) if record else None

    @strawberry.field(description="The main item when this is a sub-item (子项)")
    async def parent(self, info: Info) -> CatalogItem | None:
        if self.record.parent_code is None:
            return None
        record = await _context(info).loaders.catalog_items.load(self.record.parent_code)
        return CatalogItem.from_record(record) if record else None

    @strawberry.field
    async def responsible_department(self, info: Info) -> Department | None:
        return await _department(info, self.record.department_uscc)

    @strawberry.field(description="The licence type a positive decision issues, if any")
    async def result_licence_type(self, info: Info) -> LicenceType | None:
        if self.record.result_licence_type is None:
            return None
        record = await _context(info).loaders.licence_types.load(self.record.result_licence_type)
        return LicenceType.from_record(record) if record else None


@strawberry.federation.type(
    keys=["typeCode"], description="证照类型 from the national licence catalogue (GB/T 36902)"
)
class LicenceType:
    type_code: strawberry.ID = strawberry.field(
        description="USCC of the owning ministry (18) + 3-digit sequence"
    )
    name: str
    holder_type: SubjectType
    owner_uscc: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: LicenceTypeRecord) -> LicenceType:
        return cls(
            type_code=strawberry.ID(record.type_code),
            name=record.name,
            holder_type=SubjectType(record.holder_type),
            owner_uscc=record.owner_uscc,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> LicenceType | None:
        record = await _context(info).loaders.licence_types.load(_key_field(key, "typeCode", "LicenceType"))
        return cls.from_record(record) if record else None

    @strawberry.field
    async def owner(self, info: Info) -> Department | None:
        return await _department(info, self.owner_uscc)


@strawberry.federation.type(
    keys=["resourceCode"], description="Entry of the shared-data resource catalogue (政务信息资源目录)"
)
class SharedDataResource:
    resource_code: strawberry.ID
    name: str
    share_type: ShareType
    share_conditions: str | None = strawberry.field(description="Set when CONDITIONAL")
    fields: list[str]
    provider_uscc: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: SharedDataResourceRecord) -> SharedDataResource:
        return cls(
            resource_code=strawberry.ID(record.resource_code),
            name=record.name,
            share_type=ShareType(record.share_type),
            share_conditions=record.share_conditions,
            fields=list(record.fields),
            provider_uscc=record.provider_uscc,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> SharedDataResource | None:
        loader = _context(info).loaders.shared_data_resources
        record = await loader.load(_key_field(key, "resourceCode", "SharedDataResource"))
        return cls.from_record(record) if record else None

    @strawberry.field
    async def provider(self, info: Info) -> Department:
        department = await _department(info, self.provider_uscc)
        if department is None:
            raise LookupError(f'Shared-data resource "{self.resource_code}" has no provider.')
        return department


# ---------------------------------------------------------------- identity

PERSONAL = [Authenticated()]


@strawberry.federation.type(
    keys=["subjectId"],
    description="Pseudonymous account of the unified identity system; no raw identity number.",
)
class Subject:
    subject_id: strawberry.ID
    type: SubjectType = strawberry.field(directives=PERSONAL)
    masked_name: str = strawberry.field(description="张*三 / 广州****有限公司", directives=PERSONAL)
    certificate_type: str = strawberry.field(
        description='GA/T 2000.156 code: "111" 居民身份证, "49" 统一社会信用代码', directives=PERSONAL
    )
    masked_certificate_no: str = strawberry.field(description="4401**********1234", directives=PERSONAL)
    auth_level: AuthLevel = strawberry.field(directives=PERSONAL)

    @classmethod
    def from_record(cls, record: SubjectRecord) -> Subject:
        return cls(
            subject_id=strawberry.ID(record.subject_id),
            type=SubjectType(record.subject_type),
            masked_name=record.masked_name,
            certificate_type=record.certificate_type,
            masked_certificate_no=record.masked_certificate_no,
            auth_level=AuthLevel(record.auth_level),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> Subject | None:
        """Someone's profile: for the subject itself, an officer, or a national officer with a
        purpose; every read by another than the subject is audited."""
        context = _context(info)
        subject_id = _key_field(key, "subjectId", "Subject")
        claims = context.claims
        if not claims.owns(subject_id):
            if claims.kind != "officer" and not claims.national_with_purpose:
                reason = ("a national officer needs a stated purpose" if claims.kind == "national"
                          else f"an {claims.kind} caller reads only public data" if not claims.holder
                          else f"a {claims.kind} reads only its own")
                raise forbidden(claims, f"The profile of subject {excerpt(subject_id)} is personal data: {reason}.")
            context.audit.note("Subject", [subject_id])
        record = await context.loaders.subjects.load(subject_id)
        return cls.from_record(record) if record else None

    @strawberry.field(description="法人授权经办人: the agents a legal person has mandated", directives=PERSONAL)
    async def mandates(self, info: Info) -> list[Mandate]:
        records = await _context(info).loaders.mandates.load(str(self.subject_id))
        return [Mandate.from_record(r) for r in records]


@strawberry.type
class Mandate:
    scope: list[str]
    valid_until: str | None
    agent_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: MandateRecord) -> Mandate:
        return cls(scope=list(record.scope), valid_until=record.valid_until, agent_id=record.agent_id)

    @strawberry.field
    async def agent(self, info: Info) -> Subject:
        record = await _context(info).loaders.subjects.load(self.agent_id)
        if record is None:
            raise LookupError(f'Mandated agent "{self.agent_id}" is not a known subject.')
        return Subject.from_record(record)


# ---------------------------------------------------------------- evaluation


@strawberry.type
class LevelCount:
    level: int = strawberry.field(description="1 very dissatisfied … 5 very satisfied")
    count: int


@strawberry.type
class EvaluationSummary:
    division: Division
    period: str = strawberry.field(description="Year and quarter, e.g. 2025-Q1")
    total: int
    by_level: list[LevelCount]
    negative_rectified_rate: float | None = strawberry.field(description="差评整改率")
    negative_callback_rate: float | None = strawberry.field(description="实名差评回访率")

    @classmethod
    def from_record(cls, record: EvaluationSummaryRecord, division: Division) -> EvaluationSummary:
        return cls(
            division=division,
            period=record.period,
            total=record.total,
            by_level=[
                LevelCount(level=level, count=count)
                for level, count in enumerate(record.counts_by_level, start=1)
            ],
            negative_rectified_rate=record.negative_rectified_rate,
            negative_callback_rate=record.negative_callback_rate,
        )


@strawberry.type(description="省级政府和重点城市一体化政务服务能力调查评估")
class CapabilityAssessment:
    year: int
    division: Division
    overall_index: float
    level: CapabilityLevel = strawberry.field(
        description=">= 90 VERY_HIGH, 80–90 HIGH, 70–80 MEDIUM, below LOW"
    )
    online_service_effectiveness: float = strawberry.field(description="在线服务成效度")
    online_handling_maturity: float = strawberry.field(description="在线办理成熟度")
    service_channel_completeness: float = strawberry.field(description="服务方式完备度")
    item_coverage: float = strawberry.field(description="服务事项覆盖度")
    guide_accuracy: float = strawberry.field(description="办事指南准确度")

    @classmethod
    def from_record(cls, record: CapabilityRecord, division: Division) -> CapabilityAssessment:
        return cls(
            year=record.year,
            division=division,
            overall_index=record.overall_index,
            level=CapabilityLevel(record.level),
            online_service_effectiveness=record.online_service_effectiveness,
            online_handling_maturity=record.online_handling_maturity,
            service_channel_completeness=record.service_channel_completeness,
            item_coverage=record.item_coverage,
            guide_accuracy=record.guide_accuracy,
        )
