"""Object types of the provincial subgraph, built from shard rows.

Entity keys all start with ``provinceCode``; every ``resolve_reference`` goes through a
request-scoped DataLoader, so N representations of one type cost one SQL statement.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry
from strawberry.federation.schema_directives import Authenticated, Key, RequiresScopes
from strawberry.federation.types import FieldSet
from strawberry.types import Info

from resolvers.provincial import lifecycle
from resolvers.provincial.calendar import CHINA, timestamp
from resolvers.provincial.repository import Metrics, Row, ShardInputError
from subgraphs.errors import excerpt, forbidden
from subgraphs.provincial import access
from subgraphs.provincial.access import Grant
from subgraphs.provincial.context import ShardContext
from subgraphs.provincial.enums import (
    AccessOutcome,
    AgencyNature,
    ApplicationStatus,
    Channel,
    CompletionResult,
    CrossProvinceMode,
    DeliveryMethod,
    EvaluationLevel,
    HandleForm,
    HandlingScope,
    ItemType,
    LicenceStatus,
    MaterialForm,
    OnlineDepth,
    ProjectType,
    RectificationStatus,
    ReviewStage,
    TimeUnit,
    TrustLevel,
    UseLevel,
)

FILE_HOST = "https://zwfw.example.gov.cn"


def shard(info: Info) -> ShardContext:
    context: ShardContext = info.context
    return context


def key_field(key: dict[str, Any], typename: str, name: str) -> str:
    """One field of an entity representation, or a clear error when the gateway left it out."""
    if key.get(name) is None:
        raise ShardInputError(f"A {typename} representation needs {name!r}; it has only {excerpt(sorted(key))}.")
    return str(key[name])


def local_key(info: Info, key: dict[str, Any], typename: str, name: str) -> str:
    """The id of a provincial entity representation, after checking it names this shard's province."""
    shard(info).require_province(key_field(key, typename, "provinceCode"))
    return key_field(key, typename, name)


def present(row: Row | None, what: str) -> Row:
    """A row the shard's foreign keys guarantee; its absence means a damaged database, not bad input."""
    if row is None:
        raise LookupError(f"{what} is missing from the province database.")
    return row


def _opt(enum: Any, value: str | None) -> Any:
    return enum[value] if value is not None else None


# ---------------------------------------------------------------- value types


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


@strawberry.type
class FeeItem:
    name: str
    standard: str


@strawberry.type
class Fee:
    charged: bool
    basis: list[LegalBasis]
    items: list[FeeItem]
    online_payment: bool


@strawberry.type(description="申请材料")
class Material:
    name: str
    required: bool
    form: MaterialForm
    copies: int | None
    source_channel: str | None
    substitutable_by: LicenceType | None = strawberry.field(
        description="if set, an e-licence of this type can replace the material (免提交)"
    )
    template_url: str | None
    sample_url: str | None


@strawberry.type
class CrossProvinceSupport:
    modes: list[CrossProvinceMode]
    receiving_divisions: list[Division] | None = strawberry.field(
        description="divisions where a 跨省通办 window accepts this item (代收代办区域)"
    )


@strawberry.type
class StatusEvent:
    status: ApplicationStatus
    stage: ReviewStage | None
    at: str
    actor_role: str
    opinion: str | None
    supplement_list: list[str] | None
    suspension_reason: str | None

    @classmethod
    def from_row(cls, row: Row) -> StatusEvent:
        return cls(
            status=ApplicationStatus[row["status"]], stage=_opt(ReviewStage, row["stage"]), at=row["at"],
            actor_role=row["actor_role"], opinion=row["opinion"],
            supplement_list=json.loads(row["supplement_list"]) if row["supplement_list"] else None,
            suspension_reason=row["suspension_reason"],
        )


@strawberry.type
class Delivery:
    method: DeliveryMethod
    tracking_no: str | None
    delivered_at: str | None


@strawberry.type
class DimensionScore:
    name: str
    score: int


@strawberry.type
class Rectification:
    status: RectificationStatus
    deadline: str
    callback_at: str | None
    result: str | None


@strawberry.type(description="Evaluation figures of one province, computed from its own shard")
class ProvinceMetrics:
    province_code: strawberry.ID
    division: Division | None
    on_time_completion_rate: float | None = strawberry.field(
        description="share of completed applications finished by their due date"
    )
    online_availability_rate: float | None = strawberry.field(
        description="share of implemented items handled online at depth III or IV"
    )
    satisfaction_rate: float | None = strawberry.field(
        description="share of ratings at SATISFIED or VERY_SATISFIED"
    )
    completed_applications: int
    implemented_items: int
    ratings: int
    negative_ratings: int

    @classmethod
    def from_metrics(cls, province_code: str, m: Metrics) -> ProvinceMetrics:
        return cls(
            province_code=strawberry.ID(province_code), division=Division(code=strawberry.ID(province_code)),
            on_time_completion_rate=m.on_time_completion_rate, online_availability_rate=m.online_availability_rate,
            satisfaction_rate=m.satisfaction_rate, completed_applications=m.completed_applications,
            implemented_items=m.implemented_items, ratings=m.ratings, negative_ratings=m.negative_ratings,
        )


# ---------------------------------------------------------------- national entities


@strawberry.federation.type(keys=["code"])
class Division:
    """A GB/T 2260 division; this subgraph adds the province's own evaluation metrics."""

    code: strawberry.ID

    @strawberry.field(description="null unless this is the province served by the shard")
    def metrics(self, info: Info) -> ProvinceMetrics | None:
        context = shard(info)
        if self.code != context.province_code:
            return None
        return ProvinceMetrics.from_metrics(context.province_code, context.repository.metrics())

    @classmethod
    def resolve_reference(cls, info: Info, **key: Any) -> Division | None:
        """Only the shard's own province resolves here; other codes are null."""
        code = key_field(key, "Division", "code")
        return cls(code=strawberry.ID(code)) if code == shard(info).province_code else None


@strawberry.federation.type(
    keys=["subjectId"],
    description="Every shard contributes the subject's records in its province; the gateway fans out and merges",
)
class Subject:
    subject_id: strawberry.ID

    @strawberry.field(description="this province's applications of the subject, newest first",
                      directives=[Authenticated()])
    async def applications(self, info: Info, first: int = 20) -> list[Application] | None:
        if first < 0:
            raise ShardInputError(f"first must be 0 or more, not {first}.")
        access.subject_grant(shard(info), (str(self.subject_id),), f"the applications of {self.subject_id}")
        rows = await shard(info).loaders.subject_applications.load((str(self.subject_id), first))
        return [Application.from_row(info, row) for row in rows]

    @strawberry.field(description="e-licences this province issued to the subject", directives=[Authenticated()])
    async def licences(self, info: Info) -> list[ELicence] | None:
        access.subject_grant(shard(info), (str(self.subject_id),), f"the licences of {self.subject_id}")
        rows = await shard(info).loaders.subject_licences.load(str(self.subject_id))
        return [ELicence.from_row(info, row) for row in rows]

    @classmethod
    def resolve_reference(cls, info: Info, **key: Any) -> Subject:
        return cls(subject_id=strawberry.ID(key_field(key, "Subject", "subjectId")))


@strawberry.federation.type(keys=[Key(fields=FieldSet("typeCode"), resolvable=False)])
class LicenceType:
    type_code: strawberry.ID


@strawberry.federation.type(keys=[Key(fields=FieldSet("resourceCode"), resolvable=False)])
class SharedDataResource:
    resource_code: strawberry.ID


@strawberry.federation.type(
    keys=["catalogCode"], description="Contributes province-local data to the national catalogue entry"
)
class CatalogItem:
    catalog_code: strawberry.ID

    @strawberry.field(description="this province's implementations of the catalogue entry")
    async def implementations(
        self, info: Info, province_code: strawberry.ID | None = None, division_code: strawberry.ID | None = None
    ) -> list[ImplementationItem] | None:
        context = shard(info)
        if province_code is not None:
            context.require_province(str(province_code))
        rows = await context.loaders.items_for_catalogue.load(str(self.catalog_code))
        if division_code is not None:
            rows = [r for r in rows if r["division_code"] == division_code]
        return [ImplementationItem.from_row(info, row) for row in rows]

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> CatalogItem:
        code = key_field(key, "CatalogItem", "catalogCode")
        if await shard(info).loaders.catalogue.load(code) is None:
            raise ShardInputError(f"Unknown catalogue code {excerpt(code)!r}: it is not in the national basic catalogue.")
        return cls(catalog_code=strawberry.ID(code))


# ---------------------------------------------------------------- provincial entities


@strawberry.federation.type(keys=["provinceCode uscc"], description="实施主体")
class Agency:
    province_code: strawberry.ID
    uscc: strawberry.ID
    name: str
    nature: AgencyNature
    division: Division | None

    @classmethod
    def from_row(cls, info: Info, row: Row) -> Agency:
        return cls(province_code=strawberry.ID(shard(info).province_code), uscc=row["uscc"], name=row["name"],
                   nature=AgencyNature[row["nature"]], division=Division(code=row["division_code"]))

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> Agency | None:
        row = await shard(info).loaders.agencies.load(local_key(info, key, cls.__name__, "uscc"))
        return cls.from_row(info, row) if row else None


@strawberry.federation.type(keys=["provinceCode hallCode"], description="政务服务大厅 / 便民服务中心 / 站点")
class ServiceHall:
    province_code: strawberry.ID
    hall_code: strawberry.ID
    name: str
    level: UseLevel
    division: Division | None
    address: str
    longitude: float | None
    latitude: float | None
    opening_hours: str
    phone: str | None
    has_cross_province_window: bool

    @classmethod
    def from_row(cls, info: Info, row: Row) -> ServiceHall:
        return cls(
            province_code=strawberry.ID(shard(info).province_code), hall_code=row["hall_code"], name=row["name"],
            level=UseLevel[row["level"]], division=Division(code=row["division_code"]), address=row["address"],
            longitude=row["longitude"], latitude=row["latitude"], opening_hours=row["opening_hours"],
            phone=row["phone"], has_cross_province_window=bool(row["cross_province_window"]),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> ServiceHall | None:
        row = await shard(info).loaders.halls.load(local_key(info, key, cls.__name__, "hallCode"))
        return cls.from_row(info, row) if row else None


@strawberry.federation.type(keys=["provinceCode taskCode"], description="实施清单事项")
class ImplementationItem:
    province_code: strawberry.ID
    task_code: strawberry.ID = strawberry.field(description="31-character 实施编码")
    handle_item_code: str | None
    catalog_item: CatalogItem | None = strawberry.field(
        description="the national basic-catalogue entry; null for province-only (local) items"
    )
    is_local: bool
    name: str
    item_type: ItemType
    use_level: UseLevel
    division: Division | None
    entrusted_by: str | None
    legal_time_limit: TimeLimit | None
    promised_time_limit: TimeLimit
    project_type: ProjectType
    fee: Fee
    acceptance_conditions: str
    materials: list[Material]
    handle_forms: list[HandleForm]
    online_depth: OnlineDepth
    online_url: str | None
    max_on_site_visits: int
    on_site_reason: str | None
    handling_scope: HandlingScope
    cross_province: CrossProvinceSupport | None
    result_licence_type: LicenceType | None
    status: str
    version: int
    effective_from: str | None
    effective_until: str | None
    agency_uscc: strawberry.Private[str]

    @strawberry.field
    async def agency(self, info: Info) -> Agency:
        row = await shard(info).loaders.agencies.load(self.agency_uscc)
        return Agency.from_row(info, present(row, f"Agency {self.agency_uscc}"))

    @strawberry.field(description="办理地点")
    async def halls(self, info: Info) -> list[ServiceHall]:
        rows = await shard(info).loaders.halls_for_items.load(str(self.task_code))
        return [ServiceHall.from_row(info, row) for row in rows]

    @classmethod
    def from_row(cls, info: Info, row: Row) -> ImplementationItem:
        materials = [
            Material(
                name=m["name"], required=m["required"], form=MaterialForm[m["form"]], copies=m.get("copies"),
                source_channel=m.get("sourceChannel"),
                substitutable_by=LicenceType(type_code=m["substitutableBy"]) if m.get("substitutableBy") else None,
                template_url=m.get("templateUrl"), sample_url=m.get("sampleUrl"),
            )
            for m in json.loads(row["materials"])
        ]
        cross = None
        if row["cross_modes"]:
            cross = CrossProvinceSupport(
                modes=[CrossProvinceMode[m] for m in row["cross_modes"].split(",")],
                receiving_divisions=[Division(code=strawberry.ID(c)) for c in (row["receiving_divisions"] or "").split(",") if c],
            )
        legal = None
        if row["legal_limit_value"] is not None:
            legal = TimeLimit(value=row["legal_limit_value"], unit=TimeUnit[row["legal_limit_unit"]])
        return cls(
            province_code=strawberry.ID(shard(info).province_code),
            task_code=row["task_code"],
            handle_item_code=row["handle_item_code"],
            catalog_item=CatalogItem(catalog_code=row["catalog_code"]) if row["catalog_code"] else None,
            is_local=row["catalog_code"] is None,
            name=row["name"],
            item_type=ItemType[row["item_type"]],
            use_level=UseLevel[row["use_level"]],
            division=Division(code=row["division_code"]),
            entrusted_by=row["entrusted_by"],
            legal_time_limit=legal,
            promised_time_limit=TimeLimit(
                value=row["promised_limit_value"], unit=TimeUnit[row["promised_limit_unit"]]
            ),
            project_type=ProjectType[row["project_type"]],
            fee=Fee(
                charged=bool(row["fee_charged"]),
                basis=[LegalBasis(law_name=b["lawName"], article_no=b.get("articleNo"), issuer=b.get("issuer"),
                                  effective_date=b.get("effectiveDate"))
                       for b in json.loads(row["fee_basis"])],
                items=[FeeItem(name=f["name"], standard=f["standard"]) for f in json.loads(row["fee_items"])],
                online_payment=bool(row["fee_online_payment"]),
            ),
            acceptance_conditions=row["acceptance_conditions"],
            materials=materials,
            handle_forms=[HandleForm[f] for f in json.loads(row["handle_forms"])],
            online_depth=OnlineDepth[row["online_depth"]],
            online_url=row["online_url"],
            max_on_site_visits=row["max_on_site_visits"],
            on_site_reason=row["on_site_reason"],
            handling_scope=HandlingScope[row["handling_scope"]],
            cross_province=cross,
            result_licence_type=LicenceType(type_code=row["result_licence_type"]) if row["result_licence_type"] else None,
            status=row["status"],
            version=row["version"],
            effective_from=row["effective_from"],
            effective_until=row["effective_until"],
            agency_uscc=row["agency_uscc"],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> ImplementationItem | None:
        row = await shard(info).loaders.items.load(local_key(info, key, cls.__name__, "taskCode"))
        return cls.from_row(info, row) if row else None


@strawberry.type(description="Links the two legs of a cross-province application")
class CrossProvinceLeg:
    mode: CrossProvinceMode
    receiving_division: Division | None = strawberry.field(description="收件地")
    handling_division: Division | None = strawberry.field(description="办理地")
    receiving_hall_code: strawberry.Private[str | None]
    counterpart_no: strawberry.Private[str | None]

    @strawberry.field
    async def receiving_hall(self, info: Info) -> ServiceHall | None:
        if self.receiving_hall_code is None:
            return None
        row = await shard(info).loaders.halls.load(self.receiving_hall_code)
        return ServiceHall.from_row(info, row) if row else None

    @strawberry.field(description="the counterpart record when it is kept in this same province")
    async def counterpart(self, info: Info) -> Application | None:
        if self.counterpart_no is None:
            return None
        row = await shard(info).loaders.applications.load(self.counterpart_no)
        return Application.from_row(info, row) if row else None


PERSONAL = [Authenticated()]
"""Fields of an application that are its applicant's personal data: not for a status lookup."""


@strawberry.federation.type(keys=["provinceCode applicationNo"], description="办件")
class Application:
    province_code: strawberry.ID
    application_no: strawberry.ID = strawberry.field(
        description="division code + yyyyMMdd + 6-digit sequence, e.g. 44030120250105000123"
    )
    channel: Channel
    status: ApplicationStatus
    review_stage: ReviewStage | None
    submitted_at: str
    accepted_at: str | None
    due_at: str | None = strawberry.field(
        description="acceptedAt + promisedTimeLimit, excluding SUSPENDED periods, working-day calendar"
    )
    completed_at: str | None
    result: CompletionResult | None
    task_code: strawberry.Private[str]
    grant: strawberry.Private[Grant]
    row: strawberry.Private[Row]

    def _personal(self, info: Info, field: str) -> ShardContext:
        context = shard(info)
        if self.grant is Grant.PUBLIC:
            raise forbidden(context.claims, f"{field} is personal data: a lookup by number and query code shows "
                                            "the status only.")
        return context

    @strawberry.field(directives=PERSONAL)
    def applicant(self, info: Info) -> Subject | None:
        self._personal(info, "applicant")
        return Subject(subject_id=self.row["applicant_id"])

    @strawberry.field(directives=PERSONAL)
    def agent(self, info: Info) -> Subject | None:
        self._personal(info, "agent")
        return Subject(subject_id=self.row["agent_id"]) if self.row["agent_id"] else None

    @strawberry.field(directives=PERSONAL)
    def delivery(self, info: Info) -> Delivery | None:
        self._personal(info, "delivery")
        if not self.row["delivery_method"]:
            return None
        return Delivery(method=DeliveryMethod[self.row["delivery_method"]], tracking_no=self.row["tracking_no"],
                        delivered_at=self.row["delivered_at"])

    @strawberry.field(directives=PERSONAL)
    def cross_province(self, info: Info) -> CrossProvinceLeg | None:
        self._personal(info, "crossProvince")
        row = self.row
        if not row["cross_mode"]:
            return None
        return CrossProvinceLeg(
            mode=CrossProvinceMode[row["cross_mode"]], receiving_division=Division(code=row["receiving_division"]),
            handling_division=Division(code=row["handling_division"]), receiving_hall_code=row["receiving_hall"],
            counterpart_no=row["counterpart_no"],
        )

    @strawberry.field(
        description="the applicant's certificate number (证件号码): raw for the applicant and for an officer of "
        "the province who states a purpose, masked (4401**********1234) for everybody else",
        directives=PERSONAL,
    )
    async def applicant_certificate_no(self, info: Info) -> str | None:
        return await self._identifier(info, "applicantCertificateNo", "certificate_no")

    @strawberry.field(
        description="the applicant's phone number (联系电话): raw for the applicant and for an officer of the "
        "province who states a purpose, masked (138****5678) for everybody else",
        directives=PERSONAL,
    )
    async def applicant_phone(self, info: Info) -> str | None:
        return await self._identifier(info, "applicantPhone", "phone")

    async def _identifier(self, info: Info, field: str, column: str) -> str | None:
        context = self._personal(info, field)
        contact = await context.loaders.contacts.load(self.row["applicant_id"])
        return access.identifier(self.grant, context.claims, self.row["applicant_id"],
                                 contact[column] if contact else None, column)

    @strawberry.field(description="the province whose platform holds this application")
    def province(self) -> Division | None:
        return Division(code=self.province_code)

    @strawberry.field
    def overdue(self) -> bool:
        """Finished after the due date, or still open past it."""
        if self.due_at is None:
            return False
        if self.completed_at is not None:
            return self.completed_at > self.due_at
        if self.status.value in (lifecycle.WITHDRAWN, lifecycle.NOT_ACCEPTED):
            return False
        return timestamp(datetime.now(CHINA)) > self.due_at

    @strawberry.field
    async def item(self, info: Info) -> ImplementationItem:
        row = await shard(info).loaders.items.load(self.task_code)
        return ImplementationItem.from_row(info, present(row, f"Item {self.task_code}"))

    @strawberry.field(description="full status history, oldest first")
    async def history(self, info: Info) -> list[StatusEvent]:
        rows = await shard(info).loaders.history.load(str(self.application_no))
        return [StatusEvent.from_row(row) for row in rows]

    @strawberry.field(directives=PERSONAL)
    async def result_licence(self, info: Info) -> ELicence | None:
        row = await self._personal(info, "resultLicence").loaders.application_licence.load(str(self.application_no))
        return ELicence.from_row(info, row) if row else None

    @strawberry.field(description="the latest rating of the application", directives=PERSONAL)
    async def evaluation(self, info: Info) -> Evaluation | None:
        row = await self._personal(info, "evaluation").loaders.application_evaluation.load(str(self.application_no))
        return Evaluation.from_row(info, row) if row else None

    @classmethod
    def from_row(cls, info: Info, row: Row, grant: Grant | None = None) -> Application:
        """The application as the caller may see it; refused (and nothing shown) when it may not."""
        return cls(
            province_code=strawberry.ID(shard(info).province_code),
            application_no=row["application_no"],
            channel=Channel[row["channel"]],
            status=ApplicationStatus[row["status"]],
            review_stage=_opt(ReviewStage, row["review_stage"]),
            submitted_at=row["submitted_at"],
            accepted_at=row["accepted_at"],
            due_at=row["due_at"],
            completed_at=row["completed_at"],
            result=_opt(CompletionResult, row["result"]),
            task_code=row["task_code"],
            grant=grant or access.read_application(shard(info), row),
            row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> Application | None:
        row = await shard(info).loaders.applications.load(local_key(info, key, cls.__name__, "applicationNo"))
        return cls.from_row(info, row) if row else None


@strawberry.input
class PurposeInput:
    application_no: strawberry.ID | None = strawberry.field(default=None, description="the 办件 that needs the data")
    task_code: strawberry.ID | None = None
    reason: str = strawberry.field(description="申请事由 / useCause")
    legal_basis: str | None = None


@strawberry.federation.type(keys=["provinceCode licenceId"], description="电子证照 (GB/T 36901-36906)",
                            directives=[Authenticated()])
class ELicence:
    province_code: strawberry.ID
    licence_id: strawberry.ID = strawberry.field(
        description="1.2.156.3005.2.<typeCode>.<issuerUSCC>.<serial>.<ver>.<check>"
    )
    type: LicenceType | None
    licence_no: str
    holder: Subject | None
    issued_on: str
    valid_from: str | None
    valid_until: str | None
    status: LicenceStatus
    trust_level: TrustLevel
    row: strawberry.Private[Row]

    @strawberry.field
    async def issuer(self, info: Info) -> Agency:
        row = await shard(info).loaders.agencies.load(self.row["issuer_uscc"])
        return Agency.from_row(info, present(row, f"Agency {self.row['issuer_uscc']}"))

    @strawberry.field(description="purpose-bound; every call writes a DataAccessRecord, null when denied")
    async def file_url(self, info: Info, purpose: PurposeInput) -> str | None:
        context = shard(info)
        requester = self.row["issuer_uscc"]
        if purpose.task_code is not None:
            item = await context.loaders.items.load(str(purpose.task_code))
            if item is None:
                raise ShardInputError(f"Unknown task code {excerpt(purpose.task_code)!r} in province {context.province_code}.")
            requester = item["agency_uscc"]
        granted = False
        if purpose.application_no is not None:
            context.require_application_no(str(purpose.application_no))
            app = await context.loaders.applications.load(str(purpose.application_no))
            granted = app is not None and app["applicant_id"] == self.row["holder_id"]
        record = context.repository.record_access(
            self.row, requester, "承办人", purpose.reason,
            str(purpose.application_no) if purpose.application_no else None, purpose.legal_basis,
            AccessOutcome.GRANTED.value if granted else AccessOutcome.DENIED.value,
        )
        if not granted:
            return None
        return f"{FILE_HOST}/{context.province_code}/licences/{self.licence_id}?access={record['record_id']}"

    @classmethod
    def from_row(cls, info: Info, row: Row) -> ELicence:
        """The licence, for its holder, an officer of the province or a national officer with a purpose."""
        access.read_licence(shard(info), row)
        return cls(
            province_code=strawberry.ID(shard(info).province_code), licence_id=row["licence_id"],
            type=LicenceType(type_code=row["type_code"]), licence_no=row["licence_no"],
            holder=Subject(subject_id=row["holder_id"]), issued_on=row["issued_on"],
            valid_from=row["valid_from"], valid_until=row["valid_until"], status=LicenceStatus[row["status"]],
            trust_level=TrustLevel[row["trust_level"]], row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> ELicence | None:
        row = await shard(info).loaders.licences.load(local_key(info, key, cls.__name__, "licenceId"))
        return cls.from_row(info, row) if row else None


@strawberry.federation.type(
    keys=["provinceCode recordId"], description="Audit row for every shared-data / e-licence access (审计日志)",
    directives=[RequiresScopes(scopes=[["auditor"], ["officer"]])],
)
class DataAccessRecord:
    province_code: strawberry.ID
    record_id: strawberry.ID
    resource: SharedDataResource | None
    requester_role: str
    purpose: str
    application_no: strawberry.ID | None
    subject: Subject | None = strawberry.field(description="whose data")
    at: str
    outcome: AccessOutcome
    authorisation_ref: str | None
    row: strawberry.Private[Row]

    @strawberry.field
    async def licence(self, info: Info) -> ELicence | None:
        if not self.row["licence_id"]:
            return None
        row = await shard(info).loaders.licences.load(self.row["licence_id"])
        return ELicence.from_row(info, row) if row else None

    @strawberry.field
    async def requester_agency(self, info: Info) -> Agency:
        row = await shard(info).loaders.agencies.load(self.row["requester_uscc"])
        return Agency.from_row(info, present(row, f"Agency {self.row['requester_uscc']}"))

    @classmethod
    def from_row(cls, info: Info, row: Row) -> DataAccessRecord:
        return cls(
            province_code=strawberry.ID(shard(info).province_code), record_id=row["record_id"],
            resource=SharedDataResource(resource_code=row["resource_code"]) if row["resource_code"] else None,
            requester_role=row["requester_role"], purpose=row["purpose"], application_no=row["application_no"],
            subject=Subject(subject_id=row["subject_id"]) if row["subject_id"] else None, at=row["at"],
            outcome=AccessOutcome[row["outcome"]], authorisation_ref=row["authorisation_ref"], row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> DataAccessRecord | None:
        context = shard(info)
        if not (context.claims.kind == "auditor" or context.claims.officer_of(context.province_code)):
            raise forbidden(context.claims, "Licence access records are for auditors and officers of the province.")
        row = await context.loaders.access_records.load(local_key(info, key, cls.__name__, "recordId"))
        return cls.from_row(info, row) if row else None


@strawberry.federation.type(keys=["provinceCode evaluationId"], description="好差评 (one per 办件 per channel)")
class Evaluation:
    province_code: strawberry.ID
    evaluation_id: strawberry.ID
    level: EvaluationLevel = strawberry.field(description="5 levels, bottom two = 差评")
    channel: Channel
    window_no: str | None
    dimensions: list[DimensionScore]
    comment: str | None
    evaluated_at: str
    rectification: Rectification | None = strawberry.field(description="only for 差评")
    row: strawberry.Private[Row]

    @strawberry.field
    async def application(self, info: Info) -> Application:
        row = await shard(info).loaders.applications.load(self.row["application_no"])
        return Application.from_row(info, present(row, f"Application {self.row['application_no']}"))

    @strawberry.field
    async def hall(self, info: Info) -> ServiceHall | None:
        if not self.row["hall_code"]:
            return None
        row = await shard(info).loaders.halls.load(self.row["hall_code"])
        return ServiceHall.from_row(info, row) if row else None

    @classmethod
    def from_row(cls, info: Info, row: Row) -> Evaluation:
        rectification = None
        if row["rect_status"]:
            rectification = Rectification(
                status=RectificationStatus[row["rect_status"]], deadline=row["rect_deadline"],
                callback_at=row["rect_callback_at"], result=row["rect_result"],
            )
        return cls(
            province_code=strawberry.ID(shard(info).province_code), evaluation_id=row["evaluation_id"],
            level=EvaluationLevel[row["level"]], channel=Channel[row["channel"]], window_no=row["window_no"],
            dimensions=[DimensionScore(name=d["name"], score=d["score"]) for d in json.loads(row["dimensions"])],
            comment=row["comment"], evaluated_at=row["evaluated_at"], rectification=rectification, row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **key: Any) -> Evaluation | None:
        """A rating, for whoever may read the application it rates."""
        context = shard(info)
        row = await context.loaders.evaluations.load(local_key(info, key, cls.__name__, "evaluationId"))
        if row is None:
            return None
        application = present(await context.loaders.applications.load(row["application_no"]),
                              f"Application {row['application_no']}")
        access.read_application(context, application)
        return cls.from_row(info, row)
