"""Who is calling a subgraph, as the gateway vouches for it in a token both sides can verify.

The gateway sends, on every subgraph fetch, ``x-govgraph-claims: <JWT>`` signed (HS256) with an
internal key that both sides read from a file. A request without the header is anonymous; a
header that fails verification (bad signature, expired, wrong audience or issuer) refuses the
whole request with ``UNAUTHENTICATED`` before any resolver runs. No other header names a caller.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

CLAIMS_HEADER = "x-govgraph-claims"
ISSUER = "govgraph-gateway"
AUDIENCE = "govgraph-subgraphs"
ALGORITHM = "HS256"
LEEWAY_S = 5
MIN_KEY_BYTES = 32
KEY_FILE_ENV = "GOVGRAPH_INTERNAL_KEY_FILE"
SCOPE_KEY = "govgraph.claims"

KINDS = frozenset({"anonymous", "citizen", "enterprise", "officer", "national", "auditor", "aggregator"})
STAGES = ("ACCEPT", "UNDERTAKE", "AUDIT", "APPROVE", "DELIVER", "WITHDRAW")
"""What an officer's `stages` claim may list: the lifecycle steps its role may perform (see
`resolvers.provincial.lifecycle.step_of`)."""

logger = logging.getLogger("govgraph.subgraphs.claims")


class ClaimsRejected(Exception):
    """A claims header was sent but cannot be trusted; the message says why, without the token."""


@dataclass(frozen=True, slots=True)
class Claims:
    """The caller of one subgraph request, as the gateway verified it."""

    kind: str = "anonymous"
    subject: str | None = None
    province: str | None = None
    stages: frozenset[str] = frozenset()
    purpose: str | None = None
    scopes: frozenset[str] = frozenset()
    request_id: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def holder(self) -> bool:
        """A citizen or an enterprise: a subject who owns records."""
        return self.kind in ("citizen", "enterprise") and self.subject is not None

    def owns(self, subject_id: str | None) -> bool:
        return self.holder and subject_id is not None and subject_id == self.subject

    def officer_of(self, province_code: str) -> bool:
        return self.kind == "officer" and self.province == province_code

    @property
    def national_with_purpose(self) -> bool:
        return self.kind == "national" and bool(self.purpose)


ANONYMOUS = Claims()


def read_internal_key(path: Path) -> bytes:
    """The shared secret in `path` (surrounding whitespace stripped); refuses one shorter than 32 bytes."""
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise ValueError(f"cannot read the internal key file {path}: {error.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the internal key file {path} holds {len(key)} bytes; it needs at least {MIN_KEY_BYTES}"
        )
    return key


def internal_key(path: Path | None) -> bytes | None:
    """The key from `--internal-key-file`, else from ${GOVGRAPH_INTERNAL_KEY_FILE}, else None."""
    chosen = path or (Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else None)
    return read_internal_key(chosen) if chosen is not None else None


def _strings(value: Any, name: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ClaimsRejected(f"the claim {name!r} must be a list of strings")
    return frozenset(value)


def _optional(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise ClaimsRejected(f"the claim {name!r} must be a string")
    return value


def claims_from_payload(payload: Mapping[str, Any]) -> Claims:
    """Claims from a verified token's payload; refuses an unknown kind or a caller without its id."""
    kind = payload.get("kind")
    if kind not in KINDS:
        raise ClaimsRejected(f"unknown caller kind {str(kind)[:40]!r}; expected one of {', '.join(sorted(KINDS))}")
    claims = Claims(
        kind=kind, subject=_optional(payload, "sub"), province=_optional(payload, "province"),
        stages=_strings(payload.get("stages"), "stages"), purpose=_optional(payload, "purpose"),
        scopes=_strings(payload.get("scopes"), "scopes"), request_id=_optional(payload, "rid"),
    )
    if kind in ("citizen", "enterprise") and not claims.subject:
        raise ClaimsRejected(f"a {kind} token must carry its subject id in 'sub'")
    if kind == "officer" and not (claims.province and claims.province.isdigit() and len(claims.province) == 6):
        raise ClaimsRejected("an officer token must carry its 6-digit province code in 'province'")
    return claims


class ClaimsVerifier:
    """Verifies the claims header with the internal key; without a key every caller is anonymous."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key

    def verify(self, header: str | None) -> Claims:
        if header is None or self.key is None:
            return ANONYMOUS
        try:
            payload = jwt.decode(
                header, self.key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                leeway=LEEWAY_S, options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise ClaimsRejected("the claims token has expired") from None
        except jwt.InvalidTokenError as error:
            raise ClaimsRejected(f"the claims token is not valid: {str(error)[:120]}") from None
        return claims_from_payload(payload)


class ClaimsGate:
    """ASGI middleware: verifies the claims header once per request and puts `Claims` in the scope.

    A header that fails verification is answered here, as a GraphQL error with no data, so no
    resolver ever runs for an unverified caller.
    """

    def __init__(self, app: ASGIApp, verifier: ClaimsVerifier, service: str) -> None:
        self.app = app
        self.verifier = verifier
        if verifier.key is None:
            logger.warning(
                "the %s subgraph has no internal key (--internal-key-file or %s): every request is "
                "served as anonymous", service, KEY_FILE_ENV,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope["headers"]:
            if name.decode("latin-1").lower() == CLAIMS_HEADER:
                header = value.decode("latin-1")
        try:
            scope[SCOPE_KEY] = self.verifier.verify(header)
        except ClaimsRejected as error:
            await _refuse(send, f"Unauthenticated: {error}.")
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    ).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def claims_of(scope: Mapping[str, Any]) -> Claims:
    """The verified claims the gate left in an ASGI scope (anonymous when it never ran)."""
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, Claims) else ANONYMOUS
