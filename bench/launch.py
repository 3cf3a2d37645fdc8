"""Run one target gateway, pinned, against a supergraph for the length of a `with` block."""
from __future__ import annotations

import http.client
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import Service, free_port, pinned
from bench.targets import Target


@dataclass(frozen=True, slots=True)
class RunningGateway:
    service: Service
    url: str
    port: int


@contextmanager
def running_gateway(target: Target, supergraph: Path, urls: Mapping[str, str], workdir: Path,
                    cpus: str | None, label: str) -> Iterator[RunningGateway]:
    port = free_port()
    config = workdir / f"{label}.toml"
    launch = target.launch(supergraph, port, urls, config)
    if launch.config_text is not None:
        config.write_text(launch.config_text, encoding="utf-8")
    service = Service(name=target.name, argv=pinned(launch.argv, cpus), env=launch.env,
                      log_path=workdir / f"{label}.log").start()
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        service.wait_ready(url)
        yield RunningGateway(service=service, url=url, port=port)
    finally:
        service.stop()


class Client:
    """One keep-alive HTTP connection that POSTs GraphQL bodies and times each answer."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        """Return status, body and wall-clock milliseconds from sending to the last byte read."""
        started = time.perf_counter()
        self._connection.request("POST", "/graphql", body=body,
                                 headers={"content-type": "application/json", "accept": "application/json",
                                          **(headers or {})})
        response = self._connection.getresponse()
        payload = response.read()
        return response.status, payload, (time.perf_counter() - started) * 1000.0

    def close(self) -> None:
        self._connection.close()
