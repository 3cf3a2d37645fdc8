"""The client's operation, measured and normalised for planning and shaping.

Fragment spreads become inline fragments, `@skip`/`@include` are decided with the
request's variables, and every field knows its parent type and output type, so the
planner and the shaper never look at fragments or directives again. Before that,
`measure` bounds the size the operation will have once its fragments are inlined:
a short document of fragments that each spread the next one twice would otherwise
expand to billions of selections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast,
)
from graphql.type import GraphQLBoolean, GraphQLObjectType
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

# `@skip(if: $v)` / `@include(if: $v)` left for run time: all of (variable, value it must have)
Condition = tuple[tuple[str, bool], ...]


@dataclass(slots=True)
class Field:
    """A field selection with the types it lies between, so no later pass asks the schema."""

    response_key: str
    name: str
    alias: str | None
    node: FieldNode  # the original node: arguments and non-conditional directives
    parent_type: str
    type: GraphQLOutputType
    selections: list[Selection] | None = None
    condition: Condition = ()

    @property
    def named_type(self) -> str:
        """The name of the field's type without list and non-null wrappers."""
        return get_named_type(self.type).name


@dataclass(slots=True)
class InlineFragment:
    """An inline fragment, or a fragment spread inlined where it lands."""

    type_condition: str | None
    selections: list[Selection] = field(default_factory=list)
    directives: tuple[DirectiveNode, ...] = ()
    condition: Condition = ()


Selection = Field | InlineFragment


@dataclass(slots=True)
class Operation:
    """The operation a request runs, normalised: what the planner and the shaper read."""

    kind: str  # query | mutation | subscription
    name: str | None
    root_type: str
    selections: list[Selection]
    definition: OperationDefinitionNode


class OperationError(Exception):
    """The request cannot be planned (e.g. no such operation); the message says why."""


class OperationLimitError(OperationError):
    """The operation is larger or deeper than the gateway's limits allow."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


MAX_EXPANDED_SELECTIONS_EXCEEDED = "MAX_EXPANDED_SELECTIONS_EXCEEDED"
MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"


@dataclass(frozen=True, slots=True)
class OperationSize:
    """The operation as normalisation would build it, before `@skip`/`@include`.

    `selections` counts every field, inline fragment and fragment spread once per place it
    lands after spreads are inlined (a field with its sub-selection); `depth` is the
    deepest nesting of fields.
    """

    selections: int
    depth: int


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    """The operation a request names, as GraphQL over HTTP picks it: the only one when
    the request names none."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) == 1:
            return operations[0]
        if not operations:
            raise OperationError("The document contains no operation.")
        raise OperationError("Must provide operation name if query contains multiple operations.")
    for op in operations:
        if op.name is not None and op.name.value == operation_name:
            return op
    raise OperationError(f'Unknown operation named "{operation_name}".')


def measure(document: DocumentNode, *, max_selections: int, max_depth: int) -> OperationSize:
    """The expanded size of the document's largest operation, or OperationLimitError as
    soon as one operation passes a limit.

    Each fragment is walked once and its size remembered, so the work is linear in the
    document whatever the expanded size (Apollo's `max_recursive_selections`, counted the
    same way). It needs no schema: it runs before validation, which is itself not cheap.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    sizes: dict[str, OperationSize] = {}  # a fragment's selections and depth, relative
    walking: set[str] = set()
    count = 0
    operation = "The operation"

    def too_many() -> OperationLimitError:
        return OperationLimitError(
            f"{operation} has more than {max_selections} selections once its fragments are "
            f"expanded, the limit set by [gateway] max_expanded_selections; split it into "
            f"smaller operations or spread fragments fewer times.",
            MAX_EXPANDED_SELECTIONS_EXCEEDED,
        )

    def too_deep() -> OperationLimitError:
        return OperationLimitError(
            f"{operation} nests fields more than {max_depth} levels deep, the limit set by "
            f"[gateway] max_depth; select less deeply nested data.",
            MAX_DEPTH_EXCEEDED,
        )

    def walk(selection_set: SelectionSetNode, depth: int) -> int:
        """Count the selections under `selection_set`, whose fields are at `depth` + 1;
        return the deepest field level reached below `depth`."""
        nonlocal count
        deepest = 0
        for sel in selection_set.selections:
            count += 1
            if count > max_selections:
                raise too_many()
            if isinstance(sel, FieldNode):
                if depth + 1 > max_depth:
                    raise too_deep()
                below = walk(sel.selection_set, depth + 1) if sel.selection_set else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(sel, InlineFragmentNode):
                deepest = max(deepest, walk(sel.selection_set, depth))
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                size = sizes.get(name)
                if size is None:
                    fragment = fragments.get(name)
                    if fragment is None or name in walking:  # validation refuses both
                        continue
                    walking.add(name)
                    before = count
                    inner = walk(fragment.selection_set, depth)
                    walking.discard(name)
                    size = sizes[name] = OperationSize(count - before, inner)
                else:
                    count += size.selections
                    if count > max_selections:
                        raise too_many()
                    if depth + size.depth > max_depth:
                        raise too_deep()
                deepest = max(deepest, size.depth)
        return deepest

    largest = OperationSize(0, 0)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        operation = f'Operation "{definition.name.value}"' if definition.name else "The operation"
        count = 0
        depth = walk(definition.selection_set, 0)
        largest = OperationSize(max(largest.selections, count), max(largest.depth, depth))
    return largest


def both(a: Condition, b: Condition) -> Condition:
    """Selected under `a` and, inside it, under `b`."""
    return a + tuple(term for term in b if term not in a) if b else a


def holds(condition: Condition, variables: Mapping[str, Any]) -> bool:
    """Whether a selection left under `condition` is included for these variables."""
    return all((variables.get(name) is True) is want for name, want in condition)


def normalize(
    schema: GraphQLSchema,
    document: DocumentNode,
    definition: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> Operation:
    """Literal `@skip`/`@include` are applied here; those reading a variable stay on the
    selection as its `condition`, so one plan serves every value of the variable.

    Each spread is inlined where it lands, so the result has as many selections as
    `measure` counts, at most: call it first, with the gateway's limits."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    kind = definition.operation.value
    root = schema.get_root_type(definition.operation)
    if root is None:
        raise OperationError(f"The schema has no {kind} type.")

    def included(directives: tuple[DirectiveNode, ...] | None) -> bool:
        """False when a literal condition drops the selection."""
        for d in directives or ():
            if d.name.value not in ("skip", "include"):
                continue
            arg = next((a for a in d.arguments or () if a.name.value == "if"), None)
            if arg is None or isinstance(arg.value, VariableNode):
                continue
            value = value_from_ast(arg.value, GraphQLBoolean)  # a literal: no variables in it
            if d.name.value == "skip" and value is True:
                return False
            if d.name.value == "include" and value is not True:
                return False
        return True

    def condition(directives: tuple[DirectiveNode, ...] | None) -> Condition:
        out: list[tuple[str, bool]] = []
        for d in directives or ():
            if d.name.value not in ("skip", "include"):
                continue
            arg = next((a for a in d.arguments or () if a.name.value == "if"), None)
            if arg is not None and isinstance(arg.value, VariableNode):
                term = (arg.value.name.value, d.name.value == "include")
                if term not in out:
                    out.append(term)
        return tuple(out)

    def other_directives(directives: tuple[DirectiveNode, ...] | None) -> tuple[DirectiveNode, ...]:
        return tuple(d for d in directives or () if d.name.value not in ("skip", "include"))

    def build(
        parent: GraphQLNamedType, selection_set: SelectionSetNode, seen: frozenset[str]
    ) -> list[Selection]:
        out: list[Selection] = []
        for sel in selection_set.selections:
            if not included(sel.directives):
                continue
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name == "__typename":
                    ftype: GraphQLOutputType = TypeNameMetaFieldDef.type
                elif name == "__schema" and parent is root:
                    ftype = SchemaMetaFieldDef.type
                elif name == "__type" and parent is root:
                    ftype = TypeMetaFieldDef.type
                else:
                    if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
                        # validation refuses this before the operation gets here
                        raise OperationError(f'Type "{parent.name}" has no field "{name}".')
                    fields: dict[str, GraphQLField] = parent.fields
                    ftype = fields[name].type
                f = Field(
                    response_key=sel.alias.value if sel.alias else name,
                    name=name,
                    alias=sel.alias.value if sel.alias else None,
                    node=sel,
                    parent_type=parent.name,
                    type=ftype,
                    condition=condition(sel.directives),
                )
                if sel.selection_set is not None and not name.startswith("__"):
                    f.selections = build(get_named_type(ftype), sel.selection_set, seen)
                elif sel.selection_set is not None:
                    f.selections = []  # introspection: answered from the API schema as a whole
                out.append(f)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition.name.value if sel.type_condition else None
                target = schema.get_type(cond) if cond else parent
                assert target is not None
                out.append(
                    InlineFragment(
                        type_condition=cond,
                        selections=build(target, sel.selection_set, seen),
                        directives=other_directives(sel.directives),
                        condition=condition(sel.directives),
                    )
                )
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = fragments.get(name)
                if frag is None or name in seen:
                    continue
                cond = frag.type_condition.name.value
                target = schema.get_type(cond)
                assert target is not None
                out.append(
                    InlineFragment(
                        type_condition=cond,
                        selections=build(target, frag.selection_set, seen | {name}),
                        directives=other_directives(sel.directives),
                        condition=condition(sel.directives),
                    )
                )
        return out

    return Operation(
        kind=kind,
        name=definition.name.value if definition.name else None,
        root_type=root.name,
        selections=build(root, definition.selection_set, frozenset()),
        definition=definition,
    )
