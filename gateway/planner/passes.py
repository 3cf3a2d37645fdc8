"""Optimisation passes over the fetch-dependency graph, each small and named for what it does.

They run after every field is placed and before the plan tree is laid out:
`merge_sibling_fetches` turns entity fetches to one subgraph at one path that read the
same representations into one, `prune_empty` drops steps left with nothing to fetch (their
dependants inherit their dependencies), `alias_conflicts` gives a fresh alias to a field
whose response key another field of the same subgraph selection already uses, and
`merge_twin_fetches` turns identical entity fetches that wait for the same steps into one
request serving several paths. A planner field also gives way to a client field of the
same key while fields are placed (`SelectionSet.add_field`); the partition layer adds its
own aliases on finished fetch nodes (`gateway.partition`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from gateway.planner.fetch_graph import (
    FetchStep,
    RepSource,
    StepInput,
    effective_dependencies,
)
from gateway.planner.operation import Condition
from gateway.planner.plan import ConditionNode, FetchNode, FlattenNode, PlanNode
from gateway.planner.selection import FieldSel, FragmentSel, SelectionSet


def prune_empty(steps: Sequence[FetchStep]) -> dict[FetchStep, set[FetchStep]]:
    """Empty fragments go; steps left with nothing to fetch go, passing on what they waited
    for. Returns the dependencies among the steps that remain."""
    for step in steps:
        step.selection.prune()
    kept = {step for step in steps if not step.selection.is_empty()}
    return effective_dependencies(steps, kept)


def merge_sibling_fetches(
    steps: Sequence[FetchStep], condition_of: Callable[[FetchStep], Condition]
) -> list[FetchStep]:
    """Entity fetches to one subgraph at one path become one fetch when they read the same
    representations from the same step, wait for the same steps, run under the same
    condition and select under different response keys (fields asked under `... on Cat` of
    an @interfaceObject, say, next to fields of every animal): the merged fetch takes the
    objects of both. Returns the steps that remain; a merged step's dependants wait for the
    step it joined."""
    remaining: list[FetchStep] = []
    siblings: dict[tuple[object, ...], list[FetchStep]] = {}
    joined: dict[FetchStep, FetchStep] = {}
    members: dict[FetchStep, list[FetchStep]] = {}  # a fetch and the fetches merged into it
    for step in steps:
        if not step.is_entity or step.context_inputs:
            remaining.append(step)
            continue
        slot = (step.graph, step.path, condition_of(step), frozenset(step.depends))
        into = next(
            (s for s in siblings.get(slot, ()) if _can_merge(members.get(s, [s]), step)), None
        )
        if into is None:
            siblings.setdefault(slot, []).append(step)
            remaining.append(step)
            continue
        _merge_selection(into.selection, step.selection)
        for type_cond, entry in step.inputs.items():
            mine = into.inputs.get(type_cond)
            if mine is None:
                into.inputs[type_cond] = entry
            elif into.restricted_to is not None and step.restricted_to is None:
                # the unrestricted fetch reads its representations for every object
                entry.runtime_types |= mine.runtime_types
                into.inputs[type_cond] = entry
            else:
                mine.runtime_types |= entry.runtime_types
        into.restricted_to = None
        joined[step] = into
        members.setdefault(into, [into]).append(step)
    if joined:
        for step in remaining:
            step.depends = {joined.get(d, d) for d in step.depends} - {step}
            if step.parent in joined:
                step.parent = joined[step.parent]
    return remaining


def _can_merge(group: list[FetchStep], step: FetchStep) -> bool:
    """Can `step` join `group[0]` (with the fetches already merged into it)?"""
    into = group[0]
    if step.waits_for(group) or any(member.waits_for([step]) for member in group):
        return False
    for type_cond, entry in step.inputs.items():
        mine = into.inputs.get(type_cond)
        if mine is not None and not _same_input(mine, entry):
            return False
    if any(
        type_cond not in into.inputs and (entry.runtime_types & mine.runtime_types)
        for type_cond, entry in step.inputs.items()
        for mine in into.inputs.values()
    ):
        return False  # one object would get two representations
    return _keys_apart(into.selection, step.selection)


def _same_input(a: StepInput, b: StepInput) -> bool:
    """The same representations: read from one step's data under the same response keys (a
    key field read inside `... on Cat` and outside it is one value of the merged object, and
    the conflict pass renames equal fields of one selection together)."""
    return (
        a.source_group is b.source_group
        and a.typename == b.typename
        and a.key is b.key
        and _same_reads(a.fields, b.fields)
    )


def _same_reads(a: Sequence[RepSource], b: Sequence[RepSource]) -> bool:
    return len(a) == len(b) and all(
        x.name == y.name
        and x.field.signature() == y.field.signature()
        and x.field.response_key == y.field.response_key
        and x.only == y.only
        and (x.sub is None) == (y.sub is None)
        and (x.sub is None or y.sub is None or _same_reads(x.sub, y.sub))
        for x, y in zip(a, b, strict=True)
    )


def _keys_apart(a: SelectionSet, b: SelectionSet) -> bool:
    """Can `b` move into `a` without two fields meeting under one response key? (Fragments
    on one type condition merge; a bare `__typename` may be in both.)"""
    for key, item in b.items.items():
        mine = a.items.get(key)
        if mine is None:
            continue
        if isinstance(item, FragmentSel) and isinstance(mine, FragmentSel):
            if not _keys_apart(mine.sub, item.sub):
                return False
        elif not (
            isinstance(item, FieldSel)
            and isinstance(mine, FieldSel)
            and key == item.name == mine.name == "__typename"
            and not item.directives
            and not mine.directives
        ):
            return False
    return True


def _merge_selection(a: SelectionSet, b: SelectionSet) -> None:
    for key, item in b.items.items():
        mine = a.items.get(key)
        if mine is None:
            a.items[key] = item
        elif isinstance(item, FragmentSel) and isinstance(mine, FragmentSel):
            _merge_selection(mine.sub, item.sub)


def merge_twin_fetches(
    order: Sequence[FetchStep],
    deps: dict[FetchStep, set[FetchStep]],
    fetch_of: Callable[[FetchStep], FetchNode],
    condition_of: Callable[[FetchStep], Condition],
) -> dict[FetchStep, PlanNode]:
    """Plan nodes of the steps, in dependency order; an entity fetch identical to an earlier
    one (same subgraph, selection, inputs, condition and dependencies) joins it as one more
    Flatten path. `deps` is updated: the twin's dependants wait for the fetch that stays."""
    nodes: dict[FetchStep, PlanNode] = {}
    twins: dict[tuple[object, ...], tuple[FetchStep, FlattenNode]] = {}
    for step in order:
        fetch = fetch_of(step)
        condition = condition_of(step)
        if not step.is_entity:
            nodes[step] = guarded(fetch, condition)
            continue
        twin_key = (
            fetch.graph,
            step.selection.print(),
            tuple((i.printed, i.fields) for i in fetch.inputs),
            condition,
            frozenset(d.id for d in deps[step]),
        )
        twin = twins.get(twin_key)
        if twin is not None:
            kept, flatten = twin
            flatten.more_paths += (step.path,)
            # the objects at the new path may be of other runtime types: the one fetch
            # builds representations for all of them
            flatten.node.inputs = tuple(
                replace(mine, runtime_types=mine.runtime_types | theirs.runtime_types)
                for mine, theirs in zip(flatten.node.inputs, fetch.inputs, strict=True)
            )
            for waiting in deps.values():
                if step in waiting:
                    waiting.discard(step)
                    waiting.add(kept)
            del deps[step]
            continue
        flatten = FlattenNode(step.path, fetch)
        twins.setdefault(twin_key, (step, flatten))
        nodes[step] = guarded(flatten, condition)
    return nodes


def guarded(node: PlanNode, condition: Condition) -> PlanNode:
    """The node inside the Include/Skip nodes its `@skip`/`@include` condition needs."""
    for name, include in reversed(condition):
        node = ConditionNode(name, node, None) if include else ConditionNode(name, None, node)
    return node


@dataclass(slots=True)
class _Occurrence:
    field: FieldSel
    owner: SelectionSet  # the selection (the object's, or one of its fragments) holding it
    variant: tuple[str, str]  # (name and arguments, response shape)
    field_type: str  # its type where it sits, as printed (its selection's parent type)


def alias_conflicts(
    selection: SelectionSet | Sequence[SelectionSet],
    parent_type: str,
    type_of: Callable[[str, str], str | None],
    is_composite: Callable[[str], bool],
    renames: dict[str, str],
    fresh: Callable[[str], str],
) -> None:
    """One response key, two different fields in one subgraph selection (e.g. `size` of one
    type next to `size(x: 2)` of another, in sibling fragments) is invalid GraphQL: every
    field but the first variant moves to a fresh alias. A client's field is renamed back on
    arrival (`renames`); a planner field is read under its alias. Fields that share a
    response key merge, so their sub-selections are checked together (`info { b }` under a
    condition next to a requirement's `info { b(x: 3) }`)."""
    occurrences: dict[str, list[_Occurrence]] = {}

    def gather(sel: SelectionSet, type_name: str) -> None:
        for item in sel.items.values():
            if isinstance(item, FragmentSel):
                gather(item.sub, item.type_condition or type_name)
            elif item.name != "__typename":
                printed = type_of(type_name, item.name) or ""
                variant = (item.signature(), _shape(printed, is_composite))
                occurrences.setdefault(item.response_key, []).append(
                    _Occurrence(item, sel, variant, printed)
                )

    for one in [selection] if isinstance(selection, SelectionSet) else selection:
        gather(one, parent_type)
    for key, found in occurrences.items():
        variants = list(dict.fromkeys(o.variant for o in found))
        if len(variants) > 1:
            # the variant whose sub-selection the planner reads keeps the key (paths below it
            # were laid out with that key); else a client's field keeps it: a planner field
            # moved to an alias is read there, while a client's field moved to an alias is
            # renamed back on arrival and would land on the planner field's value
            keeper = next(
                (o.variant for o in found if o.field.internal and o.field.sub is not None),
                next((o.variant for o in found if not o.field.internal), variants[0]),
            )
            for variant in variants:
                if variant == keeper:
                    continue
                alias = fresh(key)
                for o in found:
                    if o.variant != variant:
                        continue
                    del o.owner.items[key]
                    o.field.alias = alias
                    o.owner.items[alias] = o.field
                    if not o.field.internal:
                        renames[alias] = key
    for found in occurrences.values():
        # after renaming, the occurrences still under one key merge in the subgraph
        by_key: dict[tuple[str, str], list[SelectionSet]] = {}
        for o in found:
            if o.field.sub is not None:
                merged = by_key.setdefault((o.field.response_key, _named(o.field_type)), [])
                merged.append(o.field.sub)
        for (_key, field_type), subs in by_key.items():
            alias_conflicts(subs, field_type, type_of, is_composite, renames, fresh)


def _shape(printed: str, is_composite: Callable[[str], bool]) -> str:
    """What GraphQL's SameResponseShape compares: lists and non-null wrappers, and the type
    itself only for leaves (objects of different types merge field by field)."""
    named = _named(printed)
    return printed.replace(named, "{}") if named and is_composite(named) else printed


def _named(type_text: str) -> str:
    """`[Color!]!` -> `Color`."""
    return type_text.strip("[]!")
