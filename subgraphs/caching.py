"""Parsed and validated documents kept across requests, shared by both subgraphs.

A gateway sends a subgraph the same few operations over and over (one per query plan fetch), so
parsing and validating each request again was most of a subgraph's CPU. Both caches are bounded:
distinct query texts from a caller cannot grow memory without limit.
"""
from __future__ import annotations

from collections.abc import Callable

from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

DOCUMENTS_KEPT = 512


def document_caches() -> list[Callable[[], SchemaExtension]]:
    """Extension factories for a strawberry schema: one parse and one validation per distinct query."""
    return [lambda: ParserCache(maxsize=DOCUMENTS_KEPT), lambda: ValidationCache(maxsize=DOCUMENTS_KEPT)]
