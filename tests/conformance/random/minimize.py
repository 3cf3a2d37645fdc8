"""Greedy shrinking of an operation while a disagreement persists.

Each step tries one edit: drop a selection (field, inline fragment, fragment spread), drop
an argument, a directive or an alias, inline a named fragment, or unwrap an inline
fragment into its parent; unused fragments and variables are then removed. An edit is kept
when the result still validates and the gateways still disagree in the same way.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor

from .querygen import Operation

EDITS = ("remove", "unwrap", "inline", "argument", "directive", "alias")


def _copy(node: Any, **changes: Any) -> Any:
    values = {key: getattr(node, key) for key in node.keys if key != "loc"}
    values.update(changes)
    return node.__class__(**values)


class _Rewrite:
    """Applies edit number `target` of one kind to a document (counting in document order)."""

    def __init__(self, document: DocumentNode, kind: str, target: int) -> None:
        self.kind = kind
        self.target = target
        self.count = 0
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}

    def _hit(self) -> bool:
        hit = self.count == self.target
        self.count += 1
        return hit

    def document(self, document: DocumentNode) -> DocumentNode:
        definitions = []
        for definition in document.definitions:
            selection_set = self.selection_set(definition.selection_set)
            definitions.append(_copy(definition, selection_set=selection_set))
        return _copy(document, definitions=tuple(definitions))

    def selection_set(self, selection_set: SelectionSetNode) -> SelectionSetNode:
        selections: list[Any] = []
        for selection in selection_set.selections:
            if self.kind == "remove" and self._hit():
                continue
            if self.kind == "unwrap" and isinstance(selection, InlineFragmentNode) and self._hit():
                selections.extend(self.selection_set(selection.selection_set).selections)
                continue
            if self.kind == "inline" and isinstance(selection, FragmentSpreadNode) and self._hit():
                fragment = self.fragments[selection.name.value]
                selection = InlineFragmentNode(type_condition=fragment.type_condition,
                                               directives=selection.directives,
                                               selection_set=fragment.selection_set)
            selections.append(self.selection(selection))
        return _copy(selection_set, selections=tuple(selections))

    def selection(self, node: Any) -> Any:
        changes: dict[str, Any] = {}
        if isinstance(node, FieldNode):
            if self.kind == "alias" and node.alias is not None and self._hit():
                changes["alias"] = None
            if self.kind == "argument":
                changes["arguments"] = tuple(a for a in node.arguments or () if not self._hit())
        if self.kind == "directive":
            changes["directives"] = tuple(d for d in node.directives or () if not self._hit())
        if getattr(node, "selection_set", None) is not None:
            changes["selection_set"] = self.selection_set(node.selection_set)
        return _copy(node, **changes) if changes else node


class _Used(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.fragments: set[str] = set()
        self.variables: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.fragments.add(node.name.value)

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.variables.add(node.name.value)


def _clean(document: DocumentNode,
           variables: dict[str, Any]) -> tuple[DocumentNode, dict[str, Any]]:
    """Without unused fragments and unused variables."""
    while True:
        used = _Used()
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                visit(definition.selection_set, used)
            else:
                visit(definition, used)
        definitions = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                if definition.name.value not in used.fragments:
                    continue
            elif isinstance(definition, OperationDefinitionNode):
                definition = _copy(definition, variable_definitions=tuple(
                    v for v in definition.variable_definitions or ()
                    if v.variable.name.value in used.variables))
            definitions.append(definition)
        cleaned = _copy(document, definitions=tuple(definitions))
        if len(definitions) == len(document.definitions):
            kept = {k: v for k, v in variables.items() if k in used.variables}
            return cleaned, kept
        document = cleaned


class _Empty(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
        if not node.selections:
            self.found = True


def _has_empty_selection(document: DocumentNode) -> bool:
    """graphql-core parses `{}`, which the grammar forbids (`{ Selection+ }`)."""
    empty = _Empty()
    visit(document, empty)
    return empty.found


def candidates(document: DocumentNode, variables: dict[str, Any]) -> Iterator[Operation]:
    for kind in EDITS:
        target = 0
        while True:
            rewrite = _Rewrite(document, kind, target)
            edited = rewrite.document(document)
            if rewrite.count <= target:
                break
            target += 1
            cleaned, kept = _clean(edited, variables)
            yield Operation(print_ast(cleaned), kept)


def size(operation: Operation) -> int:
    return len(" ".join(operation.query.split()))


def minimize(schema: GraphQLSchema, operation: Operation,
             still_fails: Callable[[Operation], bool], budget_s: float = 60.0,
             max_checks: int = 150) -> tuple[Operation, int]:
    """The smallest operation found that still fails, and the number of checks spent."""
    deadline = time.monotonic() + budget_s
    checks = 0
    current = operation
    improved = True
    while improved and time.monotonic() < deadline and checks < max_checks:
        improved = False
        document = parse(current.query)
        for candidate in candidates(document, current.variables):
            if time.monotonic() > deadline or checks >= max_checks:
                break
            if size(candidate) >= size(current):
                continue
            try:
                parsed = parse(candidate.query)
                if _has_empty_selection(parsed) or validate(schema, parsed):
                    continue
            except GraphQLError:
                continue
            checks += 1
            if still_fails(candidate):
                current = candidate
                improved = True
                break
    return current, checks


__all__ = ["ArgumentNode", "candidates", "minimize", "size"]
