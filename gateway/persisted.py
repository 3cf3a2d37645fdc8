"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ: a client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the text; an
unknown hash is answered `PersistedQueryNotFound` and the client sends hash and text together,
which registers the text (in the shared cache, so every replica knows it). Trusted documents: an
allow-list of operations; a client configured so (or a caller marked so by authentication) may
run only those, by hash or by a text that is, or reads the same as, a listed one.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from graphql import GraphQLError, parse, print_ast

from cache.base import Cache
from cache.memory import LRUCache
from gateway.config import PersistedQueriesConfig
from gateway.exchange import GraphQLRequest, GraphQLResponse

log = logging.getLogger("govgraph.gateway")

CLIENT_NAME_HEADER = "apollographql-client-name"
APQ_PREFIX = "apq:"
TRUSTED_PREFIX = "trusted:"
_HEX = frozenset("0123456789abcdef")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PersistedQueries:
    """Turns a request's persisted-query extension into the operation text, or a refusal."""

    def __init__(self, config: PersistedQueriesConfig, cache: Cache, memory_size: int) -> None:
        self.config = config
        self.cache = cache
        self._trusted = dict(config.trusted_documents)
        self._trusted_clients = frozenset(config.trusted_clients)
        self._known: LRUCache[str, str] = LRUCache(memory_size)  # hash -> text, verified
        self._trusted_prints: dict[str, str] | None = None  # printed document -> hash

    def applies(self, request: GraphQLRequest) -> bool:
        """Whether `resolve` has anything to do for this request (cheap: no await)."""
        extensions = request.extensions
        if extensions is not None and "persistedQuery" in extensions:
            return True
        return self.trusted_only(request)

    def trusted_only(self, request: GraphQLRequest) -> bool:
        return (
            self.config.trusted_only
            or request.caller.trusted_documents_only
            or (
                bool(self._trusted_clients)
                and request.headers.get(CLIENT_NAME_HEADER) in self._trusted_clients
            )
        )

    async def resolve(self, request: GraphQLRequest) -> str | GraphQLResponse:
        """The operation text to run, or the response refusing the request."""
        restricted = self.trusted_only(request)
        digest: str | None = None
        extension = (request.extensions or {}).get("persistedQuery")
        if extension is not None:
            found = _requested_hash(extension)
            if isinstance(found, GraphQLResponse):
                return found
            digest = found
        query = request.query
        if isinstance(query, str):
            actual = sha256_hex(query)
            if digest is not None and actual != digest:
                return _error(
                    "provided sha does not match query: the sha256Hash of the persistedQuery "
                    f"extension is {digest}, the query's is {actual}",
                    "PERSISTED_QUERY_HASH_MISMATCH",
                )
            if restricted and not await self._is_trusted_text(query, actual):
                return _not_in_list(actual)
            if digest is not None and self.config.apq and self._known.get(digest) is None:
                self._known.put(digest, query)
                await self.cache.set(APQ_PREFIX + digest, query.encode(), self.config.apq_ttl_s)
            return query
        if digest is None:
            return _error("Must provide query string.", "BAD_REQUEST")
        text = await self._lookup(digest, restricted)
        if text is not None:
            return text
        if restricted:
            return _not_in_list(digest)
        if not self.config.apq:
            return _error("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")
        return _error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")

    async def _lookup(self, digest: str, trusted_only: bool) -> str | None:
        """Listed documents first, then the memory level, then the shared cache."""
        listed = self._trusted.get(digest)
        if listed is not None:
            return listed
        if self.config.trusted_documents_in_cache:
            text = await self._cached(TRUSTED_PREFIX, digest)
            if text is not None:
                return text
        if trusted_only or not self.config.apq:
            return None
        text = self._known.get(digest)
        if text is not None:
            return text
        text = await self._cached(APQ_PREFIX, digest)
        if text is not None:
            self._known.put(digest, text)
        return text

    async def _cached(self, prefix: str, digest: str) -> str | None:
        raw = await self.cache.get(prefix + digest)
        if raw is None:
            return None
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            text = None
        if text is None or sha256_hex(text) != digest:
            # corrupt: never served; the client's next registration overwrites it
            log.warning("ignoring a corrupt cache entry %s%s", prefix, digest)
            return None
        return text

    async def _is_trusted_text(self, query: str, digest: str) -> bool:
        if digest in self._trusted:
            return True
        if self.config.trusted_documents_in_cache and (
            await self._cached(TRUSTED_PREFIX, digest) is not None
        ):
            return True
        printed = _printed(query)
        return printed is not None and printed in self._printed_trusted()

    def _printed_trusted(self) -> dict[str, str]:
        """The listed documents as the printer writes them, so that a text differing only in
        layout from a listed one matches it."""
        if self._trusted_prints is None:
            prints: dict[str, str] = {}
            for digest, text in self._trusted.items():
                printed = _printed(text)
                if printed is not None:
                    prints[printed] = digest
            self._trusted_prints = prints
        return self._trusted_prints


def _printed(text: str) -> str | None:
    try:
        return print_ast(parse(text, no_location=True))
    except GraphQLError:
        return None


def _requested_hash(extension: Any) -> str | GraphQLResponse:
    if not isinstance(extension, dict) or extension.get("version") != 1:
        return _error(
            "Unsupported persisted query version: extensions.persistedQuery must be "
            '{"version": 1, "sha256Hash": "<sha256 hex of the query>"}',
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
        )
    digest = extension.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest.lower()) <= _HEX:
        return _error(
            f"extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits, got {digest!r}",
            "BAD_REQUEST",
        )
    return digest.lower()


def _error(message: str, code: str, status: int | None = None) -> GraphQLResponse:
    return GraphQLResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        request_error=True,
        http_status=status,
    )


def _not_in_list(digest: str) -> GraphQLResponse:
    return _error(
        f"This client may only run trusted documents, and operation {digest} is not one of "
        "them; add it to the trusted documents ([persisted_queries] trusted_documents).",
        "PERSISTED_QUERY_NOT_IN_LIST",
        403,
    )
