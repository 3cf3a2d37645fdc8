"""Who is calling: JSON Web Tokens and API keys verified at the gateway, and the claims the
gateway signs for its subgraphs.

A request with no credentials is the anonymous caller. A token that does not verify
(signature, `exp`, `nbf`, `iss`, `aud`, algorithm) or an unknown API key is refused with
HTTP 401 before any other work. What a verified caller may see is decided later, on the
operation (see `gateway.authorization`), and by the subgraphs from the claims the
gateway signs for them: a header a client sets itself never reaches a subgraph as a
claim.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from gateway.config import ApiKeyConfig, AuthConfig, ConfigError
from gateway.exchange import ANONYMOUS, Caller

log = logging.getLogger("govgraph.auth")

CLAIMS_HEADER = "x-govgraph-claims"
INTERNAL_ISSUER = "govgraph-gateway"
INTERNAL_AUDIENCE = "govgraph-subgraphs"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"

_ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SHORT = 64  # longest claim value copied into a message


class AuthError(Exception):
    """Credentials were sent and are not acceptable: the request is refused with `status`."""

    def __init__(self, message: str, status: int = 401, code: str = UNAUTHENTICATED) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(slots=True)
class _Keys:
    """Verification keys: one static key, or a JWKS (from a file or a URL, cached)."""

    static: Any = None
    jwks: jwt.PyJWKSet | None = None
    client: jwt.PyJWKClient | None = None


@dataclass(slots=True)
class Authenticator:
    """Turns the credentials of a request into a `Caller` (or refuses them)."""

    config: AuthConfig
    _keys: _Keys = field(default_factory=_Keys)
    _api_keys: dict[str, tuple[str, ApiKeyConfig]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.config
        if cfg.jwt_key_file:
            self._keys.static = _read_key(cfg.jwt_key_file, "auth.jwt_key_file")
        if cfg.jwks_file:
            try:
                self._keys.jwks = jwt.PyJWKSet.from_json(Path(cfg.jwks_file).read_text("utf-8"))
            except (OSError, jwt.PyJWTError, ValueError) as exc:
                raise ConfigError(f"auth.jwks_file {cfg.jwks_file!r} is unusable: {exc}") from None
        if cfg.jwks_url:
            # the key set is cached for jwks_cache_s and refetched for an unknown key id at
            # most once per cooldown; single keys are not cached apart from it, so a key the
            # set no longer lists stops verifying when the set is refetched
            self._keys.client = jwt.PyJWKClient(
                cfg.jwks_url,
                cache_keys=False,
                lifespan=cfg.jwks_cache_s,
                timeout=5,
                cooldown_duration=cfg.jwks_refresh_cooldown_s,
            )
        for key_id, key in cfg.api_keys.items():
            self._api_keys[key.sha256.lower()] = (key_id, key)

    @property
    def fetches_keys(self) -> bool:
        """Verifying a token may fetch the key set from its URL (cached between fetches)."""
        return self._keys.client is not None

    @property
    def accepts_tokens(self) -> bool:
        keys = self._keys
        return keys.static is not None or keys.jwks is not None or keys.client is not None

    def caller(self, headers: Mapping[str, str]) -> Caller:
        """The verified caller of a request; raises `AuthError` for bad credentials."""
        cfg = self.config
        api_key = headers.get(cfg.api_key_header)
        token = _bearer(headers.get(cfg.jwt_header))
        if api_key is not None and token is not None:
            raise AuthError("Send either a token or an API key, not both.", 400, "BAD_REQUEST")
        if api_key is not None:
            return self._api_key_caller(api_key)
        if token is None:
            return ANONYMOUS
        claims = self._verify(token)
        return self._caller_from_claims(claims)

    def _api_key_caller(self, presented: str) -> Caller:
        found = self._api_keys.get(hash_api_key(presented))
        if found is None:
            raise AuthError("The API key is not valid.")
        key_id, key = found
        return Caller(
            kind=key.kind,
            client_id=key_id,
            scopes=frozenset([key.kind, *key.scopes]),
            trusted_documents_only=key.trusted_documents_only,
        )

    def _verify(self, token: str) -> dict[str, Any]:
        cfg = self.config
        if not self.accepts_tokens:
            raise AuthError("This gateway accepts no tokens; send the request without one.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("The token is not a well-formed JSON Web Token.") from None
        algorithm = header.get("alg")
        if algorithm not in cfg.algorithms:
            raise AuthError(
                f"The token's algorithm {_short(algorithm)} is not accepted "
                f"(accepted: {', '.join(cfg.algorithms)})."
            )
        key = self._key_for(token, header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(cfg.algorithms),
                issuer=cfg.issuer,
                audience=cfg.audience,
                leeway=cfg.leeway_s,
                options={"require": ["exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("The token is not valid yet (nbf).") from None
        except jwt.InvalidIssuerError:
            raise AuthError("The token's issuer is not accepted.") from None
        except jwt.InvalidAudienceError:
            raise AuthError("The token's audience is not accepted.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"The token lacks the {exc.claim!r} claim.") from None
        except jwt.InvalidSignatureError:
            raise AuthError("The token's signature does not verify.") from None
        except jwt.PyJWTError:
            raise AuthError("The token is not valid.") from None
        return claims

    def _key_for(self, token: str, header: Mapping[str, Any]) -> Any:
        keys = self._keys
        kid = header.get("kid")
        if keys.jwks is not None and kid is not None:
            for jwk in keys.jwks.keys:
                if jwk.key_id == kid:
                    return jwk.key
        if keys.client is not None:
            try:
                return keys.client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError:
                raise AuthError(
                    "The token cannot be verified now: the key set is unreachable.",
                    503,
                    "AUTHENTICATION_UNAVAILABLE",
                ) from None
            except jwt.PyJWTError:
                raise AuthError("The token's key is not in the key set.") from None
        if keys.static is not None:
            return keys.static
        if keys.jwks is not None and len(keys.jwks.keys) == 1 and kid is None:
            return keys.jwks.keys[0].key
        raise AuthError("The token's key is not in the key set.")

    def _caller_from_claims(self, claims: Mapping[str, Any]) -> Caller:
        cfg = self.config
        role = claims.get(cfg.role_claim)
        if not isinstance(role, str) or not _ROLE.match(role) or role == "anonymous":
            raise AuthError(f"The token's {cfg.role_claim!r} claim is missing or not a role name.")
        if cfg.roles and role not in cfg.roles:
            raise AuthError(f"The token's role {_short(role)} is not one this gateway serves.")
        subject = claims.get("sub")
        if subject is not None and not isinstance(subject, str):
            raise AuthError("The token's 'sub' claim must be a string.")
        partition = claims.get(cfg.partition_claim)
        if partition is not None and not isinstance(partition, str):
            raise AuthError(f"The token's {cfg.partition_claim!r} claim must be a string.")
        stages = claims.get("stages", [])
        if isinstance(stages, str):
            stages = [stages]
        if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
            raise AuthError("The token's 'stages' claim must be a list of strings.")
        purpose = claims.get("purpose")
        if purpose is not None:
            if not isinstance(purpose, str):
                raise AuthError("The token's 'purpose' claim must be a string.")
            if purpose not in cfg.purposes:
                raise AuthError(
                    f"The stated purpose {_short(purpose)} is not on this gateway's allow-list "
                    "of purposes for shared data.",
                    403,
                    FORBIDDEN,
                )
        return Caller(
            kind=role,
            subject=subject,
            partition=partition,
            stages=tuple(stages),
            purpose=purpose,
            scopes=frozenset([role, *_scopes(claims)]),
        )


def _bearer(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Credentials must be sent as 'Bearer <token>'.")
    return token.strip()


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    listed = claims.get("scp", scope)
    if isinstance(listed, list):
        return [s for s in listed if isinstance(s, str)]
    return []


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def _read_key(path: str, name: str) -> Any:
    """A PEM public key, a JWK (JSON) or an HMAC secret, read from a file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name} {path!r} cannot be read: {exc.strerror}") from None
    text = data.strip()
    if text.startswith(b"{"):
        try:
            return jwt.PyJWK.from_json(text.decode()).key
        except (jwt.PyJWTError, ValueError) as exc:
            raise ConfigError(f"{name} {path!r} is not a usable JWK: {exc}") from None
    if text.startswith(b"-----BEGIN"):
        return text
    if len(text) < 32:
        raise ConfigError(f"{name} {path!r}: an HMAC secret must be at least 32 bytes")
    return text


def read_secret(path: str, name: str) -> bytes:
    """An HMAC secret of at least 32 bytes from a file (surrounding whitespace ignored)."""
    key = _read_key(path, name)
    if not isinstance(key, bytes) or key.startswith(b"-----BEGIN"):
        raise ConfigError(f"{name} {path!r} must hold a secret, not a public key")
    return key


class ClaimsSigner:
    """Signs the verified caller for the subgraphs: a short-lived HS256 token.

    One token per caller is reused until half its lifetime has passed, so identical
    subgraph requests of one caller still share a fetch.
    """

    def __init__(self, key: bytes, ttl_s: float, partition_claim: str) -> None:
        self._key = key
        self._partition_claim = partition_claim
        self._ttl = max(2, int(ttl_s))
        self._tokens: dict[Caller, tuple[float, str]] = {}

    def token(self, caller: Caller) -> str:
        now = time.time()
        cached = self._tokens.get(caller)
        if cached is not None and cached[0] > now:
            return cached[1]
        issued = int(now)
        claims: dict[str, Any] = {
            "iss": INTERNAL_ISSUER,
            "aud": INTERNAL_AUDIENCE,
            "iat": issued,
            "exp": issued + self._ttl,
            "kind": caller.kind,
            "scopes": sorted(caller.scopes),
        }
        if caller.subject is not None:
            claims["sub"] = caller.subject
        if caller.client_id is not None:
            claims["client"] = caller.client_id
        if caller.partition is not None:
            claims[self._partition_claim] = caller.partition
        if caller.stages:
            claims["stages"] = list(caller.stages)
        if caller.purpose is not None:
            claims["purpose"] = caller.purpose
        token = jwt.encode(claims, self._key, algorithm="HS256")
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[caller] = (now + self._ttl / 2, token)
        return token


def hash_api_key(key: str) -> str:
    """The digest `[auth.api_keys.<id>] sha256` stores for an API key."""
    return hashlib.sha256(key.strip().encode()).hexdigest()
