"""The client's operation, normalised for planning and shaping.

Fragment spreads become inline fragments, `@skip`/`@include` are decided with the
request's variables, and every field knows its parent type and output type, so the
planner and the shaper never look at fragments or directives again.
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
from graphql.type import GraphQLBoolean, GraphQLObjectType, is_abstract_type
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

# `@skip(if: $v)` / `@include(if: $v)` left for run time: all of (variable, value it must have)
Condition = tuple[tuple[str, bool], ...]


@dataclass(slots=True)
class Field:
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
        return get_named_type(self.type).name


@dataclass(slots=True)
class InlineFragment:
    type_condition: str | None
    selections: list[Selection] = field(default_factory=list)
    directives: tuple[DirectiveNode, ...] = ()
    condition: Condition = ()


Selection = Field | InlineFragment


@dataclass(slots=True)
class Operation:
    kind: str  # query | mutation | subscription
    name: str | None
    root_type: str
    selections: list[Selection]
    definition: OperationDefinitionNode


class OperationError(Exception):
    """The request cannot be planned (e.g. no such operation); the message says why."""


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
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


def both(a: Condition, b: Condition) -> Condition:
    """Selected under `a` and, inside it, under `b`."""
    return a + tuple(term for term in b if term not in a) if b else a


def holds(condition: Condition, variables: Mapping[str, Any]) -> bool:
    return all((variables.get(name) is True) is want for name, want in condition)


def normalize(schema: GraphQLSchema, document: DocumentNode, definition: OperationDefinitionNode,
              variables: Mapping[str, Any]) -> Operation:
    """Literal `@skip`/`@include` are applied here; those reading a variable stay on the
    selection as its `condition`, so one plan serves every value of the variable."""
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
            value = value_from_ast(arg.value, GraphQLBoolean, variables)
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

    def build(parent: GraphQLNamedType, selection_set: SelectionSetNode,
              seen: frozenset[str]) -> list[Selection]:
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
                    fdef = parent.fields[name]  # type: ignore[union-attr]
                    ftype = fdef.type
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
                out.append(InlineFragment(
                    type_condition=cond,
                    selections=build(target, sel.selection_set, seen),
                    directives=other_directives(sel.directives),
                    condition=condition(sel.directives),
                ))
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = fragments.get(name)
                if frag is None or name in seen:
                    continue
                cond = frag.type_condition.name.value
                target = schema.get_type(cond)
                assert target is not None
                out.append(InlineFragment(
                    type_condition=cond,
                    selections=build(target, frag.selection_set, seen | {name}),
                    directives=other_directives(sel.directives),
                    condition=condition(sel.directives),
                ))
        return out

    return Operation(
        kind=kind,
        name=definition.name.value if definition.name else None,
        root_type=root.name,
        selections=build(root, definition.selection_set, frozenset()),
        definition=definition,
    )


def runtime_applies(schema: GraphQLSchema, type_condition: str | None, runtime_type: str) -> bool:
    """Does a fragment with this type condition apply to an object of `runtime_type`?"""
    if type_condition is None or type_condition == runtime_type:
        return True
    cond = schema.get_type(type_condition)
    obj = schema.get_type(runtime_type)
    if cond is None or not isinstance(obj, GraphQLObjectType):
        return False
    if is_abstract_type(cond):
        return schema.is_sub_type(cond, obj)  # type: ignore[arg-type]
    return False
