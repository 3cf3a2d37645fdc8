"""How fast `govgraph gateway` refuses operations past its limits, and what they cost its memory.

    .venv/bin/python -m bench.planning_limits [--rounds N]

Starts one gateway on the demo supergraph (no subgraph is needed: a refused operation never
reaches one) and sends it, each time with a new operation name so no cache answers:
the 1.2 KB doubling query (30 fragments, each spreading the next one twice: 2^30 selections
once expanded; refused by `max_expanded_selections`) and the 10,000-alias query
(`a0: provinces { code } ...`: 60,000 tokens, refused by `max_tokens`). Prints each one's
median and worst answer time and the gateway's resident memory before and after. The goal for
the doubling query: well under 100 ms and no memory growth.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.launch import Client
from bench.processes import Service, free_port

ROOT = Path(__file__).resolve().parent.parent
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"


def doubling_query(name: str, levels: int = 30) -> str:
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n"
                        for i in range(levels - 1))
    return (f"query {name} {{ ...F0 }}\n{fragments}"
            f"fragment F{levels - 1} on Query {{ provinces {{ code }} }}\n")


def alias_query(name: str, count: int = 10_000) -> str:
    return f"query {name} {{ " + " ".join(f"a{i}: provinces {{ code }}"
                                          for i in range(count)) + " }"


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def measure(client: Client, pid: int, label: str, make: Callable[[str], str], rounds: int) -> None:
    before = resident_kib(pid)
    times: list[float] = []
    codes: set[str] = set()
    size = 0
    for i in range(rounds):
        query = make(f"Q{i}")
        size = len(query)
        status, body, ms = client.post(orjson.dumps({"query": query}))
        error = orjson.loads(body)["errors"][0]
        codes.add(f"{status} {error.get('extensions', {}).get('code')}")
        times.append(ms)
    after = resident_kib(pid)
    print(f"{label}: {size / 1024:.1f} KB, {rounds} requests, answered {', '.join(sorted(codes))}")
    print(f"  answer time: median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms")
    print(f"  gateway RSS: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after "
          f"({(after - before) / 1024:+.1f} MiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="requests per query (default 20)")
    args = parser.parse_args(argv)
    port = free_port()
    govgraph = str(Path(sys.executable).parent / "govgraph")
    with tempfile.TemporaryDirectory() as workdir:
        service = Service(
            name="govgraph", log_path=Path(workdir) / "gateway.log",
            argv=[govgraph, "gateway", "--supergraph", str(SUPERGRAPH), "--port", str(port)],
        ).start()
        try:
            service.wait_ready(f"http://127.0.0.1:{port}/graphql")
            client = Client(port)
            for _ in range(20):  # warm: first requests pay for imports and caches
                client.post(b'{"query": "{ __typename }"}')
            measure(client, service.pid, "doubling query", doubling_query, args.rounds)
            measure(client, service.pid, "10,000-alias query", alias_query,
                    max(1, args.rounds // 4))
            client.close()
        finally:
            service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
