"""The second level of the document and plan caches: entries shared by replicas through Redis.

A replica that misses its own memory asks the shared cache before validating or planning, so an
operation is validated and planned once per supergraph, not once per replica. Keys carry a
scope: the supergraph's hash, the codec version and the settings that change validation or
plans, so a new supergraph or configuration reads new keys and nothing needs flushing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from typing import Any

import orjson

from cache.base import Cache
from gateway.config import GatewayConfig
from gateway.plan_codec import CODEC_VERSION, CorruptPlan, decode_plan, encode_plan
from gateway.planner.plan import QueryPlan

log = logging.getLogger("govgraph.gateway")

# The shared cache knows this document is valid (skip validation and limits).
VALID = True
# labels, operation name and text of a prepared operation (engine.PreparedKey)
PlanKey = tuple[str, str | None, frozenset[str] | None]


class SharedOperations:
    def __init__(self, cache: Cache, supergraph_hash: str, config: GatewayConfig) -> None:
        self.cache = cache
        self.enabled = cache.shared
        self.ttl_s = config.cache.plan_ttl_s
        settings = repr(
            (
                CODEC_VERSION,
                supergraph_hash,
                config.max_tokens,
                config.max_expanded_selections,
                config.max_depth,
                config.introspection,
                # routing rules and partition keys shape plans; where shards live does not
                sorted(
                    (name, repr(replace(part, shards=dict.fromkeys(sorted(part.shards), ""))))
                    for name, part in config.partitions.items()
                ),
            )
        )
        self.scope = hashlib.sha256(settings.encode()).hexdigest()[:16]

    def _document_key(self, query: str) -> str:
        return f"doc:{self.scope}:{_digest(query)}"

    def _plan_key(self, key: PlanKey) -> str:
        query, operation_name, labels = key
        label_part = "-" if labels is None else ",".join(sorted(labels))
        return f"plan:{self.scope}:{_digest(query)}:{_digest(operation_name or '')}:{label_part}"

    async def document(self, query: str) -> bool | list[dict[str, Any]] | None:
        """VALID, the errors to answer with, or None when no replica has seen the document."""
        raw = await self.cache.get(self._document_key(query))
        if raw is None:
            return None
        try:
            entry = orjson.loads(raw)
            if entry == {"valid": True}:
                return VALID
            errors = entry["errors"]
            if isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
                return errors
        except (orjson.JSONDecodeError, KeyError, TypeError):
            pass
        log.warning("ignoring a corrupt cache entry %s", self._document_key(query))
        return None

    async def store_document(self, query: str, errors: list[dict[str, Any]] | None) -> None:
        entry = {"valid": True} if errors is None else {"errors": errors}
        await self.cache.set(self._document_key(query), orjson.dumps(entry), self.ttl_s)

    async def plan(self, key: PlanKey) -> QueryPlan | None:
        raw = await self.cache.get(self._plan_key(key))
        if raw is None:
            return None
        try:
            return decode_plan(raw)
        except CorruptPlan as exc:
            log.warning("ignoring a corrupt cache entry %s: %s", self._plan_key(key), exc)
            return None

    async def store_plan(self, key: PlanKey, plan: QueryPlan) -> None:
        await self.cache.set(self._plan_key(key), encode_plan(plan), self.ttl_s)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
