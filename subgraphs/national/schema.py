"""The national subgraph's schema: root queries over the national reference data.

Lookups by a code the client typed (`division`, `catalogItem`) answer an unknown code
with an error that names it; `licenceType` and `me` answer an unknown key with null.
Malformed input is always an error.
"""
from __future__ import annotations

import logging
from typing import Final

import strawberry
from graphql import GraphQLError
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Authenticated, RequiresScopes
from strawberry.types import ExecutionContext, Info

from subgraphs.audit import MAX_AUDIT_PAGE, AuditChain, AuditEntry, WriteAuditTrail
from subgraphs.caching import document_caches
from subgraphs.errors import AccessDenied, excerpt, forbidden
from subgraphs.national import arguments
from subgraphs.national.context import NationalContext
from subgraphs.national.types import (
    CatalogItem,
    Department,
    Division,
    ItemType,
    LicenceType,
    SharedDataResource,
    ShareType,
    Subject,
)

FEDERATION_VERSION: Final = "2.7"
AUDITOR = RequiresScopes(scopes=[["auditor"]])
DEFAULT_SEARCH_RESULTS = 50

logger = logging.getLogger("govgraph.subgraphs.national")


def _context(info: Info) -> NationalContext:
    context: NationalContext = info.context
    return context


@strawberry.type
class Query:
    @strawberry.field(description='A division by its 6-digit GB/T 2260 code, e.g. "440000".')
    async def division(self, info: Info, code: strawberry.ID) -> Division | None:
        checked = arguments.division_code(str(code))
        record = await _context(info).loaders.divisions.load(checked)
        if record is None:
            raise arguments.InvalidArgument(
                f'Unknown division code "{excerpt(code)}": no such division in the national database.'
            )
        return Division.from_record(record)

    @strawberry.field(description="The provincial-level divisions; 71/81/82 on request.")
    def provinces(self, info: Info, include_non_federated: bool = False) -> list[Division] | None:
        records = _context(info).repository.provinces(include_non_federated)
        return [Division.from_record(r) for r in records]

    @strawberry.field(description="A basic-catalogue entry by its 12-character code.")
    async def catalog_item(self, info: Info, catalog_code: strawberry.ID) -> CatalogItem | None:
        checked = arguments.catalog_code(str(catalog_code))
        record = await _context(info).loaders.catalog_items.load(checked)
        if record is None:
            raise arguments.InvalidArgument(
                f'Unknown catalogue code "{excerpt(catalog_code)}": it is not in the basic catalogue.'
            )
        return CatalogItem.from_record(record)

    @strawberry.field(description="Catalogue entries by name keyword and type, ordered by code.")
    def search_catalog(
        self,
        info: Info,
        keyword: str | None = None,
        item_type: ItemType | None = None,
        cross_province_only: bool = False,
        first: int = DEFAULT_SEARCH_RESULTS,
    ) -> list[CatalogItem] | None:
        records = _context(info).repository.search_catalog(
            arguments.keyword(keyword),
            item_type.value if item_type else None,
            cross_province_only,
            arguments.search_limit(first),
        )
        return [CatalogItem.from_record(r) for r in records]

    @strawberry.field(description="A licence type by its code; null when the code is unknown.")
    async def licence_type(self, info: Info, type_code: strawberry.ID) -> LicenceType | None:
        record = await _context(info).loaders.licence_types.load(str(type_code))
        return LicenceType.from_record(record) if record else None

    @strawberry.field(description="The shared-data resource catalogue, optionally of one share type.")
    def shared_data_resources(
        self, info: Info, share_type: ShareType | None = None
    ) -> list[SharedDataResource] | None:
        records = _context(info).repository.list_shared_data_resources(
            share_type.value if share_type else None
        )
        return [SharedDataResource.from_record(r) for r in records]

    @strawberry.field(
        description="The signed-in citizen's or enterprise's own account; null for other callers.",
        directives=[Authenticated()],
    )
    async def me(self, info: Info) -> Subject | None:
        claims = _context(info).claims
        if not claims.holder or claims.subject is None:
            return None
        record = await _context(info).loaders.subjects.load(claims.subject)
        return Subject.from_record(record) if record else None

    @strawberry.field(
        description="The national subgraph's own audit log of accesses to personal data, oldest first; "
        "`after` is the seq of the last entry seen.",
        directives=[AUDITOR],
    )
    def national_audit_log(self, info: Info, first: int = 50, after: int | None = None) -> list[AuditEntry]:
        context = _context(info)
        _auditor(context)
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise arguments.InvalidArgument(f"Invalid first: {first}; ask for between 1 and {MAX_AUDIT_PAGE} entries.")
        return [AuditEntry.of(e) for e in context.audit.log.entries(first, after)]

    @strawberry.field(description="Whether the national audit log is intact (its hash chain).", directives=[AUDITOR])
    def national_audit_chain(self, info: Info) -> AuditChain:
        context = _context(info)
        _auditor(context)
        return AuditChain.of(context.audit.log.verify())


def _auditor(context: NationalContext) -> None:
    if context.claims.kind != "auditor":
        raise forbidden(context.claims, "Only an auditor reads the audit log.")


ENTITY_TYPES: tuple[type, ...] = (
    CatalogItem, Department, Division, LicenceType, SharedDataResource, Subject,
)
CLIENT_ERRORS = (arguments.InvalidArgument, AccessDenied)
ENTITY_NAMES = frozenset(t.__name__ for t in ENTITY_TYPES)


class NationalSchema(strawberry.federation.Schema):
    """Federation schema that answers malformed representations and bad input with clear errors."""

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        for index, representation in enumerate(representations):
            typename = representation.get("__typename") if isinstance(representation, dict) else None
            if typename not in ENTITY_NAMES:
                raise arguments.InvalidArgument(
                    f"Representation {index} has __typename {excerpt(typename)!r}; the national subgraph "
                    f"resolves {', '.join(sorted(ENTITY_NAMES))}."
                )
        return super().entities_resolver(info, representations)

    # Bad input and invalid queries are answered to the client; only resolver failures are logged.
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, CLIENT_ERRORS):
                logger.error("national subgraph error: %s", error, exc_info=original)


schema = NationalSchema(
    query=Query,
    types=[*ENTITY_TYPES, AuditEntry, AuditChain],
    federation_version=FEDERATION_VERSION,
    extensions=[*document_caches(), WriteAuditTrail],
)


def print_sdl() -> str:
    """The federation SDL, exactly what `{ _service { sdl } }` returns."""
    result = schema.execute_sync("{ _service { sdl } }")
    if result.errors or result.data is None:
        raise RuntimeError(f"the national schema cannot print its SDL: {result.errors}")
    sdl: str = result.data["_service"]["sdl"]
    return sdl
