"""Build a query plan: split an operation into subgraph fetches.

Fields go to the fetch group of the subgraph that resolves them, preferring the
subgraph already in use (so a `@shareable` field is never fetched twice). A field
that the current subgraph cannot resolve becomes an entity fetch ("jump") through
one of the entity's `@key`s; `@requires` fields are fetched first, from wherever
they live, and travel in the representation. Groups form a dependency graph that
is laid out as a `Sequence` of `Parallel` levels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import combinations, count
from typing import Literal

from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    GraphQLOutputType,
    InlineFragmentNode,
    NameNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    print_ast,
)

from gateway.planner.fetch_graph import (
    ContextSource,
    FetchStep,
    PlanningError,
    PlanningLimitError,
    RepSource,
    StepInput,
    lay_out,
    topological,
)
from gateway.planner.graph import QueryGraph, list_depth
from gateway.planner.operation import (
    Condition,
    Operation,
)
from gateway.planner.passes import (
    alias_conflicts,
    merge_sibling_fetches,
    merge_twin_fetches,
    prune_empty,
)
from gateway.planner.plan import (
    ConditionNode,
    ContextInput,
    EntityInput,
    FetchNode,
    FlattenNode,
    PlanNode,
    QueryPlan,
    RepField,
    SequenceNode,
)
from gateway.planner.selection import FieldSel, SelectionSet
from gateway.planner.wants import Want, WantFragment, needs_concrete_type, root_wants
from schema.supergraph import ContextArgument, Supergraph, TypeModel

_ABSTRACT = ("INTERFACE", "UNION")
_MAX_DEPTH = 64
# sets of root subgraphs tried x kinds of shared root field, at most: beyond it every
# subgraph that can may take root fields
_ROOT_SEARCH_BUDGET = 4096
# the best sets of root subgraphs whose whole plans are compared: at most this many, at
# most this many fetches (counted per root field) above the best, and only while the plans
# so far took less than 1/_ALTERNATIVES_EFFORT_SHARE of the planning effort allowed
_ROOT_ALTERNATIVES = 3
_ROOT_ALTERNATIVE_SLACK = 1
_ALTERNATIVES_EFFORT_SHARE = 8
# leaf fields that several other subgraphs resolve: the fewest subgraphs serving them all is
# searched among at most this many (2^10 sets at worst), else they are placed one by one
_COVER_MAX_CANDIDATES = 10


@dataclass(slots=True)
class Placement:
    """Where a field ended up: its selection, the step that fetches it, and every step the
    placing touched (a later step that reads the field depends on them)."""

    field: FieldSel
    step: FetchStep
    touched: set[FetchStep]

    def reached_from(self, step: FetchStep) -> Placement:
        """The same placement, reached through an entity jump from `step`."""
        return Placement(self.field, self.step, self.touched | {step})


@dataclass(frozen=True, slots=True)
class RootChoice:
    """The subgraphs chosen for the root fetches: `costs` per root field (fetches its whole
    selection needs from each subgraph that resolves it, inf: cannot), `assigned` the
    subgraph of each shared root field (by the field's id)."""

    graphs: frozenset[str]
    costs: list[dict[str, float]]
    assigned: dict[int, str]


@dataclass(frozen=True, slots=True)
class RootSet:
    """One set of root subgraphs, evaluated: `fetches` in all (root fetches and those that
    wait for them), `waiting` of them after a root fetch, the subgraphs' ranks in join order
    per kind of shared root field (`order`) and the subgraph `picked` for each kind."""

    fetches: float
    waiting: float
    order: tuple[int, ...]
    picked: list[str]

    def rank(self) -> tuple[float, float, tuple[int, ...]]:
        """Lower is better: fewest fetches, then fewest waiting, then earlier subgraphs."""
        return self.fetches, self.waiting, self.order


@dataclass(frozen=True, slots=True)
class Jump:
    """An entity jump: to `graph`, under type condition `type_condition`, sending
    `typename` as the representations' __typename when set (interface objects)."""

    graph: str
    type_condition: str
    typename: str | None


@dataclass(frozen=True, slots=True)
class Anchor:
    """An object in a step's selection: where fields read from it are fetched."""

    step: FetchStep
    type_name: str
    path: tuple[str, ...]
    selection: SelectionSet


class QueryPlanner:
    """Plans operations against one supergraph. Stateless between calls; cache the results."""

    def __init__(
        self,
        supergraph: Supergraph,
        *,
        max_effort: int = 200_000,
    ) -> None:
        """`max_effort`: field placements (trial ones included) one plan may take before it
        is refused."""
        self.max_effort = max_effort
        self.sg = supergraph
        self.schema = supergraph.schema
        self.qg = QueryGraph(supergraph)  # built once: every plan of this supergraph asks it
        self._graph_order = list(supergraph.subgraphs)
        # object-type sets of abstract types -> the type's name (plan text), built on first use
        self._abstract_by_types: dict[frozenset[str], str] | None = None
        self._labels: frozenset[str] | None = None

    # ---- entry point -----------------------------------------------------------

    def _field_graphs(self, type_name: str, field_name: str) -> frozenset[str]:
        return self.qg.field_graphs(type_name, field_name, self._labels)

    def plan(
        self, operation: Operation, override_labels: frozenset[str] | None = None
    ) -> QueryPlan:
        """The plan of a normalised operation. `override_labels`: the progressive override
        labels on for this plan (None: each at its default)."""
        self._labels = override_labels
        self._effort = 0
        self._fresh_state()
        # each subgraph operation declares the variables it uses as the client did, defaults too
        variable_types = {
            v.variable.name.value: print_ast(v.type)
            + (" = " + print_ast(v.default_value) if v.default_value is not None else "")
            for v in operation.definition.variable_definitions or ()
        }
        wants = root_wants(operation.selections)
        if operation.kind == "mutation":
            node = self._plan_mutation(operation, wants, variable_types)
        else:
            node = self._plan_query(operation, wants, variable_types)
        return QueryPlan(node)

    def _fresh_state(self) -> None:
        """Forget the steps of a plan (the effort spent stays counted)."""
        self._ids = count()
        self._groups: list[FetchStep] = []
        # jumps whose key fields are being planned: never route those fields through them
        self._opening: set[tuple[int, str, tuple[str, ...]]] = set()
        self._requirers: list[FetchStep] = []  # steps whose @requires are being planned
        # (step id, path) -> subgraphs a sibling field must be fetched from
        self._needed: dict[tuple[int, tuple[str, ...]], set[str]] = {}
        self._in_trial = False
        self._wrap: list[DirectiveNode] = []  # conditions the field being placed goes under
        self._placing: Want | None = None  # the client field being placed
        self._renames: dict[str, str] = {}  # alias used towards a subgraph -> client's key
        self._aliases = count(1000)  # fresh aliases of the conflict pass
        self._condition: Condition = ()  # of the client field being planned
        # composite fields being planned, outermost first: (group, parent type, path, target, want)
        self._ancestry: list[tuple[FetchStep, str, tuple[str, ...], SelectionSet, Want]] = []

    def _plan_query(
        self, operation: Operation, wants: list[Want], variable_types: dict[str, str]
    ) -> PlanNode | None:
        """The whole plan for each of the best sets of root subgraphs (fetches are counted
        per root field there, before passes merge fetches of different fields): the one with
        the fewest fetches wins, then the shortest chain of fetches, then the set's rank."""
        choices = self._choose_root_graphs(operation.root_type, wants)
        best: tuple[tuple[int, int, int], PlanNode | None] | None = None
        for i, choice in enumerate(choices):
            if i:
                if self._effort > self.max_effort // _ALTERNATIVES_EFFORT_SHARE:
                    break  # a large operation keeps the first choice
                self._fresh_state()
            node = self._plan_roots(operation, wants, variable_types, choice)
            fetches, chain = _fetch_count(node)
            if best is None or (fetches, chain, i) < best[0]:
                best = ((fetches, chain, i), node)
        assert best is not None
        return best[1]

    def _plan_roots(
        self,
        operation: Operation,
        wants: list[Want],
        variable_types: dict[str, str],
        choice: RootChoice,
    ) -> PlanNode | None:
        roots: dict[str, FetchStep] = {}
        root_type = operation.root_type
        joined = set(choice.graphs)
        for w, costs in zip(wants, choice.costs, strict=True):
            if len(costs) == 1:
                graph = next(iter(costs))
            else:
                # none when no subgraph serves the whole field: the split below decides
                graph = choice.assigned.get(id(w)) or next(iter(costs))
                # the fewest fetches one subgraph needs for the whole field, its root included
                alone = min(costs.values())
                if w.sub and alone > 1:
                    # each subgraph serves the part of the selection it owns, in parallel root
                    # fetches: taken when no subgraph serves the whole selection, or when it
                    # costs no more fetches than the best single subgraph (then no fetch waits
                    # for another); never tried when one fetch serves it all
                    def around(subs: list[Want | WantFragment], w: Want = w) -> Want:
                        return replace(w, sub=subs)

                    graphs = list(costs)
                    ordered = sorted(graphs, key=lambda g: g not in joined)
                    field_type = get_named_type(self._field_type(root_type, w.name)).name
                    parts = self._split_by_owner(root_type, field_type, ordered, w.sub, around)
                    if parts is not None and (
                        len(parts) > 1 or all(c == float("inf") for c in costs.values())
                    ):
                        # joining a root fetch the operation makes anyway costs one fetch less
                        split = sum(
                            self._trial_fetches(root_type, around(subs), g) - (g in joined)
                            for g, subs in parts.items()
                        )
                        single = costs[graph] - (graph in joined)
                        if split <= single or split == float("inf") == single:
                            for part_graph, subs in parts.items():
                                joined.add(part_graph)
                                group = roots.get(part_graph)
                                if group is None:
                                    group = roots[part_graph] = self._new_group(
                                        part_graph, (), None, False
                                    )
                                self._plan_field(
                                    group, root_type, around(subs), (), group.selection, None, 0
                                )
                            continue
            group = roots.get(graph)
            if group is None:
                group = roots[graph] = self._new_group(graph, (), None, False)
            self._plan_field(group, root_type, w, (), group.selection, None, 0)
        return self._layout_groups(self._groups, operation, variable_types, kind=operation.kind)

    def _choose_root_graphs(self, root_type: str, wants: list[Want]) -> list[RootChoice]:
        """The subgraphs of the root fetches, chosen for the whole operation: each root field's
        fetches are tried from every subgraph that resolves it, then the set of root subgraphs
        is taken whose root fetches plus the fields' other fetches are fewest (a shared root
        field joins a root fetch the operation makes anyway when that costs no more). Among
        equals, the set whose fetches wait least for a root fetch (more of them side by side),
        then the earlier subgraphs in the supergraph's order for the earlier root fields."""
        costs: list[dict[str, float]] = []
        forced: set[str] = set()
        for w in wants:
            graphs = self._ordered(self._field_graphs(root_type, w.name))
            if not graphs:
                raise PlanningError(f"no subgraph resolves {root_type}.{w.name}")
            if len(graphs) == 1:
                costs.append({graphs[0]: 1.0})
                forced.add(graphs[0])
            else:
                costs.append({g: self._trial_fetches(root_type, w, g) for g in graphs})
        optional = self._ordered(
            {g for c in costs if len(c) > 1 for g in c if c[g] != float("inf")} - forced
        )
        rank = {g: i for i, g in enumerate(self._graph_order)}
        # shared root fields with the same fetch counts per subgraph are chosen together
        profiles: dict[tuple[tuple[str, float], ...], list[Want]] = {}
        for w, c in zip(wants, costs, strict=True):
            finite = tuple((g, n) for g, n in c.items() if n != float("inf"))
            if len(c) > 1 and finite:  # (none finite: the split decides)
                profiles.setdefault(finite, []).append(w)

        def assign(graphs: set[str]) -> RootSet | None:
            waiting = 0.0  # fetches that wait for a root fetch
            order: list[int] = []
            picked: list[str] = []
            for profile, members in profiles.items():
                options = [(n, rank[g], g) for g, n in profile if g in graphs]
                if not options:
                    return None
                n, r, g = min(options)
                waiting += (n - 1) * len(members)
                order.append(r)
                picked.append(g)
            return RootSet(len(graphs) + waiting, waiting, tuple(order), picked)

        if (1 << len(optional)) * max(1, len(profiles)) <= _ROOT_SEARCH_BUDGET:
            candidates: Iterable[set[str]] = (
                forced | {g for i, g in enumerate(optional) if mask >> i & 1}
                for mask in range(1 << len(optional))
            )
        else:  # too many sets to try each: every subgraph may take root fields
            candidates = [forced | set(optional)]
        found = sorted(
            (r for r in map(assign, candidates) if r is not None), key=lambda r: r.rank()
        )
        # the best set, and the next ones within a few fetches of it (passes may merge
        # fetches that the count per root field cannot see), each assignment once
        kept: dict[tuple[str, ...], RootSet] = {}
        for r in found:
            if r.fetches > found[0].fetches + _ROOT_ALTERNATIVE_SLACK:
                break
            kept.setdefault(tuple(r.picked), r)
            if len(kept) == _ROOT_ALTERNATIVES:
                break
        choices: list[RootChoice] = []
        for picked in list(kept) or [()]:
            # () when no shared root field is to be chosen (or no set serves them all)
            assigned: dict[int, str] = {}
            for members, graph in zip(profiles.values(), picked, strict=False):
                assigned.update((id(w), graph) for w in members)
            choices.append(RootChoice(frozenset(forced | set(assigned.values())), costs, assigned))
        return choices

    def _split_by_owner(
        self,
        root_type: str,
        parent_type: str,
        graphs: list[str],
        subs: list[Want | WantFragment],
        wrap: Callable[[list[Want | WantFragment]], Want],
    ) -> dict[str, list[Want | WantFragment]] | None:
        """Share a shareable root field's selection (`subs`, on `parent_type`) out among the
        subgraphs that own its parts (`wrap` rebuilds the root field around a part). None when
        some part has no owner. A fragment whose type no object of the selection has in a
        subgraph is not that subgraph's to serve (it would serve it by leaving it out)."""
        buckets: dict[str, list[Want | WantFragment]] = {}
        for sub in subs:
            owners = (
                self._fragment_owners(parent_type, sub, graphs)
                if isinstance(sub, WantFragment)
                else graphs
            )
            # a subgraph that serves the part on its own (one fetch), else any that can
            trials = {
                g: self._trial_fetches(root_type, wrap([sub]), g, isolated=True)
                for g in sorted(owners, key=lambda g: g not in buckets)
            }
            graph = next((g for g, n in trials.items() if n <= 1), None)
            split = None
            if graph is None and sub.sub:
                # no subgraph serves it alone: its own selection is shared out in turn

                def inner(parts: list[Want | WantFragment], sub: Want | WantFragment = sub) -> Want:
                    return wrap([replace(sub, sub=parts)])

                if isinstance(sub, WantFragment):
                    inner_type = sub.type_condition or parent_type
                else:
                    inner_type = get_named_type(self._field_type(parent_type, sub.name)).name
                split = self._split_by_owner(root_type, inner_type, owners, sub.sub, inner)
            if split is not None:
                for part_graph, parts in split.items():
                    buckets.setdefault(part_graph, []).append(replace(sub, sub=parts))
                continue
            graph = graph or next((g for g, n in trials.items() if n != float("inf")), None)
            if graph is None:
                return None
            buckets.setdefault(graph, []).append(sub)
        return buckets

    def _fragment_owners(
        self, parent_type: str, frag: WantFragment, graphs: list[str]
    ) -> list[str]:
        """The subgraphs in which some object of `parent_type` can match the fragment (all of
        `graphs` when none can: the fragment selects nothing anywhere)."""
        cond = frag.type_condition
        if cond is None or cond == parent_type or self.sg.types[parent_type].kind == "OBJECT":
            return graphs
        matching = set(self.sg.possible_types(cond))
        owners = [g for g in graphs if matching & set(self.sg.possible_types_in(parent_type, g))]
        return owners or graphs

    def _trial_fetches(self, root_type: str, w: Want, graph: str, isolated: bool = False) -> float:
        """How many fetches `w` alone needs when its root fetch goes to `graph` (inf: cannot);
        `isolated` trials try no cheaper owners inside (enough to see what one fetch serves)."""

        def place() -> None:
            group = self._new_group(graph, (), None, False)
            self._plan_field(group, root_type, w, (), group.selection, None, 0)

        return self._trial(place, isolated=isolated)

    def _trial(self, place: Callable[[], None], isolated: bool) -> float:
        """Run a placement on scratch state and count the fetches it made (inf: it cannot be
        planned); the plan being built is left as it was. `isolated` trials nest no others."""
        saved = (
            self._groups,
            self._ids,
            self._opening,
            self._renames,
            self._condition,
            self._ancestry,
            self._requirers,
            self._needed,
            self._in_trial,
        )
        self._groups, self._ids, self._opening = [], count(), set()
        self._renames, self._ancestry, self._requirers = dict(self._renames), [], []
        self._needed, self._in_trial = ({}, True) if isolated else (self._needed, self._in_trial)
        try:
            place()
            return float(len(self._groups))
        except PlanningLimitError:
            raise
        except PlanningError:
            return float("inf")
        finally:
            (
                self._groups,
                self._ids,
                self._opening,
                self._renames,
                self._condition,
                self._ancestry,
                self._requirers,
                self._needed,
                self._in_trial,
            ) = saved

    def _plan_mutation(
        self, operation: Operation, wants: list[Want], variable_types: dict[str, str]
    ) -> PlanNode | None:
        """Root mutation fields run one after the other; neighbours on one subgraph share a
        fetch."""
        steps: list[FetchStep] = []
        root_type = operation.root_type
        for w in wants:
            graphs = self._field_graphs(root_type, w.name)
            if not graphs:
                raise PlanningError(f"no subgraph resolves {root_type}.{w.name}")
            if steps and steps[-1].graph in graphs:
                group = steps[-1]
            else:
                group = self._new_group(self._first(graphs), (), None, False)
                steps.append(group)
            self._plan_field(group, root_type, w, (), group.selection, None, 0)
        nodes = []
        for root in steps:
            members = [g for g in self._groups if g.root() is root]
            node = self._layout_groups(members, operation, variable_types, kind="mutation")
            if node is not None:
                nodes.append(node)
        if not nodes:
            return None
        return nodes[0] if len(nodes) == 1 else SequenceNode(nodes)

    # ---- planning fields -------------------------------------------------------

    def _new_group(
        self, graph: str, path: tuple[str, ...], parent: FetchStep | None, is_entity: bool
    ) -> FetchStep:
        group = FetchStep(next(self._ids), graph, path, parent, is_entity)
        if parent is not None:
            group.depends.add(parent)
            group.needs.add(parent)
        self._groups.append(group)
        return group

    def _ordered(self, graphs: Iterable[str]) -> list[str]:
        return self.qg.ordered(graphs)

    def _first(self, graphs: Iterable[str]) -> str:
        return self.qg.ordered(graphs)[0]

    def _plan_selections(
        self,
        group: FetchStep,
        parent_type: str,
        wants: list[Want | WantFragment],
        path: tuple[str, ...],
        target: SelectionSet,
        provided: SelectionSetNode | None,
        depth: int,
    ) -> set[FetchStep]:
        touched = {group}
        # subgraphs that sibling fields can only be fetched from: a fetch there is made anyway
        needed = self._needed.setdefault((group.id, path), set())
        shared: list[frozenset[str]] = []  # leaf fields several other subgraphs resolve
        for field in _at_this_position(parent_type, wants):
            if not field.name.startswith("__"):
                owners = self._field_graphs(parent_type, field.name)
                if group.graph in owners:
                    continue
                if len(owners) == 1:
                    needed |= owners
                elif field.sub is None:
                    shared.append(owners)
        if shared:
            needed |= self._cover(group, parent_type, path, shared, needed)
        for w in wants:
            if isinstance(w, WantFragment):
                touched |= self._plan_fragment(group, parent_type, w, path, target, provided, depth)
            else:
                touched |= self._plan_field(
                    group, parent_type, w, path, target, provided, depth
                ).touched
        return touched

    def _cover(
        self,
        group: FetchStep,
        parent_type: str,
        path: tuple[str, ...],
        shared: list[frozenset[str]],
        made: set[str],
    ) -> set[str]:
        """The fewest subgraphs, reachable through a key, that serve every one of these leaf
        fields that no fetch already made serves (first in join order among equals). Placing
        the fields one by one can take more: windows (A, B), staff (A, C), waiting (B, D),
        rating (C, D) go to A, B and C where A and D serve all four."""
        if self.sg.types[parent_type].kind != "OBJECT":
            return set()
        reachable = {m.graph for m in self.qg.key_moves(parent_type, group.graph, self._labels)}
        made = made | {g for g, p in group.children if p == path}
        left = [owners & reachable for owners in shared]
        left = [owners for owners in left if owners and not owners & made]
        if len(left) < 2:
            return set()
        candidates = self._ordered(set().union(*left))
        if len(candidates) > _COVER_MAX_CANDIDATES:
            return set()
        for size in range(1, len(candidates)):
            for chosen in combinations(candidates, size):
                self._effort += 1
                if all(not owners.isdisjoint(chosen) for owners in left):
                    return set(chosen)
        return set()

    def _knows(self, graph: str, type_name: str) -> bool:
        return self.qg.knows(graph, type_name)

    def _plan_fragment(
        self,
        group: FetchStep,
        parent_type: str,
        frag: WantFragment,
        path: tuple[str, ...],
        target: SelectionSet,
        provided: SelectionSetNode | None,
        depth: int,
    ) -> set[FetchStep]:
        cond = frag.type_condition
        if cond is None or cond == parent_type:
            return self._plan_selections(
                group, parent_type, frag.sub, path, target, provided, depth
            )
        applicable = set(self.sg.possible_types(parent_type)) & set(self.sg.possible_types(cond))
        if not applicable:
            return {group}
        g = group.graph
        parent_model = self.sg.types[parent_type]
        if parent_model.kind == "OBJECT":
            # an object inside a fragment on a type that includes it: only the selections count
            # (and fragments nested in it are narrowed against the object, not the abstract type)
            return self._plan_selections(
                group, parent_type, frag.sub, path, target, provided, depth
            )
        if parent_model.kind == "INTERFACE" and parent_model.is_interface_object_in(g):
            # this subgraph sees the interface as one object type: the concrete type lives elsewhere
            child, ctarget, ctype = self._entity_jump_for_interface_object(
                group, parent_type, path, target, depth
            )
            return {group} | self._plan_fragment(child, ctype, frag, path, ctarget, None, depth + 1)
        in_graph = set(self.sg.possible_types_in(parent_type, g))
        if self._knows(g, cond) and in_graph & set(self.sg.possible_types_in(cond, g)):
            target.add_field("__typename", None, internal=True)
            sub = target.fragment(cond)
            return self._plan_selections(
                group, cond, frag.sub, path, sub, _narrow(provided, cond), depth
            )
        touched = {group}
        for t in self.sg.possible_types(cond):
            if t in applicable and t in in_graph:
                target.add_field("__typename", None, internal=True)
                sub = target.fragment(t)
                touched |= self._plan_selections(
                    group, t, frag.sub, path, sub, _narrow(provided, t), depth
                )
        return touched

    def _field_type(self, parent_type: str, name: str) -> GraphQLOutputType:
        return self.qg.field_type(parent_type, name)

    def _plan_field(
        self,
        group: FetchStep,
        parent_type: str,
        w: Want,
        path: tuple[str, ...],
        target: SelectionSet,
        provided: SelectionSetNode | None,
        depth: int,
    ) -> Placement:
        if depth > _MAX_DEPTH:
            raise PlanningError(f"cannot plan {parent_type}.{w.name}: the key chain does not end")
        self._effort += 1
        if self._effort > self.max_effort:
            raise PlanningLimitError(
                f"the operation needs more than {self.max_effort} field placements to plan, "
                f"the limit set by [gateway] max_planning_effort; send a smaller operation"
            )
        saved, saved_wrap, saved_placing = self._condition, self._wrap, self._placing
        if w.internal:
            self._wrap = []
        elif w is not self._placing:  # not the same field again, after an entity jump
            # the conditions of the fragments it sits in go to the subgraph too (see
            # `_condition_directives`); entity jumps on its way keep their keys unconditional
            self._wrap = _condition_directives(w)
            self._placing = w
            self._condition = w.condition
        group.used_under(self._condition)
        try:
            return self._place_field(group, parent_type, w, path, target, provided, depth)
        finally:
            self._condition, self._wrap, self._placing = saved, saved_wrap, saved_placing

    def _place_field(
        self,
        group: FetchStep,
        parent_type: str,
        w: Want,
        path: tuple[str, ...],
        target: SelectionSet,
        provided: SelectionSetNode | None,
        depth: int,
    ) -> Placement:
        g = group.graph
        model = self.sg.types[parent_type]
        if w.name == "__typename":
            if model.kind == "INTERFACE" and model.is_interface_object_in(g):
                child, ctarget, ctype = self._entity_jump_for_interface_object(
                    group, parent_type, path, target, depth
                )
                return self._plan_field(
                    child, ctype, w, path, ctarget, None, depth + 1
                ).reached_from(group)
            fs = target.add_field("__typename", w.alias, internal=w.internal)
            return Placement(fs, group, {group})
        graphs = self._field_graphs(parent_type, w.name)
        provided_sub = _provided(provided, w.name)
        jf = self.sg.join_field(parent_type, w.name, g)
        requires = jf.requires if jf is not None and g in graphs else None
        at_entity_level = (
            group.is_entity
            and path == group.path
            and any(
                parent_type == c or parent_type in i.runtime_types for c, i in group.inputs.items()
            )
        )
        contextual = jf.context_arguments if jf is not None and g in graphs else ()
        own_fetch = requires is not None or bool(contextual)
        local = (g in graphs and (not own_fetch or at_entity_level)) or provided_sub is not False
        if (
            local
            and provided_sub is False
            and model.kind == "INTERFACE"
            and any(
                g not in self._field_graphs(t, w.name)
                for t in self.sg.possible_types_in(parent_type, g)
                if w.name in self.sg.types[t].fields
            )
        ):
            # an implementation only declares the field @external (to satisfy the interface):
            # its value must come from the subgraph that owns it, so plan per implementation
            local = False
        if (
            local
            and w.sub is not None
            and provided_sub is False
            and not w.internal
            and len(graphs) > 1
            and model.kind == "OBJECT"
            and not self._in_trial
        ):
            cheaper = self._cheaper_owner(group, parent_type, w, graphs, path)
            if cheaper is not None:
                child, ctarget = self._entity_group(
                    group, cheaper, parent_type, parent_type, None, path, target, depth
                )
                return self._plan_field(
                    child, parent_type, w, path, ctarget, None, depth + 1
                ).reached_from(group)
        if local:
            ftype = self._field_type(parent_type, w.name)
            composite = w.sub is not None
            alias = w.alias
            if not w.internal and jf is not None and jf.type is not None and jf.type != str(ftype):
                # the subgraph types this field differently (e.g. String! where the supergraph
                # says String): a sibling fragment may select the same key with the other type,
                # which the subgraph would reject; fetch it under an alias, renamed on arrival.
                # The alias depends on the key and the type only: a second occurrence of the key
                # (`info { a } info { b }`) merges with the first instead of overwriting it
                alias = f"_gg_{_safe(jf.type)}_{w.alias or w.name}"
                self._renames[alias] = w.alias or w.name
            arguments = w.arguments
            if contextual and provided_sub is False:
                arguments += self._add_context(group, parent_type, contextual, path, depth)
            # in inline fragments that carry the conditions of the fragments it sits in: a
            # directive may appear once per location, and a skipped field must not fail, or
            # cost anything, in the subgraph
            placed_in = target
            for directive in self._wrap:
                placed_in = placed_in.fragment(None, (directive,))
            fs = placed_in.add_field(w.name, alias, arguments, w.directives, composite, w.internal)
            touched = {group}
            if requires is not None and provided_sub is False:
                self._add_requires(group, parent_type, requires, depth)
            if composite:
                sub = fs.sub
                assert sub is not None  # added as a composite field
                # entity fetches below find this field under the key it has after renaming
                data_key = self._renames.get(fs.response_key, fs.response_key)
                sub_path = path + (data_key,) + ("@",) * list_depth(ftype)
                if provided_sub is not False:
                    sub_provided = provided_sub
                else:
                    sub_provided = jf.provides if jf is not None else None
                named = get_named_type(ftype).name
                if self.sg.types[named].kind in _ABSTRACT:
                    sub.add_field("__typename", None, internal=True)
                # where this subgraph types the field more narrowly (`@join__field(type:)`),
                # its selection is planned against that type: fragments that cannot apply
                # there are dropped, others narrowed to it
                local_named = (
                    jf.type.strip("[]!") if jf is not None and jf.type is not None else named
                )
                if local_named not in self.sg.types or local_named == named:
                    local_named = named
                self._ancestry.append((group, parent_type, path, target, w))
                try:
                    touched |= self._plan_selections(
                        group, local_named, w.sub or [], sub_path, sub, sub_provided, depth
                    )
                finally:
                    self._ancestry.pop()
                nmodel = self.sg.types.get(named)
                if (
                    nmodel is not None
                    and nmodel.kind == "INTERFACE"
                    and nmodel.is_interface_object_in(g)
                    and needs_concrete_type(w.sub, named)
                ):
                    # this subgraph answers with the interface's name: learn the concrete type
                    typename = Want("__typename", None, internal=True)
                    touched |= self._plan_field(
                        group, named, typename, sub_path, sub, None, depth
                    ).touched
            return Placement(fs, group, touched)
        if model.kind in _ABSTRACT:
            via = self._interface_object_owner(group, model, w.name)
            if via is not None:
                child, ctarget = self._entity_group(
                    group, via, parent_type, parent_type, parent_type, path, target, depth
                )
                child.inputs[parent_type].runtime_types.update(self.sg.possible_types(parent_type))
                return self._plan_field(
                    child, parent_type, w, path, ctarget, None, depth + 1
                ).reached_from(group)
            if model.is_interface_object_in(g) or not self.sg.possible_types_in(parent_type, g):
                child, ctarget, ctype = self._entity_jump_for_interface_object(
                    group, parent_type, path, target, depth
                )
                return self._plan_field(
                    child, ctype, w, path, ctarget, None, depth + 1
                ).reached_from(group)
            touched = {group}
            result: Placement | None = None
            target.add_field("__typename", None, internal=True)
            for t in self.sg.possible_types_in(parent_type, g):
                sub = target.fragment(t)
                placed = self._plan_field(group, t, w, path, sub, _narrow(provided, t), depth)
                result = result or placed
                tt = placed.touched
                touched |= tt
            if result is None:
                raise PlanningError(f"no subgraph resolves {parent_type}.{w.name}")
            return Placement(result.field, result.step, touched)
        # an object type whose field lives in another subgraph: jump through a key
        jump = self._choose_jump(group, parent_type, w, graphs, path)
        if jump is None:
            through_parent = self._jump_through_parent_entity(group, parent_type, w, path, depth)
            if through_parent is not None:
                return through_parent
            raise PlanningError(
                f"cannot resolve {parent_type}.{w.name} from subgraph "
                f"{self.sg.subgraphs[g].name!r}: no subgraph that resolves it can be reached "
                f"by a key"
            )
        child, ctarget = self._entity_group(
            group, jump.graph, parent_type, jump.type_condition, jump.typename, path, target, depth
        )
        return self._plan_field(
            child, jump.type_condition, w, path, ctarget, None, depth + 1
        ).reached_from(group)

    def _cheaper_owner(
        self,
        group: FetchStep,
        parent_type: str,
        w: Want,
        graphs: frozenset[str],
        path: tuple[str, ...],
    ) -> str | None:
        """Another subgraph that serves this shared field's whole selection with fewer fetches
        than the current one (e.g. through `@provides`), counting a fetch to it as free when the
        plan makes it anyway at this path."""
        here = self._trial_field(group.graph, None, parent_type, w)
        if here <= 1:
            return None
        needed = self._needed.get((group.id, path), set())
        best, best_cost = None, here
        for graph in self._ordered(graphs):
            if graph == group.graph or not self.sg.types[parent_type].resolvable_keys_in(graph):
                continue
            cost = self._trial_field(group.graph, graph, parent_type, w)
            if cost == float("inf"):
                continue
            if (graph, path) in group.children or graph in needed:
                cost -= 1  # the fetch to it is made anyway
            if cost < best_cost:
                best, best_cost = graph, cost
        return best

    def _trial_field(self, graph: str, via: str | None, parent_type: str, w: Want) -> float:
        """How many fetches a field of an entity needs when planned in `graph` (or, with `via`,
        through an entity fetch to that subgraph from `graph`); inf when it cannot be."""

        def place() -> None:
            start = self._new_group(graph, (), None, True)
            start.inputs[parent_type] = StepInput({parent_type}, None, start, start.selection)
            if via is None:
                self._plan_field(start, parent_type, w, (), start.selection, None, 0)
            else:
                child, ctarget = self._entity_group(
                    start, via, parent_type, parent_type, None, (), start.selection, 0
                )
                self._plan_field(child, parent_type, w, (), ctarget, None, 1)

        return self._trial(place, isolated=True)

    def _jump_through_parent_entity(
        self, group: FetchStep, parent_type: str, w: Want, path: tuple[str, ...], depth: int
    ) -> Placement | None:
        """A field of a value type (no key) that only another subgraph resolves: go back to the
        nearest entity above it and fetch the whole way down from there in that subgraph."""
        chain: list[tuple[str, Want]] = []
        for frame_group, frame_type, frame_path, frame_target, frame_want in reversed(
            self._ancestry
        ):
            if frame_group is not group:
                return None
            chain.insert(0, (frame_type, frame_want))
            model = self.sg.types[frame_type]
            if model.kind != "OBJECT":
                continue
            for graph in self._graph_order:
                if graph == group.graph or not model.resolvable_keys_in(graph):
                    continue
                if graph not in self._field_graphs(parent_type, w.name):
                    continue
                if not all(graph in self._field_graphs(t, cw.name) for t, cw in chain):
                    continue
                child, ctarget = self._entity_group(
                    group, graph, frame_type, frame_type, None, frame_path, frame_target, depth
                )
                for t, cw in chain:
                    ftype = self._field_type(t, cw.name)
                    fs = ctarget.add_field(
                        cw.name, cw.alias, cw.arguments, cw.directives, composite=True
                    )
                    assert fs.sub is not None  # added as a composite field
                    if self.sg.types[get_named_type(ftype).name].kind in _ABSTRACT:
                        fs.sub.add_field("__typename", None, internal=True)
                    ctarget = fs.sub
                return self._plan_field(
                    child, parent_type, w, path, ctarget, None, depth + 1
                ).reached_from(group)
        return None

    def _choose_jump(
        self,
        group: FetchStep,
        parent_type: str,
        w: Want,
        graphs: frozenset[str],
        path: tuple[str, ...],
    ) -> Jump | None:
        """The entity jump that reaches a subgraph resolving the field: one the step already
        makes at this path first (one fetch, not two), then one to a subgraph a sibling field
        needs anyway, then one whose key the subgraph at hand has, then join__Graph order; else
        an @interfaceObject subgraph of its interfaces. When several subgraphs resolve a field
        with a selection, the one whose whole selection costs the fewest fetches wins (a fetch
        the plan makes anyway counting as free), the order above breaking ties."""
        field_name = w.name
        moves = [
            m
            for m in self.qg.key_moves(parent_type, group.graph, self._labels)
            if m.graph in graphs
            and (group.id, m.graph, path) not in self._opening
            and not _key_mentions(m.key, field_name)
        ]
        candidates = self.qg.ordered(m.graph for m in moves)
        local_key = self.qg.ordered(m.graph for m in moves if m.local)
        needed = self._needed.get((group.id, path), set())
        preference = list(
            dict.fromkeys(
                [g for g in local_key + candidates if (g, path) in group.children]
                + [g for g in local_key + candidates if g in needed]
                + local_key
                + candidates
            )
        )
        if len(preference) > 1 and w.sub is not None and not self._in_trial:
            made = {g for g in preference if (g, path) in group.children or g in needed}
            costs = {
                g: self._trial_field(group.graph, g, parent_type, w) - (g in made)
                for g in preference
            }
            cheapest = min(costs.values())
            if cheapest != float("inf"):
                return Jump(next(g for g in preference if costs[g] == cheapest), parent_type, None)
        if preference:
            return Jump(preference[0], parent_type, None)
        for iface in self.qg.interfaces_of.get(parent_type, ()):
            for g in self.qg.interface_object_graphs(iface, field_name, self._labels):
                return Jump(g, iface, iface)
        return None

    def _interface_object_owner(
        self, group: FetchStep, model: TypeModel, field_name: str
    ) -> str | None:
        """A subgraph contributing `field_name` to every implementation through @interfaceObject."""
        if model.kind != "INTERFACE":
            return None
        for g in self.qg.interface_object_graphs(model.name, field_name, self._labels):
            if g != group.graph and self._key_is_local(group.graph, model, g):
                return g
        return None

    def _key_is_local(self, graph: str, model: TypeModel, target_graph: str) -> bool:
        return self.qg.key_is_local(graph, model.name, target_graph, self._labels)

    def _entity_group(
        self,
        group: FetchStep,
        graph: str,
        runtime_type: str,
        type_cond: str,
        typename: str | None,
        path: tuple[str, ...],
        target: SelectionSet,
        depth: int,
    ) -> tuple[FetchStep, SelectionSet]:
        # a field of an @interfaceObject asked under `... on Cat` is fetched for the Cats
        # only: their representations may carry requirements the other objects lack
        restriction = (
            runtime_type
            if runtime_type != type_cond and self.sg.types[type_cond].is_interface_object_in(graph)
            else None
        )
        slot = (graph, path)
        child = group.children.get(slot)
        if child is None:
            child = group.children[slot] = self._new_group(graph, path, group, True)
            child.restricted_to = restriction
        elif not self._fits(child, type_cond, graph, restriction):
            # A -> B -> A -> B chains (the requirement being planned is for a step this fetch
            # already waits on), or inputs one representation cannot serve: another fetch to
            # the same subgraph and path
            child = next(
                (
                    c
                    for c in group.extra_children.get(slot, ())
                    if self._fits(c, type_cond, graph, restriction)
                ),
                None,
            )
            if child is None:
                child = self._new_group(graph, path, group, True)
                child.restricted_to = restriction
                group.extra_children.setdefault(slot, []).append(child)
        entry = child.inputs.get(type_cond)
        if entry is None:
            model = self.sg.types[type_cond]
            keys = [jt.key for jt in model.resolvable_keys_in(graph) if jt.key is not None]
            local = [
                k
                for k in keys
                if all(
                    isinstance(s, FieldNode)
                    and group.graph in self._field_graphs(runtime_type, s.name.value)
                    for s in k.selections
                )
            ]
            # a key whose fields only the target subgraph has cannot be used to reach it
            reachable = [
                k
                for k in keys
                if all(
                    not isinstance(s, FieldNode)
                    or self._field_graphs(runtime_type, s.name.value) - {graph}
                    for s in k.selections
                )
            ]
            key = (local or reachable or keys)[0]
            target.add_field("__typename", None, internal=True)
            opening = (group.id, graph, path)
            self._opening.add(opening)
            try:
                fields, touched = self._ensure(group, runtime_type, key, path, target, depth + 1)
            finally:
                self._opening.discard(opening)
            child.depends |= touched
            child.needs |= touched
            entry = child.inputs[type_cond] = StepInput(
                {runtime_type},
                typename,
                group,
                target,
                list(fields),
                tuple(f.name for f in fields),
                key,
            )
        elif (
            entry.source_target is not target
            and entry.key is not None
            and not _holds_key(target, entry.key)
        ):
            # the same fetch reached from another fragment (another branch, another runtime
            # type): the objects there need the key the representations are built from too
            target.add_field("__typename", None, internal=True)
            _, touched = self._ensure(group, runtime_type, entry.key, path, target, depth + 1)
            child.depends |= touched
            child.needs |= touched
        entry.runtime_types.add(runtime_type)
        return child, child.selection.fragment(type_cond)

    def _fits(self, child: FetchStep, type_cond: str, graph: str, restriction: str | None) -> bool:
        """Can the entity fetch `child` also take objects of `type_cond`? Not when it waits
        for a step whose requirement is being planned, serves another restriction, or holds
        an input for overlapping objects under another `__typename` (an @interfaceObject next
        to one of its implementations: one object, one representation)."""
        if child.waits_for(self._requirers) or child.restricted_to != restriction:
            return False
        mine = self._possible(type_cond)
        for other in child.inputs:
            if other == type_cond or not (mine & self._possible(other)):
                continue
            if self.sg.types[other].is_interface_object_in(graph) or self.sg.types[
                type_cond
            ].is_interface_object_in(graph):
                return False
        return True

    def _possible(self, type_name: str) -> set[str]:
        model = self.sg.types[type_name]
        return set(self.sg.possible_types(type_name)) if model.kind in _ABSTRACT else {type_name}

    def _entity_jump_for_interface_object(
        self,
        group: FetchStep,
        iface: str,
        path: tuple[str, ...],
        target: SelectionSet,
        depth: int,
    ) -> tuple[FetchStep, SelectionSet, str]:
        """From a subgraph that knows an interface only as an object, jump to one that knows it."""
        model = self.sg.types[iface]
        for g in self._graph_order:
            if (
                g != group.graph
                and model.resolvable_keys_in(g)
                and not model.is_interface_object_in(g)
            ):
                child, ctarget = self._entity_group(
                    group, g, iface, iface, iface, path, target, depth
                )
                child.inputs[iface].runtime_types.update(self.sg.possible_types(iface))
                return child, ctarget, iface
        raise PlanningError(
            f"no subgraph knows the implementations of interface {iface} (none has it with a @key)"
        )

    def _add_requires(
        self, group: FetchStep, parent_type: str, requires: SelectionSetNode, depth: int
    ) -> None:
        """Fetch `@requires` fields before `group` and add them to its representations."""
        entry = next(
            (
                i
                for c, i in group.inputs.items()
                if parent_type == c or parent_type in i.runtime_types
            ),
            None,
        )
        if entry is None:
            raise PlanningError(f"@requires on {parent_type} outside an entity fetch")
        self._requirers.append(group)
        try:
            fields, touched = self._ensure(
                entry.source_group,
                parent_type,
                requires,
                group.path,
                entry.source_target,
                depth + 1,
            )
        finally:
            self._requirers.pop()
        group.depends |= touched
        # a requirement of a field under @skip/@include is fetched under that condition too:
        # when it does not hold, representations go without it (the field is not asked for)
        conditional = bool(self._condition)
        if not conditional:
            group.needs |= touched
        for f in fields:
            if conditional:
                f = replace(f, optional=True)
            if not any(f.same(e) for e in entry.fields):
                entry.fields.append(f)

    def _add_context(
        self,
        group: FetchStep,
        parent_type: str,
        contextual: tuple[ContextArgument, ...],
        path: tuple[str, ...],
        depth: int,
    ) -> tuple[ArgumentNode, ...]:
        """Arguments filled from a context an ancestor sets (`@fromContext`): the ancestor's
        selection is fetched first, and each entity's value travels as a variable."""
        entry = next(
            (
                i
                for c, i in group.inputs.items()
                if parent_type == c or parent_type in i.runtime_types
            ),
            None,
        )
        out: list[ArgumentNode] = []
        for argument in contextual:
            source = self._context_source(
                argument.context, parent_type, path, entry, argument.selection
            )
            if source is None:
                continue  # no ancestor sets the context here: the argument is left out
            source_group, source_type, source_path, source_target = source
            self._requirers.append(group)
            try:
                reps, touched = self._ensure(
                    source_group,
                    source_type,
                    argument.selection,
                    source_path,
                    source_target,
                    depth + 1,
                )
            finally:
                self._requirers.pop()
            group.depends |= touched
            group.needs |= touched
            variable = f"__ctx{len(group.context_inputs)}_{argument.name}"
            group.context_inputs.append(
                ContextSource(variable, argument.type, len(source_path), list(reps))
            )
            out.append(
                ArgumentNode(
                    name=NameNode(value=argument.name),
                    value=VariableNode(name=NameNode(value=variable)),
                )
            )
        return tuple(out)

    def _context_source(
        self,
        context: str,
        parent_type: str,
        path: tuple[str, ...],
        entry: StepInput | None,
        selection: SelectionSetNode,
    ) -> tuple[FetchStep, str, tuple[str, ...], SelectionSet] | None:
        """The nearest object that sets `context` (the parent itself, or an ancestor), read
        where the fetches holding it can serve `selection` without another fetch if possible."""
        found: tuple[FetchStep, str, tuple[str, ...], SelectionSet] | None = None
        if entry is not None and context in self._contexts_of(parent_type):
            found = entry.source_group, parent_type, path, entry.source_target
        else:
            for frame_group, frame_type, frame_path, frame_target, _ in reversed(self._ancestry):
                if context in self._contexts_of(frame_type):
                    found = frame_group, frame_type, frame_path, frame_target
                    break
        if found is None:
            return None
        # the same object as fetched by the steps before (entity inputs at the same path)
        candidates = [found]
        step, type_name, at, _ = found
        while step.is_entity and step.path == at:
            source = next(
                (
                    i
                    for c, i in step.inputs.items()
                    if c == type_name or type_name in i.runtime_types
                ),
                None,
            )
            if source is None:
                break
            candidates.append((source.source_group, type_name, at, source.source_target))
            step = source.source_group
        for candidate in candidates:
            if all(
                isinstance(s, FieldNode)
                and candidate[0].graph in self._field_graphs(type_name, s.name.value)
                for s in selection.selections
            ):
                return candidate
        return found

    def _contexts_of(self, type_name: str) -> frozenset[str]:
        return self.qg.contexts_of(type_name)

    def _ensure(
        self,
        group: FetchStep,
        parent_type: str,
        field_set: SelectionSetNode,
        path: tuple[str, ...],
        target: SelectionSet,
        depth: int,
    ) -> tuple[tuple[RepSource, ...], set[FetchStep]]:
        """Make sure the data at `path` will hold `field_set`; returns how to read it back."""
        reps: list[RepSource] = []
        touched: set[FetchStep] = {group}
        for sel in field_set.selections:
            if isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition.name.value if sel.type_condition else parent_type
                sub_target = target.fragment(cond) if cond != parent_type else target
                if cond != parent_type:
                    target.add_field("__typename", None, internal=True)
                sub, t = self._ensure(group, cond, sel.selection_set, path, sub_target, depth)
                if cond != parent_type:
                    # read only from objects of the condition's types: another type's field
                    # of the same key is not part of the requirement
                    types = frozenset(self.sg.possible_types(cond)) | {cond}
                    sub = tuple(
                        replace(r, optional=True, only=types if r.only is None else r.only & types)
                        for r in sub
                    )
                reps.extend(r for r in sub if not any(r.same(e) for e in reps))
                touched |= t
                continue
            assert isinstance(sel, FieldNode)
            name = sel.name.value
            composite = sel.selection_set is not None
            w = Want(
                name,
                None,
                arguments=tuple(sel.arguments or ()),
                sub=[] if composite else None,
                internal=True,
            )
            placed = self._plan_field(group, parent_type, w, path, target, None, depth)
            fs, owner, t = placed.field, placed.step, placed.touched
            touched |= t
            sub_reps = None
            if sel.selection_set is not None:
                ftype = self._field_type(parent_type, name)
                assert fs.sub is not None  # added as a composite field
                sub_path = path + (fs.response_key,) + ("@",) * list_depth(ftype)
                sub_reps, t2 = self._ensure(
                    owner, get_named_type(ftype).name, sel.selection_set, sub_path, fs.sub, depth
                )
                touched |= t2
            reps.append(RepSource(name, fs, sub_reps))
        return tuple(reps), touched

    # ---- layout ----------------------------------------------------------------

    def _layout_groups(
        self,
        groups: list[FetchStep],
        operation: Operation,
        variable_types: dict[str, str],
        kind: str,
    ) -> PlanNode | None:
        """The plan tree of these steps: each fetch waits only for the fetches it reads from."""
        _needed_steps_run(groups)
        deps = prune_empty(merge_sibling_fetches(groups, self._effective_condition))
        for step in deps:
            alias_conflicts(
                step.selection,
                "_Entity" if step.is_entity else operation.root_type,
                self._printed_field_type,
                self._is_composite,
                self._renames,
                self._fresh_alias,
            )
        nodes = merge_twin_fetches(
            topological(deps),
            deps,
            lambda step: self._fetch_node(step, operation, variable_types, kind),
            self._effective_condition,
        )
        return lay_out(topological(deps), deps, nodes.__getitem__)

    def _condition_name(self, types: frozenset[str]) -> str:
        """The type condition a set of object types came from, for the plan text: the one
        type, the first abstract type with exactly these implementations, else `A|B`."""
        if len(types) == 1:
            return next(iter(types))
        if self._abstract_by_types is None:
            self._abstract_by_types = {}
            for name in sorted(self.sg.types):
                if self.sg.types[name].kind in _ABSTRACT:
                    key = frozenset(self.sg.possible_types(name))
                    self._abstract_by_types.setdefault(key, name)
        return self._abstract_by_types.get(types) or "|".join(sorted(types))

    def _printed_field_type(self, type_name: str, field_name: str) -> str | None:
        try:
            return str(self.qg.field_type(type_name, field_name))
        except KeyError:
            return None

    def _is_composite(self, type_name: str) -> bool:
        model = self.sg.types.get(type_name)
        return model is not None and model.kind in ("OBJECT", *_ABSTRACT)

    def _fresh_alias(self, key: str) -> str:
        return f"_gg{next(self._aliases)}_{key}"

    def _effective_condition(self, g: FetchStep) -> Condition:
        """What a fetch needs beyond its parent's condition (which already gates its data)."""
        own = g.condition or ()
        parent = (g.parent.condition or ()) if g.parent is not None else ()
        return tuple(term for term in own if term not in parent)

    def _fetch_node(
        self, g: FetchStep, operation: Operation, variable_types: dict[str, str], kind: str
    ) -> FetchNode:
        service = self.sg.subgraphs[g.graph].name
        inputs = tuple(
            EntityInput(
                runtime_types=frozenset(i.runtime_types),
                typename=i.typename,
                fields=fields,
                printed=f"... on {cond} " + _print_reps(fields, type_name=self._condition_name),
                flat=(
                    tuple((f.name, f.key) for f in fields)
                    if all(f.sub is None and not f.optional for f in fields)
                    else None
                ),
                key_names=i.key_names,
            )
            for cond, i in g.inputs.items()
            for fields in [tuple(f.finish(self._renames) for f in i.fields)]
        )
        used_aliases = _aliases(g.selection)
        contexts = tuple(
            ContextInput(c.variable, c.depth, tuple(f.finish(self._renames) for f in c.fields))
            for c in g.context_inputs
        )
        if contexts:
            variable_types = {**variable_types, **{c.variable: c.type for c in g.context_inputs}}
        node = FetchNode(
            service=service,
            graph=g.graph,
            selection=g.selection,
            variable_definitions=variable_types,
            operation_name=(
                f"{operation.name}__{_safe(service)}__{g.id}" if operation.name else ""
            ),
            operation_kind="mutation" if (kind == "mutation" and not g.is_entity) else "query",
            inputs=inputs,
            renames={a: k for a, k in self._renames.items() if a in used_aliases},
            context_inputs=contexts,
            id=g.id,
        )
        node.render()
        return node


def _aliases(selection: SelectionSet, out: set[str] | None = None) -> set[str]:
    out = set() if out is None else out
    for item in selection.items.values():
        if isinstance(item, FieldSel) and item.alias:
            out.add(item.alias)
        if item.sub is not None:
            _aliases(item.sub, out)
    return out


def _fetch_count(node: PlanNode | None) -> tuple[int, int]:
    """Fetches in a plan tree, and the most of them that run one after another."""
    if node is None:
        return 0, 0
    if isinstance(node, FetchNode):
        return 1, 1
    if isinstance(node, FlattenNode):
        return _fetch_count(node.node)
    if isinstance(node, ConditionNode):
        a, b = _fetch_count(node.if_clause), _fetch_count(node.else_clause)
        return a[0] + b[0], max(a[1], b[1])
    counts = [_fetch_count(n) for n in node.nodes]
    total = sum(c[0] for c in counts)
    if isinstance(node, SequenceNode):
        return total, sum(c[1] for c in counts)
    return total, max((c[1] for c in counts), default=0)


def _at_this_position(parent_type: str, wants: list[Want | WantFragment]) -> Iterable[Want]:
    """The fields planned on these very objects: those of fragments on the same type (or
    with no type condition) included."""
    for w in wants:
        if isinstance(w, Want):
            yield w
        elif w.type_condition is None or w.type_condition == parent_type:
            yield from _at_this_position(parent_type, w.sub)


def _needed_steps_run(steps: Sequence[FetchStep]) -> None:
    """A step runs whenever a step that cannot go without its data runs: its @skip/@include
    condition keeps only the terms it shares with each of those (a key fetched first for a
    skipped field and then reused by an unconditional one must not stay under the skip).
    Requirements of conditional fields are left alone: representations go without them."""
    changed = True
    while changed:
        changed = False
        for step in steps:
            mine = step.condition or ()
            for dep in step.needs:
                if dep.condition and any(term not in mine for term in dep.condition):
                    dep.condition = tuple(term for term in dep.condition if term in mine)
                    changed = True


def _print_reps(
    fields: Iterable[RepField],
    indent: int = 0,
    typename: bool = True,
    type_name: Callable[[frozenset[str]], str] = lambda types: "|".join(sorted(types)),
) -> str:
    """The representation's fields as the plan text shows them; `type_name` names the type
    condition of fields read only from objects of some types."""
    pad = "  " * indent
    lines = ["__typename"] if typename else []
    conditioned: dict[frozenset[str], list[RepField]] = {}
    for f in fields:
        if f.only is None:
            sub = " " + _print_reps(f.sub, indent + 1, True, type_name) if f.sub else ""
            lines.append(f.name + sub)
        else:
            conditioned.setdefault(f.only, []).append(f)
    for types, group in conditioned.items():
        # fields read only from objects of some types print under a fragment on those types
        plain = [replace(f, only=None) for f in group]
        inner = _print_reps(plain, indent + 1, False, type_name)
        lines.append("... on " + type_name(types) + " " + inner)
    return "{\n" + "\n".join(pad + "  " + line for line in lines) + "\n" + pad + "}"


def _condition_directives(w: Want) -> list[DirectiveNode]:
    """`@skip`/`@include` for the terms of the want's condition that its own directives do
    not express. The enclosing field's condition is not taken for granted: another selection
    of that field without it may have merged with it in the subgraph operation."""
    own = {
        (arg.value.name.value, d.name.value == "include")
        for d in w.directives
        if d.name.value in ("skip", "include")
        for arg in d.arguments or ()
        if isinstance(arg.value, VariableNode)
    }
    return [
        DirectiveNode(
            name=NameNode(value="include" if include else "skip"),
            arguments=(
                ArgumentNode(
                    name=NameNode(value="if"), value=VariableNode(name=NameNode(value=name))
                ),
            ),
        )
        for name, include in w.condition
        if (name, include) not in own
    ]


def _holds_key(target: SelectionSet, key: SelectionSetNode) -> bool:
    """Does this selection already fetch `__typename` and the key's top-level fields?"""
    return "__typename" in target.items and all(
        isinstance(s, FieldNode) and s.name.value in target.items for s in key.selections
    )


def _key_mentions(key: SelectionSetNode, field_name: str) -> bool:
    return any(isinstance(s, FieldNode) and s.name.value == field_name for s in key.selections)


def _narrow(provided: SelectionSetNode | None, type_name: str) -> SelectionSetNode | None:
    """The part of a `@provides` selection that applies inside `... on type_name`."""
    if provided is None:
        return None
    selections: list[SelectionNode] = []
    for sel in provided.selections:
        if isinstance(sel, InlineFragmentNode):
            cond = sel.type_condition.name.value if sel.type_condition else None
            if cond in (None, type_name):
                selections.extend(sel.selection_set.selections)
        else:
            selections.append(sel)
    return SelectionSetNode(selections=tuple(selections))


def _provided(
    provided: SelectionSetNode | None, name: str
) -> SelectionSetNode | None | Literal[False]:
    """False when `name` is not provided; else the provided sub-selection (None for a leaf)."""
    if provided is None:
        return False
    for sel in provided.selections:
        if isinstance(sel, FieldNode) and sel.name.value == name:
            return sel.selection_set
    return False


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


__all__ = ["PlanningError", "QueryPlanner"]
