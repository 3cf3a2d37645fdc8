"""`join__FieldSet` values (keys, `@requires`, `@provides`) as selection sets."""

from __future__ import annotations

from functools import lru_cache

from graphql import OperationDefinitionNode, SelectionSetNode, parse

FieldSet = SelectionSetNode


@lru_cache(maxsize=4096)
def parse_field_set(text: str) -> FieldSet:
    """Parse `"id organization { id }"` into the selection set `{ id organization { id } }`."""
    document = parse("{" + text + "}", no_location=True)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set
