"""Hot reload of a real `govgraph gateway` process: nothing in flight is lost, a bad version is
refused and the old one keeps serving.

A stream of queries and mutations runs through the gateway while its supergraph file is
replaced (the watcher reloads it) and while it gets SIGHUP after its configuration changed.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from audit.live_stack import (
    PROJECT_DIR,
    Gateway,
    compose_supergraph,
    http,
    post_graphql,
    start_gateway,
)
from test_http_gateway_command import subgraphs_base  # noqa: F401 - the tiny subgraphs

TOTAL = "{ totalServiceCount }"
# eight selections: refused once max_expanded_selections is 6, while the stream's own
# operations (three and two selections) go on
WIDE = "{ a: divisions { code } b: divisions { code } c: divisions { code } d: divisions { code } }"
MUTATION = "mutation($name: String!) { renameDivision(code: \"440000\", name: $name) { name } }"
STREAM_S = 60.0  # an upper bound: the stream stops as soon as the test is done with it


@pytest.fixture(scope="module")
def versions(subgraphs_base: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Supergraph texts: both subgraphs, and `divisions` alone (no totalServiceCount)."""
    folder = tmp_path_factory.mktemp("versions")
    both = compose_supergraph(subgraphs_base, folder / "both.graphql").read_text()
    url = f"{subgraphs_base}/divisions/graphql"
    result = subprocess.run(
        ["node", "scripts/compose-supergraph.mjs", str(folder / "one.graphql"),
         f"divisions={url}={folder / 'divisions.graphql'}"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return {"both": both, "divisions": (folder / "one.graphql").read_text()}


def _replace(path: Path, text: str) -> None:
    """As an editor or a deployment tool does: write beside, then rename over."""
    staged = path.with_suffix(".new")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


def _until(check: Any, what: str, gateway: Gateway, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout} s:\n{gateway.process.output()}")


class Stream:
    """Threads sending queries and mutations until stopped; every answer is kept."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.answered = {"query": 0, "mutation": 0}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()

    def _run(self, index: int) -> None:
        sent = 0
        while not self.stop.is_set() and time.monotonic() - self._started < STREAM_S:
            sent += 1
            if sent % 2:
                kind, name = "mutation", f"name-{index}-{sent}"
                payload: dict[str, Any] = {"query": MUTATION, "variables": {"name": name}}
            else:
                kind, name = "query", ""
                payload = {"query": "{ divisions { code name } }"}
            try:
                reply = post_graphql(self.url, payload)
                body = reply.json()
            except Exception as exc:  # noqa: BLE001 - every failure is a lost request
                self._fail(f"{kind}: {exc!r}")
                continue
            if reply.status != 200 or body.get("errors"):
                self._fail(f"{kind}: {reply.status} {body}")
            elif kind == "mutation" and body["data"]["renameDivision"]["name"] != name:
                self._fail(f"mutation answered {body}")
            elif kind == "query" and len(body["data"]["divisions"]) != 3:
                self._fail(f"query answered {body}")
            else:
                with self._lock:
                    self.answered[kind] += 1

    def _fail(self, message: str) -> None:
        with self._lock:
            self.failures.append(message)

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def _finish(stream: Stream, gateway: Gateway) -> str:
    """Stop the stream and the gateway; the gateway's output. No request may have failed."""
    stream.finish()
    output = gateway.process.output()
    gateway.process.stop()
    assert stream.failures == [], stream.failures[:5]
    return output


def _has_total(url: str) -> bool:
    body = post_graphql(url, {"query": TOTAL}).json()
    return body.get("data", {}) is not None and "totalServiceCount" in (body.get("data") or {})


def _lacks_total(url: str) -> bool:
    errors = post_graphql(url, {"query": TOTAL}).json().get("errors") or []
    return any("totalServiceCount" in e["message"] for e in errors)


def _start(versions: dict[str, str], tmp_path: Path, *args: str) -> tuple[Path, Path, Gateway]:
    """A gateway over both subgraphs, from a supergraph file and a configuration file."""
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(versions["both"])
    config = tmp_path / "govgraph.toml"
    config.write_text("[gateway]\nmax_expanded_selections = 100\n")
    return supergraph, config, start_gateway("--supergraph", str(supergraph), "--config",
                                             str(config), *args)


def test_a_file_change_and_a_sighup_under_load_lose_no_request(
    versions: dict[str, str], tmp_path: Path
) -> None:
    supergraph, config, gateway = _start(versions, tmp_path)
    stream = Stream(gateway.url)
    try:
        assert _has_total(gateway.url)
        time.sleep(1)  # requests are flowing before the first reload
        _replace(supergraph, versions["divisions"])
        _until(lambda: _lacks_total(gateway.url), "reload after the file changed", gateway)

        _replace(supergraph, versions["both"])
        _until(lambda: _has_total(gateway.url), "reload back to both subgraphs", gateway)
        # the selection limit comes from the configuration: SIGHUP reads it again
        assert "errors" not in post_graphql(gateway.url, {"query": WIDE}).json()
        config.write_text("[gateway]\nmax_expanded_selections = 6\n")
        gateway.process.popen.send_signal(signal.SIGHUP)
        _until(lambda: "errors" in post_graphql(gateway.url, {"query": WIDE}).json(),
               "the new selection limit after SIGHUP", gateway)
        config.write_text("[gateway]\nmax_expanded_selections = 100\n")
        gateway.process.popen.send_signal(signal.SIGHUP)
        _until(lambda: "errors" not in post_graphql(gateway.url, {"query": WIDE}).json(),
               "the old selection limit after a second SIGHUP", gateway)
        time.sleep(1)
    finally:
        output = _finish(stream, gateway)
    assert stream.answered["mutation"] > 20 and stream.answered["query"] > 20, stream.answered
    assert output.count("reloaded on change of supergraph.graphql") == 2, output
    assert output.count("reloaded on SIGHUP") == 2, output


def test_a_bad_supergraph_or_configuration_keeps_the_old_one_serving(
    versions: dict[str, str], tmp_path: Path
) -> None:
    supergraph, config, gateway = _start(versions, tmp_path)
    try:
        _replace(supergraph, "type Query { broken: String }\n")
        _until(lambda: "reload on change of supergraph.graphql refused" in
               gateway.process.output(), "refusal of the bad supergraph", gateway)
        assert _has_total(gateway.url)

        config.write_text("[gateway]\nmax_dept = 1\n")
        gateway.process.popen.send_signal(signal.SIGHUP)
        _until(lambda: "reload on SIGHUP refused" in gateway.process.output(),
               "refusal of the bad configuration", gateway)
        assert _has_total(gateway.url)
        assert "errors" not in post_graphql(gateway.url, {"query": WIDE}).json()
        scraped = http("GET", gateway.url.replace("/graphql", "/metrics")).body.decode()
        assert 'govgraph_supergraph_reloads_total{outcome="refused"} 2.0' in scraped, scraped
    finally:
        output = gateway.process.output()
        gateway.process.stop()
    assert "unknown key gateway.max_dept = 1; did you mean gateway.max_depth?" in output
    assert "still serving supergraph" in output


class _SupergraphServer(ThreadingHTTPServer):
    text = ""
    conditional = 0  # requests that carried If-None-Match
    not_modified = 0


class _Handler(BaseHTTPRequestHandler):
    server: _SupergraphServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        etag = '"' + hashlib.sha256(self.server.text.encode()).hexdigest()[:16] + '"'
        if self.headers.get("if-none-match") is not None:
            self.server.conditional += 1
            if self.headers["if-none-match"] == etag:
                self.server.not_modified += 1
                self.send_response(304)
                self.send_header("etag", etag)
                self.end_headers()
                return
        body = self.server.text.encode()
        self.send_response(200)
        self.send_header("etag", etag)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_supergraph_url_is_polled_with_its_etag_and_reloaded_when_it_changes(
    versions: dict[str, str], tmp_path: Path
) -> None:
    server = _SupergraphServer(("127.0.0.1", 0), _Handler)
    server.text = versions["both"]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = tmp_path / "govgraph.toml"
    config.write_text("[gateway]\nsupergraph_poll_s = 0.2\n")
    url = f"http://127.0.0.1:{server.server_address[1]}/supergraph.graphql"
    gateway = start_gateway("--supergraph", url, "--config", str(config))
    try:
        _until(lambda: server.not_modified >= 2, "a 304 answer to If-None-Match", gateway)
        assert _has_total(gateway.url)
        server.text = versions["divisions"]
        _until(lambda: _lacks_total(gateway.url), "reload of the changed URL", gateway)
    finally:
        output = gateway.process.output()
        gateway.process.stop()
        server.shutdown()
    assert f"reloaded on new answer from {url}" in output
    assert server.conditional >= server.not_modified >= 2


def test_every_worker_follows_the_file_and_sighup_and_keeps_its_engine_on_a_bad_config(
    versions: dict[str, str], tmp_path: Path
) -> None:
    supergraph, config, gateway = _start(versions, tmp_path, "--workers", "2")
    stream = Stream(gateway.url, threads=2)
    try:
        # each worker watches the supergraph file itself
        _replace(supergraph, versions["divisions"])
        _until(lambda: all(_lacks_total(gateway.url) for _ in range(6)),
               "the new supergraph in every worker", gateway, 60)
        config.write_text("[gateway]\nmax_expanded_selections = 6\n")
        gateway.process.popen.send_signal(signal.SIGHUP)
        # SIGHUP to the main process reaches every worker: the limit holds whichever answers
        _until(lambda: all("errors" in post_graphql(gateway.url, {"query": WIDE}).json()
                           for _ in range(20)), "the new limit in every worker", gateway, 90)
        config.write_text("[gateway]\nmax_dept = 1\n")
        gateway.process.popen.send_signal(signal.SIGHUP)
        time.sleep(5)
        assert all(_lacks_total(gateway.url) for _ in range(6))
        wide = [post_graphql(gateway.url, {"query": WIDE}).json() for _ in range(20)]
        assert all("errors" in answer for answer in wide), gateway.process.output()
        time.sleep(1)
    finally:
        output = _finish(stream, gateway)
    assert stream.answered["mutation"] > 5, stream.answered
    assert output.count("reload on SIGHUP refused") == 2, output
    assert "unknown key gateway.max_dept = 1" in output, output
