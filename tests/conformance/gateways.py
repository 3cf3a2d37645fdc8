"""The two gateways under test as real processes: govgraph and the @apollo/gateway reference."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from case import PROJECT_DIR

APOLLO_LAUNCHER = Path(__file__).parent / "apollo_gateway.mjs"


class GatewayStartError(RuntimeError):
    """The gateway process exited or never answered; the message carries its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subgraph_env(urls: Mapping[str, str]) -> dict[str, str]:
    """`GOVGRAPH_SUBGRAPH_<NAME>_URL` overrides, read by both gateways."""
    return {f"GOVGRAPH_SUBGRAPH_{name.upper()}_URL": url for name, url in urls.items()}


def govgraph_command(supergraph: Path, port: int, config: Path | None = None) -> list[str]:
    script = Path(sys.executable).parent / "govgraph"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "gateway.cli"]
    # the development profile answers introspection, which the conformance cases use
    return [*base, "gateway", "--supergraph", str(supergraph), "--port", str(port),
            "--profile", "development", *(["--config", str(config)] if config else [])]


class HttpGateway:
    """A gateway listening on 127.0.0.1, spoken to with GraphQL over HTTP."""

    def __init__(self, label: str, port: int) -> None:
        self.label = label
        self.port = port
        self.url = f"http://127.0.0.1:{port}/graphql"

    def post(self, payload: Mapping[str, Any], timeout_s: float = 20.0) -> tuple[int, Any]:
        """POST a GraphQL request; return the HTTP status and the decoded JSON body."""
        request = urllib.request.Request(
            self.url, data=json.dumps(payload).encode(), method="POST",
            headers={"content-type": "application/json",
                     "accept": "application/graphql-response+json, application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def execute(self, query: str, variables: Mapping[str, Any] | None = None,
                operation_name: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        if operation_name is not None:
            payload["operationName"] = operation_name
        _, body = self.post(payload)
        assert isinstance(body, dict), f"{self.label} answered a non-object body: {body!r}"
        return body


class GatewayProcess(HttpGateway):
    """A gateway started as its own subprocess on a free port."""

    def __init__(self, label: str, command: list[str], port: int, env: Mapping[str, str]) -> None:
        super().__init__(label, port)
        # the log outlives this call: it is read on failure and closed in stop()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_SUBGRAPH_")}
        full_env.update(env)
        self._process = subprocess.Popen(command, cwd=PROJECT_DIR, env=full_env,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise GatewayStartError(
                    f"{self.label} exited with status {self._process.returncode}:\n{self.output()}")
            try:
                status, body = self.post({"query": "{ __typename }"}, timeout_s=2.0)
                if status == 200 and isinstance(body, dict) and "data" in body:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise GatewayStartError(f"{self.label} did not answer within {timeout_s}s:\n{self.output()}")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._log.close()




class ApolloHost:
    """One node process serving any number of reference gateway instances, one per case.

    Loading the gateway modules costs seconds, so the suite pays it once per session.
    """

    def __init__(self, respawn: bool = False) -> None:
        """`respawn`: when the node process has died (a reference gateway crashed on a
        query), the next command starts a new one; the gateways it served are gone."""
        # the log outlives this call: it is read on failure and closed in close()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self.respawn = respawn
        self.respawned = 0
        self._process = self._spawn()

    def _spawn(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["node", str(APOLLO_LAUNCHER), "--stdin"], cwd=PROJECT_DIR, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)

    def alive(self, grace_s: float = 0.0) -> bool:
        """Is the node process running (given `grace_s` to finish dying)?"""
        if grace_s > 0:
            try:
                self._process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                return True
        return self._process.poll() is None

    def _command(self, command: Mapping[str, Any]) -> dict[str, Any]:
        if self.respawn and not self.alive():
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = self._spawn()
            self.respawned += 1
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            self._log.seek(0)
            raise GatewayStartError("the @apollo/gateway host exited:\n"
                                    + self._log.read().decode("utf-8", "replace")[-4000:])
        return dict(json.loads(line))

    def start(self, supergraph: Path, urls: Mapping[str, str], engine: str = "apollo") -> HttpGateway:
        """Serve the supergraph with @apollo/gateway, or with Hive Gateway (`engine="hive"`)."""
        port = free_port()
        reply = self._command({"start": port, "supergraph": str(supergraph), "urls": dict(urls),
                               "engine": engine})
        if "error" in reply:
            raise GatewayStartError(f"{engine} gateway refused {supergraph}: {reply['message']}")
        return HttpGateway(engine, port)

    def stop(self, gateway: HttpGateway) -> None:
        self._command({"stop": gateway.port})

    def close(self) -> None:
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except OSError:  # the process died (a reference crashed): nothing to flush
                pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()
