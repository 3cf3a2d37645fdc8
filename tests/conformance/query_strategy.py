"""Hypothesis strategies that write valid-looking operations by walking an API schema.

Arguments are drawn from the values the case's fixtures hold, so generated queries reach
real data instead of stopping at "not found".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    Undefined,
    get_named_type,
    is_composite_type,
    is_leaf_type,
    is_non_null_type,
    parse,
)
from hypothesis import strategies as st


@dataclass(slots=True)
class FixtureValues:
    """Scalars found in a case's fixtures, the pool argument values are drawn from."""

    strings: list[str] = field(default_factory=list)
    ints: list[int] = field(default_factory=list)

    @classmethod
    def collect(cls, *fixtures: Any) -> FixtureValues:
        strings: set[str] = set()
        ints: set[int] = {0, 1, 2}

        def walk(value: Any) -> None:
            if isinstance(value, bool):
                return
            if isinstance(value, str) and len(value) <= 40:
                strings.add(value)
            elif isinstance(value, int):
                ints.add(value)
            elif isinstance(value, dict):
                for key, item in value.items():
                    if not key.startswith("$") or key in ("$args", "$default"):
                        walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        for fixture in fixtures:
            walk(fixture)
        return cls(sorted(strings) or ["x"], sorted(ints))


@dataclass(slots=True)
class _Document:
    """Fragment definitions collected while one operation is drawn, and alias numbering."""

    excluded: frozenset[tuple[str, str]] = frozenset()
    fragments: list[str] = field(default_factory=list)
    aliases: int = 0

    def alias(self, name: str) -> str:
        """A response name used nowhere else, so merged selections never conflict."""
        self.aliases += 1
        return f"{name}{self.aliases}"


def value_literal(draw: st.DrawFn, type_: GraphQLInputType, values: FixtureValues, depth: int = 0) -> str:
    """A GraphQL literal for an input type, from the fixture values."""
    if isinstance(type_, GraphQLNonNull):
        return value_literal(draw, type_.of_type, values, depth)
    if isinstance(type_, GraphQLList):
        return "[" + value_literal(draw, type_.of_type, values, depth) + "]"
    if isinstance(type_, GraphQLEnumType):
        return draw(st.sampled_from(sorted(type_.values)))
    if isinstance(type_, GraphQLInputObjectType):
        parts = []
        for name, input_field in type_.fields.items():
            required = is_non_null_type(input_field.type) and input_field.default_value is Undefined
            if required or (depth < 2 and draw(st.booleans())):
                parts.append(f"{name}: {value_literal(draw, input_field.type, values, depth + 1)}")
        return "{" + ", ".join(parts) + "}"
    name = getattr(type_, "name", "")
    if name == "Int":
        return str(draw(st.sampled_from(values.ints)))
    if name == "Float":
        return str(float(draw(st.sampled_from(values.ints))))
    if name == "Boolean":
        return "true" if draw(st.booleans()) else "false"
    return json.dumps(draw(st.sampled_from(values.strings)), ensure_ascii=False)


def _arguments(draw: st.DrawFn, args: dict[str, Any], values: FixtureValues) -> str:
    parts = []
    for name, argument in args.items():
        required = is_non_null_type(argument.type) and argument.default_value is Undefined
        if required or draw(st.integers(0, 3)) == 0:
            parts.append(f"{name}: {value_literal(draw, argument.type, values)}")
    return f"({', '.join(parts)})" if parts else ""


def _possible_types(schema: GraphQLSchema, type_: GraphQLNamedType) -> list[GraphQLObjectType]:
    if isinstance(type_, (GraphQLInterfaceType, GraphQLUnionType)):
        return list(schema.get_possible_types(type_))
    return []


def _selection_set(draw: st.DrawFn, schema: GraphQLSchema, type_: GraphQLNamedType,
                   values: FixtureValues, depth: int, document: _Document) -> str:
    fields: dict[str, Any] = {name: f for name, f in (getattr(type_, "fields", {}) or {}).items()
                              if (type_.name, name) not in document.excluded}
    selections: list[str] = []
    if fields:
        names = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1,
                              max_size=min(3, len(fields)), unique=True))
        for name in names:
            field_def = fields[name]
            named = get_named_type(field_def.type)
            arguments = _arguments(draw, field_def.args, values)
            aliased = bool(arguments) or draw(st.integers(0, 4)) == 0
            text = (f"{document.alias(name)}: " if aliased else "") + name + arguments
            if is_composite_type(named):
                if depth <= 0:
                    text += " { __typename }"
                else:
                    text += " " + _selection_set(draw, schema, named, values, depth - 1, document)
            selections.append(text)
            if is_leaf_type(named) and draw(st.integers(0, 5)) == 0:
                # the same field again under another alias, with other arguments
                again = _arguments(draw, field_def.args, values)
                selections.append(f"{document.alias(name)}: {name}{again}")
    for possible in _possible_types(schema, type_):
        if draw(st.integers(0, 2)) == 0 or not fields:
            inner = _selection_set(draw, schema, possible, values, max(depth - 1, 0), document)
            selections.append(f"... on {possible.name} {inner}")
    if draw(st.integers(0, 3)) == 0:
        selections.append("__typename")
    if fields and depth > 0 and draw(st.integers(0, 5)) == 0:
        slot = len(document.fragments)
        name = f"F{slot}"
        document.fragments.append("")  # reserves the name before nested fragments are drawn
        inner = _selection_set(draw, schema, type_, values, max(depth - 1, 0), document)
        document.fragments[slot] = f"fragment {name} on {type_.name} {inner}"
        selections.append(f"...{name}")
    if not selections:
        selections.append("__typename")
    return "{ " + " ".join(selections) + " }"


def labelled_override_fields(supergraph_sdl: str) -> frozenset[tuple[str, str]]:
    """(type, field) of every field under a progressive `@override(label:)`."""
    found = set()
    for definition in parse(supergraph_sdl).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            continue
        for field_node in definition.fields or ():
            for directive in field_node.directives or ():
                if directive.name.value == "join__field" and any(
                        a.name.value == "overrideLabel" for a in directive.arguments or ()):
                    found.add((definition.name.value, field_node.name.value))
    return frozenset(found)


def operations(schema: GraphQLSchema, values: FixtureValues,
               excluded: frozenset[tuple[str, str]] = frozenset(),
               max_depth: int = 2) -> st.SearchStrategy[str]:
    """Query operations over the schema's Query type, at most `max_depth` levels deep,
    never selecting the `excluded` (type, field) coordinates."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        query_type = schema.query_type
        assert query_type is not None
        document = _Document(excluded)
        body = _selection_set(draw, schema, query_type, values, max_depth, document)
        return "\n".join(["query Generated " + body, *document.fragments])

    return build()

