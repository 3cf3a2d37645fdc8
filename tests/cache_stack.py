"""Gateway processes over the tiny subgraphs, configured with a cache backend: none (memory),
the machine's Redis, or a Redis Cluster, each test under a key prefix of its own."""
from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from audit.live_stack import Gateway, HttpReply, http, post_graphql, start_gateway
from redis_servers import unique_prefix


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def get_graphql(url: str, params: dict[str, object],
                headers: dict[str, str] | None = None) -> HttpReply:
    query = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                    for k, v in params.items()})
    return http("GET", f"{url}?{query}", headers={"accept": "application/graphql-response+json",
                                                  "graphql-require-preflight": "1",
                                                  **(headers or {})})


def post(url: str, payload: dict[str, object], headers: dict[str, str] | None = None) -> HttpReply:
    return post_graphql(url, payload, headers)


@contextmanager
def gateways(supergraph: Path, tmp: Path, redis_url: str | None, toml: str = "",
             count: int = 2, prefix: str | None = None) -> Iterator[list[Gateway]]:
    """`count` gateway processes sharing `redis_url` under one fresh key prefix; with no
    Redis there is nothing to share, so only one is started."""
    config = tmp / f"gateway-{unique_prefix()[:-1]}.toml"
    cache = ""
    if redis_url is not None:
        cache = f'[cache]\nredis_url = "{redis_url}"\nkey_prefix = "{prefix or unique_prefix()}"\n'
        cache += "timeout_s = 2\n"  # generous: the machine may be busy
    config.write_text(cache + toml, encoding="utf-8")
    with ExitStack() as stack:
        running = []
        for _ in range(count if redis_url is not None else 1):
            gateway = start_gateway("--supergraph", str(supergraph), "--config", str(config))
            stack.callback(gateway.process.stop)
            running.append(gateway)
        yield running
