"""The fetch-dependency graph: fetch steps, what each waits for, and its plan tree.

A step is one subgraph operation (a root fetch, or an `_entities` fetch at a path).
It depends on the steps its inputs come from — its parent, and the steps that fetch
its key or `@requires` fields. The plan tree is laid out per branch: a step waits
only for the steps it depends on, never for a whole "level" of unrelated fetches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from graphql import SelectionSetNode

from gateway.planner.operation import Condition
from gateway.planner.plan import ParallelNode, PlanNode, RepField, SequenceNode
from gateway.planner.selection import FieldSel, SelectionSet


class PlanningError(Exception):
    """The operation cannot be split over the subgraphs; the message names what failed."""


class PlanningLimitError(PlanningError):
    """Planning the operation would take more work than the gateway allows."""


@dataclass(slots=True, eq=False)
class RepSource:
    """A representation field while planning: read from `field`, whose response key may still
    change (a planner field moves to an alias when a client field needs its key)."""

    name: str
    field: FieldSel
    sub: tuple[RepSource, ...] | None = None
    optional: bool = False  # under a type condition: absent for other types
    # under a type condition: read only from objects of these types (another type may hold a
    # field of the same key, e.g. another type's `title` that a sibling selection fetched)
    only: frozenset[str] | None = None

    def finish(self, renames: Mapping[str, str]) -> RepField:
        """The field as the plan keeps it, once response keys no longer move: read under the
        key it has in the merged data (after `renames`, alias -> client key)."""
        sub = tuple(s.finish(renames) for s in self.sub) if self.sub is not None else None
        key = self.field.response_key
        return RepField(self.name, renames.get(key, key), sub, self.optional, self.only)

    def same(self, other: RepSource) -> bool:
        """The same representation field: one name read from the very same selection."""
        return self.name == other.name and self.field is other.field


@dataclass(slots=True)
class ContextSource:
    """An argument value read from an ancestor that sets a context (`@fromContext`)."""

    variable: str  # the variable the subgraph operation receives it in
    type: str  # its GraphQL type, for the variable's definition
    depth: int  # the ancestor is the object this many path segments from the root
    fields: list[RepSource]  # the context's selection, read on the ancestor


@dataclass(slots=True)
class StepInput:
    """How the representations of one entity fetch are read from the data of an earlier step."""

    runtime_types: set[str]
    typename: str | None  # sent as __typename instead of the object's (interface objects)
    source_group: FetchStep
    source_target: SelectionSet
    fields: list[RepSource] = field(default_factory=list)
    key_names: tuple[str, ...] = ()  # key fields: an object whose key is null is not fetched
    key: SelectionSetNode | None = None  # the @key the representations are built from


class FetchStep:
    """One subgraph operation being built: its selection, inputs and dependencies."""

    def __init__(
        self, sid: int, graph: str, path: tuple[str, ...], parent: FetchStep | None, is_entity: bool
    ) -> None:
        self.id = sid
        self.graph = graph
        self.path = path
        self.parent = parent
        self.is_entity = is_entity
        self.selection = SelectionSet()
        self.inputs: dict[str, StepInput] = {}  # type condition in the subgraph -> input
        self.context_inputs: list[ContextSource] = []
        self.depends: set[FetchStep] = set()
        # the steps among `depends` whose data this step cannot go without (its parent, its
        # key fields, unconditional requirements): they run whenever this step runs
        self.needs: set[FetchStep] = set()
        self.children: dict[tuple[str, tuple[str, ...]], FetchStep] = {}
        # further entity fetches to the same subgraph and path, where reusing the first
        # would make steps wait on each other
        self.extra_children: dict[tuple[str, tuple[str, ...]], list[FetchStep]] = {}
        # the @skip/@include condition every use of this step shares (() when unconditional)
        self.condition: Condition | None = None
        # the one concrete type this fetch of an @interfaceObject serves (its fields were
        # asked under `... on That`), or None
        self.restricted_to: str | None = None

    def used_under(self, condition: Condition) -> None:
        """Note one more use: the step keeps only the condition terms every use shares."""
        if self.condition is None:
            self.condition = condition
        elif self.condition != condition:
            self.condition = tuple(term for term in self.condition if term in condition)

    def waits_for(self, steps: Sequence[FetchStep]) -> bool:
        """Does this step depend, directly or not, on any of `steps` (or is it one)?"""
        if not steps:
            return False
        wanted = set(steps)
        seen: set[FetchStep] = set()
        todo = [self]
        while todo:
            step = todo.pop()
            if step in wanted:
                return True
            if step not in seen:
                seen.add(step)
                todo.extend(step.depends)
        return False

    def root(self) -> FetchStep:
        """The root fetch this step descends from."""
        step = self
        while step.parent is not None:
            step = step.parent
        return step

    def __repr__(self) -> str:
        return f"<FetchStep {self.id} {self.graph} {'.'.join(self.path)}>"


@dataclass(slots=True, eq=False)
class LaidOut:
    """A step placed in the plan tree: what runs with it and what runs after it."""

    node: PlanNode | None
    parent: LaidOut | None = None
    children: list[LaidOut] = field(default_factory=list)
    # steps that need several branches below this one: run once those have finished, in stages
    after: list[list[LaidOut]] = field(default_factory=list)
    stage: int = 0  # the stage of `parent.after` this entry is in (for entries of `after`)
    is_after: bool = False


def effective_dependencies(
    steps: Sequence[FetchStep], kept: set[FetchStep]
) -> dict[FetchStep, set[FetchStep]]:
    """Dependencies among the kept steps: a dropped (empty) step passes on its own."""
    memo: dict[FetchStep, set[FetchStep]] = {}

    def resolve(step: FetchStep, trail: frozenset[FetchStep]) -> set[FetchStep]:
        if step in memo:
            return memo[step]
        if step in trail:
            raise PlanningError(
                f"fetch steps depend on each other in a cycle at "
                f"{'.'.join(step.path) or 'the root'}"
            )
        out: set[FetchStep] = set()
        for dep in step.depends:
            if dep is step:
                continue
            if dep in kept:
                out.add(dep)
            else:
                out |= resolve(dep, trail | {step})
        memo[step] = out
        return out

    return {s: resolve(s, frozenset()) for s in steps if s in kept}


def topological(deps: dict[FetchStep, set[FetchStep]]) -> list[FetchStep]:
    """Steps ordered so that each follows what it depends on (creation order among equals)."""
    order: list[FetchStep] = []
    state: dict[FetchStep, int] = {}

    for start in sorted(deps, key=lambda s: s.id):
        if state.get(start) == 2:
            continue
        stack: list[tuple[FetchStep, list[FetchStep]]] = [
            (start, sorted(deps[start], key=lambda s: s.id))
        ]
        state[start] = 1
        while stack:
            step, pending = stack[-1]
            if pending:
                nxt = pending.pop(0)
                mark = state.get(nxt)
                if mark == 1:
                    raise PlanningError(
                        f"fetch steps depend on each other in a cycle at "
                        f"{'.'.join(nxt.path) or 'the root'}"
                    )
                if mark is None:
                    state[nxt] = 1
                    stack.append((nxt, sorted(deps[nxt], key=lambda s: s.id)))
                continue
            stack.pop()
            state[step] = 2
            order.append(step)
    return order


def lay_out(
    order: list[FetchStep],
    deps: dict[FetchStep, set[FetchStep]],
    node_of: Callable[[FetchStep], PlanNode],
) -> PlanNode | None:
    """The plan tree of steps in dependency order: each waits only for its own inputs.

    A step with one dependency runs right after it, in parallel with its siblings. A step
    with several runs as a child of the deepest of them when the others are its ancestors
    in the tree; otherwise after the branches of their nearest common ancestor finish.
    """
    root = LaidOut(None)
    placed: dict[FetchStep, LaidOut] = {}
    for step in order:
        entry = LaidOut(node_of(step))
        placed[step] = entry
        targets = [placed[d] for d in deps[step]]
        if not targets:
            _attach_child(root, entry)
            continue
        deepest = _deepest_covering(targets)
        if deepest is not None:
            _attach_child(deepest, entry)
            continue
        common = _common_ancestor(targets)
        stage = 0
        for target in targets:
            branch = _branch_under(common, target)
            if branch is not None and branch.is_after:
                stage = max(stage, branch.stage + 1)
        entry.parent, entry.is_after, entry.stage = common, True, stage
        while len(common.after) <= stage:
            common.after.append([])
        common.after[stage].append(entry)
    return _build(root)


def _ancestors(entry: LaidOut) -> list[LaidOut]:
    """The entry and everything above it, nearest first."""
    out = []
    node: LaidOut | None = entry
    while node is not None:
        out.append(node)
        node = node.parent
    return out


def _deepest_covering(targets: list[LaidOut]) -> LaidOut | None:
    """The target whose ancestors include every other target, if there is one."""
    for candidate in targets:
        line = set(map(id, _ancestors(candidate)))
        if all(id(t) in line for t in targets):
            return candidate
    return None


def _common_ancestor(targets: list[LaidOut]) -> LaidOut:
    lines = [_ancestors(t) for t in targets]
    shared = set(map(id, lines[0]))
    for line in lines[1:]:
        shared &= set(map(id, line))
    # every entry reaches the root, so something is shared; the nearest one wins
    return next(e for e in lines[0] if id(e) in shared)


def _branch_under(ancestor: LaidOut, entry: LaidOut) -> LaidOut | None:
    """The entry directly under `ancestor` on the way down to `entry`."""
    node: LaidOut | None = entry
    while node is not None and node.parent is not ancestor:
        node = node.parent
    return node


def _attach_child(parent: LaidOut, entry: LaidOut) -> None:
    entry.parent = parent
    parent.children.append(entry)


def _build(entry: LaidOut) -> PlanNode | None:
    steps: list[PlanNode] = []
    if entry.node is not None:
        steps.append(entry.node)
    branch = parallel([n for c in entry.children if (n := _build(c)) is not None])
    if branch is not None:
        steps.append(branch)
    for stage in entry.after:
        nodes = parallel([n for c in stage if (n := _build(c)) is not None])
        if nodes is not None:
            steps.append(nodes)
    return sequence(steps)


def sequence(nodes: list[PlanNode]) -> PlanNode | None:
    """A Sequence of the nodes, nested sequences flattened, a single node as itself."""
    flat: list[PlanNode] = []
    for n in nodes:
        flat.extend(n.nodes if isinstance(n, SequenceNode) else [n])
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else SequenceNode(flat)


def parallel(nodes: list[PlanNode]) -> PlanNode | None:
    """A Parallel of the nodes, nested parallels flattened, a single node as itself."""
    flat: list[PlanNode] = []
    for n in nodes:
        flat.extend(n.nodes if isinstance(n, ParallelNode) else [n])
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else ParallelNode(flat)
