"""Query plans: trees of Fetch, Flatten, Sequence, Parallel and Condition nodes.

They print in the shape of Apollo's query plans so a reader who knows those can
read ours. Everything a fetch needs at run time (operation text, variable names,
how to build representations) is computed here once, at plan time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from graphql import ArgumentNode

from gateway.planner.selection import FieldSel, FragmentSel, SelectionSet


@dataclass(frozen=True, slots=True)
class RepField:
    """One field of a representation: emitted as `name`, read from data key `key`."""

    name: str
    key: str
    sub: tuple[RepField, ...] | None = None
    # under a type condition (`... on Box { volume }`): absent for other types
    optional: bool = False
    # under a type condition: read only from objects whose __typename is one of these
    only: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class EntityInput:
    """How to build representations for objects of some runtime types."""

    runtime_types: frozenset[str]
    typename: str | None  # sent as __typename instead of the object's (interface objects)
    fields: tuple[RepField, ...]
    printed: str  # for the plan text: `... on T { __typename key }`
    # (name, data key) pairs when every field is a plain scalar: the common, fast case
    flat: tuple[tuple[str, str], ...] | None = None
    # names of the key's fields: an object with a null key cannot be an entity, so it is skipped
    key_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContextInput:
    """A variable of an entity fetch whose value each entity's ancestor holds (`@fromContext`):
    entities with different values are fetched in separate requests."""

    variable: str
    depth: int  # the ancestor is at this many segments of the Flatten path
    fields: tuple[RepField, ...]  # the context's selection on the ancestor (one value)


class TopField(NamedTuple):
    """A top-level field of a fetch, indexed once so routing needs no selection walk."""

    response_key: str
    name: str
    arguments: tuple[ArgumentNode, ...]


@dataclass(slots=True)
class FetchNode:
    """One subgraph operation. Its text is rendered from `selection`, so a pass that changes
    the selection (e.g. the partition layer's internal aliases) calls `render()` again."""

    service: str  # subgraph name
    graph: str  # join__Graph value
    selection: SelectionSet
    variable_definitions: dict[str, str]  # the client's: name -> "Type" or "Type = default"
    operation_name: str = ""
    operation_kind: str = "query"
    inputs: tuple[EntityInput, ...] = ()
    # aliases used towards the subgraph -> the client's response keys (see builder)
    renames: dict[str, str] = field(default_factory=dict)
    id: int = 0
    context_inputs: tuple[ContextInput, ...] = ()
    # set by partition routing: "Type.field" of a merge rule -> the response key its sort
    # field is fetched under (an internal alias no client key can collide with)
    sort_keys: dict[str, str] = field(default_factory=dict)
    # rendered from the above by render()
    operation: str = ""  # compact operation text sent to the subgraph
    printed_selection: str = ""
    variable_usages: tuple[str, ...] = ()
    # top-level fields: of the root for a root fetch, per entity type condition for an
    # entity fetch
    root_fields: tuple[TopField, ...] = ()
    entity_fields: dict[str, tuple[TopField, ...]] = field(default_factory=dict)
    # every key the answer may add to the objects it is merged into (each entity, or the
    # root), under the client's names too (`renames`): what the executor collected below
    # other keys is still where it was (None: unknown, before `render()`)
    merged_keys: frozenset[str] | None = None

    @property
    def is_entity_fetch(self) -> bool:
        """An `_entities` fetch, whose representations come from earlier fetches' data."""
        return bool(self.inputs)

    def render(self) -> None:
        """Print the subgraph operation and index its top-level fields, once, at plan time."""
        selection = self.selection
        used = [v for v in selection.variables([]) if v in self.variable_definitions]
        var_defs = [f"${v}: {self.variable_definitions[v]}" for v in used]
        name = self.operation_name
        if self.inputs:
            defs = ", ".join(["$representations: [_Any!]!", *var_defs])
            self.operation = (
                f"query {name}({defs}) {{ _entities(representations: "
                f"$representations) {selection.print()} }}"
            )
            self.printed_selection = (
                "{\n  _entities(representations: $representations) "
                + selection.print(1, pretty=True)
                + "\n}"
            )
            self.entity_fields = {
                item.type_condition: _top_fields(item.sub)
                for item in selection.items.values()
                if isinstance(item, FragmentSel) and item.type_condition
            }
            self.root_fields = ()
        else:
            head = self.operation_kind + (" " + name if name else "")
            if var_defs:
                head += "(" + ", ".join(var_defs) + ")"
            self.operation = (head + " " if head != "query" else "") + selection.print()
            self.printed_selection = selection.print(0, pretty=True)
            self.root_fields = _top_fields(selection)
            self.entity_fields = {}
        self.variable_usages = tuple(used)
        keys = _response_keys(selection)
        self.merged_keys = frozenset(
            [*keys, "__typename", *(self.renames[k] for k in keys if k in self.renames)]
        )


def _response_keys(selection: SelectionSet) -> list[str]:
    """The response keys of a selection's fields, through its fragments at any depth."""
    keys: list[str] = []
    for item in selection.items.values():
        if isinstance(item, FieldSel):
            keys.append(item.response_key)
        else:
            keys += _response_keys(item.sub)
    return keys


def _top_fields(selection: SelectionSet) -> tuple[TopField, ...]:
    return tuple(
        TopField(f.response_key, f.name, f.arguments)
        for f in selection.items.values()
        if isinstance(f, FieldSel)
    )


@dataclass(slots=True)
class FlattenNode:
    """An entity fetch run for the objects at a path of the response (`@` for list items)."""

    path: tuple[str, ...]
    node: FetchNode
    # the same entity fetch needed at other paths of the same step: one request serves all
    more_paths: tuple[tuple[str, ...], ...] = ()

    @property
    def paths(self) -> tuple[tuple[str, ...], ...]:
        """Every path the fetch serves: `path` first, then `more_paths`."""
        return (self.path,) + self.more_paths


@dataclass(slots=True)
class SequenceNode:
    """Nodes run one after another: each needs data the previous ones fetched."""

    nodes: list[PlanNode] = field(default_factory=list)


@dataclass(slots=True)
class ParallelNode:
    """Nodes run at the same time: none needs what another fetches."""

    nodes: list[PlanNode] = field(default_factory=list)


@dataclass(slots=True)
class ConditionNode:
    """`@include`/`@skip` on a variable decided at run time, so one plan serves both values."""

    condition: str
    if_clause: PlanNode | None
    else_clause: PlanNode | None


PlanNode = FetchNode | FlattenNode | SequenceNode | ParallelNode | ConditionNode


@dataclass(slots=True)
class QueryPlan:
    """The plan of one operation; `node` is None when no subgraph needs to be asked."""

    node: PlanNode | None

    def fetches(self) -> list[FetchNode]:
        """Every fetch of the plan, in plan order."""
        out: list[FetchNode] = []

        def walk(n: PlanNode | None) -> None:
            if n is None:
                return
            if isinstance(n, FetchNode):
                out.append(n)
            elif isinstance(n, FlattenNode):
                out.append(n.node)
            elif isinstance(n, (SequenceNode, ParallelNode)):
                for c in n.nodes:
                    walk(c)
            elif isinstance(n, ConditionNode):
                walk(n.if_clause)
                walk(n.else_clause)

        walk(self.node)
        return out

    def print(self) -> str:
        """The plan in the shape of Apollo's query plans, so their readers can read ours."""
        if self.node is None:
            return "QueryPlan {\n}"
        return "QueryPlan {\n" + _print(self.node, 1) + "\n}"

    __str__ = print


def _indent(text: str, level: int) -> str:
    pad = "  " * level
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _print(node: PlanNode, level: int) -> str:
    pad = "  " * level
    if isinstance(node, FetchNode):
        body = node.printed_selection
        if node.inputs:
            requires = "{\n" + "\n".join(_indent(i.printed, 1) for i in node.inputs) + "\n}"
            body = requires + " =>\n" + body
        return f'{pad}Fetch(service: "{node.service}") {{\n{_indent(body, level + 1)}\n{pad}}},'
    if isinstance(node, FlattenNode):
        if node.more_paths:
            paths = ", ".join('"' + ".".join(p) + '"' for p in node.paths)
            head = f"Flatten(paths: [{paths}])"
        else:
            head = f'Flatten(path: "{".".join(node.path)}")'
        return f"{pad}{head} {{\n{_print(node.node, level + 1)}\n{pad}}},"
    if isinstance(node, (SequenceNode, ParallelNode)):
        name = "Sequence" if isinstance(node, SequenceNode) else "Parallel"
        inner = "\n".join(_print(c, level + 1) for c in node.nodes)
        return f"{pad}{name} {{\n{inner}\n{pad}}},"
    if isinstance(node, ConditionNode):
        if node.if_clause is None and node.else_clause is not None:
            return (
                f"{pad}Skip(if: ${node.condition}) {{\n"
                f"{_print(node.else_clause, level + 1)}\n{pad}}},"
            )
        parts = [f"{pad}Include(if: ${node.condition}) {{"]
        if node.if_clause is not None:
            parts.append(_print(node.if_clause, level + 1))
        if node.else_clause is not None:
            parts.append(f"{pad}}} Else {{")
            parts.append(_print(node.else_clause, level + 1))
        parts.append(f"{pad}}},")
        return "\n".join(parts)
    raise TypeError(node)
