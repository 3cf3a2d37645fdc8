"""Optimisation passes over the fetch-dependency graph, each small and named for what it does.

They run after every field is placed and before the plan tree is laid out:
`prune_empty` drops steps left with nothing to fetch (their dependants inherit their
dependencies), and `merge_twin_fetches` turns identical entity fetches that wait for the
same steps into one request serving several paths. Internal aliasing happens while fields
are placed (`SelectionSet.add_field`), and the partition layer's own aliases on finished
fetch nodes (`gateway.partition`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from gateway.planner.fetch_graph import FetchStep, effective_dependencies
from gateway.planner.operation import Condition
from gateway.planner.plan import ConditionNode, FetchNode, FlattenNode, PlanNode


def prune_empty(steps: Sequence[FetchStep]) -> dict[FetchStep, set[FetchStep]]:
    """Empty fragments go; steps left with nothing to fetch go, passing on what they waited
    for. Returns the dependencies among the steps that remain."""
    for step in steps:
        step.selection.prune()
    kept = {step for step in steps if not step.selection.is_empty()}
    return effective_dependencies(steps, kept)


def merge_twin_fetches(
    order: Sequence[FetchStep],
    deps: dict[FetchStep, set[FetchStep]],
    fetch_of: Callable[[FetchStep], FetchNode],
    condition_of: Callable[[FetchStep], Condition],
    keep_apart: Callable[[FetchNode], bool],
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
            tuple(i.printed for i in fetch.inputs),
            condition,
            frozenset(d.id for d in deps[step]),
        )
        twin = twins.get(twin_key)
        if twin is not None and not keep_apart(fetch):
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
