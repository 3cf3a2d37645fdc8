"""Entity cache: the answers of `_entities` fetches, kept per entity (type and key) for as long
as the cache hints of everything fetched allow.

An entity fetch is cacheable when every type and field it selects has a public hint with a
max age above 0 (`@cacheControl` or `[cache_control]`) and none is under an access rule
(`@authenticated`, `@requiresScopes`, `@policy`): private data is never kept, so it is never
served to another caller. Each entity is stored under its type and key, with one variant
per distinct fetch (selection, variables used, the whole representation) and that variant's
expiry. Memory comes first; with Redis, entities are shared by replicas, and a mutation that
returns an entity with its key deletes it everywhere: in Redis, and in every replica's memory by
a published message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema, get_named_type
from graphql.language import FieldNode

from cache.base import Cache
from cache.memory import MemoryCache
from gateway.cache_control import CacheControl
from gateway.config import CacheHint
from gateway.executor import ExecutionContext
from gateway.planner.operation import Field, Operation, Selection
from gateway.planner.plan import FetchNode
from gateway.planner.selection import FieldSel, SelectionSet
from schema.access import AccessRules
from schema.supergraph import Supergraph

log = logging.getLogger("govgraph.gateway")

INVALIDATION_CHANNEL = "entity-invalidation"
Send = Callable[
    [FetchNode, dict[str, Any], list[dict[str, Any]] | None, ExecutionContext],
    Awaitable[dict[str, Any]],
]


class EntityCache:
    def __init__(
        self,
        cache: Cache,
        control: CacheControl,
        schema: GraphQLSchema,
        supergraph: Supergraph,
        scope: str,
        max_entries: int,
        protected: AccessRules,
    ) -> None:
        self.local = MemoryCache(max_entries)
        # what access rules protect depends on who asks: never kept, whatever the hints say
        self.protected_types = frozenset(protected.types)
        self.protected_fields = frozenset(protected.fields)
        self.shared = cache if cache.shared else None
        self.control = control
        self.schema = schema
        self.scope = scope
        self._ttls: dict[tuple[str, str], float | None] = {}
        # type -> the field names of each flat key it has in any subgraph
        self._keys: dict[str, list[tuple[str, ...]]] = {}
        for name, model in supergraph.types.items():
            for join in model.join_types:
                if join.key is None:
                    continue
                names = tuple(
                    s.name.value
                    for s in join.key.selections
                    if isinstance(s, FieldNode) and s.selection_set is None
                )
                if len(names) == len(join.key.selections) and names not in self._keys.get(name, []):
                    self._keys.setdefault(name, []).append(names)

    async def start(self) -> None:
        if self.shared is not None:
            await self.shared.subscribe(INVALIDATION_CHANNEL, self._invalidated_elsewhere)

    def _invalidated_elsewhere(self, message: bytes) -> None:
        self.local.discard(message.decode())

    # ---- reading and filling -----------------------------------------------------------

    def ttl(self, fetch: FetchNode) -> float | None:
        """Seconds the fetch's entities may be kept; None when they may not be."""
        key = (fetch.service, fetch.operation)
        if key not in self._ttls:
            self._ttls[key] = self._ttl(fetch)
        return self._ttls[key]

    def _ttl(self, fetch: FetchNode) -> float | None:
        if fetch.operation_kind != "query" or fetch.context_inputs or not fetch.inputs:
            return None
        walk = _HintWalk(self)
        for item in fetch.selection.items.values():
            if isinstance(item, FieldSel) or not item.type_condition:
                return None  # only `... on T { }` under _entities is expected
            if item.type_condition in self.protected_types:
                return None
            entity = self.control.types.get(item.type_condition)
            age = walk.apply(entity, self.control.default_max_age)
            walk.selection(item.type_condition, item.sub, age)
        if walk.private or walk.max_age is None or walk.max_age <= 0:
            return None
        return float(walk.max_age)

    async def send(
        self,
        fetch: FetchNode,
        variables: dict[str, Any],
        representations: list[dict[str, Any]],
        ctx: ExecutionContext,
        fetch_from_subgraph: Send,
    ) -> dict[str, Any]:
        ttl = self.ttl(fetch)
        if ttl is None:
            return await fetch_from_subgraph(fetch, variables, representations, ctx)
        used = {v: variables.get(v) for v in fetch.variable_usages}
        fetch_id = _digest(orjson.dumps([fetch.service, fetch.operation, used]))
        keys = [self._entity_key(fetch, rep) for rep in representations]
        variants = [
            _digest(fetch_id.encode() + orjson.dumps(rep, option=orjson.OPT_SORT_KEYS))
            for rep in representations
        ]
        stored = await asyncio.gather(*(self._entry(key) for key in keys))
        found: dict[int, Any] = {}
        for i, entry in enumerate(stored):
            hit = entry.get(variants[i])
            if hit is not None:
                found[i] = hit[1]
        missing = [i for i in range(len(representations)) if i not in found]
        if not missing:
            return {"data": {"_entities": [found[i] for i in range(len(representations))]}}
        response = await fetch_from_subgraph(
            fetch, variables, [representations[i] for i in missing], ctx
        )
        data = response.get("data")
        fetched = data.get("_entities") if isinstance(data, dict) else None
        if not isinstance(fetched, list) or len(fetched) != len(missing):
            return response if not found else _with_entities(response, None, missing, found)
        failed = _failed_indexes(response)
        if failed is not None:
            now = time.time()
            writes = []
            for j, i in enumerate(missing):
                key, entity = keys[i], fetched[j]
                if key is not None and isinstance(entity, dict) and j not in failed:
                    entry = {v: e for v, e in stored[i].items() if e[0] > now}
                    entry[variants[i]] = [now + ttl, entity]
                    writes.append(self._store(key, entry, ttl))
            await asyncio.gather(*writes)
        if not found:
            return response
        return _with_entities(response, fetched, missing, found)

    def _entity_key(self, fetch: FetchNode, rep: dict[str, Any]) -> str | None:
        typename = rep.get("__typename")
        if not isinstance(typename, str):
            return None
        for entity_input in fetch.inputs:
            if entity_input.typename == typename or typename in entity_input.runtime_types:
                names = entity_input.key_names
                break
        else:
            return None
        if not names or any(n not in rep for n in names):
            return None
        return self._key(typename, {n: rep[n] for n in names})

    def _key(self, typename: str, key_values: dict[str, Any]) -> str:
        identity = _digest(orjson.dumps(key_values, option=orjson.OPT_SORT_KEYS))
        return f"ent:{self.scope}:{typename}:{identity}"

    async def _entry(self, key: str | None) -> dict[str, Any]:
        """The variants stored for one entity; {} when none (or a corrupt entry)."""
        if key is None:
            return {}
        raw = await self.local.get(key)
        if raw is None and self.shared is not None:
            raw = await self.shared.get(key)
            if raw is not None:
                entry = _decoded(key, raw)
                live = [e[0] for e in entry.values()]
                if live:
                    await self.local.set(key, raw, max(live) - time.time())
                return entry
        return _decoded(key, raw) if raw is not None else {}

    async def _store(self, key: str, entry: dict[str, Any], ttl: float) -> None:
        raw = orjson.dumps(entry)
        keep = max(ttl, max(e[0] for e in entry.values()) - time.time())
        await self.local.set(key, raw, keep)
        if self.shared is not None:
            await self.shared.set(key, raw, keep)

    # ---- invalidation ------------------------------------------------------------------

    async def invalidate(self, typename: str, key_values: dict[str, Any]) -> None:
        """Forget one entity in this process, in Redis and in every replica's memory."""
        key = self._key(typename, key_values)
        await self.local.delete(key)
        if self.shared is not None:
            await self.shared.delete(key)
            await self.shared.publish(INVALIDATION_CHANNEL, key.encode())

    async def invalidate_returned(self, operation: Operation, data: dict[str, Any]) -> int:
        """A mutation's answer names the entities it changed: every object of an entity type
        that carries one of the type's keys is invalidated. Returns how many."""
        found: list[tuple[str, dict[str, Any]]] = []
        self._collect(operation.selections, data, found)
        for typename, key_values in found:
            await self.invalidate(typename, key_values)
        return len(found)

    def _collect(
        self, selections: list[Selection], value: Any, found: list[tuple[str, dict[str, Any]]]
    ) -> None:
        if isinstance(value, list):
            for item in value:
                self._collect(selections, item, found)
            return
        if not isinstance(value, dict):
            return
        for sel in selections:
            if not isinstance(sel, Field):
                self._collect(sel.selections, value, found)
                continue
            child = value.get(sel.response_key)
            if sel.selections is None or child is None:
                continue
            for item in child if isinstance(child, list) else [child]:
                if not isinstance(item, dict):
                    continue
                typename = item.get("__typename") or sel.named_type
                for names in self._keys.get(typename, ()):
                    if all(n in item for n in names):
                        found.append((typename, {n: item[n] for n in names}))
            self._collect(sel.selections, child, found)


class _HintWalk:
    """The lowest max age and privacy over a subgraph selection, as CacheControl counts them."""

    def __init__(self, cache: EntityCache) -> None:
        self.control = cache.control
        self.schema = cache.schema
        self.protected_types = cache.protected_types
        self.protected_fields = cache.protected_fields
        self.max_age: int | None = None
        self.private = False

    def apply(self, hint: CacheHint | None, otherwise: int | None) -> int | None:
        age = otherwise
        if hint is not None:
            if hint.max_age is not None:
                age = hint.max_age
            if hint.scope == "PRIVATE":
                self.private = True
        if age is not None and (self.max_age is None or age < self.max_age):
            self.max_age = age
        return age

    def selection(self, type_name: str, selection: SelectionSet, parent: int | None) -> None:
        gtype = self.schema.get_type(type_name)
        fields = (
            gtype.fields if isinstance(gtype, (GraphQLObjectType, GraphQLInterfaceType)) else {}
        )
        for item in selection.items.values():
            if not isinstance(item, FieldSel):
                self.selection(item.type_condition or type_name, item.sub, parent)
                continue
            if item.name.startswith("__"):
                continue
            fdef = fields.get(item.name)
            named = get_named_type(fdef.type).name if fdef is not None else ""
            if (
                fdef is None  # a field we cannot judge: keep nothing
                or (type_name, item.name) in self.protected_fields
                or named in self.protected_types
            ):
                self.private = True
                continue
            hint = self.control.fields.get((type_name, item.name))
            if item.sub is not None:
                type_hint = self.control.types.get(named)
                age = self.apply(type_hint, self.control.default_max_age)
                age = self.apply(hint, age)
                self.selection(named, item.sub, age)
            else:
                self.apply(hint, parent)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _decoded(key: str, raw: bytes) -> dict[str, Any]:
    try:
        entry = orjson.loads(raw)
        if isinstance(entry, dict) and all(
            isinstance(v, list)
            and len(v) == 2
            and isinstance(v[0], (int, float))
            and isinstance(v[1], dict)
            for v in entry.values()
        ):
            now = time.time()
            return {k: v for k, v in entry.items() if v[0] > now}
    except orjson.JSONDecodeError:
        pass
    log.warning("ignoring a corrupt cache entry %s", key)
    return {}


def _failed_indexes(response: dict[str, Any]) -> set[int] | None:
    """Entities an error is about (`path: ["_entities", i, …]`): not worth keeping. None when
    an error names no entity: then none is kept."""
    failed: set[int] = set()
    for error in response.get("errors") or ():
        path = error.get("path") if isinstance(error, dict) else None
        if not (isinstance(path, list) and len(path) >= 2 and isinstance(path[1], int)):
            return None
        failed.add(path[1])
    return failed


def _with_entities(
    response: dict[str, Any],
    fetched: list[Any] | None,
    missing: list[int],
    found: dict[int, Any],
) -> dict[str, Any]:
    """The subgraph's answer for the missing representations, merged with the cached ones in
    the order of the full request; its errors' entity indexes moved to match."""
    total = len(missing) + len(found)
    entities: list[Any] = [found.get(i) for i in range(total)]
    if fetched is not None:
        for j, i in enumerate(missing):
            entities[i] = fetched[j]
    errors = []
    for error in response.get("errors") or ():
        path = error.get("path") if isinstance(error, dict) else None
        if isinstance(path, list) and len(path) >= 2 and isinstance(path[1], int):
            if 0 <= path[1] < len(missing):
                error = {**error, "path": [path[0], missing[path[1]], *path[2:]]}
        errors.append(error)
    merged: dict[str, Any] = {**response, "data": {"_entities": entities}}
    if errors:
        merged["errors"] = errors
    return merged
