"""Internal claims tokens for tests: what the gateway signs for each subgraph fetch, minted here
with PyJWT and the same key file the subgraph under test reads."""
from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import jwt

CLAIMS_HEADER = "x-govgraph-claims"
ALL_STAGES = ["ACCEPT", "UNDERTAKE", "AUDIT", "APPROVE", "DELIVER", "WITHDRAW"]


def write_key(directory: Path, name: str = "internal.key") -> Path:
    """A fresh 48-byte key file (with a trailing newline, which readers strip)."""
    path = directory / name
    path.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
    return path


def mint(key_file: Path, kind: str, *, lifetime_s: int = 60, issued_at: float | None = None,
         audience: str = "govgraph-subgraphs", issuer: str = "govgraph-gateway", **claims: Any) -> str:
    """A token as the gateway would send it: `kind` plus any claims (sub, province, stages, purpose,
    scopes, rid)."""
    now = int(issued_at if issued_at is not None else time.time())
    payload = {"iss": issuer, "aud": audience, "iat": now, "exp": now + lifetime_s, "kind": kind,
               "scopes": [kind], **claims}
    return jwt.encode(payload, key_file.read_bytes().strip(), algorithm="HS256")


def as_caller(key_file: Path, kind: str, **claims: Any) -> dict[str, str]:
    """The request header that makes a subgraph request come from this caller."""
    return {CLAIMS_HEADER: mint(key_file, kind, **claims)}


def citizen(key_file: Path, subject: str) -> dict[str, str]:
    return as_caller(key_file, "citizen", sub=subject)


def officer(key_file: Path, province: str, stages: list[str] | None = None, purpose: str | None = None,
            ) -> dict[str, str]:
    extra = {"purpose": purpose} if purpose else {}
    return as_caller(key_file, "officer", sub=f"O{province}01", province=province,
                     stages=ALL_STAGES if stages is None else stages, **extra)


def client_token(key_file: Path, role: str, *, lifetime_s: int = 300, **claims: Any) -> str:
    """A client's token as the demo gateway accepts it (govgraph.toml's [auth]: issuer
    govgraph-demo, audience govgraph, the caller kind in `role`)."""
    now = int(time.time())
    payload = {"iss": "govgraph-demo", "aud": "govgraph", "iat": now, "nbf": now, "exp": now + lifetime_s,
               "role": role, **claims}
    return jwt.encode(payload, key_file.read_bytes().strip(), algorithm="HS256")
