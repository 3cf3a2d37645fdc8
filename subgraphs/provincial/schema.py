"""The provincial subgraph schema: queries, mutations and the federation SDL.

The same schema serves every province; the shard a request reaches decides which
province's data it sees, and arguments naming another province are refused.
"""
from __future__ import annotations

import logging
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.federation.schema_directives import Authenticated, RequiresScopes
from strawberry.types import ExecutionContext, Info

from resolvers.provincial.repository import ShardInputError, Submission
from subgraphs.audit import MAX_AUDIT_PAGE, AuditChain, AuditEntry, WriteAuditTrail
from subgraphs.caching import document_caches
from subgraphs.claims import Claims
from subgraphs.errors import AccessDenied, excerpt, forbidden
from subgraphs.provincial import access
from subgraphs.provincial.access import Grant
from subgraphs.provincial.enums import (
    ApplicationStatus,
    Channel,
    CompletionResult,
    DeliveryMethod,
    EvaluationLevel,
    ReviewStage,
)
from subgraphs.provincial.types import (
    Agency,
    Application,
    CatalogItem,
    DataAccessRecord,
    Division,
    ELicence,
    Evaluation,
    ImplementationItem,
    LicenceType,
    ProvinceMetrics,
    ServiceHall,
    SharedDataResource,
    Subject,
    shard,
)

MAX_PAGE = 500
logger = logging.getLogger("govgraph.provincial")

AUDITOR = RequiresScopes(scopes=[["auditor"]])
HOLDER = RequiresScopes(scopes=[["citizen"], ["enterprise"]])


def _page(first: int) -> int:
    if not 0 <= first <= MAX_PAGE:
        raise ShardInputError(f"first must be between 0 and {MAX_PAGE}, not {first}.")
    return first


@strawberry.type
class Query:
    @strawberry.field
    async def implementation_item(
        self, info: Info, province_code: strawberry.ID, task_code: strawberry.ID
    ) -> ImplementationItem | None:
        context = shard(info)
        context.require_province(str(province_code))
        row = await context.loaders.items.load(str(task_code))
        if row is None:
            raise ShardInputError(
                f"Unknown task code {excerpt(task_code)!r}: province {context.province_code} implements no such item."
            )
        return ImplementationItem.from_row(info, row)

    @strawberry.field
    def service_halls(
        self, info: Info, province_code: strawberry.ID, division_code: strawberry.ID | None = None,
        cross_province_only: bool = False,
    ) -> list[ServiceHall] | None:
        context = shard(info)
        context.require_province(str(province_code))
        if division_code is not None and context.repository.divisions([str(division_code)])[0] is None:
            raise ShardInputError(
                f"Division code {excerpt(division_code)!r} is not a division of province {context.province_code}."
            )
        rows = context.repository.list_halls(str(division_code) if division_code else None, cross_province_only)
        return [ServiceHall.from_row(info, row) for row in rows]

    @strawberry.field(description="public progress lookup (办件查询): number + query code, no login")
    async def track_application(
        self, info: Info, province_code: strawberry.ID, application_no: strawberry.ID, query_code: str
    ) -> Application | None:
        context = shard(info)
        context.require_province(str(province_code))
        context.require_application_no(str(application_no))
        row = await context.loaders.applications.load(str(application_no))
        if row is None or row["query_code"] != query_code:
            raise ShardInputError(
                f"No application {application_no} with that query code in province {context.province_code}."
            )
        return Application.from_row(info, row, Grant.PUBLIC)

    @strawberry.field(
        description="the caller's e-licences in this province; an officer of the province (or a national "
        "officer with a purpose) names the holder with subjectId",
        directives=[Authenticated()],
    )
    async def my_licences(
        self, info: Info, province_code: strawberry.ID, subject_id: strawberry.ID | None = None
    ) -> list[ELicence] | None:
        context = shard(info)
        context.require_province(str(province_code))
        subject = access.licence_holder(context, str(subject_id) if subject_id else None)
        rows = await context.loaders.subject_licences.load(subject)
        return [ELicence.from_row(info, row) for row in rows]

    @strawberry.field(
        description="one application by number, for its applicant or agent, an officer of its province, or a "
        "national officer with a purpose; null when the number is unused",
        directives=[Authenticated()],
    )
    async def application(self, info: Info, application_no: strawberry.ID) -> Application | None:
        context = shard(info)
        context.require_application_no(str(application_no))
        row = await context.loaders.applications.load(str(application_no))
        if row is None:
            if context.claims.anonymous:
                raise forbidden(context.claims, "Applications are personal data.")
            return None
        return Application.from_row(info, row)

    @strawberry.field(
        description="applications of this province, newest first; `before` pages backwards. A citizen or "
        "enterprise sees only its own (applicantId may only name itself)",
        directives=[Authenticated()],
    )
    def applications(
        self, info: Info, province_code: strawberry.ID | None = None, first: int = 20,
        status: ApplicationStatus | None = None, task_code: strawberry.ID | None = None,
        applicant_id: strawberry.ID | None = None, before: strawberry.ID | None = None,
    ) -> list[Application] | None:
        context = shard(info)
        if province_code is not None:
            context.require_province(str(province_code))
        applicant = access.list_applicant(context, str(applicant_id) if applicant_id else None)
        if before is not None:
            context.require_application_no(str(before))
        rows = context.repository.list_applications(
            _page(first), status.value if status else None, str(task_code) if task_code else None,
            applicant, str(before) if before else None,
        )
        return [Application.from_row(info, row) for row in rows]

    @strawberry.field(
        description="this province's audit log of accesses to personal data, oldest first; `after` is the "
        "seq of the last entry seen",
        directives=[AUDITOR],
    )
    def audit_log(
        self, info: Info, province_code: strawberry.ID, first: int = 50, after: int | None = None
    ) -> list[AuditEntry]:
        context = shard(info)
        context.require_province(str(province_code))
        _auditor(context.claims)
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise ShardInputError(f"first must be between 1 and {MAX_AUDIT_PAGE}, not {first}.")
        return [AuditEntry.of(e) for e in context.audit.log.entries(first, after)]

    @strawberry.field(description="whether this province's audit log is intact (its hash chain)",
                      directives=[AUDITOR])
    def audit_chain(self, info: Info, province_code: strawberry.ID) -> AuditChain:
        context = shard(info)
        context.require_province(str(province_code))
        _auditor(context.claims)
        return AuditChain.of(context.audit.log.verify())

    @strawberry.field(
        description="this province's evaluation figures as a one-entry list; the gateway merges every "
        "shard's entry into the national ranking"
    )
    def evaluation_ranking(self, info: Info) -> list[ProvinceMetrics] | None:
        context = shard(info)
        return [ProvinceMetrics.from_metrics(context.province_code, context.repository.metrics())]


def _auditor(claims: Claims) -> None:
    if claims.kind != "auditor":
        raise forbidden(claims, "Only an auditor reads the audit log.")


@strawberry.input
class SubmitApplicationInput:
    province_code: strawberry.ID
    task_code: strawberry.ID
    applicant_id: strawberry.ID
    channel: Channel
    idempotency_key: str = strawberry.field(description="the same key twice creates one application")
    agent_id: strawberry.ID | None = None
    receiving_division_code: strawberry.ID | None = strawberry.field(
        default=None, description="收件地 when another province's window received the application (跨省通办)"
    )


@strawberry.type
class SubmitApplicationPayload:
    application: Application
    query_code: str = strawberry.field(description="查询密码 for trackApplication; give it to the applicant")
    replayed: bool = strawberry.field(description="true when the idempotency key had been used before")


@strawberry.input
class DimensionScoreInput:
    name: str
    score: int


RETRY_KEY = ("a retry with the same key returns the first write's result without writing again; "
             "the same key with another payload is refused")


@strawberry.type
class Mutation:
    @strawberry.mutation(description="open an application for oneself; committed before the response is sent",
                         directives=[HOLDER])
    def submit_application(self, info: Info, input: SubmitApplicationInput) -> SubmitApplicationPayload | None:
        context = shard(info)
        context.require_province(str(input.province_code))
        access.may_submit(context, str(input.applicant_id))
        if not input.idempotency_key.strip():
            raise ShardInputError("idempotencyKey must not be empty.")
        receipt = context.repository.submit(Submission(
            task_code=str(input.task_code), applicant_id=str(input.applicant_id), channel=input.channel.value,
            idempotency_key=input.idempotency_key, agent_id=str(input.agent_id) if input.agent_id else None,
            receiving_division=str(input.receiving_division_code) if input.receiving_division_code else None,
        ))
        return SubmitApplicationPayload(
            application=Application.from_row(info, receipt.application),
            query_code=receipt.query_code, replayed=receipt.replayed,
        )

    @strawberry.mutation(
        description="move an application one legal step along its lifecycle: an officer of its province through "
        "the steps its role allows, its applicant only to WITHDRAWN",
        directives=[RequiresScopes(scopes=[["officer"], ["citizen"], ["enterprise"]])],
    )
    async def advance_application(
        self, info: Info, application_no: strawberry.ID, to: ApplicationStatus, stage: ReviewStage | None = None,
        opinion: str | None = None, result: CompletionResult | None = None,
        supplement_list: list[str] | None = None, suspension_reason: str | None = None,
        delivery_method: DeliveryMethod | None = None, tracking_no: str | None = None,
        idempotency_key: Annotated[str | None, strawberry.argument(description=RETRY_KEY)] = None,
    ) -> Application | None:
        context = shard(info)
        context.require_application_no(str(application_no))
        access.may_advance(context, await context.loaders.applications.load(str(application_no)), str(application_no))
        row = context.repository.advance(
            str(application_no), to.value, idempotency_key=idempotency_key, stage=stage.value if stage else None, opinion=opinion,
            result=result.value if result else None, supplement_list=supplement_list,
            suspension_reason=suspension_reason,
            delivery_method=delivery_method.value if delivery_method else None, tracking_no=tracking_no,
            permit=lambda _, step: access.may_take_step(context, step),
        )
        return Application.from_row(info, row)

    @strawberry.mutation(description="rate one's own COMPLETED or DELIVERED application, once per channel",
                         directives=[HOLDER])
    async def rate_application(
        self, info: Info, application_no: strawberry.ID, level: EvaluationLevel, channel: Channel,
        comment: str | None = None, dimensions: list[DimensionScoreInput] | None = None,
        hall_code: strawberry.ID | None = None, window_no: str | None = None,
        idempotency_key: Annotated[str | None, strawberry.argument(description=RETRY_KEY)] = None,
    ) -> Evaluation | None:
        context = shard(info)
        context.require_application_no(str(application_no))
        access.may_rate(context, await context.loaders.applications.load(str(application_no)), str(application_no))
        row = context.repository.rate(
            str(application_no), level.value, channel.value, comment,
            [(d.name, d.score) for d in dimensions or []], str(hall_code) if hall_code else None, window_no,
            idempotency_key=idempotency_key,
        )
        return Evaluation.from_row(info, row)


class ProvincialSchema(strawberry.federation.Schema):
    """Logs unexpected failures with their traceback, but not the clear errors users are meant to see."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        unexpected = [
            e for e in errors
            if e.original_error is not None and not isinstance(e.original_error, (ShardInputError, AccessDenied))
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = ProvincialSchema(
    query=Query,
    mutation=Mutation,
    types=[Agency, ServiceHall, Application, ELicence, DataAccessRecord, Evaluation, ImplementationItem,
           CatalogItem, Division, Subject, LicenceType, SharedDataResource, AuditEntry, AuditChain],
    federation_version="2.7",
    extensions=[*document_caches(), WriteAuditTrail],
)


def print_sdl() -> str:
    """The federation SDL of the provincial subgraph (what `_service { sdl }` returns)."""
    return schema.as_str()
