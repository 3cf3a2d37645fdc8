"""Partitioned subgraphs: one subgraph of the supergraph served by many shards.

The gateway's own extension to federation. Routing is declared in configuration
(`[partitions.<subgraph>]`), never coded per field: a root field goes to the
shards its partition arguments name (all shards when it names none), entity
representations are grouped by the partition key field in their key (those
without one fan out to every shard), and lists from several shards are merged —
globally sorted and limited where a merge rule says so. A failed, slow or
circuit-broken shard costs only its own part of the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    FieldNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    value_from_ast_untyped,
)
from graphql.pyutils import Undefined

from gateway.config import GatewayConfig, MergeRule, PartitionConfig
from gateway.executor import ExecutionContext
from gateway.planner.fetch_graph import parallel, sequence
from gateway.planner.graph import list_depth
from gateway.planner.plan import (
    ConditionNode,
    EntityInput,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    RepField,
    SequenceNode,
    TopField,
)
from gateway.planner.selection import FieldSel, FragmentSel, SelectionSet
from gateway.telemetry import FetchObservation, Telemetry
from gateway.upstream import Call, SubgraphFailure, Upstream
from schema.supergraph import Supergraph

PARTITION_REQUIRED = "PARTITION_REQUIRED"
# the response key of a merge rule's sort field: names starting with "__" are the gateway's own
_SORT_ALIAS = "__gg_sort"
PARTITION_UNKNOWN = "PARTITION_UNKNOWN"


class _Refused(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error


@dataclass(frozen=True, slots=True)
class _Cut:
    """A contributed field cut from a fetch: where it was, on which type, and the response
    keys under which the fetch now reads the entity's key fields there."""

    inner: tuple[str, ...]
    type_name: str
    field: FieldSel
    keys: dict[str, str]


@dataclass(frozen=True, slots=True)
class ArgumentPath:
    """An argument that names a partition: `input.regionCode` is read from argument
    `input` (`head`), then its field `regionCode` (`rest`)."""

    path: str
    head: str
    rest: tuple[str, ...]
    kind: str  # "key": the value is a partition key; "prefix": it starts with one

    @classmethod
    def parse(cls, path: str, kind: str) -> ArgumentPath:
        """Split once, at start-up, what every root fetch reads."""
        head, *rest = path.split(".")
        return cls(path, head, tuple(rest), kind)


@dataclass(slots=True)
class _ShardResult:
    key: str
    response: dict[str, Any] | None
    failure: SubgraphFailure | None


class PartitionRouter:
    """Sends the fetches of one partitioned subgraph to its shards and merges their answers."""

    def __init__(
        self,
        partition: PartitionConfig,
        graph: str,
        upstream: Upstream,
        schema: GraphQLSchema,
        config: GatewayConfig,
        supergraph: Supergraph,
        telemetry: Telemetry | None = None,
    ) -> None:
        if not partition.shards:
            raise ValueError(f"partitions.{partition.subgraph} lists no shards")
        self.partition = partition
        self.graph = graph
        self.service = partition.subgraph
        self.upstream = upstream
        self.schema = schema
        self.config = config
        self.supergraph = supergraph
        self._contributed = frozenset(_coordinate(c) for c in partition.contributed)
        self.keys = tuple(partition.shards)
        self._order = {k: i for i, k in enumerate(self.keys)}
        self.telemetry = telemetry or Telemetry(config)
        self.guards = {k: upstream.shard_guard(graph, k, partition) for k in self.keys}
        self._argument_paths = [
            ArgumentPath.parse(path, kind) for path, kind in partition.arguments.items()
        ]
        self.query_type = schema.query_type.name if schema.query_type else "Query"
        self.mutation_type = schema.mutation_type.name if schema.mutation_type else "Mutation"

    def prepare(self, plan: QueryPlan) -> QueryPlan:
        """Adapt a finished plan to this partitioned subgraph: a root fetch per root field
        (each routes on its own arguments), and the sort fields of merge rules fetched under
        internal aliases that no client key can collide with."""
        return QueryPlan(self._prepare_node(plan.node))

    def _prepare_node(self, node: PlanNode | None) -> PlanNode | None:
        if node is None:
            return None
        if isinstance(node, FetchNode):
            if node.graph != self.graph:
                return node
            steps = [self._with_contributions(part, [()], part) for part in self._split_root(node)]
            if node.operation_kind == "mutation":
                return sequence(steps)
            return parallel(steps)
        if isinstance(node, FlattenNode):
            if node.node.graph != self.graph:
                return node
            fetch = replace(
                node.node, selection=node.node.selection.copy(), sort_keys=dict(node.node.sort_keys)
            )
            return self._with_contributions(fetch, list(node.paths), replace(node, node=fetch))
        if isinstance(node, SequenceNode) and self._splits(node.nodes[0]):
            return self._prepare_split_sequence(node)
        if isinstance(node, (SequenceNode, ParallelNode)):
            children = [c for c in map(self._prepare_node, node.nodes) if c is not None]
            return sequence(children) if isinstance(node, SequenceNode) else parallel(children)
        if isinstance(node, ConditionNode):
            return ConditionNode(
                node.condition,
                self._prepare_node(node.if_clause),
                self._prepare_node(node.else_clause),
            )
        return node

    def _splits(self, node: PlanNode) -> bool:
        """A query's root fetch to this subgraph with several root fields (split per field)."""
        return (
            isinstance(node, FetchNode)
            and node.graph == self.graph
            and node.operation_kind != "mutation"
            and len(node.selection.items) > 1
        )

    def _prepare_split_sequence(self, node: SequenceNode) -> PlanNode | None:
        """A split root fetch and the fetches after it: each branch that reads only below one
        root field follows that field's own fetch, so it does not wait for the others (a
        scatter to every shard beside a fetch to one)."""
        first, *rest = node.nodes
        assert isinstance(first, FetchNode)
        split = self._split_root(first)
        heads: dict[str, list[PlanNode]] = {}
        firsts: list[PlanNode] = []
        for part in split:
            firsts.append(self._with_contributions(part, [()], part))
            key = part.root_fields[0].response_key
            heads[part.renames.get(key, key)] = []
        unattributed: list[PlanNode] = []
        if rest:
            following = rest[0]
            branches = following.nodes if isinstance(following, ParallelNode) else [following]
            for branch in branches:
                prepared = self._prepare_node(branch)
                if prepared is None:
                    continue
                reads = _path_heads(branch)
                if reads is not None and len(reads) == 1 and next(iter(reads)) in heads:
                    heads[next(iter(reads))].append(prepared)
                else:
                    unattributed.append(prepared)
        per_field: list[PlanNode] = []
        for head, attributed in zip(firsts, heads.values(), strict=True):
            after_head = parallel(attributed)
            if after_head is None:
                per_field.append(head)
            else:
                per_field.append(sequence([head, after_head]) or head)
        steps = [parallel(per_field), parallel(unattributed)]
        steps += [self._prepare_node(n) for n in rest[1:]]
        return sequence([n for n in steps if n is not None])

    def _with_contributions(
        self, fetch: FetchNode, paths: list[tuple[str, ...]], node: PlanNode
    ) -> PlanNode:
        """Finish one fetch of this subgraph: fields every shard contributes to move to entity
        fetches of their own, run after it (they go to every shard, the fetch may not), and
        merge rules' sort fields are added under their internal alias."""
        moved: list[PlanNode] = []
        # the fields cut at one object go together: one fetch to every shard, not one each
        at: dict[tuple[tuple[str, ...], str], list[_Cut]] = {}
        for cut in self._cut_contributed(fetch):
            at.setdefault((cut.inner, cut.type_name), []).append(cut)
        for (inner, type_name), cuts in at.items():
            contributed = self._contribution_fetch(fetch, type_name, cuts, len(moved))
            self._add_sort_fields(contributed)
            contributed.render()
            entity_paths = [path + inner for path in paths]
            moved.append(FlattenNode(entity_paths[0], contributed, tuple(entity_paths[1:])))
        self._add_sort_fields(fetch)
        fetch.render()
        after = parallel(moved)
        return node if after is None else (sequence([node, after]) or node)

    def _cut_contributed(self, fetch: FetchNode) -> list[_Cut]:
        """Take contributed fields out of a fetch (its own entity level excepted), leaving the
        entity's key in their place; returns where each was, on which type, and the field."""
        cut: list[_Cut] = []
        if not self._contributed:
            return cut

        def walk(
            selection: SelectionSet, type_name: str, inner: tuple[str, ...], entity_level: bool
        ) -> None:
            for key, item in list(selection.items.items()):
                if isinstance(item, FragmentSel):
                    walk(item.sub, item.type_condition or type_name, inner, entity_level)
                    continue
                if (type_name, item.name) in self._contributed and not entity_level:
                    key_fields = self._flat_key(type_name)
                    if key_fields is not None:
                        del selection.items[key]
                        selection.add_field("__typename", None, internal=True)
                        keys = {  # a client field may hold a key field's name: read the alias
                            name: selection.add_field(name, None, internal=True).response_key
                            for name in key_fields
                        }
                        cut.append(_Cut(inner, type_name, item, keys))
                        continue
                if item.sub is None:
                    continue
                gtype = self.schema.get_type(type_name)
                if not isinstance(gtype, (GraphQLObjectType, GraphQLInterfaceType)):
                    continue
                fdef = gtype.fields.get(item.name)
                if fdef is None:
                    continue
                data_key = fetch.renames.get(item.response_key, item.response_key)
                walk(
                    item.sub,
                    get_named_type(fdef.type).name,
                    inner + (data_key,) + ("@",) * list_depth(fdef.type),
                    False,
                )

        if fetch.inputs:
            walk(fetch.selection, "", (), True)
        else:
            root = self.mutation_type if fetch.operation_kind == "mutation" else self.query_type
            walk(fetch.selection, root, (), False)
        return cut

    def _flat_key(self, type_name: str) -> list[str] | None:
        """The fields of the entity's first key in this subgraph, when they are all plain."""
        model = self.supergraph.types.get(type_name)
        keys = model.resolvable_keys_in(self.graph) if model is not None else []
        if not keys or keys[0].key is None:
            return None
        names = []
        for sel in keys[0].key.selections:
            if not isinstance(sel, FieldNode) or sel.selection_set is not None:
                return None
            names.append(sel.name.value)
        return names

    def _contribution_fetch(
        self, fetch: FetchNode, type_name: str, cuts: list[_Cut], n: int
    ) -> FetchNode:
        """The entity fetch, to every shard, of contributed fields cut from `fetch`."""
        keys = cuts[0].keys
        key_fields = list(keys)
        selection = SelectionSet()
        fragment = selection.fragment(type_name)
        for cut in cuts:
            fragment.items[cut.field.response_key] = cut.field
        runtime = frozenset(self.supergraph.possible_types(type_name)) | {type_name}
        reps = tuple(RepField(name, keys[name]) for name in key_fields)
        printed = (
            f"... on {type_name} {{\n  __typename\n"
            + "".join(f"  {name}\n" for name in key_fields)
            + "}"
        )
        return FetchNode(
            service=fetch.service,
            graph=fetch.graph,
            selection=selection,
            variable_definitions=fetch.variable_definitions,
            operation_name=f"{fetch.operation_name}_c{n}" if fetch.operation_name else "",
            inputs=(
                EntityInput(
                    runtime_types=runtime,
                    typename=None,
                    fields=reps,
                    printed=printed,
                    flat=tuple((name, keys[name]) for name in key_fields),
                    key_names=tuple(key_fields),
                ),
            ),
            renames=fetch.renames,
            id=fetch.id,
        )

    def _split_root(self, fetch: FetchNode) -> list[FetchNode]:
        items = list(fetch.selection.items.items())
        if len(items) <= 1:
            return [
                replace(fetch, selection=fetch.selection.copy(), sort_keys=dict(fetch.sort_keys))
            ]
        parts = []
        for n, (key, item) in enumerate(items):
            selection = SelectionSet({key: item}).copy()
            name = f"{fetch.operation_name}_{n}" if fetch.operation_name else ""
            parts.append(
                replace(
                    fetch,
                    selection=selection,
                    operation_name=name,
                    sort_keys=dict(fetch.sort_keys),
                )
            )
        return parts

    def _add_sort_fields(self, fetch: FetchNode) -> None:
        """Fetch each merge rule's sort field under an internal alias; remember the alias."""
        sort_keys: dict[str, str] = {}
        if fetch.inputs:
            for item in fetch.selection.items.values():
                if isinstance(item, FragmentSel) and item.type_condition:
                    self._sort_fields_in(item.sub, item.type_condition, sort_keys)
        else:
            root = self.mutation_type if fetch.operation_kind == "mutation" else self.query_type
            self._sort_fields_in(fetch.selection, root, sort_keys)
        if sort_keys:
            fetch.sort_keys = sort_keys

    def _sort_fields_in(
        self, selection: SelectionSet, type_name: str, sort_keys: dict[str, str]
    ) -> None:
        fields = self._fields_of(type_name)
        for item in selection.items.values():
            if isinstance(item, FragmentSel):
                self._sort_fields_in(item.sub, item.type_condition or type_name, sort_keys)
                continue
            if item.sub is None or item.name not in fields:
                continue
            coordinate = f"{type_name}.{item.name}"
            rule = self.partition.merge.get(coordinate)
            if rule is not None and rule.sort:
                added = item.sub.add_field(rule.sort, _SORT_ALIAS, internal=True)
                sort_keys.setdefault(coordinate, added.response_key)
            self._sort_fields_in(item.sub, get_named_type(fields[item.name].type).name, sort_keys)

    def key_for(self, value: Any, kind: str) -> str | None:
        """The partition key a value names, or None when no shard serves it."""
        if value is None:
            return None
        text = str(value)
        p = self.partition
        if kind == "key":
            if text in self.partition.shards:
                return text
            if p.prefix_length and len(text) == p.prefix_length:
                candidate = text + p.key_suffix
                return candidate if candidate in p.shards else None
            return None
        if p.prefix_length and len(text) >= p.prefix_length:
            candidate = text[: p.prefix_length] + p.key_suffix
            return candidate if candidate in p.shards else None
        return None

    def fanout(self, fetch: FetchNode, variables: dict[str, Any]) -> int:
        """How many shards the fetch may go to with these variables (at most all)."""
        if fetch.is_entity_fetch or fetch.operation_kind == "mutation":
            return 1 if fetch.operation_kind == "mutation" else len(self.keys)
        try:
            wanted = self._root_partitions(fetch, variables)
        except _Refused:
            return 1
        return len(self.keys) if wanted is None else len(wanted)

    def _root_partitions(self, fetch: FetchNode, variables: dict[str, Any]) -> list[str] | None:
        """Shards a root fetch goes to; None means every shard."""
        wanted: list[str] = []
        named = False
        for top in fetch.root_fields:
            args = {a.name.value: a.value for a in top.arguments}
            for argument in self._argument_paths:
                if argument.head not in args:
                    continue
                value: Any = value_from_ast_untyped(args[argument.head], variables)
                for part in argument.rest:
                    value = value.get(part) if isinstance(value, dict) else None
                if value is None:
                    continue
                named = True
                for v in value if isinstance(value, list) else [value]:
                    key = self.key_for(v, argument.kind)
                    if key is None:
                        raise _Refused(
                            self._error(
                                PARTITION_UNKNOWN,
                                None,
                                f'No shard of subgraph "{self.service}" serves '
                                f"{top.name}({argument.path}: {orjson.dumps(v).decode()}); "
                                f"its {len(self.keys)} partitions run from "
                                f"{self.keys[0]} to {self.keys[-1]}.",
                                path=[top.response_key],
                            )
                        )
                    if key not in wanted:
                        wanted.append(key)
        if not named:
            return None
        return wanted

    # ---- transport -------------------------------------------------------------

    async def send(
        self,
        fetch: FetchNode,
        variables: dict[str, Any],
        representations: list[dict[str, Any]] | None,
        ctx: ExecutionContext,
    ) -> dict[str, Any]:
        """The executor's `SendFetch` for this subgraph: the answer of every shard asked,
        merged into one response map as if one subgraph had answered."""
        if representations is None:
            return await self._send_root(fetch, variables, ctx)
        return await self._send_entities(fetch, variables, representations, ctx)

    async def _send_root(
        self, fetch: FetchNode, variables: dict[str, Any], ctx: ExecutionContext
    ) -> dict[str, Any]:
        try:
            keys = self._root_partitions(fetch, variables)
        except _Refused as refused:
            return {"data": None, "errors": [refused.error]}
        first_key = [fetch.root_fields[0].response_key] if fetch.root_fields else None
        if fetch.operation_kind == "mutation" and (keys is None or len(keys) != 1):
            fields = ", ".join(top.name for top in fetch.root_fields)
            how = ", ".join(self.partition.arguments) or "a partition argument"
            reason = "names no partition" if keys is None else f"names {len(keys)} partitions"
            return {
                "data": None,
                "errors": [
                    self._error(
                        PARTITION_REQUIRED,
                        None,
                        f"Mutation {fields} {reason}: a write goes to exactly one shard of "
                        f'"{self.service}"; give one of {how}. No shard was called.',
                        path=first_key,
                    )
                ],
            }
        targets = list(self.keys) if keys is None else keys
        body = orjson.dumps({"query": fetch.operation, "variables": variables})
        results = await self._scatter(
            {k: body for k in targets}, ctx, idempotent=fetch.operation_kind != "mutation"
        )
        if len(results) == 1 and results[0].response is not None:
            return self._tag(results[0].response, results[0].key)
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        answered: list[dict[str, Any]] = []
        for r in results:
            if r.failure is not None:
                errors.append(self._failure_error(r, first_key))
            else:
                assert r.response is not None
                answered.append(r.response)
                errors.extend(self._tag(r.response, r.key).get("errors", []))
        root_type = self.mutation_type if fetch.operation_kind == "mutation" else self.query_type
        if answered:
            for top in fetch.root_fields:
                values = [_data_field(response, top.response_key) for response in answered]
                data[top.response_key] = self._combine(
                    root_type, top.name, top.arguments, values, variables, fetch
                )
        out: dict[str, Any] = {"data": data if answered else None}
        if errors:
            out["errors"] = errors
        return out

    async def _send_entities(
        self,
        fetch: FetchNode,
        variables: dict[str, Any],
        representations: list[dict[str, Any]],
        ctx: ExecutionContext,
    ) -> dict[str, Any]:
        targeted: dict[str, list[int]] = {}
        fan_out: list[int] = []
        errors: list[dict[str, Any]] = []
        for i, rep in enumerate(representations):
            typename = rep.get("__typename")
            key_field = self.partition.key_field
            if isinstance(typename, str):
                key_field = self.partition.entity_key_fields.get(typename, key_field)
            value = rep.get(key_field) if key_field else None
            if value is None:
                fan_out.append(i)
                continue
            key = self.key_for(value, "key")
            if key is None:
                errors.append(
                    self._error(
                        PARTITION_UNKNOWN,
                        None,
                        f'No shard of subgraph "{self.service}" serves {typename} with '
                        f"{key_field} {orjson.dumps(value).decode()}.",
                        path=["_entities", i],
                    )
                )
                continue
            targeted.setdefault(key, []).append(i)
        plan: dict[str, list[int]] = {}
        for key in self.keys if fan_out else targeted:
            plan[key] = targeted.get(key, []) + fan_out
        bodies = {
            key: orjson.dumps(
                {
                    "query": fetch.operation,
                    "variables": {
                        **variables,
                        "representations": [representations[i] for i in idx],
                    },
                }
            )
            for key, idx in plan.items()
        }
        results = await self._scatter(bodies, ctx)
        entities: list[Any] = [None] * len(representations)
        contributions: dict[int, list[dict[str, Any]]] = {i: [] for i in fan_out}
        for r in results:
            idx = plan[r.key]
            if r.failure is not None:
                errors.append(self._failure_error(r, None))
                continue
            assert r.response is not None
            data = r.response.get("data")
            got = data.get("_entities") if isinstance(data, dict) else None
            if not isinstance(got, list) or len(got) != len(idx):
                bad = SubgraphFailure(
                    "SUBGRAPH_BAD_RESPONSE",
                    self.service,
                    f'Shard "{r.key}" of subgraph "{self.service}" returned no matching '
                    f"_entities list.",
                )
                errors.append(self._failure_error(_ShardResult(r.key, None, bad), None))
                continue
            for j, entity in enumerate(got):
                i = idx[j]
                if i in contributions:
                    if isinstance(entity, dict):
                        contributions[i].append(entity)
                else:
                    entities[i] = entity
            for error in r.response.get("errors") or ():
                if not isinstance(error, dict):
                    continue
                error = self._tag_error(error, r.key)
                path = error.get("path")
                if (
                    isinstance(path, list)
                    and len(path) >= 2
                    and path[0] == "_entities"
                    and isinstance(path[1], int)
                    and 0 <= path[1] < len(idx)
                ):
                    error["path"] = ["_entities", idx[path[1]], *path[2:]]
                errors.append(error)
        for i, parts in contributions.items():
            if parts:
                typename = representations[i].get("__typename")
                fields: tuple[TopField, ...] = ()
                if isinstance(typename, str):
                    fields = fetch.entity_fields.get(typename, ())
                if not fields:
                    fields = next(iter(fetch.entity_fields.values()), ())
                entities[i] = self._combine_entities(typename, parts, fields, variables, fetch)
        out: dict[str, Any] = {"data": {"_entities": entities}}
        if errors:
            out["errors"] = errors
        return out

    async def _scatter(
        self, bodies: dict[str, bytes], ctx: ExecutionContext, idempotent: bool = True
    ) -> list[_ShardResult]:
        """One request per shard, all in flight at once; results in the order of `bodies`.

        The requests are started without a task each and awaited together: a scatter's cost
        is per shard, so per-shard overhead is what it saves.
        """
        await self.upstream.start()
        started: dict[str, Call] = {}
        observed: dict[str, FetchObservation] = {}
        skipped: dict[str, _ShardResult] = {}
        for key, body in bodies.items():
            guard = self.guards[key]
            fetch = self.telemetry.fetch(self.service, key)
            call = self.upstream.begin(
                guard,
                self.partition.shards[key],
                body,
                fetch.headers(ctx.headers),
                ctx.deadline,
                idempotent,
            )
            if call is not None:
                started[key] = call
                observed[key] = fetch
                call.request.add_done_callback(fetch.done)
            else:
                self.telemetry.breaker_skipped(self.service, key)
                what = f'Shard "{key}" of subgraph "{self.service}"'
                skipped[key] = _ShardResult(
                    key, None, self.upstream.skipped(guard, self.service, what)
                )
        if started:
            # asyncio.wait never cancels what it waits for: another caller may share a request
            try:
                await asyncio.wait(
                    [call.request for call in started.values()],
                    timeout=max(0.001, ctx.remaining()),
                )
            except BaseException:
                for call in started.values():
                    call.abandon()
                raise
        results: list[_ShardResult] = []
        for key in bodies:
            if key in skipped:
                results.append(skipped[key])
                continue
            try:
                response = self.upstream.settle(started[key], f"{self.service}[{key}]")
            except SubgraphFailure as failure:
                observed[key].finish(failure)
                failure.service = self.service
                results.append(_ShardResult(key, None, failure))
                continue
            observed[key].finish(None)
            results.append(_ShardResult(key, response, None))
        report = ctx.extensions.setdefault("partitions", {}).setdefault(
            self.service, {"answered": [], "failed": []}
        )
        for r in results:
            bucket = report["answered"] if r.response is not None else report["failed"]
            if r.key not in bucket:
                bucket.append(r.key)
        for bucket in report.values():
            bucket.sort(key=self._order.__getitem__)
        return results

    # ---- merging ---------------------------------------------------------------

    def _rule(self, type_name: str, field_name: str) -> MergeRule | None:
        return self.partition.merge.get(f"{type_name}.{field_name}")

    def _combine(
        self,
        type_name: str,
        field_name: str,
        arguments: Iterable[ArgumentNode],
        values: list[Any],
        variables: dict[str, Any],
        fetch: FetchNode,
    ) -> Any:
        present = [v for v in values if v is not None]
        if not present:
            return None
        if all(isinstance(v, list) for v in present):
            merged = [item for v in present for item in v]
            return self._ordered(type_name, field_name, arguments, merged, variables, fetch)
        return present[0]

    def _combine_entities(
        self,
        typename: Any,
        parts: list[dict[str, Any]],
        fields: Iterable[TopField],
        variables: dict[str, Any],
        fetch: FetchNode,
    ) -> dict[str, Any]:
        tops = {top.response_key: top for top in fields}
        out: dict[str, Any] = {}
        for part in parts:
            for key, value in part.items():
                if key not in out or out[key] is None:
                    out[key] = value
                elif isinstance(out[key], list) and isinstance(value, list):
                    out[key] = out[key] + value
        for key, top in tops.items():
            if isinstance(out.get(key), list):
                out[key] = self._ordered(
                    str(typename), top.name, top.arguments, out[key], variables, fetch
                )
        return out

    def _ordered(
        self,
        type_name: str,
        field_name: str,
        arguments: Iterable[ArgumentNode],
        items: list[Any],
        variables: dict[str, Any],
        fetch: FetchNode,
    ) -> list[Any]:
        rule = self._rule(type_name, field_name)
        if rule is None:
            return items
        if rule.sort:
            sort = fetch.sort_keys.get(f"{type_name}.{field_name}", rule.sort)
            present = [i for i in items if isinstance(i, dict) and i.get(sort) is not None]
            missing = [i for i in items if not (isinstance(i, dict) and i.get(sort) is not None)]
            present.sort(key=lambda i: i[sort], reverse=rule.descending)
            items = present + missing
        if rule.limit_argument:
            limit = self._argument(type_name, field_name, arguments, rule.limit_argument, variables)
            if isinstance(limit, int) and limit >= 0:
                items = items[:limit]
        return items

    def _argument(
        self,
        type_name: str,
        field_name: str,
        arguments: Iterable[ArgumentNode],
        name: str,
        variables: dict[str, Any],
    ) -> Any:
        for arg in arguments:
            if arg.name.value == name:
                return value_from_ast_untyped(arg.value, variables)
        fdef = self._fields_of(type_name).get(field_name)
        if fdef is not None and name in fdef.args:
            default = fdef.args[name].default_value
            return None if default is Undefined else default
        return None

    def _fields_of(self, type_name: str) -> dict[str, GraphQLField]:
        gtype = self.schema.get_type(type_name)
        if not isinstance(gtype, (GraphQLObjectType, GraphQLInterfaceType)):
            return {}
        fields: dict[str, GraphQLField] = gtype.fields  # graphql-core's cached_property
        return fields

    # ---- errors ----------------------------------------------------------------

    def _error(
        self, code: str, key: str | None, message: str, path: list[Any] | None = None
    ) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": code, "serviceName": self.service}
        if key is not None:
            extensions["partitionKey"] = key
        error: dict[str, Any] = {"message": message, "extensions": extensions}
        if path is not None:
            error["path"] = path
        return error

    def _failure_error(self, result: _ShardResult, path: list[Any] | None) -> dict[str, Any]:
        failure = result.failure
        assert failure is not None
        message = failure.message
        label = f'"{self.service}[{result.key}]"'
        if label in message:
            message = message.replace(label, f'"{self.service}" (partition {result.key})')
        error = failure.to_error(path)
        error["message"] = message
        error["extensions"]["partitionKey"] = result.key
        return error

    def _tag(self, response: dict[str, Any], key: str) -> dict[str, Any]:
        errors = response.get("errors")
        if not errors:
            return response
        tagged = [self._tag_error(e, key) for e in errors if isinstance(e, dict)]
        return {**response, "errors": tagged}

    def _tag_error(self, error: dict[str, Any], key: str) -> dict[str, Any]:
        extensions = error.get("extensions")
        extensions = dict(extensions) if isinstance(extensions, dict) else {}
        extensions.setdefault("serviceName", self.service)
        extensions["partitionKey"] = key
        return {**error, "extensions": extensions}


def _coordinate(coordinate: str) -> tuple[str, str]:
    """("Type", "field") of a "Type.field" coordinate (configuration checked the dot)."""
    type_name, _, field_name = coordinate.partition(".")
    return type_name, field_name


def _data_field(response: dict[str, Any], response_key: str) -> Any:
    """One root field of a shard's answer; None when the shard sent no data object."""
    data = response.get("data")
    return data.get(response_key) if isinstance(data, dict) else None


def _path_heads(node: PlanNode | None) -> set[str] | None:
    """The first segments of every Flatten path in a plan subtree; None when it holds a root
    fetch (which reads nothing below a root field)."""
    if node is None:
        return set()
    if isinstance(node, FlattenNode):
        return {path[0] for path in node.paths if path}
    if isinstance(node, FetchNode):
        return None
    children: list[PlanNode | None]
    if isinstance(node, ConditionNode):
        children = [node.if_clause, node.else_clause]
    else:
        children = list(node.nodes)
    heads: set[str] = set()
    for child in children:
        found = _path_heads(child)
        if found is None:
            return None
        heads |= found
    return heads
