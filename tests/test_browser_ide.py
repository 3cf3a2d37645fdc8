"""The browser IDE (GraphiQL served by the gateway itself) and CORS, through a real
`govgraph gateway` process; the IDE is driven in headless Chromium over the DevTools
protocol: a query typed into it, run, and its answer read off the page."""
from __future__ import annotations

import asyncio
import gzip
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from audit.live_stack import (
    Gateway,
    compose_supergraph,
    free_port,
    http,
    post_graphql,
    start_gateway,
    start_subgraphs,
)

PORTAL = "https://portal.example.gov.cn"


@pytest.fixture(scope="module")
def supergraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    process, base = start_subgraphs()
    try:
        yield compose_supergraph(base, tmp_path_factory.mktemp("ide") / "supergraph.graphql")
    finally:
        process.stop()


@pytest.fixture(scope="module")
def development(supergraph: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = tmp_path_factory.mktemp("ide-config") / "govgraph.toml"
    config.write_text(f'[cors]\nallow_origins = ["{PORTAL}"]\n', encoding="utf-8")
    running = start_gateway("--supergraph", str(supergraph), "--config", str(config),
                            "--profile", "development")
    try:
        yield running
    finally:
        running.process.stop()


@pytest.fixture(scope="module")
def production(supergraph: Path) -> Iterator[Gateway]:
    running = start_gateway("--supergraph", str(supergraph))
    try:
        yield running
    finally:
        running.process.stop()


BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_the_ide_in_development(development: Gateway) -> None:
    reply = http("GET", development.url, headers=BROWSER)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.body.decode()
    scripts = re.findall(r'src="([^"]+)"', page) + re.findall(r'href="([^"]+)"', page)
    assert scripts and all(s.startswith("/graphiql/") for s in scripts), scripts
    base = development.url.rsplit("/graphql", 1)[0]
    for asset in scripts:
        zipped = http("GET", base + asset, headers={"accept-encoding": "gzip"})
        assert zipped.status == 200 and zipped.headers["content-encoding"] == "gzip"
        plain = http("GET", base + asset)
        assert plain.status == 200 and "content-encoding" not in plain.headers
        assert gzip.decompress(zipped.body) == plain.body
    assert http("GET", base + "/graphiql/nothing.js").status == 404


def test_production_serves_no_ide(production: Gateway) -> None:
    reply = http("GET", production.url, headers=BROWSER)
    assert not reply.headers.get("content-type", "").startswith("text/html")
    base = production.url.rsplit("/graphql", 1)[0]
    assert http("GET", base + "/graphiql/graphiql.min.js").status == 404


def test_cors_preflight_and_answers_for_allowed_origins_only(development: Gateway) -> None:
    preflight = http("OPTIONS", development.url, headers={
        "origin": PORTAL, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization"})
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == PORTAL
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    elsewhere = http("OPTIONS", development.url, headers={
        "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert elsewhere.status == 403
    assert "access-control-allow-origin" not in elsewhere.headers
    allowed = post_graphql(development.url, {"query": "{ __typename }"}, {"origin": PORTAL})
    assert allowed.status == 200
    assert allowed.headers["access-control-allow-origin"] == PORTAL
    assert "x-request-id" in allowed.headers["access-control-expose-headers"]
    other = post_graphql(development.url, {"query": "{ __typename }"},
                         {"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_without_cors_configured_no_origin_is_allowed(production: Gateway) -> None:
    reply = post_graphql(production.url, {"query": "{ __typename }"}, {"origin": PORTAL})
    assert "access-control-allow-origin" not in reply.headers


# ---- the IDE in a real browser ------------------------------------------------------------

class DevTools:
    """A page of headless Chromium, spoken to over the DevTools protocol."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.counter = 0

    async def evaluate(self, expression: str) -> Any:
        self.counter += 1
        await self.socket.send_json({"id": self.counter, "method": "Runtime.evaluate",
                                     "params": {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}})
        while True:
            message = await self.socket.receive_json(timeout=30)
            if message.get("id") == self.counter:
                result = message["result"]
                if "exceptionDetails" in result:
                    raise AssertionError(f"{expression!r} failed: {result['exceptionDetails']}")
                return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"the page never satisfied {expression!r}")


async def _run_in_ide(url: str, query: str) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: scripts/chromium.sh installs it"
    port = free_port()
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", f"--remote-debugging-port={port}", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            async with aiohttp.ClientSession() as session:
                pages: list[dict[str, Any]] = []
                deadline = time.monotonic() + 30
                while not pages and time.monotonic() < deadline:
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/json") as reply:
                            pages = [p for p in await reply.json() if p.get("type") == "page"]
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.2)
                assert pages, "Chromium opened no page"
                async with session.ws_connect(pages[0]["webSocketDebuggerUrl"],
                                              max_msg_size=0) as socket:
                    page = DevTools(socket)
                    await page.wait_for("!!document.querySelector('.graphiql-query-editor "
                                        ".CodeMirror')")
                    await page.evaluate("document.querySelector('.graphiql-query-editor "
                                        f".CodeMirror').CodeMirror.setValue({json.dumps(query)})")
                    await page.evaluate("document.querySelector('.graphiql-execute-button')"
                                        ".click()")
                    return str(await page.wait_for(
                        "(() => { const r = document.querySelector('.result-window .CodeMirror');"
                        " const v = r && r.CodeMirror.getValue(); "
                        " return v && v.includes('data') ? v : null })()"))
        finally:
            browser.kill()
            browser.wait(10)


def test_the_ide_runs_a_query_in_a_headless_browser(development: Gateway) -> None:
    shown = asyncio.run(_run_in_ide(development.url,
                                    '{ division(code: "110000") { serviceCount } }'))
    assert json.loads(shown) == {"data": {"division": {"serviceCount": 1203}}}
