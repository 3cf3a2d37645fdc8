"""What the shared caches save: a replica's first plan read from Redis against planning cold, and
APQ requests (hash only) against full query text.

    python -m bench.caches plans [--redis redis://127.0.0.1:6379/0] [--rounds 5]
    python -m bench.caches apq --url http://127.0.0.1:4000/graphql [--seconds 3] [--rounds 2]
    python -m bench.caches entities --without URL --with URL [--seconds 3] [--rounds 3]

`plans` builds gateway engines in this process over schema/supergraph.graphql and the demo
govgraph.toml (no subgraph is called: only the preparation of each W2 operation is timed). For
each round, a fresh key prefix: engine A prepares cold (validates, plans, shares), engine B
then prepares the same operations from Redis. `apq` drives a running gateway (e.g. `make run`)
with a fixed number of concurrent keep-alive clients, alternating full text and hash only, and
counts only answers byte-equal to the first full-text answer. `entities` drives two gateways
over the same subgraphs, one without and one with `[entity_cache] enabled`, alternating, and
counts only answers byte-equal to each gateway's first answer, once the data of both is
checked equal.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.w2.operations import OPERATIONS

ROOT = Path(__file__).resolve().parents[1]


async def _prepare_once(engine: Any, query: str) -> float:
    """Seconds to take one operation from text to a prepared plan, as a first request does."""
    from gateway.planner.operation import select_operation

    deadline = time.monotonic() + 30
    started = time.perf_counter()
    parsed = await engine._shared_document(query, deadline)
    definition = select_operation(parsed.document, None)
    key = (query, None, engine._override_labels())
    await engine._prepare_shared(key, parsed.document, definition, {}, key[2], deadline)
    return time.perf_counter() - started


async def plans(redis_url: str, rounds: int) -> None:
    from gateway.config import load_config
    from gateway.engine import Gateway

    sdl = (ROOT / "schema" / "supergraph.graphql").read_text(encoding="utf-8")
    timings: dict[str, dict[str, list[float]]] = {
        op.name: {"memory": [], "cold": [], "redis": []} for op in OPERATIONS
    }
    for _ in range(rounds):
        config = load_config(ROOT / "govgraph.toml", env={})
        local = Gateway(sdl, config)
        config.cache.redis_url = redis_url
        config.cache.key_prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        config.cache.timeout_s = 0.5
        first, second = Gateway(sdl, config), Gateway(sdl, config)
        for engine in (local, first, second):  # threads and connections up before timing
            await _prepare_once(engine, "{ __typename }")
        for op in OPERATIONS:
            timings[op.name]["memory"].append(await _prepare_once(local, op.query))
            timings[op.name]["cold"].append(await _prepare_once(first, op.query))
            timings[op.name]["redis"].append(await _prepare_once(second, op.query))
        for engine in (local, first, second):
            await engine.shutdown()
    print(f"first request's preparation, median of {rounds} rounds (ms)\n")
    print("| operation | cold, no Redis | cold, sharing to Redis | from Redis | saved |")
    print("|---|---|---|---|---|")
    for name, t in timings.items():
        memory, cold, shared = (statistics.median(t[k]) * 1000 for k in ("memory", "cold", "redis"))
        print(f"| {name} | {memory:.2f} | {cold:.2f} | {shared:.2f} | {1 - shared / memory:.0%} |")


async def _drive(url: str, payload: bytes, expected: bytes, seconds: float, clients: int) -> int:
    correct = 0
    stop = time.monotonic() + seconds
    headers = {"content-type": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def client() -> None:
            nonlocal correct
            while time.monotonic() < stop:
                async with session.post(url, data=payload, headers=headers) as response:
                    if response.status == 200 and await response.read() == expected:
                        correct += 1

        await asyncio.gather(*(client() for _ in range(clients)))
    return correct


async def apq(url: str, seconds: float, rounds: int, clients: int) -> None:
    print(f"{clients} clients, {seconds:g} s per run, median of {rounds} rounds\n")
    print("| operation | request bytes, text | request bytes, hash | answers/s, text "
          "| answers/s, hash | ratio |")
    print("|---|---|---|---|---|---|")
    async with aiohttp.ClientSession() as session:
        for op in OPERATIONS[:2]:
            digest = hashlib.sha256(op.query.encode()).hexdigest()
            extension = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
            full = orjson.dumps({"query": op.query, "extensions": extension})
            short = orjson.dumps({"extensions": extension})
            async with session.post(url, data=full,
                                    headers={"content-type": "application/json"}) as response:
                expected = await response.read()
            rates: dict[str, list[float]] = {"text": [], "hash": []}
            for _ in range(rounds):
                for mode, payload in (("text", full), ("hash", short)):
                    count = await _drive(url, payload, expected, seconds, clients)
                    rates[mode].append(count / seconds)
            text, hashed = statistics.median(rates["text"]), statistics.median(rates["hash"])
            print(f"| {op.name} | {len(full)} | {len(short)} | {text:.0f} | {hashed:.0f} "
                  f"| {hashed / text:.2f} |")


async def entities(without: str, with_: str, seconds: float, rounds: int, clients: int) -> None:
    print(f"{clients} clients, {seconds:g} s per run, median of {rounds} rounds\n")
    print("| operation | answers/s, no entity cache | answers/s, warm entity cache | ratio |")
    print("|---|---|---|---|")
    chosen = [op for op in OPERATIONS if op.name in ("ItemAcrossProvinces", "GuangdongHalls")]
    async with aiohttp.ClientSession() as session:
        for op in chosen:
            payload = orjson.dumps(op.as_request())
            answers = []
            for url in (without, with_, with_):  # the first call with the cache warms it
                async with session.post(url, data=payload,
                                        headers={"content-type": "application/json"}) as reply:
                    answers.append(await reply.read())
            # a warm answer asks no shard, so its extensions list none: compare the data
            if orjson.loads(answers[0])["data"] != orjson.loads(answers[2])["data"]:
                raise SystemExit(f"{op.name}: the two gateways answer differently")
            expected = {"without": answers[0], "with": answers[2]}
            rates: dict[str, list[float]] = {"without": [], "with": []}
            for _ in range(rounds):
                for mode, url in (("without", without), ("with", with_)):
                    count = await _drive(url, payload, expected[mode], seconds, clients)
                    rates[mode].append(count / seconds)
            off, on = statistics.median(rates["without"]), statistics.median(rates["with"])
            print(f"| {op.name} | {off:.0f} | {on:.0f} | {on / off:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.caches", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("plans")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--rounds", type=int, default=5)
    a = sub.add_parser("apq")
    a.add_argument("--url", default="http://127.0.0.1:4000/graphql")
    a.add_argument("--seconds", type=float, default=3.0)
    a.add_argument("--rounds", type=int, default=2)
    a.add_argument("--clients", type=int, default=8)
    e = sub.add_parser("entities")
    e.add_argument("--without", required=True, help="a gateway without the entity cache")
    e.add_argument("--with", dest="with_", required=True, help="the same with it")
    e.add_argument("--seconds", type=float, default=3.0)
    e.add_argument("--rounds", type=int, default=3)
    e.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    if args.what == "plans":
        asyncio.run(plans(args.redis, args.rounds))
    elif args.what == "entities":
        asyncio.run(entities(args.without, args.with_, args.seconds, args.rounds, args.clients))
    else:
        asyncio.run(apq(args.url, args.seconds, args.rounds, args.clients))


if __name__ == "__main__":
    main()
