"""The W2 shard stand-ins (bench/w2/shards.mjs): real answers, fetched once, sent after a set delay."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARDS = ROOT / "bench" / "w2" / "shards.mjs"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


class Upstream(ThreadingHTTPServer):
    """A provincial subgraph double: echoes the path and body, fails on paths containing 'broken'."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: Upstream

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.seen.append((self.path, body))
        status = 500 if "broken" in self.path else 200
        payload = json.dumps({"data": {"path": self.path, "body": body.decode(), "n": len(self.server.seen)}})
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args: object) -> None:
        return


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def stand_ins() -> Iterator[tuple[str, Upstream]]:
    upstream = Upstream()
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    port = _free_port()
    process = subprocess.Popen(["node", str(SHARDS), str(port), f"http://127.0.0.1:{upstream.server_address[1]}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready", process.stderr.read() if process.stderr else ""
        yield f"http://127.0.0.1:{port}", upstream
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def _post(url: str, body: bytes = b"") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _stats(base: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/__stats", timeout=10) as response:
        stats: dict[str, int] = json.loads(response.read())
    return stats


def test_each_distinct_request_is_fetched_once_and_answered_from_memory(stand_ins: tuple[str, Upstream]) -> None:
    base, upstream = stand_ins
    path = "/provinces/440000/graphql"
    first = _post(base + path, b'{"query":"{ a }"}')
    again = _post(base + path, b'{"query":"{ a }"}')
    other_body = _post(base + path, b'{"query":"{ b }"}')
    other_path = _post(base + "/provinces/110000/graphql", b'{"query":"{ a }"}')
    assert first == again and first[0] == 200
    assert json.loads(first[1])["data"] == {"path": path, "body": '{"query":"{ a }"}', "n": 1}
    assert json.loads(other_body[1])["data"]["n"] == 2 and json.loads(other_path[1])["data"]["n"] == 3
    assert len(upstream.seen) == 3
    assert _stats(base) == {"delay_ms": 0, "upstream_fetches": 3, "answers": 4, "remembered": 3}


def test_failed_answers_are_passed_on_but_not_remembered(stand_ins: tuple[str, Upstream]) -> None:
    base, upstream = stand_ins
    for _ in range(2):
        status, _ = _post(base + "/provinces/broken/graphql", b"{}")
        assert status == 500
    assert len(upstream.seen) == 2 and _stats(base)["remembered"] == 0


def test_the_delay_holds_every_answer_back(stand_ins: tuple[str, Upstream]) -> None:
    base, _ = stand_ins
    assert _post(base + "/__delay?ms=300")[0] == 204
    path = "/provinces/440000/graphql"
    _post(base + path, b"{}")
    started = time.monotonic()
    status, _ = _post(base + path, b"{}")
    assert status == 200 and time.monotonic() - started >= 0.25
    assert _stats(base)["delay_ms"] == 300


@pytest.mark.parametrize("value", ["-1", "soon", ""])
def test_a_bad_delay_is_refused(stand_ins: tuple[str, Upstream], value: str) -> None:
    base, _ = stand_ins
    status, body = _post(f"{base}/__delay?ms={value}")
    assert status == 400 and b"milliseconds" in body
    assert _stats(base)["delay_ms"] == 0
