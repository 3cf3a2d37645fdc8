"""Start, pin, wait for and stop the processes a benchmark drives."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

READY_QUERY = json.dumps({"query": "{ __typename }"}).encode()


class BenchError(RuntimeError):
    """A benchmark could not be set up; the message says which process and why."""


@dataclass(frozen=True, slots=True)
class CpuLayout:
    """Which cores the gateway gets and which the load generator and subgraphs share."""

    gateway: str | None
    others: str | None

    @classmethod
    def detect(cls) -> CpuLayout:
        cpus = os.cpu_count() or 1
        if cpus < 2 or shutil.which("taskset") is None:
            return cls(gateway=None, others=None)
        return cls(gateway="0", others="1" if cpus == 2 else f"1-{cpus - 1}")

    def describe(self) -> str:
        if self.gateway is None:
            return "not pinned (fewer than two cores or no taskset)"
        return f"gateway on CPU {self.gateway}; load generator and subgraphs on CPU {self.others}"


def pinned(argv: Sequence[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if cpus is not None else list(argv)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class Service:
    """A long-running child process with its output captured to a log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            cwd=self.cwd, start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} was never started")
        return self.process.pid

    def wait_ready(self, url: str, timeout_s: float = 60.0) -> None:
        """Poll `url` with a trivial GraphQL query until it answers 200, or fail with the log tail."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(f"{self.name} exited with code {self.process.returncode}; log:\n{self.log_tail()}")
            try:
                request = urllib.request.Request(url, data=READY_QUERY, headers={"content-type": "application/json"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer at {url} within {timeout_s:.0f} s; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate the whole process group this service started, then reap it."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None


def failure_text(exc: Exception) -> str:
    """A BenchError message is already a sentence; other errors get their type named."""
    return str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
