"""Who may read and change what in one province's shard, from the verified claims.

- A citizen or enterprise reads and changes only its own records (as applicant or agent).
- An officer reads every application and licence of its own province, and advances an
  application only through the steps its `stages` claim lists; never another province's data.
- A national officer reads personal data only with a stated `purpose`; it changes nothing.
- An auditor reads the audit log; an aggregator and an anonymous caller only public data.

Every read of someone else's personal data is noted in the request's audit trail.
"""
from __future__ import annotations

from enum import Enum

from resolvers.national.masking import mask_certificate_no, mask_phone
from resolvers.provincial.repository import Row
from subgraphs.claims import Claims
from subgraphs.errors import AccessDenied, forbidden
from subgraphs.provincial.context import ShardContext


class Grant(Enum):
    """Why the caller may see a record: it decides masking and whether the read is audited."""

    PUBLIC = "public"  # the number and query code of an application: its status only
    OWNER = "owner"
    OFFICER = "officer"
    NATIONAL = "national"


def _refusal(claims: Claims, province: str, what: str) -> AccessDenied:
    """Why this kind of caller may not read `what` (a noun phrase: "application 4401…")."""
    if claims.holder:
        return forbidden(claims, f"A {claims.kind} reads only its own records, not {what}.")
    if claims.kind == "officer":
        return forbidden(claims, f"An officer of province {claims.province} reads only its own province's "
                                 f"personal data, not {what} in province {province}.")
    if claims.kind == "national":
        return forbidden(claims, f"A national officer reads {what} only with a stated purpose; without one it "
                                 "reads aggregates.")
    if claims.kind == "auditor":
        return forbidden(claims, f"An auditor reads the audit log only, not {what}.")
    return forbidden(claims, f"An {claims.kind} caller reads public data only, not {what}.")


def subject_grant(context: ShardContext, subject_ids: tuple[str | None, ...], what: str) -> Grant:
    """The caller's grant to records of these subjects (applicant and agent), or a refusal."""
    claims = context.claims
    if any(claims.owns(s) for s in subject_ids):
        return Grant.OWNER
    if claims.officer_of(context.province_code):
        return Grant.OFFICER
    if claims.national_with_purpose:
        return Grant.NATIONAL
    raise _refusal(claims, context.province_code, what)


def read_application(context: ShardContext, row: Row) -> Grant:
    grant = subject_grant(context, (row["applicant_id"], row["agent_id"]),
                          f"application {row['application_no']}")
    if grant is not Grant.OWNER:
        context.audit.note("Application", [row["application_no"]])
    return grant


def read_licence(context: ShardContext, row: Row) -> Grant:
    grant = subject_grant(context, (row["holder_id"],), f"e-licence {row['licence_id']}")
    if grant is not Grant.OWNER:
        context.audit.note("ELicence", [row["licence_id"]])
    return grant


def list_applicant(context: ShardContext, applicant_id: str | None) -> str | None:
    """The applicant an `applications` list is limited to: a holder's own (implicitly), or any for
    an officer of this province and a national officer with a purpose."""
    claims = context.claims
    if claims.holder:
        if applicant_id is not None and applicant_id != claims.subject:
            raise _refusal(claims, context.province_code, f"the applications of {applicant_id}")
        return claims.subject
    subject_grant(context, (), "the applications of this province")
    return applicant_id


def licence_holder(context: ShardContext, subject_id: str | None) -> str:
    """Whose licences `myLicences` lists: the caller's own, or the named subject for an officer or a
    national officer with a purpose (who must name one)."""
    claims = context.claims
    if claims.holder:
        if subject_id is not None and subject_id != claims.subject:
            raise _refusal(claims, context.province_code, f"the licences of {subject_id}")
        return str(claims.subject)
    subject_grant(context, (), "the licences of this province")
    if subject_id is None:
        raise AccessDenied("Name the holder with subjectId: only a citizen or an enterprise has licences of its own.")
    return subject_id


def may_submit(context: ShardContext, applicant_id: str) -> None:
    claims = context.claims
    if not claims.holder:
        raise forbidden(claims, "Only a citizen or an enterprise submits applications, for itself.")
    if applicant_id != claims.subject:
        raise forbidden(claims, f"A {claims.kind} submits applications only for itself ({claims.subject}), "
                                f"not for {applicant_id}.")


def may_rate(context: ShardContext, row: Row | None, application_no: str) -> None:
    claims = context.claims
    if not claims.holder:
        raise forbidden(claims, "Only the applicant rates an application.")
    if row is None or row["applicant_id"] != claims.subject:
        raise forbidden(claims, f"Application {application_no} is not yours to rate; only its applicant rates it.")


def may_advance(context: ShardContext, row: Row | None, application_no: str) -> None:
    """Only an officer of this province, or the applicant (who may only withdraw), advances an application."""
    claims = context.claims
    if claims.officer_of(context.province_code) or (row is not None and claims.owns(row["applicant_id"])):
        return
    if claims.kind == "officer":
        raise AccessDenied(f"An officer of province {claims.province} may not advance applications of province "
                           f"{context.province_code}.")
    raise forbidden(claims, f"Only an officer of province {context.province_code} advances application "
                            f"{application_no}.")


def may_take_step(context: ShardContext, step: str) -> None:
    """An officer's stages must include the step a move is; the applicant may only withdraw."""
    claims = context.claims
    if claims.officer_of(context.province_code):
        if step not in claims.stages:
            allowed = ", ".join(sorted(claims.stages)) or "none"
            raise AccessDenied(f"This move is the {step} step; your role may perform: {allowed}.")
    elif step != "WITHDRAW":
        raise AccessDenied(f"An applicant may only withdraw its application, not perform the {step} step.")


def identifier(grant: Grant, claims: Claims, applicant_id: str, value: str | None, kind: str) -> str | None:
    """A direct identifier of an applicant (`kind` "phone" or "certificate_no"): raw for the applicant
    itself and for an officer of the province who states a purpose; masked for everybody else, its
    agent included (raw identifiers never leave their owner's platform)."""
    if value is None:
        return None
    if claims.owns(applicant_id) or (grant is Grant.OFFICER and claims.purpose):
        return value
    return mask_phone(value) if kind == "phone" else mask_certificate_no(value)
