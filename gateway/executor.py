"""Run a query plan: fetches in order and in parallel, results merged into one tree.

Entity fetches collect the objects at their Flatten path, build deduplicated
representations, and merge `_entities` answers back into those objects. Errors
from subgraphs are re-pathed into the client's response paths.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Hashable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Protocol

import orjson

from gateway.outcome import with_retry_key
from gateway.planner.plan import (
    ConditionNode,
    EntityInput,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    RepField,
    SequenceNode,
)
from gateway.upstream import SubgraphFailure

_MISSING = object()


class SendFetch(Protocol):
    """Sends one fetch's operation to its subgraph (or a partition's shards): the executor
    knows plans, not HTTP. Returns the response map, or raises SubgraphFailure."""

    def __call__(
        self,
        fetch: FetchNode,
        variables: dict[str, Any],
        representations: list[dict[str, Any]] | None,
        ctx: ExecutionContext,
    ) -> Awaitable[dict[str, Any]]: ...


class ExecutionContext:
    """One request's state while its plan runs: the response tree and errors built so far."""

    __slots__ = (
        "collected",
        "data",
        "deadline",
        "errors",
        "explained",
        "extensions",
        "headers",
        "mask_errors",
        "object_types",
        "variables",
    )

    def __init__(
        self,
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
        deadline: float,
        object_types: frozenset[str],
    ) -> None:
        self.data: dict[str, Any] = {}
        self.errors: list[dict[str, Any]] = []
        self.variables = variables
        self.headers = headers  # what every subgraph call of this request sends
        self.deadline = deadline
        self.extensions: dict[str, Any] = {}
        # paths whose missing data an error already explains (a failed entity fetch reports
        # once, not once per object): shaping adds no error of its own there
        self.explained: list[list[Any]] = []
        self.object_types = object_types
        # subgraph error messages reach the client as a generic message
        self.mask_errors = False
        # the objects at each Flatten path, kept until data merged above the path changes them
        self.collected: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def objects_at(self, path: tuple[str, ...]) -> list[dict[str, Any]]:
        """The objects at a Flatten path (callers only read the list). The walk starts from
        the longest prefix of the path whose objects are already collected."""
        collected = self.collected
        found = collected.get(path)
        if found is None:
            start, base = 0, [self.data]
            for n in range(len(path) - 1, 0, -1):
                known = collected.get(path[:n])
                if known is not None:
                    start, base = n, known
                    break
            found = collected[path] = collect_from(base, path[start:])
        return found

    def merged_at(self, path: tuple[str, ...], keys: frozenset[str] | None = None) -> None:
        """Data was merged into the objects at `path`: what lies below them may have changed
        (the objects at `path` itself stay the same dicts). With `keys`, the merged answers
        held only those keys, so only what lies below them changed."""
        if self.collected:
            n = len(path)
            stale = [
                p
                for p in self.collected
                if len(p) > n and p[:n] == path and (keys is None or p[n] in keys)
            ]
            for below in stale:
                del self.collected[below]

    def remaining(self) -> float:
        """Seconds left before the request's deadline: no subgraph call may outlive it."""
        return self.deadline - time.monotonic()


class Executor:
    """Walks a query plan; sending a fetch is left to `transport`, so routing stays outside."""

    def __init__(self, transport: SendFetch) -> None:
        self.transport = transport

    async def run(self, node: PlanNode | None, ctx: ExecutionContext) -> None:
        """Run a plan node into `ctx`: a failed fetch becomes an error there, never an exception."""
        if node is None:
            return
        if isinstance(node, SequenceNode):
            for child in node.nodes:
                await self.run(child, ctx)
        elif isinstance(node, ParallelNode):
            await asyncio.gather(*(self.run(child, ctx) for child in node.nodes))
        elif isinstance(node, FlattenNode):
            await self._entity_fetch(node, ctx)
        elif isinstance(node, FetchNode):
            await self._root_fetch(node, ctx)
        elif isinstance(node, ConditionNode):
            included = ctx.variables.get(node.condition) is True
            branch = node.if_clause if included else node.else_clause
            await self.run(branch, ctx)

    def _variables(self, fetch: FetchNode, ctx: ExecutionContext) -> dict[str, Any]:
        return {v: ctx.variables[v] for v in fetch.variable_usages if v in ctx.variables}

    async def _root_fetch(self, fetch: FetchNode, ctx: ExecutionContext) -> None:
        write = fetch.operation_kind == "mutation"
        try:
            response = await self.transport(fetch, self._variables(fetch, ctx), None, ctx)
        except SubgraphFailure as failure:
            error = failure.to_error()
            ctx.errors.append(with_retry_key(error, fetch, ctx.variables) if write else error)
            return
        data = response.get("data")
        if fetch.renames:
            _rename(data, fetch.renames)
        if isinstance(data, dict):
            merge(ctx.data, data, ctx.object_types)
            ctx.merged_at((), fetch.merged_keys)
        for error in _errors(response):
            error = _with_service(error, fetch.service, ctx.mask_errors)
            ctx.errors.append(with_retry_key(error, fetch, ctx.variables) if write else error)

    async def _entity_fetch(self, flatten: FlattenNode, ctx: ExecutionContext) -> None:
        fetch = flatten.node
        if fetch.context_inputs:
            await self._contextual_entity_fetch(flatten, ctx)
            return
        if flatten.more_paths:
            targets = [o for path in flatten.paths for o in ctx.objects_at(path)]
        else:
            targets = ctx.objects_at(flatten.path)
        if targets:
            await self._fetch_entities(flatten, ctx, targets, None)

    async def _contextual_entity_fetch(self, flatten: FlattenNode, ctx: ExecutionContext) -> None:
        """Entities whose ancestors hold different context values are fetched separately,
        each request with its values as variables."""
        fetch = flatten.node
        groups: dict[bytes, _ContextGroup] = {}
        for path in flatten.paths:
            for found in collect_with_ancestors(ctx.data, path):
                chain = found.chain
                values = {
                    c.variable: context_value(chain[c.depth], c.fields)
                    for c in fetch.context_inputs
                    if c.depth < len(chain)
                }
                key = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
                groups.setdefault(key, _ContextGroup(values)).targets.append(found.obj)
        await asyncio.gather(
            *(
                self._fetch_entities(flatten, ctx, group.targets, group.values)
                for group in groups.values()
            )
        )

    async def _fetch_entities(
        self,
        flatten: FlattenNode,
        ctx: ExecutionContext,
        targets: list[dict[str, Any]],
        extra_variables: dict[str, Any] | None,
    ) -> None:
        fetch = flatten.node
        representations: list[dict[str, Any]] = []
        owners: list[list[dict[str, Any]]] = []
        index: dict[Hashable, int] = {}
        inputs = fetch.inputs
        single = inputs[0] if len(inputs) == 1 else None
        if single is not None and single.flat is not None:
            rest = _group_flat(targets, single, representations, owners, index)
        else:
            rest = targets
        for obj in rest:
            typename = obj.get("__typename")
            if typename.__class__ is not str:
                continue  # not an object a subgraph typed: nothing to fetch for it
            if single is not None:
                if typename not in single.runtime_types:
                    continue
                matching: tuple[EntityInput, ...] = (single,)
            else:
                # an object may need several: e.g. a Dog both as itself and as the Animal
                # an @interfaceObject subgraph knows, each answer merged into it
                matching = tuple(i for i in inputs if typename in i.runtime_types)
            for entity_input in matching:
                rep = representation(obj, entity_input)
                if rep is None:
                    continue
                key = _dedup_key(rep)
                i = index.get(key)
                if i is None:
                    index[key] = i = len(representations)
                    representations.append(rep)
                    owners.append([obj])
                else:
                    owners[i].append(obj)
        if not representations:
            return
        try:
            variables = self._variables(fetch, ctx)
            if extra_variables:
                variables.update(extra_variables)
            response = await self.transport(fetch, variables, representations, ctx)
        except SubgraphFailure as failure:
            paths = _paths(ctx.data, flatten)
            ctx.errors.append(failure.to_error(paths.get(id(owners[0][0]))))
            # one error says why every one of these objects lacks what the fetch would add
            ctx.explained.extend(
                p for group in owners for obj in group if (p := paths.get(id(obj))) is not None
            )
            return
        data = response.get("data")
        if fetch.renames:
            _rename(data, fetch.renames)
        entities = data.get("_entities") if isinstance(data, dict) else None
        if entities is not None and (
            not isinstance(entities, list) or len(entities) != len(representations)
        ):
            got = len(entities) if isinstance(entities, list) else "no list of"
            ctx.errors.append(
                SubgraphFailure(
                    "SUBGRAPH_BAD_RESPONSE",
                    fetch.service,
                    f'Subgraph "{fetch.service}" returned {got} entities for '
                    f"{len(representations)} representations.",
                ).to_error()
            )
            entities = None
        if entities is not None:
            keys = fetch.merged_keys
            for merged in flatten.paths:
                ctx.merged_at(merged, keys)
            object_types = ctx.object_types
            for entity, group in zip(entities, owners, strict=True):
                if entity.__class__ is dict:
                    for obj in group:
                        if obj.keys().isdisjoint(entity):
                            obj.update(entity)  # the common case: only new fields arrive
                        else:
                            merge(obj, entity, object_types)
        errors = _errors(response)
        if errors:
            paths = _paths(ctx.data, flatten)
            for error in errors:
                path = error.get("path")
                if (
                    isinstance(path, list)
                    and len(path) >= 2
                    and path[0] == "_entities"
                    and isinstance(path[1], int)
                    and 0 <= path[1] < len(owners)
                ):
                    for obj in owners[path[1]]:
                        repathed = dict(error)
                        repathed["path"] = paths.get(id(obj), []) + path[2:]
                        ctx.errors.append(_with_service(repathed, fetch.service, ctx.mask_errors))
                else:
                    stripped = {k: v for k, v in error.items() if k != "path"}
                    if owners:
                        stripped["path"] = paths.get(id(owners[0][0]), [])
                    ctx.errors.append(_with_service(stripped, fetch.service, ctx.mask_errors))


def _rename(value: Any, renames: dict[str, str]) -> None:
    """Put aliased fields back under the client's keys, everywhere in a subgraph's answer."""
    if isinstance(value, dict):
        for alias in [k for k in value if k in renames]:
            value[renames[alias]] = value.pop(alias)
        for v in value.values():
            _rename(v, renames)
    elif isinstance(value, list):
        for v in value:
            _rename(v, renames)


def _group_flat(
    targets: list[dict[str, Any]],
    entity_input: EntityInput,
    representations: list[dict[str, Any]],
    owners: list[list[dict[str, Any]]],
    index: dict[Hashable, int],
) -> list[dict[str, Any]]:
    """Group objects by their flat key values without building a representation per object;
    returns the objects whose values are not hashable, for the general path."""
    runtime_types = entity_input.runtime_types
    flat = entity_input.flat
    assert flat is not None
    read = itemgetter(*(key for _, key in flat))  # one value, or a tuple of them
    one = len(flat) == 1
    key_count = len(entity_input.key_names)
    whole_key = key_count == len(flat)
    override = entity_input.typename
    rest: list[dict[str, Any]] = []
    for obj in targets:
        typename = obj.get("__typename")
        if typename.__class__ is not str or typename not in runtime_types:
            continue
        try:
            values = read(obj)
            slot = (typename, values)
            i = index.get(slot)
        except KeyError:
            continue  # a key field is missing: this object cannot be fetched
        except TypeError:
            rest.append(obj)
            continue
        if i is not None:
            owners[i].append(obj)
            continue
        if one:
            if key_count and values is None:
                continue  # a null key names no entity
            values = (values,)
        elif None in (values if whole_key else values[:key_count]):
            continue
        index[slot] = len(representations)
        rep = {"__typename": override or typename}
        for (name, _), value in zip(flat, values, strict=True):
            rep[name] = value
        representations.append(rep)
        owners.append([obj])
    return rest


def _dedup_key(rep: dict[str, Any]) -> Hashable:
    """Equal representations share one key; flat ones without serialising them."""
    try:
        key = tuple(rep.items())
        hash(key)
        return key
    except TypeError:
        return orjson.dumps(rep, option=orjson.OPT_SORT_KEYS)


def _errors(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    errors = response.get("errors")
    if not isinstance(errors, list):
        return []
    out = []
    for e in errors:
        if isinstance(e, dict):
            message = e.get("message")
            out.append(e if isinstance(message, str) else {**e, "message": str(message)})
    return out


# extensions a subgraph may add that describe its insides, never passed to clients
_PRIVATE_EXTENSIONS = frozenset({"exception", "stacktrace", "stackTrace", "trace", "sql"})
MAX_ERROR_MESSAGE = 500


def _with_service(error: dict[str, Any], service: str, mask: bool = False) -> dict[str, Any]:
    """A subgraph's error as the client sees it: its service named, private extensions
    dropped, a long message cut short, and with `mask` a generic message in its place."""
    extensions = error.get("extensions")
    extensions = (
        {k: v for k, v in extensions.items() if k not in _PRIVATE_EXTENSIONS}
        if isinstance(extensions, dict)
        else {}
    )
    extensions.setdefault("serviceName", service)
    out = {k: v for k, v in error.items() if k in ("message", "path")}
    if mask:
        code = extensions.get("code")
        extensions = {"serviceName": service, **({"code": code} if code else {})}
        out["message"] = f"Subgraph {service} answered with an error."
    else:
        out["message"] = clip_message(str(out.get("message", "")))
    out["extensions"] = extensions
    return out


def clip_message(message: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    """No error repeats more than a short excerpt of what a client sent."""
    if len(message) <= limit:
        return message
    return message[: limit - 1] + "…"


def collect(data: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The objects at a Flatten path."""
    return collect_from([data], path)


def collect_from(current: list[Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The objects at `path` below the values in `current`."""
    for seg in path:
        if seg == "@":
            nxt: list[Any] = []
            for value in current:
                if value.__class__ is list:
                    nxt += value
            current = nxt
        else:
            current = [x for v in current if v.__class__ is dict and (x := v.get(seg)) is not None]
    return [o for o in current if o.__class__ is dict]


@dataclass(slots=True)
class _ContextGroup:
    """Entities whose ancestors hold the same context values: fetched in one request."""

    values: dict[str, Any]
    targets: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WithAncestors:
    """An object at a Flatten path and the values above it, `chain[i]` after `i` path
    segments (`@` included): `chain[0]` is the response root, `chain[-1]` the object."""

    obj: dict[str, Any]
    chain: list[Any]


def collect_with_ancestors(data: dict[str, Any], path: tuple[str, ...]) -> list[WithAncestors]:
    """The objects at a Flatten path, each with the objects above it, for the values an
    entity reads from its ancestors (`@fromContext`)."""
    current: list[tuple[Any, list[Any]]] = [(data, [data])]
    for seg in path:
        nxt: list[tuple[Any, list[Any]]] = []
        for value, chain in current:
            if seg == "@":
                if isinstance(value, list):
                    nxt.extend((x, chain + [x]) for x in value if x is not None)
            elif isinstance(value, dict) and value.get(seg) is not None:
                nxt.append((value[seg], chain + [value[seg]]))
        current = nxt
    return [WithAncestors(o, chain) for o, chain in current if isinstance(o, dict)]


def context_value(ancestor: Any, fields: tuple[RepField, ...]) -> Any:
    """The one value a context selection names on an ancestor (`{ locale }`, `{ a { b } }`)."""
    value = ancestor
    for f in fields[:1]:
        if not isinstance(value, dict):
            return None
        value = value.get(f.key)
        if f.sub:
            return context_value(value, f.sub)
    return value


def _paths_by_id(data: dict[str, Any], path: tuple[str, ...]) -> dict[int, list[Any]]:
    """Response paths of the objects at a Flatten path (only needed to place errors)."""
    current: list[tuple[Any, list[Any]]] = [(data, [])]
    for seg in path:
        nxt: list[tuple[Any, list[Any]]] = []
        for value, p in current:
            if seg == "@":
                if isinstance(value, list):
                    nxt.extend((x, p + [i]) for i, x in enumerate(value) if x is not None)
            elif isinstance(value, dict) and value.get(seg) is not None:
                nxt.append((value[seg], p + [seg]))
        current = nxt
    return {id(o): p for o, p in current if isinstance(o, dict)}


def _paths(data: dict[str, Any], flatten: FlattenNode) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for path in flatten.paths:
        out.update(_paths_by_id(data, path))
    return out


def representation(obj: dict[str, Any], entity_input: EntityInput) -> dict[str, Any] | None:
    """The `_entities` representation of an object, or None when it cannot name an entity
    (a key field missing or null): such an object is left as it is."""
    rep: dict[str, Any] = {"__typename": entity_input.typename or obj["__typename"]}
    flat = entity_input.flat
    if flat is not None:
        for name, key in flat:
            value = obj.get(key, _MISSING)
            if value is _MISSING or (value is None and name in entity_input.key_names):
                return None
            rep[name] = value
        return rep
    if not _project(obj, entity_input.fields, rep):
        return None
    if any(rep.get(name) is None for name in entity_input.key_names):
        return None  # a null key names no entity
    return rep


def _project(obj: dict[str, Any], fields: tuple[RepField, ...], out: dict[str, Any]) -> bool:
    for f in fields:
        if f.only is not None and obj.get("__typename") not in f.only:
            continue  # under a type condition this object does not meet
        value = obj.get(f.key, _MISSING)
        if value is _MISSING:
            if f.optional:
                continue
            return False
        if f.sub is not None and value is not None:
            value = _project_value(value, f.sub)
            if value is _MISSING:
                return False
        out[f.name] = value
    return True


def _project_value(value: Any, fields: tuple[RepField, ...]) -> Any:
    if isinstance(value, list):
        items = [_project_value(v, fields) if v is not None else None for v in value]
        return _MISSING if any(i is _MISSING for i in items) else items
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        if "__typename" in value:
            out["__typename"] = value["__typename"]
        return out if _project(value, fields, out) else _MISSING
    return value


def merge(target: dict[str, Any], source: dict[str, Any], object_types: frozenset[str]) -> None:
    """Deep-merge a subgraph's answer into the response tree."""
    for key, value in source.items():
        existing = target.get(key)
        if existing is None:
            target[key] = value
        elif key == "__typename":
            # an interface object's subgraph answers with the interface name; the concrete
            # type from another subgraph wins
            if existing not in object_types:
                target[key] = value
        elif isinstance(existing, dict) and isinstance(value, dict):
            merge(existing, value, object_types)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, object_types)
        elif value is not None:
            target[key] = value


def _merge_lists(existing: list[Any], value: list[Any], object_types: frozenset[str]) -> None:
    for i, (a, b) in enumerate(zip(existing, value, strict=True)):
        if isinstance(a, dict) and isinstance(b, dict):
            merge(a, b, object_types)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            _merge_lists(a, b, object_types)
        elif a is None:
            existing[i] = b
