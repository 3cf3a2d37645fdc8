"""Calls to subgraphs: one pooled aiohttp session, timeouts, and failures as data.

A failed call never raises out of the executor: it becomes a `SubgraphFailure`
with a GraphQL error code, so the response carries partial data plus the error.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Mapping

import aiohttp
import orjson

from gateway.config import GatewayConfig
from schema.supergraph import Supergraph

SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"
SUBGRAPH_TIMEOUT = "SUBGRAPH_TIMEOUT"
SUBGRAPH_BAD_RESPONSE = "SUBGRAPH_BAD_RESPONSE"

_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class SubgraphFailure(Exception):
    code: str
    service: str
    message: str
    extra: dict[str, Any] | None = None

    def to_error(self, path: list[Any] | None = None) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": self.code, "serviceName": self.service}
        if self.extra:
            extensions.update(self.extra)
        error: dict[str, Any] = {"message": self.message, "extensions": extensions}
        if path:
            error["path"] = path
        return error


class Upstream:
    """Sends subgraph operations; knows each subgraph's URL and timeout."""

    def __init__(self, supergraph: Supergraph, config: GatewayConfig) -> None:
        self.config = config
        self.urls: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for enum_value, sub in supergraph.subgraphs.items():
            self.names[enum_value] = sub.name
            self.urls[enum_value] = (
                config.subgraph_urls.get(sub.name)
                or config.subgraph_urls.get(sub.name.lower())
                or config.subgraph_urls.get(enum_value.lower())
                or sub.url
            )
        self._session: aiohttp.ClientSession | None = None
        self._propagate = tuple(h.lower() for h in config.propagate_headers)

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=256, keepalive_timeout=60,
                                             ttl_dns_cache=300, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent",),
                auto_decompress=True,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def outgoing_headers(self, client_headers: Mapping[str, str]) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        for name in self._propagate:
            value = client_headers.get(name)
            if value is not None:
                headers[name] = value
        return headers

    async def post(self, graph: str, body: bytes, headers: Mapping[str, str],
                   timeout: float, url: str | None = None, label: str | None = None,
                   ) -> dict[str, Any]:
        """POST one operation; returns the decoded response map or raises SubgraphFailure."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        service = label or self.names.get(graph, graph)
        target = url or self.urls[graph]
        if not target:
            raise SubgraphFailure(SUBGRAPH_UNAVAILABLE, service,
                                  f'Subgraph "{service}" has no URL configured.')
        try:
            async with asyncio.timeout(timeout):
                async with self._session.post(target, data=body, headers=headers) as resp:
                    raw = await resp.content.read(_MAX_RESPONSE_BYTES + 1)
                    status = resp.status
        except TimeoutError:
            raise SubgraphFailure(SUBGRAPH_TIMEOUT, service,
                                  f'Subgraph "{service}" did not answer within {timeout:g} s.') from None
        except (aiohttp.ClientError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise SubgraphFailure(SUBGRAPH_UNAVAILABLE, service,
                                  f'Subgraph "{service}" is unavailable: {reason}') from None
        if len(raw) > _MAX_RESPONSE_BYTES:
            raise SubgraphFailure(SUBGRAPH_BAD_RESPONSE, service,
                                  f'Subgraph "{service}" sent a response larger than allowed.')
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise SubgraphFailure(
                SUBGRAPH_BAD_RESPONSE, service,
                f'Subgraph "{service}" sent a response that is not JSON (HTTP {status}).',
                {"status": status},
            ) from None
        if not isinstance(decoded, dict) or ("data" not in decoded and "errors" not in decoded):
            raise SubgraphFailure(
                SUBGRAPH_BAD_RESPONSE, service,
                f'Subgraph "{service}" sent JSON that is not a GraphQL response (HTTP {status}).',
                {"status": status},
            )
        if status >= 400 and not decoded.get("errors") and decoded.get("data") is None:
            raise SubgraphFailure(SUBGRAPH_BAD_RESPONSE, service,
                                  f'Subgraph "{service}" answered HTTP {status}.', {"status": status})
        return decoded
