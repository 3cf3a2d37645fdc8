"""`govgraph subgraph national|provincial` as a real process on a free port, for end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

GOVGRAPH = [sys.executable, "-m", "gateway.cli"]
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SubgraphProcess:
    """One subgraph process; `post` answers (status, JSON body) for any status."""

    def __init__(self, kind: str, data_dir: Path, *args: str, capture: bool = False,
                 env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        command = [*GOVGRAPH, "subgraph", kind, "--port", str(self.port), "--data-dir", str(data_dir), *args]
        self.process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE,
                                        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                                        env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.process.stderr.read().decode() if self.process.stderr else ''}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=1) as response:
                    self.health = json.loads(response.read())
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("server did not become healthy in 30 s")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post_to(self, path: str, query: str, variables: dict[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self.base + path, method="POST",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return error.code, json.loads(body)
            except ValueError:
                return error.code, {"text": body.decode(errors="replace")}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        for stream in (self.process.stderr, self.process.stdout):
            if stream:
                stream.close()

    def stop_and_read_log(self) -> str:
        """Stop gracefully and return everything the server wrote."""
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=15)
        return (out or b"").decode(errors="replace") + err.decode(errors="replace")
