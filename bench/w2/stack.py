"""The portal stack for W2: seeded data, both subgraphs via `govgraph run --subgraphs-only`, a shard map."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.processes import BenchError, Service, free_port, pinned
from bench.targets import ROOT

GOVGRAPH = ROOT / ".venv" / "bin" / "govgraph"
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"


@dataclass(slots=True)
class PortalStack:
    service: Service
    national_url: str
    shard_urls: dict[str, str]

    def gateway_config(self) -> str:
        """The gateway's TOML: the national URL and one shard URL per province code."""
        lines = ["[subgraphs.national]", f'url = "{self.national_url}"', "", "[partitions.provincial.shards]"]
        lines += [f'"{code}" = "{url}"' for code, url in sorted(self.shard_urls.items())]
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.service.stop()


def seed(data_dir: Path, scale: float) -> None:
    """Seed once per scale; `govgraph seed` keeps databases that already exist."""
    completed = subprocess.run([str(GOVGRAPH), "seed", "--data-dir", str(data_dir), "--scale", str(scale)],
                               capture_output=True, text=True, timeout=1800, check=False)
    if completed.returncode != 0:
        raise BenchError(f"govgraph seed failed: {completed.stderr.strip() or completed.stdout.strip()}")


def start_portal_subgraphs(data_dir: Path, workdir: Path, cpus: str | None) -> PortalStack:
    national, provincial = free_port(), free_port()
    codes = sorted(path.stem for path in (data_dir / "provinces").glob("*.db"))
    if not codes:
        raise BenchError(f"no provincial databases under {data_dir / 'provinces'}")
    service = Service(
        name="portal subgraphs",
        argv=pinned([str(GOVGRAPH), "run", "--subgraphs-only", "--data-dir", str(data_dir),
                     "--national-port", str(national), "--provincial-port", str(provincial),
                     "--gateway-port", str(free_port())], cpus),
        log_path=workdir / "subgraphs.log",
    ).start()
    stack = PortalStack(
        service=service,
        national_url=f"http://127.0.0.1:{national}/graphql",
        shard_urls={code: f"http://127.0.0.1:{provincial}/provinces/{code}/graphql" for code in codes},
    )
    try:
        service.wait_ready(stack.national_url, timeout_s=120)
        service.wait_ready(stack.shard_urls[codes[0]], timeout_s=120)
    except BenchError:
        service.stop()
        raise
    return stack
