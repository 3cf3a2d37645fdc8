"""Random valid operations over a composed API schema.

Nested selections up to `MAX_DEPTH` levels, aliases (also the same field twice under two
aliases with different arguments), inline fragments and named fragments on interfaces,
unions and objects, variables with and without defaults, `@skip`/`@include` with literals
and variables, `__typename`. Every operation is validated with graphql-core against the
schema; argument values are drawn so that lookups mostly hit existing entities.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_composite_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql import Undefined as _UNDEFINED

from .generate import ENTITY_COUNT, SchemaSet

MAX_DEPTH = 4


@dataclass(slots=True)
class Operation:
    query: str
    variables: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query}
        if self.variables:
            body["variables"] = self.variables
        return body


def _literal(value: Any, type_: Any) -> str:
    if isinstance(get_named_type(type_), GraphQLEnumType):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


class QueryGenerator:
    """Draws operations from one schema with one `random.Random`."""

    def __init__(self, schema: GraphQLSchema, schema_set: SchemaSet, rng: random.Random) -> None:
        self.schema = schema
        self.set = schema_set
        self.r = rng
        entity_types = sorted(t for t in schema_set.keys if t not in schema_set.targets)
        self.entity_types = entity_types or ["X"]

    # --- values ----------------------------------------------------------------------
    def _entity_for(self, return_type: Any) -> str:
        named = get_named_type(return_type)
        choices = self.set.targets.get(named.name) or [named.name]
        if self.r.random() < 0.15:
            choices = self.entity_types
        return self.r.choice(choices)

    def value(self, arg_name: str, type_: Any, return_type: Any) -> Any:
        named = get_named_type(type_)
        n = self.r.randrange(ENTITY_COUNT + 2)
        if isinstance(named, GraphQLEnumType):
            return self.r.choice(sorted(named.values))
        name = named.name
        if arg_name == "id":
            return f"{self._entity_for(return_type)}:{n}"
        if arg_name == "sku":
            return f"sku:{self._entity_for(return_type)}:{n}"
        if arg_name == "num":
            return 100 + n
        if arg_name == "first":
            return self.r.choice([0, 1, 2, 3, 5])
        if name == "Int":
            return self.r.choice([0, 1, 2, 3, 7])
        if name == "Float":
            return self.r.choice([0.5, 1.0, 2.25])
        if name == "Boolean":
            return self.r.random() < 0.5
        return self.r.choice(["a", "b", "z"])

    # --- operations ------------------------------------------------------------------
    def operation(self) -> Operation:
        for _ in range(50):
            operation = self._draw()
            document = parse(operation.query)
            if not validate(self.schema, document):
                return operation
        raise RuntimeError(f"no valid operation drawn for schema seed {self.set.seed}")

    def _draw(self) -> Operation:
        self.definitions: list[str] = []
        self.variables: dict[str, Any] = {}
        self.fragments: list[str] = []
        self.fragment_types: list[tuple[str, str]] = []
        self.counter = 0
        query_type = self.schema.query_type
        assert query_type is not None
        body = self.selection_set(query_type, 1)
        header = "query Q" + (f"({', '.join(self.definitions)})" if self.definitions else "")
        text = "\n".join([f"{header} {body}", *self.fragments])
        return Operation(text, dict(self.variables))

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _argument(self, arg_name: str, arg: Any, return_type: Any) -> str | None:
        """`name: value`, a literal or a variable, or None to leave an optional one out."""
        type_ = arg.type
        required = isinstance(type_, GraphQLNonNull) and arg.default_value is _UNDEFINED
        if not required and self.r.random() < 0.5:
            return None
        value = self.value(arg_name, type_, return_type)
        if self.r.random() < 0.65:
            return f"{arg_name}: {_literal(value, type_)}"
        variable = self._name("v")
        declared = str(type_)
        roll = self.r.random()
        if isinstance(type_, GraphQLNonNull) or roll < 0.4:
            self.definitions.append(f"${variable}: {declared}")
            self.variables[variable] = value
        elif roll < 0.75:
            default = self.value(arg_name, type_, return_type)
            self.definitions.append(f"${variable}: {declared} = {_literal(default, type_)}")
            if self.r.random() < 0.5:
                self.variables[variable] = value
        else:
            self.definitions.append(f"${variable}: {declared}")  # left unset: no argument
        return f"{arg_name}: ${variable}"

    def _arguments(self, field_def: Any) -> str:
        parts = [p for name, arg in field_def.args.items()
                 if (p := self._argument(name, arg, field_def.type)) is not None]
        return f"({', '.join(parts)})" if parts else ""

    def _condition(self) -> str:
        """An occasional `@skip`/`@include`, with a literal or a variable."""
        if self.r.random() > 0.12:
            return ""
        directive = self.r.choice(["skip", "include"])
        if self.r.random() < 0.4:
            return f" @{directive}(if: {self.r.choice(['true', 'false'])})"
        variable = self._name("b")
        if self.r.random() < 0.5:
            self.definitions.append(f"${variable}: Boolean = {self.r.choice(['true', 'false'])}")
            if self.r.random() < 0.5:
                self.variables[variable] = self.r.random() < 0.5
        else:
            self.definitions.append(f"${variable}: Boolean!")
            self.variables[variable] = self.r.random() < 0.5
        return f" @{directive}(if: ${variable})"

    def _field(self, name: str, field_def: Any, depth: int) -> list[str]:
        named = get_named_type(field_def.type)
        copies = 2 if field_def.args and self.r.random() < 0.25 else 1
        out = []
        for _ in range(copies):
            arguments = self._arguments(field_def)
            alias = ""
            if arguments or copies > 1 or self.r.random() < 0.12:
                alias = self._name(name) + ": "
            text = f"{alias}{name}{arguments}{self._condition()}"
            if is_composite_type(named):
                text += " " + self.selection_set(named, depth + 1)
            out.append(text)
        return out

    def selection_set(self, type_: Any, depth: int) -> str:
        leaf_only = depth >= MAX_DEPTH
        fields = {name: f for name, f in getattr(type_, "fields", {}).items()
                  if not name.startswith("_")
                  and (not leaf_only or is_leaf_type(get_named_type(f.type)))}
        selections: list[str] = []
        if fields:
            width = self.r.randint(1, 3 if depth <= 2 else 2)
            for name in self.r.sample(sorted(fields), min(width, len(fields))):
                selections.extend(self._field(name, fields[name], depth))
        possible = (list(self.schema.get_possible_types(type_))
                    if isinstance(type_, (GraphQLInterfaceType, GraphQLUnionType)) else [])
        for concrete in possible:
            if self.r.random() < (0.6 if not fields else 0.3):
                inner = self.selection_set(concrete, depth)
                selections.append(f"... on {concrete.name}{self._condition()} {inner}")
        if isinstance(type_, GraphQLObjectType) and self.r.random() < 0.1:
            conditions = [type_.name, *(i.name for i in type_.interfaces)]
            conditions += [u.name for u in self.schema.type_map.values()
                           if isinstance(u, GraphQLUnionType) and type_ in u.types]
            condition = self.r.choice(conditions)
            inner = self.selection_set(self.schema.get_type(condition), depth)
            selections.append(f"... on {condition} {inner}")
        if self.r.random() < 0.06 and not leaf_only:
            selections.append(f"...{self._condition() or ' @include(if: true)'} "
                              f"{self.selection_set(type_, depth)}")
        if self.r.random() < 0.12 and depth < MAX_DEPTH:
            selections.append("..." + self._fragment(type_, depth))
        if self.r.random() < 0.2 or not selections:
            selections.append("__typename")
        return "{ " + " ".join(selections) + " }"

    def _fragment(self, type_: Any, depth: int) -> str:
        """A named fragment on the type, or on a type it overlaps, reused at times."""
        reusable = [name for name, on in self.fragment_types if on == type_.name]
        if reusable and self.r.random() < 0.4:
            return self.r.choice(reusable)
        condition = type_
        if isinstance(type_, GraphQLObjectType) and type_.interfaces and self.r.random() < 0.3:
            condition = self.r.choice(type_.interfaces)
        elif isinstance(type_, (GraphQLInterfaceType, GraphQLUnionType)) and self.r.random() < 0.3:
            condition = self.r.choice(list(self.schema.get_possible_types(type_)))
        name = self._name("F")
        slot = len(self.fragments)
        self.fragments.append("")
        inner = self.selection_set(condition, depth + 1)
        self.fragments[slot] = f"fragment {name} on {condition.name} {inner}"
        self.fragment_types.append((name, type_.name))
        return name


