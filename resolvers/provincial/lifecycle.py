"""The application lifecycle (申请、受理、审查、决定、送达) as one transition table.

Both the seed generator and ``advanceApplication`` consult this table, so the demo data
can only contain histories that the API itself would accept.
"""
from __future__ import annotations

from collections.abc import Mapping

DRAFT = "DRAFT"
SUBMITTED = "SUBMITTED"
PRE_REVIEW = "PRE_REVIEW"
SUPPLEMENT_REQUIRED = "SUPPLEMENT_REQUIRED"
NOT_ACCEPTED = "NOT_ACCEPTED"
ACCEPTED = "ACCEPTED"
IN_REVIEW = "IN_REVIEW"
SUSPENDED = "SUSPENDED"
COMPLETED = "COMPLETED"
DELIVERED = "DELIVERED"
WITHDRAWN = "WITHDRAWN"

REVIEW_STAGES = ("UNDERTAKE", "AUDIT", "APPROVE")

#: status -> statuses it may move to. Withdrawal is open until completion; supplement
#: loops back to pre-review or, when the applicant never answers, ends the case.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    DRAFT: frozenset({SUBMITTED, WITHDRAWN}),
    SUBMITTED: frozenset({PRE_REVIEW, ACCEPTED, NOT_ACCEPTED, SUPPLEMENT_REQUIRED, WITHDRAWN}),
    PRE_REVIEW: frozenset({ACCEPTED, NOT_ACCEPTED, SUPPLEMENT_REQUIRED, WITHDRAWN}),
    SUPPLEMENT_REQUIRED: frozenset({PRE_REVIEW, COMPLETED, WITHDRAWN}),
    ACCEPTED: frozenset({IN_REVIEW, COMPLETED, WITHDRAWN}),
    IN_REVIEW: frozenset({IN_REVIEW, SUSPENDED, COMPLETED, WITHDRAWN}),
    SUSPENDED: frozenset({IN_REVIEW, WITHDRAWN}),
    COMPLETED: frozenset({DELIVERED}),
    DELIVERED: frozenset(),
    NOT_ACCEPTED: frozenset(),
    WITHDRAWN: frozenset(),
}

FINISHED = frozenset({COMPLETED, DELIVERED})
"""Statuses in which an application may be rated (好差评 follows the 办结)."""

ACTOR_ROLES: Mapping[str, str] = {
    SUBMITTED: "申请人",
    PRE_REVIEW: "窗口人员",
    SUPPLEMENT_REQUIRED: "窗口人员",
    NOT_ACCEPTED: "窗口人员",
    ACCEPTED: "窗口人员",
    SUSPENDED: "承办人",
    COMPLETED: "批准人",
    DELIVERED: "窗口人员",
    WITHDRAWN: "申请人",
    DRAFT: "申请人",
}
STAGE_ROLES: Mapping[str, str] = {"UNDERTAKE": "承办人", "AUDIT": "审核人", "APPROVE": "批准人"}


class TransitionError(ValueError):
    """A move the lifecycle does not allow; the message names both statuses."""


def check_transition(
    current: str, target: str, current_stage: str | None, stage: str | None, result: str | None
) -> str | None:
    """Validate one move and return the review stage the application is in afterwards."""
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none (final status)"
        raise TransitionError(
            f"An application in status {current} cannot move to {target}; allowed next statuses: {allowed}."
        )
    if target == IN_REVIEW:
        if current == IN_REVIEW:
            index = REVIEW_STAGES.index(current_stage or REVIEW_STAGES[0])
            expected = REVIEW_STAGES[index + 1] if index + 1 < len(REVIEW_STAGES) else None
            if expected is None or (stage is not None and stage != expected):
                raise TransitionError(
                    f"An application in status IN_REVIEW at stage {current_stage} cannot move to "
                    f"IN_REVIEW at stage {stage}; the next stage is {expected or 'none (move to COMPLETED)'}."
                )
            return expected
        if current == SUSPENDED:
            resumed = current_stage or REVIEW_STAGES[0]
            if stage not in (None, resumed):
                raise TransitionError(
                    f"An application in status SUSPENDED at stage {resumed} resumes IN_REVIEW at stage "
                    f"{resumed}, not {stage}."
                )
            return resumed
        if stage not in (None, REVIEW_STAGES[0]):
            raise TransitionError(
                f"An application in status {current} enters IN_REVIEW at stage UNDERTAKE, not {stage}."
            )
        return REVIEW_STAGES[0]
    if target == COMPLETED and current == SUPPLEMENT_REQUIRED and result != "SUPPLEMENT_TIMEOUT":
        raise TransitionError(
            f"An application in status SUPPLEMENT_REQUIRED can move to COMPLETED only with result "
            f"SUPPLEMENT_TIMEOUT, not {result}."
        )
    if target == COMPLETED and current == IN_REVIEW and current_stage != REVIEW_STAGES[-1]:
        raise TransitionError(
            f"An application in status IN_REVIEW at stage {current_stage} cannot move to COMPLETED "
            f"before the APPROVE stage."
        )
    if target == SUSPENDED:
        return current_stage
    return None


STEPS = ("ACCEPT", "UNDERTAKE", "AUDIT", "APPROVE", "DELIVER", "WITHDRAW")
"""The steps an officer's role may be allowed to perform (its `stages` claim): window staff
accept (pre-review, accept, refuse, ask for supplements), the three review stages, delivery,
and recording a withdrawal at the counter."""

_TARGET_STEPS: Mapping[str, str] = {
    PRE_REVIEW: "ACCEPT", ACCEPTED: "ACCEPT", NOT_ACCEPTED: "ACCEPT", SUPPLEMENT_REQUIRED: "ACCEPT",
    COMPLETED: "APPROVE", DELIVERED: "DELIVER", WITHDRAWN: "WITHDRAW",
}


def step_of(current: str, target: str, current_stage: str | None, new_stage: str | None) -> str:
    """The step a move is: IN_REVIEW moves are the review stage they enter (or resume), a
    suspension belongs to the stage it suspends, a completion out of SUPPLEMENT_REQUIRED (timeout)
    to the window, every other completion to the approver."""
    if target == IN_REVIEW:
        return new_stage or REVIEW_STAGES[0]
    if target == SUSPENDED:
        return current_stage or REVIEW_STAGES[0]
    if target == COMPLETED and current == SUPPLEMENT_REQUIRED:
        return "ACCEPT"
    return _TARGET_STEPS.get(target, "ACCEPT")
