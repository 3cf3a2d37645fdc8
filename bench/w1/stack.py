"""The W1 subgraphs as one process, the supergraph pointing at them, and the reference answers."""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.processes import BenchError, Service, free_port, pinned

HERE = Path(__file__).resolve().parent
SUBGRAPHS = ("accounts", "inventory", "products", "reviews")
SUPERGRAPH = HERE / "supergraph.graphql"
QUERY = (HERE / "query.graphql").read_text(encoding="utf-8")
_JOIN_GRAPH = re.compile(r'@join__graph\(name: "(?P<name>[^"]+)", url: "[^"]*"\)')


@dataclass(slots=True)
class SubgraphStack:
    """The running subgraph process, its URL per subgraph, and the supergraph that names them."""

    service: Service
    urls: dict[str, str]
    supergraph: Path

    def stop(self) -> None:
        self.service.stop()


def start_subgraphs(workdir: Path, cpus: str | None) -> SubgraphStack:
    """Start the four subgraphs on free ports and write a supergraph whose URLs point at them."""
    ports = {name: free_port() for name in SUBGRAPHS}
    urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
    service = Service(
        name="W1 subgraphs",
        argv=pinned(["node", str(HERE / "subgraphs.mjs"), *(str(ports[name]) for name in SUBGRAPHS)], cpus),
        log_path=workdir / "subgraphs.log",
    ).start()
    try:
        for name in SUBGRAPHS:
            service.wait_ready(urls[name])
    except BenchError:
        service.stop()
        raise
    supergraph = workdir / "supergraph.graphql"
    supergraph.write_text(point_supergraph(SUPERGRAPH.read_text(encoding="utf-8"), urls), encoding="utf-8")
    return SubgraphStack(service=service, urls=urls, supergraph=supergraph)


def point_supergraph(sdl: str, urls: dict[str, str]) -> str:
    """Rewrite every `@join__graph(url:)` to the URL running now; every subgraph must be named."""
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in urls:
            raise BenchError(f"the supergraph names subgraph {name!r} but no URL was given for it")
        seen.add(name)
        return f'@join__graph(name: "{name}", url: "{urls[name]}")'

    rewritten = _JOIN_GRAPH.sub(replace, sdl)
    missing = set(urls) - seen
    if missing:
        raise BenchError(f"the supergraph has no subgraph named {min(missing)!r}")
    return rewritten


def reference_bodies(operations: list[dict[str, object]], workdir: Path) -> list[str]:
    """Answer each operation through one non-federated schema over the same data (reference.mjs)."""
    source = workdir / "reference-operations.json"
    target = workdir / "reference-answers.json"
    source.write_text(json.dumps(operations), encoding="utf-8")
    completed = subprocess.run(["node", str(HERE / "reference.mjs"), str(source), str(target)],
                               capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0:
        raise BenchError(f"reference.mjs failed: {completed.stderr.strip()}")
    bodies: list[str] = json.loads(target.read_text(encoding="utf-8"))
    return bodies
