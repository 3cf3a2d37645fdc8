"""Redis servers a test owns: started on a free port, stopped, killed or paused by the test.

The machine's shared Redis (127.0.0.1:6379) is used with a key prefix unique to each test;
a test that needs Redis to fail starts its own here instead.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from audit.live_stack import free_port

SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


def unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}:"


def _ping(port: int) -> bool:
    result = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                            text=True, timeout=5, check=False)
    return result.stdout.strip() == "PONG"


class RedisServer:
    """One `redis-server` on 127.0.0.1, without persistence."""

    def __init__(self, port: int | None = None, *extra: str) -> None:
        self.port = port or free_port()
        self.extra = extra
        self.dir = tempfile.mkdtemp(prefix="govgraph-redis-")
        self.popen: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.popen = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _ping(self.port):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a slow Redis)."""
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGCONT)


@contextmanager
def redis_server(*extra: str) -> Iterator[RedisServer]:
    server = RedisServer(None, *extra)
    try:
        yield server
    finally:
        if server.popen is not None and server.popen.poll() is None:
            server.resume()
        server.kill()


@contextmanager
def redis_cluster(nodes: int = 3) -> Iterator[str]:
    """A small Redis Cluster of `nodes` primaries; yields its `redis+cluster://` seed URL."""
    servers: list[RedisServer] = []
    try:
        for _ in range(nodes):
            port = free_port()
            servers.append(RedisServer(port, "--cluster-enabled", "yes",
                                       "--cluster-config-file", f"nodes-{port}.conf",
                                       "--cluster-port", str(free_port())))
        addresses = [f"127.0.0.1:{s.port}" for s in servers]
        subprocess.run(["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0",
                        "--cluster-yes"], check=True, capture_output=True, timeout=30)
        deadline = time.monotonic() + 20
        for server in servers:
            while True:
                info = subprocess.run(["redis-cli", "-p", str(server.port), "cluster", "info"],
                                      capture_output=True, text=True, timeout=5, check=False)
                if "cluster_state:ok" in info.stdout:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"the Redis Cluster did not become ready:\n{info.stdout}")
                time.sleep(0.1)
        yield "redis+cluster://" + ",".join(addresses)
    finally:
        for server in servers:
            server.kill()
