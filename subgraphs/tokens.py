"""`govgraph token`: mint a demo token for one of the platform's callers.

The token is signed with the development key that `govgraph run` keeps in its data
directory (`keys/token.key`), which the demo gateway accepts; a production gateway
verifies tokens of the unified identity instead and never knows this key.

    govgraph token --role citizen --subject P36658213894
    govgraph token --role officer --province 440000 --stage APPROVE
    govgraph token --role national --purpose tax-inspection
    govgraph token --role auditor
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROLES = ("citizen", "enterprise", "officer", "national", "auditor")
DEMO_ISSUER = "govgraph-demo"
DEMO_AUDIENCE = "govgraph"
TOKEN_KEY = Path("keys") / "token.key"


def register_token(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="mint a demo token for a caller (signed with the demo's development key)",
        description="Print a JSON Web Token for one caller of the demo platform, signed "
        "with the development key of `govgraph run` (DATA_DIR/keys/token.key). Send it as "
        "'Authorization: Bearer <token>'.",
    )
    parser.add_argument("--role", required=True, choices=ROLES, help="the caller's role")
    parser.add_argument("--subject", help="subject id (citizen/enterprise: whose data it is)")
    parser.add_argument("--province", help="officer: the 6-digit province code it serves")
    parser.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="STAGE",
        help="officer: a lifecycle stage its role may perform (repeatable)",
    )
    parser.add_argument("--purpose", help="stated purpose for shared data (must be allowed)")
    parser.add_argument("--scope", action="append", default=[], help="extra scope (repeatable)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (3600)")
    parser.add_argument("--data-dir", default="data", help="the demo's data directory (data)")
    parser.add_argument("--key-file", help="HS256 secret to sign with (default: the demo's)")
    parser.set_defaults(func=mint)


def mint(args: argparse.Namespace) -> int:
    import jwt

    key_file = Path(args.key_file) if args.key_file else Path(args.data_dir) / TOKEN_KEY
    try:
        key = key_file.read_bytes().strip()
    except OSError as exc:
        print(
            f"govgraph token: cannot read the signing key {key_file}: {exc.strerror}; "
            "start the demo once with `make run` (it creates the key) or pass --key-file",
            file=sys.stderr,
        )
        return 2
    if args.role == "officer" and not args.province:
        print("govgraph token: an officer's token needs --province", file=sys.stderr)
        return 2
    if args.role in ("citizen", "enterprise") and not args.subject:
        print(f"govgraph token: a {args.role}'s token needs --subject", file=sys.stderr)
        return 2
    if args.ttl <= 0:
        print("govgraph token: --ttl must be greater than zero", file=sys.stderr)
        return 2
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": DEMO_ISSUER,
        "aud": DEMO_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + args.ttl,
        "role": args.role,
        "sub": args.subject or f"demo-{args.role}",
    }
    if args.province:
        claims["province"] = args.province
    if args.stage:
        claims["stages"] = list(args.stage)
    if args.purpose:
        claims["purpose"] = args.purpose
    if args.scope:
        claims["scope"] = " ".join(args.scope)
    print(jwt.encode(claims, key, algorithm="HS256"))
    return 0
