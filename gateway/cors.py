"""Cross-origin requests from the browser front-ends on an allow-list of origins.

A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an allowed
origin is answered 204 with what it may send; any other preflight 403, with no CORS
header, so the browser stops there. Every answer to an allowed origin carries
`Access-Control-Allow-Origin` (and `Vary: Origin`); answers to other origins carry none,
so a browser does not let a page of theirs read them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from gateway.config import CorsConfig

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]


class Cors:
    def __init__(self, config: CorsConfig) -> None:
        self._origins = frozenset(config.allow_origins)
        self._any = "*" in self._origins
        self._credentials = config.allow_credentials
        self._allow_headers = ", ".join(config.allow_headers).encode()
        self._expose = ", ".join(config.expose_headers).encode()
        self._max_age = str(int(config.max_age_s)).encode()

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and (self._any or origin in self._origins)

    def _origin_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        value = b"*" if self._any and not self._credentials else origin.encode()
        headers = [(b"access-control-allow-origin", value), (b"vary", b"Origin")]
        if self._credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    def preflight(self, headers: Mapping[str, str]) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Status and headers of the answer to an OPTIONS request."""
        origin = headers.get("origin")
        if not self.allowed(origin) or "access-control-request-method" not in headers:
            return 403, [(b"vary", b"Origin")]
        assert origin is not None
        return 204, [
            *self._origin_headers(origin),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", self._allow_headers),
            (b"access-control-max-age", self._max_age),
        ]

    def wrap(self, origin: str | None, send: Send) -> Send:
        """`send`, adding the CORS headers to the answer when `origin` is allowed."""
        if not self.allowed(origin):
            return send
        assert origin is not None
        extra = self._origin_headers(origin)
        if self._expose:
            extra.append((b"access-control-expose-headers", self._expose))

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return with_cors
