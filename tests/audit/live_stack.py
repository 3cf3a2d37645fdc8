"""Real processes for end-to-end tests: the tiny subgraphs and `govgraph gateway` over them.

Every process binds 127.0.0.1 on a port the OS picked, and is stopped by its owner
(a fixture's teardown) with SIGTERM, then SIGKILL if it lingers.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
TINY_SUBGRAPHS = Path(__file__).with_name("tiny_subgraphs.py")
SUBGRAPH_NAMES = ("divisions", "services")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, *, body: bytes | None = None,
         headers: Mapping[str, str] | None = None, timeout_s: float = 20.0) -> HttpReply:
    """One HTTP exchange; error statuses are replies, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return HttpReply(response.status, {k.lower(): v for k, v in response.headers.items()},
                             response.read())
    except urllib.error.HTTPError as exc:
        return HttpReply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


def post_graphql(url: str, payload: Mapping[str, Any],
                 headers: Mapping[str, str] | None = None) -> HttpReply:
    all_headers = {"content-type": "application/json",
                   "accept": "application/graphql-response+json"}
    all_headers.update(headers or {})
    return http("POST", url, body=json.dumps(payload).encode(), headers=all_headers)


class Process:
    """A subprocess whose combined output is kept for failure messages."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.command = list(command)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}
        full_env.update(env or {})
        self.popen = subprocess.Popen(self.command, cwd=PROJECT_DIR, env=full_env,
                                      stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)

    def output(self) -> str:
        return self.full_output()[-6000:]

    def full_output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def wait_until(self, ready: Any, what: str, timeout_s: float = 30.0) -> float:
        """Poll `ready()` until true; return the seconds it took. Fails if the process exits."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.popen.poll() is not None:
                raise AssertionError(f"{' '.join(self.command)} exited with status "
                                     f"{self.popen.returncode} before {what}:\n{self.output()}")
            try:
                if ready():
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{' '.join(self.command)}: no {what} within {timeout_s} s:\n"
                             f"{self.output()}")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used: a load-independent cost."""
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_exit(self, timeout_s: float = 20.0) -> int:
        return self.popen.wait(timeout=timeout_s)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; returns the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()
        return self.popen.returncode


def govgraph_command(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "govgraph"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "gateway.cli"]
    return [*base, *args]


def start_subgraphs() -> tuple[Process, str]:
    """Start the tiny subgraphs; return the process and its base URL."""
    port = free_port()
    process = Process([sys.executable, str(TINY_SUBGRAPHS), str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        process.wait_until(lambda: post_graphql(f"{base}/divisions/graphql",
                                                {"query": "{ __typename }"}).status == 200,
                           "answer from the tiny subgraphs")
    except BaseException:
        process.stop()
        raise
    return process, base


def compose_supergraph(subgraphs_base: str, out: Path) -> Path:
    """Ask each running subgraph for its SDL and compose them with the reference composer."""
    specs = []
    for name in SUBGRAPH_NAMES:
        url = f"{subgraphs_base}/{name}/graphql"
        sdl = post_graphql(url, {"query": "{ _service { sdl } }"}).json()["data"]["_service"]["sdl"]
        sdl_path = out.parent / f"{name}.graphql"
        sdl_path.write_text(sdl, encoding="utf-8")
        specs.append(f"{name}={url}={sdl_path}")
    result = subprocess.run(["node", "scripts/compose-supergraph.mjs", str(out), *specs], check=False,
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"composition failed:\n{result.stderr}")
    return out


@dataclass
class Gateway:
    process: Process
    port: int
    startup_s: float
    startup_cpu_s: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"


def start_gateway(*args: str, env: Mapping[str, str] | None = None) -> Gateway:
    """`govgraph gateway ARGS --port <free>`, waited for until /health answers 200."""
    port = free_port()
    process = Process(govgraph_command("gateway", *args, "--port", str(port)), env)
    try:
        startup_s = process.wait_until(
            lambda: http("GET", f"http://127.0.0.1:{port}/health", timeout_s=2).status == 200,
            "healthy /health")
        startup_cpu_s = process.cpu_seconds()
    except BaseException:
        process.stop()
        raise
    return Gateway(process, port, startup_s, startup_cpu_s)
