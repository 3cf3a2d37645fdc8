"""The spec's answer to a generated query, computed without any gateway.

A federated graph must answer an operation as if the API schema were one service whose
fields resolve to what their owning subgraphs resolve them to. The generated subgraphs
derive every value from (parent identity, field name, arguments) alone (`subgraphs.py`),
so that one service can be built directly: this module executes the operation with
graphql-core on the API schema, resolving each field as an honest owner would:

- no stale value of a field overridden away, no poisoned value of an unprovided
  `@external` field (a planner that asks the wrong subgraph is what those catch);
- a `@requires` field hashes its field set as the spec defines it: the values of those
  fields on the same entity, arguments included, fields under a type condition only for
  objects of that type;
- `__typename` is the concrete object type (an `@interfaceObject` never shows);
- a flaky field raises its error, and null propagates by the API schema's nullability.

The answer is compared like the gateways' answers: `data` exactly, errors by presence. Two
kinds of answer are marked `ambiguous`, and decide nothing:

- a field whose type differs between subgraphs (nullability or list-ness) can have
  different correct answers depending on the subgraph chosen;
- a field the supergraph says a subgraph resolves where that subgraph only declares it
  `@external` (the composer dropped `external: true`, as it does for an @interfaceObject's
  external fields): a gateway that follows the supergraph gets that subgraph's value.
  Where another field `@requires` it in that subgraph, the supergraph still says it is
  external there (composition allows nothing else), and the answer is decided.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    EnumTypeDefinitionNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    SelectionSetNode,
    execute,
    parse,
)
from graphql.execution.values import get_argument_values

from .generate import SchemaSet, key_value
from .subgraphs import DerivedValues, digest


@dataclass(slots=True)
class Expected:
    """The spec's answer: `data` and whether it carries errors; `ambiguous` decides nothing."""

    data: Any
    errors: bool
    ambiguous: bool = False


class _Root:
    pass


class Oracle(DerivedValues):
    """One generated set on its API schema: `answer(operation)` is the spec's answer."""

    def __init__(self, schema_set: SchemaSet, api_schema: GraphQLSchema,
                 supergraph: str | None = None) -> None:
        self.set = schema_set
        self.schema = api_schema
        # (type, field) -> the @requires field set; an @interfaceObject's requirement is
        # found under the interface's name
        self.requires: dict[tuple[str, str], SelectionSetNode] = {}
        for (_subgraph, type_name, field_name), fields in schema_set.requires.items():
            selection = parse("{" + fields + "}").definitions[0].selection_set  # type: ignore[attr-defined]
            self.requires[type_name, field_name] = selection
        # (type, field) whose return type differs between the subgraphs that resolve it
        shapes: dict[tuple[str, str], set[str]] = {}
        for types in schema_set.subgraphs.values():
            for type_def in types.values():
                for field_def in type_def.fields.values():
                    if "@external" in field_def.directives:
                        continue
                    shapes.setdefault((type_def.name, field_def.name), set()).add(
                        field_def.type)
        # (a field non-null in some subgraphs only is never null: every subgraph agrees)
        self.diverging = {coordinate for coordinate, found in shapes.items()
                          if len({t.rstrip("!") for t in found}) > 1
                          or (len(found) > 1 and coordinate not in schema_set.never_null)}
        if supergraph is not None:
            for type_name, field_name in misstated_externals(schema_set, supergraph):
                self.diverging.add((type_name, field_name))
                named = api_schema.get_type(type_name)
                if isinstance(named, GraphQLInterfaceType):
                    for impl in api_schema.get_possible_types(named):
                        self.diverging.add((impl.name, field_name))
        self._ambiguous = False

    # --- the answer ------------------------------------------------------------------
    def answer(self, query: str, variables: Mapping[str, Any] | None) -> Expected:
        self._ambiguous = False
        result = execute(self.schema, parse(query), root_value=_Root(),
                         variable_values=dict(variables or {}),
                         field_resolver=self._resolve, type_resolver=_type_of)
        return Expected(result.data, bool(result.errors), self._ambiguous)

    # --- resolution ------------------------------------------------------------------
    def _coordinates(self, concrete: str, field_name: str) -> list[tuple[str, str]]:
        """The coordinate itself, then the same field on each interface of the type."""
        found = [(concrete, field_name)]
        object_type = self.schema.get_type(concrete)
        if isinstance(object_type, GraphQLObjectType):
            found += [(i.name, field_name) for i in object_type.interfaces]
        return found

    def _resolve(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        field_name = info.field_name
        if isinstance(source, _Root):
            return self._root(info, args)
        if field_name == "__typename":
            return source.get("__typename", info.parent_type.name)
        if "__seed" not in source and "__id" not in source:
            return source.get(field_name)  # a key's nested value (`loc { code }`)
        if "__seed" in source:
            if (info.parent_type.name, field_name) in self.diverging:
                self._ambiguous = True
            return self._value(info.return_type, [source["__seed"], field_name, args])
        concrete, n = source["__id"]
        return self.field_value(concrete, n, field_name, args, info.return_type)

    def field_value(self, concrete: str, n: int, field_name: str, args: Mapping[str, Any],
                    return_type: Any) -> Any:
        """What the owner of `concrete.field_name` answers for entity (concrete, n)."""
        kinds = self.set.keys.get(concrete, {})
        if field_name in kinds:
            return key_value(kinds[field_name], field_name, concrete, n)
        coordinates = self._coordinates(concrete, field_name)
        if any(c in self.diverging for c in coordinates):
            self._ambiguous = True
        seed: list[Any] = [concrete, n, field_name, dict(args)]
        for coordinate in coordinates:
            if coordinate in self.requires:
                seed.append(self._required(concrete, n, self.requires[coordinate]))
                break
        if (concrete, field_name) in self.set.flaky and digest(seed, "fail") % 3 == 0:
            raise GraphQLError(f"{concrete}.{field_name} failed for {concrete}:{n}")
        return self._value(self._typed(concrete, field_name, return_type), seed)

    def _required(self, concrete: str, n: int, selection_set: SelectionSetNode) -> Any:
        """The projection of a `@requires` field set on entity (concrete, n), as received."""
        return self._project({"__typename": concrete, "__id": [concrete, n]}, concrete,
                             selection_set)

    def _project(self, source: Any, type_name: str, selection_set: SelectionSetNode) -> Any:
        parent = self.schema.get_type(type_name)
        projected: dict[str, Any] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                projected[name] = self._project_field(source, parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and not self._is_a(source["__typename"],
                                                            condition.name.value):
                    continue
                for inner in selection.selection_set.selections:
                    if isinstance(inner, FieldNode):
                        projected[inner.name.value] = self._project_field(source, parent, inner)
        return projected

    def _project_field(self, source: Any, parent: Any, node: FieldNode) -> Any:
        name = node.name.value
        if name == "__typename":
            return source["__typename"]
        concrete = self.schema.get_type(source["__typename"])
        field_def: GraphQLField = (concrete or parent).fields[name]
        args = get_argument_values(field_def, node, {})
        if "__seed" in source:
            value = self._value(field_def.type, [source["__seed"], name, args])
        else:
            c, n = source["__id"]
            value = self.field_value(c, n, name, args, field_def.type)
        return self._shape(value, node)

    def _shape(self, value: Any, node: FieldNode) -> Any:
        if value is None or node.selection_set is None:
            return value
        if isinstance(value, list):
            return [self._shape(item, node) for item in value]
        if "__typename" not in value:  # a key's nested value (`loc { code }`)
            return {s.name.value: value.get(s.name.value) for s in node.selection_set.selections
                    if isinstance(s, FieldNode)}
        return self._project(value, value["__typename"], node.selection_set)

    def _is_a(self, concrete: str, condition: str) -> bool:
        if concrete == condition:
            return True
        target = self.schema.get_type(condition)
        object_type = self.schema.get_type(concrete)
        if isinstance(target, (GraphQLInterfaceType, GraphQLUnionType)) and isinstance(
                object_type, GraphQLObjectType):
            return self.schema.is_sub_type(target, object_type)
        return False

    def _root(self, info: GraphQLResolveInfo, args: Mapping[str, Any]) -> Any:
        if ("Query", info.field_name) in self.diverging:
            self._ambiguous = True
        return super()._root(info, args)

    def _runtime(self, named: Any, concrete: str) -> str:
        return concrete  # the spec's objects are always of their concrete type


def _type_of(value: Any, *_: Any) -> str:
    return str(value["__typename"])


def misstated_externals(schema_set: SchemaSet, supergraph: str) -> set[tuple[str, str]]:
    """(type, field) pairs the supergraph says some subgraph resolves where that subgraph only
    declares them `@external` (with no `@provides` covering them)."""
    document = parse(supergraph)
    graphs: dict[str, str] = {}  # subgraph name -> join__Graph value
    types: dict[str, Any] = {}
    for definition in document.definitions:
        if (isinstance(definition, EnumTypeDefinitionNode)
                and definition.name.value == "join__Graph"):
            for value in definition.values or ():
                for directive in value.directives or ():
                    if directive.name.value == "join__graph":
                        graphs[str(_argument(directive, "name"))] = value.name.value
        elif isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
            types[definition.name.value] = definition
    found: set[tuple[str, str]] = set()
    for subgraph, type_name, field_name in schema_set.leaks:
        definition, graph = types.get(type_name), graphs.get(subgraph)
        if definition is None or graph is None:
            continue
        in_type = any(d.name.value == "join__type" and _argument(d, "graph") == graph
                      for d in definition.directives or ())
        for field_node in definition.fields or ():
            if field_node.name.value != field_name:
                continue
            joins = [d for d in field_node.directives or () if d.name.value == "join__field"]
            resolves = (in_type if not joins else any(
                _argument(d, "graph") == graph and not _argument(d, "external") for d in joins))
            if resolves and not _required_in(definition, graph, field_name):
                found.add((type_name, field_name))
    return found


def _required_in(definition: Any, graph: str, field_name: str) -> bool:
    """Does a field of the type `@requires` this field in that graph? Then the supergraph
    still says it is `@external` there: composition allows nothing else."""
    for field_node in definition.fields or ():
        for directive in field_node.directives or ():
            if directive.name.value != "join__field" or _argument(directive, "graph") != graph:
                continue
            requires = _argument(directive, "requires")
            if requires:
                selection = parse("{" + str(requires) + "}").definitions[0].selection_set  # type: ignore[attr-defined]
                if any(isinstance(s, FieldNode) and s.name.value == field_name
                       for s in selection.selections):
                    return True
    return False


def _argument(directive: DirectiveNode, name: str) -> Any:
    for argument in directive.arguments or ():
        if argument.name.value == name:
            value = argument.value
            return getattr(value, "value", None)
    return None
