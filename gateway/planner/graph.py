"""The query graph of a supergraph: what each subgraph can resolve and how to move between them.

A node is a type as one subgraph sees it. From a node, a *field move* stays in the
subgraph (when the subgraph resolves the field), a *key move* (entity jump) goes to the
same type in another subgraph through one of its resolvable `@key`s, an *abstract move*
narrows an interface or union to the object types the subgraph knows, and an *interface
object move* reaches an `@interfaceObject` subgraph. The planner asks the graph; the graph
answers from the supergraph once per question and keeps the answer for the supergraph's
lifetime (progressive override labels are part of the question).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLSchema,
    SelectionSetNode,
)

from schema.supergraph import JoinField, Supergraph, TypeModel

Labels = frozenset[str] | None


@dataclass(frozen=True, slots=True)
class KeyMove:
    """An entity jump to `graph` through `key`; `local` when the subgraph at hand resolves
    every field of the key itself (no other fetch is needed to build the representation)."""

    graph: str
    key: SelectionSetNode
    local: bool


class QueryGraph:
    """Nodes, moves and their requirements for one supergraph."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.schema: GraphQLSchema = supergraph.schema
        self.graphs: tuple[str, ...] = tuple(supergraph.subgraphs)
        self._rank = {g: i for i, g in enumerate(self.graphs)}
        self._key_moves: dict[tuple[str, str, Labels], tuple[KeyMove, ...]] = {}
        self._possible_in: dict[tuple[str, str], frozenset[str]] = {}

    # ---- nodes -----------------------------------------------------------------

    def model(self, type_name: str) -> TypeModel:
        return self.sg.types[type_name]

    def knows(self, graph: str, type_name: str) -> bool:
        """Is there a node for this type in this subgraph?"""
        model = self.sg.types.get(type_name)
        return model is not None and graph in model.graphs

    def ordered(self, graphs: Iterable[str]) -> list[str]:
        """Subgraphs in join__Graph order: ties between equal plans break the same way."""
        return sorted(set(graphs), key=self._rank.__getitem__)

    def possible_types(self, type_name: str) -> tuple[str, ...]:
        return self.sg.possible_types(type_name)

    def possible_types_in(self, type_name: str, graph: str) -> tuple[str, ...]:
        """Abstract moves: the object types an abstract type narrows to in one subgraph."""
        return self.sg.possible_types_in(type_name, graph)

    def possible_set_in(self, type_name: str, graph: str) -> frozenset[str]:
        key = (type_name, graph)
        cached = self._possible_in.get(key)
        if cached is None:
            cached = self._possible_in[key] = frozenset(self.possible_types_in(type_name, graph))
        return cached

    def contexts_of(self, type_name: str) -> frozenset[str]:
        """The contexts a type sets for its descendants (`@context`)."""
        model = self.sg.types.get(type_name)
        return model.contexts if model is not None else frozenset()

    # ---- field moves -----------------------------------------------------------

    def field_graphs(
        self, type_name: str, field_name: str, labels: Labels = None
    ) -> frozenset[str]:
        """Subgraphs where a field move exists (the field resolves there)."""
        return self.sg.field_graphs(type_name, field_name, labels)

    def join_field(self, type_name: str, field_name: str, graph: str) -> JoinField | None:
        """The move's requirements and hints: `@requires`, `@provides`, its type there."""
        return self.sg.join_field(type_name, field_name, graph)

    def field_type(self, type_name: str, field_name: str) -> GraphQLOutputType:
        gtype = self.schema.get_type(type_name)
        fields = getattr(gtype, "fields", None)
        if fields is None or field_name not in fields:
            raise KeyError(f"{type_name}.{field_name}")
        result: GraphQLOutputType = fields[field_name].type
        return result

    # ---- key moves -------------------------------------------------------------

    def key_moves(
        self, type_name: str, from_graph: str, labels: Labels = None
    ) -> tuple[KeyMove, ...]:
        """Entity jumps from a type in one subgraph to the same type in the others."""
        cache_key = (type_name, from_graph, labels)
        cached = self._key_moves.get(cache_key)
        if cached is not None:
            return cached
        model = self.sg.types[type_name]
        moves: list[KeyMove] = []
        for graph in self.graphs:
            for jt in model.resolvable_keys_in(graph):
                assert jt.key is not None
                local = all(
                    isinstance(s, FieldNode)
                    and from_graph in self.field_graphs(type_name, s.name.value, labels)
                    for s in jt.key.selections
                )
                moves.append(KeyMove(graph, jt.key, local))
        result = tuple(moves)
        self._key_moves[cache_key] = result
        return result

    def key_is_local(
        self, from_graph: str, type_name: str, to_graph: str, labels: Labels = None
    ) -> bool:
        """Can the subgraph at hand build a representation for `to_graph` on its own?"""
        return any(
            m.local for m in self.key_moves(type_name, from_graph, labels) if m.graph == to_graph
        )

    def is_entity_in(self, type_name: str, graph: str) -> bool:
        return bool(self.sg.types[type_name].resolvable_keys_in(graph))

    # ---- interface object moves ------------------------------------------------

    def interface_object_graphs(
        self, interface: str, field_name: str, labels: Labels = None
    ) -> list[str]:
        """Subgraphs that contribute a field to every implementation of an interface they
        know only as an `@interfaceObject`, and that can be reached by a key."""
        model = self.sg.types.get(interface)
        if model is None:
            return []
        return [
            g
            for g in self.graphs
            if g in self.field_graphs(interface, field_name, labels)
            and model.is_interface_object_in(g)
            and model.resolvable_keys_in(g)
        ]

    @cached_property
    def interfaces_of(self) -> dict[str, tuple[str, ...]]:
        """Object type -> the interfaces it implements in the supergraph."""
        out: dict[str, tuple[str, ...]] = {}
        for name, gtype in self.schema.type_map.items():
            interfaces = getattr(gtype, "interfaces", None)
            if interfaces:
                out[name] = tuple(i.name for i in interfaces)
        return out


def list_depth(gtype: GraphQLOutputType) -> int:
    """How many lists wrap a type: each is one `@` segment of a Flatten path below it."""
    depth = 0
    while True:
        if isinstance(gtype, GraphQLNonNull):
            gtype = gtype.of_type
        elif isinstance(gtype, GraphQLList):
            depth += 1
            gtype = gtype.of_type
        else:
            return depth
