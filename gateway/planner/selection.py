"""Selection sets of subgraph operations, built up by the planner and printed once."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import ArgumentNode, DirectiveNode, VariableNode, print_ast
from graphql.language import ListValueNode, ObjectValueNode, ValueNode


@dataclass(slots=True)
class FieldSel:
    """A field of a subgraph operation being built."""

    name: str
    alias: str | None
    arguments: tuple[ArgumentNode, ...] = ()
    directives: tuple[DirectiveNode, ...] = ()
    sub: SelectionSet | None = None
    # added by the planner (keys, requirements), not asked for by the client: it may move
    # to an alias of its own when a client field needs its response key
    internal: bool = False

    @property
    def response_key(self) -> str:
        """The key the subgraph answers this field under."""
        return self.alias or self.name

    def signature(self) -> str:
        """Name and arguments: two selections with one signature can share a response key."""
        return self.name + "(" + ",".join(print_ast(a) for a in self.arguments) + ")"


@dataclass(slots=True)
class FragmentSel:
    """An inline fragment of a subgraph operation being built."""

    type_condition: str | None
    sub: SelectionSet
    directives: tuple[DirectiveNode, ...] = ()


@dataclass(slots=True)
class SelectionSet:
    """A selection set keyed by response key (fragments by their condition): adding the
    same field twice finds the first."""

    items: dict[str, FieldSel | FragmentSel] = field(default_factory=dict)

    def add_field(
        self,
        name: str,
        alias: str | None,
        arguments: tuple[ArgumentNode, ...] = (),
        directives: tuple[DirectiveNode, ...] = (),
        composite: bool = False,
        internal: bool = False,
    ) -> FieldSel:
        """Add (or find) a field; an internal field whose key is taken by another field gets
        an alias."""
        key = alias or name
        wanted = FieldSel(
            name, alias, arguments, directives, SelectionSet() if composite else None, internal
        )
        existing = self.items.get(key)
        if isinstance(existing, FieldSel):
            if existing.signature() == wanted.signature():
                if composite and existing.sub is None:
                    existing.sub = SelectionSet()
                if existing.directives != directives:
                    # selected under different @skip/@include: fetch it whenever either holds
                    # (the shaper applies each condition to the client's response)
                    mine = {print_ast(d) for d in directives}
                    existing.directives = tuple(
                        d for d in existing.directives if print_ast(d) in mine
                    )
                existing.internal = existing.internal and internal
                return existing
            if not internal:
                if not existing.internal:
                    raise PlanningConflict(f"response key {key!r} is used by two different fields")
                # the planner's own field gives way to the client's and moves to an alias
                moved = self._free_key(existing.name)
                existing.alias = moved
                self.items[moved] = existing
                self.items[key] = wanted
                return wanted
            n = 0
            while True:
                key = f"__gg_{name}_{n}"
                existing = self.items.get(key)
                if existing is None:
                    wanted.alias = key
                    break
                if isinstance(existing, FieldSel) and existing.signature() == wanted.signature():
                    return existing
                n += 1
        self.items[key] = wanted
        return wanted

    def _free_key(self, name: str) -> str:
        n = 0
        while f"__gg_{name}_{n}" in self.items:
            n += 1
        return f"__gg_{name}_{n}"

    def fragment(
        self, type_condition: str | None, directives: tuple[DirectiveNode, ...] = ()
    ) -> SelectionSet:
        """The selection set of an inline fragment, added unless one with the same type
        condition and directives is there."""
        key = "... on " + (type_condition or "") + "".join(print_ast(d) for d in directives)
        existing = self.items.get(key)
        if isinstance(existing, FragmentSel):
            return existing.sub
        frag = FragmentSel(type_condition, SelectionSet(), directives)
        self.items[key] = frag
        return frag.sub

    def copy(self) -> SelectionSet:
        """A deep copy, for passes that add to a finished plan's selections."""
        out = SelectionSet()
        for key, item in self.items.items():
            if isinstance(item, FieldSel):
                out.items[key] = FieldSel(
                    item.name,
                    item.alias,
                    item.arguments,
                    item.directives,
                    item.sub.copy() if item.sub is not None else None,
                    item.internal,
                )
            else:
                out.items[key] = FragmentSel(item.type_condition, item.sub.copy(), item.directives)
        return out

    def is_empty(self) -> bool:
        """Nothing selected: an empty set is not valid GraphQL, so callers drop or fill it."""
        return not self.items

    def prune(self) -> None:
        """Drop empty fragments (a type condition that ended up with nothing to fetch)."""
        for key in list(self.items):
            item = self.items[key]
            if isinstance(item, FragmentSel):
                item.sub.prune()
                if item.sub.is_empty():
                    del self.items[key]
            elif item.sub is not None:
                item.sub.prune()
                if item.sub.is_empty():
                    item.sub.add_field("__typename", None)

    def variables(self, out: list[str]) -> list[str]:
        """Add to `out` the variables used in the selection, in order of first use: the
        subgraph operation declares only those."""
        for item in self.items.values():
            nodes: list[ValueNode] = []
            if isinstance(item, FieldSel):
                nodes.extend(a.value for a in item.arguments)
            for d in item.directives:
                nodes.extend(a.value for a in d.arguments or ())
            for node in nodes:
                _collect_variables(node, out)
            if item.sub is not None:
                item.sub.variables(out)
        return out

    def print(self, indent: int = 0, pretty: bool = False) -> str:
        """Compact for the subgraph request; `pretty` for the plan text."""
        if not pretty:
            return "{" + " ".join(_print_item(i, 0, False) for i in self.items.values()) + "}"
        pad = "  " * indent
        inner = "\n".join(
            pad + "  " + _print_item(i, indent + 1, True) for i in self.items.values()
        )
        return "{\n" + inner + "\n" + pad + "}"


class PlanningConflict(Exception):
    """Two fields share one response key in a subgraph operation."""


def _print_item(item: FieldSel | FragmentSel, indent: int, pretty: bool) -> str:
    dirs = "".join(" " + print_ast(d) for d in item.directives)
    if isinstance(item, FragmentSel):
        head = "..." + (f" on {item.type_condition}" if item.type_condition else "")
        return head + dirs + " " + item.sub.print(indent, pretty)
    text = (item.alias + ": " if item.alias else "") + item.name
    if item.arguments:
        text += "(" + ", ".join(print_ast(a) for a in item.arguments) + ")"
    text += dirs
    if item.sub is not None:
        text += " " + item.sub.print(indent, pretty)
    return text


def _collect_variables(node: ValueNode, out: list[str]) -> None:
    if isinstance(node, VariableNode):
        if node.name.value not in out:
            out.append(node.name.value)
    elif isinstance(node, ListValueNode):
        for v in node.values:
            _collect_variables(v, out)
    elif isinstance(node, ObjectValueNode):
        for f in node.fields:
            _collect_variables(f.value, out)
