"""Honest outcomes of writes: a mutation whose answer was lost is reported as unknown, with
the idempotency key the client can retry it with.

The key is found by name, not by domain: an argument `idempotencyKey` of a root field of the
mutation, or a field `idempotencyKey` of an input-object argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import value_from_ast_untyped

from gateway.planner.plan import FetchNode
from gateway.upstream import SUBGRAPH_OUTCOME_UNKNOWN

IDEMPOTENCY_KEY = "idempotencyKey"


def idempotency_key(fetch: FetchNode, variables: Mapping[str, Any]) -> str | None:
    """The idempotency key a mutation fetch was sent with, if it has one."""
    for top in fetch.root_fields:
        for argument in top.arguments:
            value = value_from_ast_untyped(argument.value, dict(variables))
            if argument.name.value == IDEMPOTENCY_KEY and isinstance(value, str):
                return value
            if isinstance(value, dict) and isinstance(value.get(IDEMPOTENCY_KEY), str):
                return str(value[IDEMPOTENCY_KEY])
    return None


def with_retry_key(
    error: dict[str, Any], fetch: FetchNode, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """An error of a mutation fetch, with `extensions.idempotencyKey` when its outcome is
    unknown and the mutation had a key: retrying with that key applies it at most once."""
    extensions = error.get("extensions")
    if not isinstance(extensions, dict) or extensions.get("code") != SUBGRAPH_OUTCOME_UNKNOWN:
        return error
    key = idempotency_key(fetch, variables)
    if key is None:
        return error
    return {**error, "extensions": {**extensions, IDEMPOTENCY_KEY: key}}
