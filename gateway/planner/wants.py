"""What a plan must fetch: the client's selections as wants, before any is placed.

A want is a field (with its arguments, the directives that travel to the subgraph, and
the `@skip`/`@include` condition it is selected under) or a fragment of them. The planner
adds internal wants of its own (keys, `@requires`) as it places fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import ArgumentNode, DirectiveNode, VariableNode

from gateway.planner.operation import Condition, Field, InlineFragment, Selection, both


@dataclass(slots=True)
class Want:
    """A field the plan must fetch: the client's, or one the planner needs (key, requires)."""

    name: str
    alias: str | None
    arguments: tuple[ArgumentNode, ...] = ()
    directives: tuple[DirectiveNode, ...] = ()
    sub: list[Want | WantFragment] | None = None
    internal: bool = False
    condition: Condition = ()


@dataclass(slots=True)
class WantFragment:
    """Wants under a type condition (None: the enclosing type)."""

    type_condition: str | None
    sub: list[Want | WantFragment]


def root_wants(selections: list[Selection]) -> list[Want]:
    """Root fields the subgraphs answer: introspection and `__typename` stay in the gateway."""
    out: list[Want] = []
    for w in wants_of(selections):
        if isinstance(w, WantFragment):
            out.extend(x for x in _root_wants_from(w) if not x.name.startswith("__"))
        elif not w.name.startswith("__"):
            out.append(w)
    return out


def _root_wants_from(frag: WantFragment) -> Iterable[Want]:
    for w in frag.sub:
        if isinstance(w, WantFragment):
            yield from _root_wants_from(w)
        else:
            yield w


def wants_of(selections: list[Selection], inherited: Condition = ()) -> list[Want | WantFragment]:
    """The client's selections as wants, each with the condition it is selected under."""
    out: list[Want | WantFragment] = []
    for sel in selections:
        condition = both(inherited, sel.condition)
        if isinstance(sel, Field):
            # a field's own @skip/@include on a variable travels to the subgraph with it
            directives = tuple(
                d
                for d in sel.node.directives or ()
                if d.name.value not in ("skip", "include")
                or any(isinstance(a.value, VariableNode) for a in d.arguments or ())
            )
            out.append(
                Want(
                    name=sel.name,
                    alias=sel.alias,
                    arguments=tuple(sel.node.arguments or ()),
                    directives=directives,
                    sub=(
                        wants_of(sel.selections, condition) if sel.selections is not None else None
                    ),
                    condition=condition,
                )
            )
        elif isinstance(sel, InlineFragment):
            out.append(WantFragment(sel.type_condition, wants_of(sel.selections, condition)))
    return out


def needs_concrete_type(wants: list[Want | WantFragment] | None, abstract: str) -> bool:
    """Does the client's selection look at the concrete type (`__typename`, type conditions)?"""
    for w in wants or ():
        if isinstance(w, WantFragment):
            if w.type_condition not in (None, abstract) or needs_concrete_type(w.sub, abstract):
                return True
        elif w.name == "__typename" and not w.internal:
            return True
    return False
