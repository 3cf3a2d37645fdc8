"""A misbehaving subgraph in a process of its own, for the gateway's resilience tests.

    python tests/fake_subgraph.py PORT BODY_JSON

Every POST is answered with BODY_JSON, after a delay, unless the mode says otherwise:
`answer` (default), `garbage` (an HTML page), `drop` (reads the whole request, then
closes the connection without a byte of answer) or `error500`. `GET /stats` reports the
connections that carried a request, open now and at most, and the requests received (per path);
`GET /control?mode=drop&delay=0.5` changes the behaviour. The connection counts come from
the server's own sockets, so a test sees what the gateway really holds open.
"""
from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class State:
    body: bytes
    mode: str = "answer"
    delay: float = 0.0
    open: int = 0
    peak: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    busy: Counter[str] = field(default_factory=Counter)
    busy_peak: Counter[str] = field(default_factory=Counter)

    def stats(self) -> dict[str, Any]:
        return {"open": self.open, "peak": self.peak, "requests": dict(self.requests),
                "total": sum(self.requests.values()), "busyPeak": dict(self.busy_peak)}


def _response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    head = (f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _serve(state: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    counted = False  # a connection counts once it carries a GraphQL request, not /stats
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:] if line)}
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            url = urlsplit(target)
            if method == "GET" and url.path == "/stats":
                writer.write(_response(200, json.dumps(state.stats()).encode()))
                await writer.drain()
                continue
            if method == "GET" and url.path == "/control":
                params = dict(parse_qsl(url.query))
                state.mode = params.get("mode", state.mode)
                state.delay = float(params.get("delay", state.delay))
                writer.write(_response(200, b"{}"))
                await writer.drain()
                continue
            if not counted:
                counted = True
                state.open += 1
                state.peak = max(state.peak, state.open)
            state.requests[url.path] += 1
            state.busy[url.path] += 1
            state.busy_peak[url.path] = max(state.busy_peak[url.path], state.busy[url.path])
            try:
                if state.delay:
                    await asyncio.sleep(state.delay)
            finally:
                state.busy[url.path] -= 1
            if state.mode == "drop":
                return
            if state.mode == "garbage":
                writer.write(_response(200, b"<html>bad gateway</html>", "text/html"))
            elif state.mode == "error500":
                writer.write(_response(500, b"internal error", "text/plain"))
            else:
                writer.write(_response(200, state.body))
            await writer.drain()
    finally:
        if counted:
            state.open -= 1
        writer.close()


async def main(port: int, body: str) -> None:
    state = State(body.encode())
    server = await asyncio.start_server(lambda r, w: _serve(state, r, w), "127.0.0.1", port,
                                        backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
