"""The audit trail of one request, and the audit log as both subgraphs serve it to auditors.

Resolvers note each access to someone else's personal data as they make it; the notes of a
request are written to the log (one entry per kind of access, naming every record) when the
operation ends, before the response is sent. If they cannot be written the request is answered
with an error and no data: an access that is not on record is not answered.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import strawberry
from strawberry.extensions import SchemaExtension

from resolvers.audit import Access, AuditLog, ChainReport
from resolvers.audit import AuditEntry as AuditRecord
from subgraphs.claims import Claims

MAX_AUDIT_PAGE = 500


@dataclass(slots=True)
class AuditTrail:
    """Accesses of one request, grouped by action, waiting to be written."""

    log: AuditLog
    claims: Claims
    province: str | None
    request_id: str | None = None
    pending: dict[str, list[str]] = field(default_factory=dict)

    def note(self, action: str, records: list[str]) -> None:
        if records:
            seen = self.pending.setdefault(action, [])
            seen.extend(r for r in records if r not in seen)

    def flush(self) -> None:
        pending, self.pending = self.pending, {}
        for action, records in pending.items():
            self.log.append(Access(
                kind=self.claims.kind, subject=self.claims.subject, purpose=self.claims.purpose,
                province=self.province, action=action, records=tuple(records), request_id=self.request_id,
            ))


class AuditNotRecorded(RuntimeError):
    """The audit log could not be written, so the accesses of the request are not answered."""


class WriteAuditTrail(SchemaExtension):
    """Writes the request's audit trail when the operation ends; the context has `audit: AuditTrail`."""

    def on_operation(self) -> Iterator[None]:
        yield
        trail = getattr(self.execution_context.context, "audit", None)
        if isinstance(trail, AuditTrail) and trail.pending:
            try:
                trail.flush()
            except Exception as error:
                raise AuditNotRecorded("the audit log could not be written") from error


@strawberry.federation.type(shareable=True, description="One access to personal shared data (审计日志)")
class AuditEntry:
    seq: int = strawberry.field(description="position in this log; entries are never changed or removed")
    at: str = strawberry.field(description="UTC time of the access")
    request_id: str | None
    kind: str = strawberry.field(description="the caller kind: officer, national, …")
    subject_id: strawberry.ID | None = strawberry.field(description="the caller's id")
    purpose: str | None
    province_code: strawberry.ID | None = strawberry.field(description="the province whose data was read")
    action: str = strawberry.field(description="what was read, e.g. Application, ELicence")
    records: list[str] = strawberry.field(description="the records read: application numbers, licence ids")
    prev_hash: str
    hash: str = strawberry.field(description="sha256 over the entry and prevHash")

    @classmethod
    def of(cls, entry: AuditRecord) -> AuditEntry:
        access = entry.access
        return cls(
            seq=entry.seq, at=entry.at, request_id=access.request_id, kind=access.kind,
            subject_id=strawberry.ID(access.subject) if access.subject else None, purpose=access.purpose,
            province_code=strawberry.ID(access.province) if access.province else None, action=access.action,
            records=list(access.records), prev_hash=entry.prev_hash, hash=entry.hash,
        )


@strawberry.federation.type(shareable=True, description="Whether an audit log's hash chain is intact")
class AuditChain:
    intact: bool
    entries: int
    broken_at: int | None = strawberry.field(description="the first entry where the chain breaks")
    reason: str | None

    @classmethod
    def of(cls, report: ChainReport) -> AuditChain:
        return cls(intact=report.intact, entries=report.entries, broken_at=report.broken_at, reason=report.reason)
