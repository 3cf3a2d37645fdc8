"""The portal's real stack for end-to-end tests: seeded data, the national subgraph,
the 31 provincial shards, a shard proxy that counts calls and can misbehave on
demand, and gateways configured from the project's own `govgraph.toml`.
"""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import threading
import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from audit.live_stack import (
    PROJECT_DIR,
    Process,
    free_port,
    govgraph_command,
    http,
    post_graphql,
)
from internal_tokens import CLAIMS_HEADER, client_token, write_key

from gateway.stack import dump_toml

SUPERGRAPH = PROJECT_DIR / "schema" / "supergraph.graphql"
SEED_SCALE = "0.05"


class ShardProxy:
    """Sits in front of the provincial shards (and, at /national/graphql, the national
    subgraph): counts calls per province, keeps the headers of each one's latest call and, per
    province, forwards (default), answers garbage, or hangs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.upstreams: dict[str, str] = {}
        self.modes: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.headers: dict[str, dict[str, str]] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the shard proxy did not start")

    def url(self, code: str) -> str:
        return f"http://127.0.0.1:{self.port}/provinces/{code}/graphql"

    def national_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/national/graphql"

    def reset(self) -> None:
        self.calls.clear()
        self.modes.clear()
        self.headers.clear()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/provinces/{code}/graphql", self._handle)
        app.router.add_post("/national/graphql", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession()
        self._closing = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        code = request.match_info.get("code", "national")
        self.calls[code] += 1
        self.headers[code] = {k.lower(): v for k, v in request.headers.items()}
        body = await request.read()
        mode = self.modes.get(code, "forward")
        if mode == "garbage":
            return web.Response(status=200, text="<html>proxy error</html>", content_type="text/html")
        if mode == "hang":
            try:
                await asyncio.wait_for(self._closing.wait(), 30)
            except TimeoutError:
                pass
            return web.Response(status=504, text="late")
        for attempt in (0, 1):
            try:
                headers = {"content-type": "application/json"}
                for name in (CLAIMS_HEADER, "x-request-id"):
                    if name in request.headers:
                        headers[name] = request.headers[name]
                async with self._session.post(self.upstreams[code], data=body, headers=headers) as resp:
                    return web.Response(status=resp.status, body=await resp.read(),
                                        content_type="application/json")
            except aiohttp.ServerDisconnectedError:
                # the shard closed an idle keep-alive connection as this request went out
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        async def stop() -> None:
            self._closing.set()
            await self._session.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@dataclass
class PortalStack:
    data_dir: Path
    national_url: str
    provincial_base: str
    proxy: ShardProxy
    processes: list[Process] = field(default_factory=list)

    @property
    def key_file(self) -> Path:
        """The internal key the gateway signs claims with and both subgraphs verify them with."""
        return self.data_dir / "internal.key"

    @property
    def client_key_file(self) -> Path:
        """The key the gateway verifies clients' tokens with (the unified identity's, in the demo)."""
        return self.data_dir / "client.key"

    def caller(self, role: str, **claims: Any) -> dict[str, str]:
        """The Authorization header of a client with this role (sub, province, stages, purpose)."""
        return {"authorization": f"Bearer {client_token(self.client_key_file, role, **claims)}"}

    def shard_url(self, code: str) -> str:
        return f"{self.provincial_base}/provinces/{code}/graphql"

    def province_codes(self) -> list[str]:
        return sorted(p.stem for p in (self.data_dir / "provinces").glob("*.db"))

    def shard_db(self, code: str) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data_dir / 'provinces' / f'{code}.db'}?mode=ro", uri=True)

    def national_db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data_dir / 'national.db'}?mode=ro", uri=True)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.proxy.close()


def wait_healthy(process: Process, base: str, what: str) -> None:
    process.wait_until(lambda: http("GET", f"{base}/health", timeout_s=2).status == 200, what, 60)


def start_portal(tmp: Path) -> PortalStack:
    data_dir = tmp / "data"
    seed = subprocess.run(govgraph_command("seed", "--scale", SEED_SCALE, "--data-dir", str(data_dir)),
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, check=False)
    if seed.returncode != 0:
        raise AssertionError(f"govgraph seed failed:\n{seed.stdout}\n{seed.stderr}")
    proxy = ShardProxy()
    stack = PortalStack(data_dir, "", "", proxy)
    key = ("--internal-key-file", str(write_key(data_dir)))
    write_key(data_dir, "client.key")
    try:
        national_port, provincial_port = free_port(), free_port()
        national = Process(govgraph_command("subgraph", "national", "--port", str(national_port),
                                            "--data-dir", str(data_dir), *key))
        stack.processes.append(national)
        provincial = Process(govgraph_command("subgraph", "provincial", "--port",
                                              str(provincial_port), "--data-dir", str(data_dir), *key))
        stack.processes.append(provincial)
        stack.national_url = f"http://127.0.0.1:{national_port}/graphql"
        stack.provincial_base = f"http://127.0.0.1:{provincial_port}"
        wait_healthy(national, f"http://127.0.0.1:{national_port}", "a healthy national subgraph")
        wait_healthy(provincial, stack.provincial_base, "healthy provincial shards")
        for code in stack.province_codes():
            proxy.upstreams[code] = stack.shard_url(code)
        proxy.upstreams["national"] = stack.national_url
    except BaseException:
        stack.close()
        raise
    return stack


@contextmanager
def running_portal(tmp: Path) -> Iterator[PortalStack]:
    """`start_portal`, closed when the block ends."""
    stack = start_portal(tmp)
    try:
        yield stack
    finally:
        stack.close()


def gateway_config(stack: PortalStack, path: Path, *, shard_urls: dict[str, str] | None = None,
                   shard_timeout_s: float = 1.0, deadline_s: float = 5.0,
                   breaker_failures: int = 1000, breaker_reset_s: float = 1.0,
                   national_url: str | None = None, extra: dict[str, Any] | None = None) -> Path:
    """The project's own govgraph.toml (routing declarations included), pointed at this stack;
    `extra` sets keys of sections (a section it names is created if missing)."""
    config = tomllib.loads((PROJECT_DIR / "govgraph.toml").read_text(encoding="utf-8"))
    config["gateway"]["request_deadline_s"] = deadline_s
    config["gateway"].pop("supergraph", None)
    config["auth"].update(jwt_key_file=str(stack.client_key_file), algorithms=["HS256"],
                          internal_key_file=str(stack.key_file))
    config["subgraphs"]["national"]["url"] = national_url or stack.national_url
    persisted = config.get("persisted_queries", {})
    if "trusted_documents" in persisted:  # relative to govgraph.toml, not to the copy
        persisted["trusted_documents"] = str(PROJECT_DIR / persisted["trusted_documents"])
    for section, values in (extra or {}).items():
        config.setdefault(section, {}).update(values)
    partition = config["partitions"]["provincial"]
    shards = {code: stack.proxy.url(code) for code in stack.province_codes()}
    shards.update(shard_urls or {})
    partition["shards"] = shards
    partition["shard_timeout_s"] = shard_timeout_s
    partition["breaker_failures"] = breaker_failures
    partition["breaker_reset_s"] = breaker_reset_s
    path.write_text(dump_toml(config), encoding="utf-8")
    return path


def start_gateway(config: Path, *args: str,
                  env: dict[str, str] | None = None) -> tuple[Process, str]:
    port = free_port()
    process = Process(govgraph_command("gateway", "--supergraph", str(SUPERGRAPH), "--config",
                                       str(config), "--port", str(port), *args), env=env)
    try:
        wait_healthy(process, f"http://127.0.0.1:{port}", "a healthy gateway")
    except BaseException:
        process.stop()
        raise
    return process, f"http://127.0.0.1:{port}/graphql"


def query(url: str, text: str, variables: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> dict[str, Any]:
    reply = post_graphql(url, {"query": text, "variables": variables or {}}, headers)
    assert reply.status == 200, reply.body[:2000]
    return reply.json()


__all__ = ["PortalStack", "ShardProxy", "gateway_config", "query", "start_gateway",
           "start_portal"]
