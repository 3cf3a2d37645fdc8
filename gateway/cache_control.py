"""The response's `Cache-Control`, from cache hints on the supergraph's types and fields.

Hints are `@cacheControl(maxAge: Int, scope: PUBLIC|PRIVATE, inheritMaxAge: Boolean)` on
types and fields of the supergraph (a subgraph composes the directive in with
`@composeDirective`), or `[cache_control]` in the configuration, which wins. As in Apollo
Server: a field's own hint, else its composite type's; a root field or a field of composite
type without one gets the default max age (0: not cacheable); a scalar field inherits its
parent's. The response's policy is the lowest max age of its fields, private if any field is.
Computed once per operation, when it is planned.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    IntValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    UnionTypeDefinitionNode,
)
from graphql.language import ConstDirectiveNode

from gateway.config import CacheControlConfig, CacheHint
from gateway.planner.operation import Field, Operation, Selection

NO_STORE = "no-store"
_TYPE_NODES = (
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    UnionTypeDefinitionNode,
)


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """What a response may be cached for: `max_age` seconds, for one caller when private."""

    max_age: int
    private: bool

    def header(self) -> str:
        if self.max_age <= 0:
            return NO_STORE
        return f"max-age={self.max_age}, {'private' if self.private else 'public'}"


class CacheControl:
    def __init__(self, supergraph: DocumentNode, config: CacheControlConfig) -> None:
        self.default_max_age = config.default_max_age
        self.types: dict[str, CacheHint] = {}
        self.fields: dict[tuple[str, str], CacheHint] = {}
        for definition in supergraph.definitions:
            if not isinstance(definition, _TYPE_NODES):
                continue
            type_name = definition.name.value
            hint = _hint(definition.directives)
            if hint is not None:
                self.types[type_name] = hint
            for fdef in getattr(definition, "fields", None) or ():
                hint = _hint(fdef.directives)
                if hint is not None:
                    self.fields[(type_name, fdef.name.value)] = hint
        self.types.update(config.types)
        for coordinate, hint in config.fields.items():
            type_name, _, field_name = coordinate.partition(".")
            self.fields[(type_name, field_name)] = hint

    @property
    def active(self) -> bool:
        """Without hints or a default, every response is `no-store`: nothing to compute."""
        return bool(self.default_max_age or self.types or self.fields)

    def policy(self, operation: Operation, private: bool = False) -> CachePolicy:
        """`private`: the answer depends on the caller whatever the hints say."""
        if operation.kind != "query":
            return CachePolicy(0, False)
        walk = _Walk(self)
        walk.selections(operation.selections, None, root=True)
        return CachePolicy(walk.max_age if walk.max_age is not None else 0, walk.private or private)


class _Walk:
    def __init__(self, control: CacheControl) -> None:
        self.control = control
        self.max_age: int | None = None
        self.private = False

    def selections(self, selections: list[Selection], parent: int | None, root: bool) -> None:
        for sel in selections:
            if isinstance(sel, Field):
                self.field(sel, parent, root)
            else:
                self.selections(sel.selections, parent, root)

    def field(self, field: Field, parent: int | None, root: bool) -> None:
        if field.name.startswith("__"):
            return
        composite = field.selections is not None
        type_hint = self.control.types.get(field.named_type) if composite else None
        field_hint = self.control.fields.get((field.parent_type, field.name))
        max_age: int | None = None
        inherit = False
        for hint in (type_hint, field_hint):  # the field's own hint wins over its type's
            if hint is None:
                continue
            if hint.max_age is not None:
                max_age = hint.max_age
            inherit = hint.inherit_max_age
            if hint.scope == "PRIVATE":
                self.private = True
        if max_age is None:
            if inherit or not (root or composite):
                max_age = parent
            else:
                max_age = self.control.default_max_age
        if max_age is not None and (self.max_age is None or max_age < self.max_age):
            self.max_age = max_age
        if field.selections is not None:
            self.selections(field.selections, max_age, root=False)


def _hint(directives: tuple[ConstDirectiveNode, ...] | None) -> CacheHint | None:
    for directive in directives or ():
        if directive.name.value != "cacheControl":
            continue
        hint = CacheHint()
        for argument in directive.arguments or ():
            value = argument.value
            name = argument.name.value
            if name == "maxAge" and isinstance(value, IntValueNode):
                hint = CacheHint(int(value.value), hint.scope, hint.inherit_max_age)
            elif name == "scope" and isinstance(value, EnumValueNode):
                hint = CacheHint(hint.max_age, value.value, hint.inherit_max_age)
            elif name == "inheritMaxAge" and isinstance(value, BooleanValueNode):
                hint = CacheHint(hint.max_age, hint.scope, value.value)
        return hint
    return None
