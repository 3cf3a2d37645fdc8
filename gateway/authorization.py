"""Authorization on the normalised operation, before planning.

The supergraph's `@authenticated`, `@requiresScopes` and `@policy` say what a caller needs
to see a field (see `schema.access`). Once per operation the guarded fields are found;
per request they are checked against the caller. A field the caller may not see is
removed from what is planned, so no subgraph is asked for it, and answered with `null`
and an `UNAUTHORIZED` error at its path; the rest of the response is intact. When the
field cannot be null, the null goes to the nearest field above it that can be, as
GraphQL's null propagation would put it; when there is none, `data` is null.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from graphql import FieldNode, GraphQLNonNull, GraphQLString, NameNode

from gateway.config import PolicyConfig
from gateway.exchange import Caller
from gateway.planner.operation import Condition, Field, InlineFragment, Operation, Selection
from schema.access import AccessRules, Requirement

UNAUTHORIZED = "UNAUTHORIZED"
UNAUTHORIZED_MESSAGE = "Unauthorized field or type"


@dataclass(frozen=True, slots=True)
class Guarded:
    """A field of the operation that asks something of the caller."""

    path: tuple[str, ...]  # response keys from the root
    # a field, or a fragment on a type that asks something (its fields are not answered)
    field: Field | InlineFragment
    ancestors: tuple[Field, ...]  # enclosing fields, outermost first
    requirement: Requirement
    condition: Condition  # every @skip/@include left for run time on the way to it

    def anchor(self) -> Field | InlineFragment | None:
        """What is left out when this may not be seen: the field when it can be null (or a
        fragment), else the nearest field above it that can (None: all data)."""
        if isinstance(self.field, InlineFragment):
            return self.field
        if not isinstance(self.field.type, GraphQLNonNull):
            return self.field
        for outer in reversed(self.ancestors):
            if not isinstance(outer.type, GraphQLNonNull):
                return outer
        return None


@dataclass(slots=True)
class Decision:
    """What one caller may not see of one operation."""

    denied: frozenset[int]  # indices (into the operation's guarded fields) of what is left out
    errors: list[dict[str, Any]]
    data_null: bool  # a non-null root field may not be seen: the whole data is null


def guarded_fields(operation: Operation, rules: AccessRules) -> tuple[Guarded, ...]:
    """Every field of the operation that an access rule protects."""
    if not rules:
        return ()
    return tuple(_walk(operation.selections, rules, (), (), ()))


def _walk(
    selections: list[Selection],
    rules: AccessRules,
    path: tuple[str, ...],
    ancestors: tuple[Field, ...],
    condition: Condition,
) -> Iterator[Guarded]:
    for selection in selections:
        if isinstance(selection, InlineFragment):
            cond = condition + selection.condition
            # a type's own rule also holds where it is reached by a type condition (an
            # interface or union field), not only as a field's type
            type_rule = rules.types.get(selection.type_condition or "")
            parent = ancestors[-1].named_type if ancestors else None
            if type_rule and selection.type_condition != parent:
                yield Guarded(path, selection, ancestors, type_rule, cond)
            yield from _walk(selection.selections, rules, path, ancestors, cond)
            continue
        if selection.name.startswith("__"):
            continue
        here = path + (selection.response_key,)
        cond = condition + selection.condition
        requirement = rules.for_field(selection.parent_type, selection.name, selection.named_type)
        if requirement:
            yield Guarded(here, selection, ancestors, requirement, cond)
        if selection.selections:
            yield from _walk(selection.selections, rules, here, ancestors + (selection,), cond)


class Authorizer:
    """Decides, per caller, which guarded fields are left out."""

    def __init__(self, policies: Mapping[str, PolicyConfig]) -> None:
        self._policies = dict(policies)

    def policies_of(self, caller: Caller) -> frozenset[str]:
        """The configured `@policy` names the caller meets."""
        met = set()
        for name, rule in self._policies.items():
            if not caller.authenticated:
                continue
            if rule.kinds and caller.kind not in rule.kinds:
                continue
            if not all(s in caller.scopes for s in rule.scopes):
                continue
            if rule.purpose and caller.purpose is None:
                continue
            met.add(name)
        return frozenset(met)

    def decide(
        self, guards: tuple[Guarded, ...], caller: Caller, variables: Mapping[str, Any]
    ) -> Decision | None:
        """None when the caller may see everything the operation asks for."""
        policies = self.policies_of(caller)
        denied = [
            (i, g)
            for i, g in enumerate(guards)
            if not g.requirement.met_by(caller.authenticated, caller.scopes, policies)
        ]
        if not denied:
            return None
        left_out: set[int] = set()
        errors: list[dict[str, Any]] = []
        data_null = False
        for index, guard in denied:
            if not _holds(guard.condition, variables):
                continue  # skipped at run time: nothing to say about it
            if guard.anchor() is None:
                data_null = True
            left_out.add(index)
            errors.append(
                {
                    "message": UNAUTHORIZED_MESSAGE,
                    "path": list(guard.path),
                    "extensions": {"code": UNAUTHORIZED},
                }
            )
        if not errors:
            return None
        return Decision(frozenset(left_out), errors, data_null)


def _holds(condition: Condition, variables: Mapping[str, Any]) -> bool:
    return all((variables.get(name) is True) is want for name, want in condition)


def without(
    operation: Operation, guards: tuple[Guarded, ...], denied: frozenset[int]
) -> tuple[Operation, Operation | None]:
    """The operation to plan, with the denied fields (or the fields their nulls reach) and
    fragments left out; and the one to shape with when fragments were left out (None: the
    client's own, where a left-out field answers null)."""
    anchors = [a for a in (guards[i].anchor() for i in denied) if a is not None]
    plan = replace(operation, selections=_prune(operation.selections, {id(a) for a in anchors}))
    fragments = {id(a) for a in anchors if isinstance(a, InlineFragment)}
    if not fragments:
        return plan, None
    return plan, replace(operation, selections=_prune(operation.selections, fragments))


def _prune(selections: list[Selection], removed: set[int]) -> list[Selection]:
    out: list[Selection] = []
    for selection in selections:
        if id(selection) in removed:
            continue
        if isinstance(selection, InlineFragment):
            inner = _prune(selection.selections, removed)
            if inner:
                out.append(replace(selection, selections=inner))
            continue
        if selection.selections is None:
            out.append(selection)
            continue
        inner = _prune(selection.selections, removed)
        if not inner:
            inner = [_typename(selection.named_type)]
        out.append(replace(selection, selections=inner))
    return out


def _typename(parent_type: str) -> Field:
    """`__typename`, standing in for a selection set whose every field was removed."""
    return Field(
        response_key="__typename",
        name="__typename",
        alias=None,
        node=FieldNode(name=NameNode(value="__typename")),
        parent_type=parent_type,
        type=GraphQLNonNull(GraphQLString),
    )
