"""The lean subgraph HTTP client against real sockets: keep-alive, framing, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Self

import pytest

from gateway.transport import HttpToolsTransport, TransportError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + await reader.readexactly(length)


# an answer that closes the connection without a response
HANG_UP = b""


class Server:
    """A raw TCP server on 127.0.0.1 that counts connections and requests.

    `respond(request, n)` answers the n-th request of the server: None hangs until the client
    gives up, `HANG_UP` closes the connection without answering.
    """

    def __init__(self, respond: Callable[[bytes, int], bytes | None]) -> None:
        self.respond = respond
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/graphql"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                self.requests.append(request)
                answer = self.respond(request, len(self.requests))
                if answer is None:  # hang until the client gives up
                    await asyncio.sleep(30)
                    return
                if answer == HANG_UP:
                    return
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


def test_keep_alive_reuses_one_connection_for_sequential_requests() -> None:
    async def main() -> None:
        async with Server(lambda req, n: ok(b'{"data":{"n":%d}}' % n)) as server:
            client = HttpToolsTransport(1 << 20)
            for n in (1, 2, 3):
                status, body = await client.post(
                    server.url, b'{"query":"{n}"}', {"content-type": "application/json"}, True
                )
                assert (status, body) == (200, b'{"data":{"n":%d}}' % n)
            assert server.connections == 1
            assert b"POST /graphql HTTP/1.1" in server.requests[0]
            assert server.requests[0].endswith(b'{"query":"{n}"}')
            await client.close()

    run(main())


def test_concurrent_requests_open_parallel_connections_and_all_complete() -> None:
    async def main() -> None:
        async with Server(lambda req, n: ok(req.rsplit(b"\r\n\r\n", 1)[1])) as server:
            client = HttpToolsTransport(1 << 20)
            bodies = [b'{"i":%d}' % i for i in range(20)]
            answers = await asyncio.gather(*(client.post(server.url, b, {}, True) for b in bodies))
            assert [a[1] for a in answers] == bodies
            await client.close()

    run(main())


def test_chunked_response_is_reassembled() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b'5\r\n{"dat\r\n8\r\na":null}\r\n0\r\n\r\n'
    )

    async def main() -> None:
        async with Server(lambda req, n: chunked) as server:
            client = HttpToolsTransport(1 << 20)
            assert await client.post(server.url, b"{}", {}, True) == (200, b'{"data":null}')
            assert await client.post(server.url, b"{}", {}, True) == (200, b'{"data":null}')
            assert server.connections == 1
            await client.close()

    run(main())


def test_response_framed_by_connection_close_is_read_to_the_end() -> None:
    async def main() -> None:
        reply = b'HTTP/1.1 500 Oops\r\nconnection: close\r\n\r\n{"errors":[]}'
        async with Server(lambda req, n: reply) as server:
            client = HttpToolsTransport(1 << 20)
            assert await client.post(server.url, b"{}", {}, True) == (500, b'{"errors":[]}')
            await client.close()

    run(main())


def test_refused_connection_is_a_transport_error() -> None:
    async def main() -> None:
        async with Server(lambda req, n: ok(b"{}")) as server:
            url = server.url
        client = HttpToolsTransport(1 << 20)
        with pytest.raises(TransportError) as failure:
            await client.post(url, b"{}", {}, True)
        assert not failure.value.bad_response
        # the message reaches clients: it must not reveal the internal address
        message = str(failure.value)
        assert "127.0.0.1" not in message and url.split(":")[-1] not in message
        await client.close()

    run(main())


def test_malformed_and_oversized_responses_are_bad_responses() -> None:
    async def main() -> None:
        async with Server(lambda req, n: b"NOT HTTP AT ALL\r\n\r\n") as server:
            client = HttpToolsTransport(1 << 20)
            with pytest.raises(TransportError) as failure:
                await client.post(server.url, b"{}", {}, True)
            assert failure.value.bad_response
            await client.close()
        async with Server(lambda req, n: ok(b"x" * 5000)) as server:
            client = HttpToolsTransport(1000)
            with pytest.raises(TransportError) as failure:
                await client.post(server.url, b"{}", {}, True)
            assert failure.value.bad_response and "larger" in str(failure.value)
            await client.close()

    run(main())


def test_timeout_cancels_and_the_next_request_uses_a_fresh_connection() -> None:
    async def main() -> None:
        async with Server(lambda req, n: None if n == 1 else ok(b'{"data":{}}')) as server:
            client = HttpToolsTransport(1 << 20)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await client.post(server.url, b"{}", {}, True)
            assert await client.post(server.url, b"{}", {}, True) == (200, b'{"data":{}}')
            assert server.connections == 2
            await client.close()

    run(main())


def test_query_on_a_connection_the_server_closed_after_answering_succeeds() -> None:
    async def main() -> None:
        # the server answers once per connection, then closes it without saying so
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _read_request(reader)
            writer.write(ok(b'{"data":{}}'))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/graphql"
        client = HttpToolsTransport(1 << 20)
        assert await client.post(url, b"{}", {}, True) == (200, b'{"data":{}}')
        assert await client.post(url, b"{}", {}, True) == (200, b'{"data":{}}')
        server.close()
        await client.close()

    run(main())


def _hang_up_on_reused_connections(request: bytes, n: int) -> bytes:
    """Answer requests 1 and 3, each the first on its connection; close on 2 and 4.

    Closing when a request arrives on a kept-alive connection is what the client meets when
    the server closed that idle connection just before the request went out: the connection
    is reused, and it ends before any byte of a response.
    """
    return ok(b'{"data":{"n":%d}}' % n) if n % 2 else HANG_UP


def test_query_dropped_on_a_reused_connection_is_sent_again_on_a_fresh_one() -> None:
    async def main() -> None:
        async with Server(_hang_up_on_reused_connections) as server:
            client = HttpToolsTransport(1 << 20)
            assert await client.post(server.url, b"{}", {}, True) == (200, b'{"data":{"n":1}}')
            assert await client.post(server.url, b"{}", {}, True) == (200, b'{"data":{"n":3}}')
            assert (server.connections, len(server.requests)) == (2, 3)
            await client.close()

    run(main())


def test_mutation_dropped_on_a_reused_connection_is_not_sent_again() -> None:
    async def main() -> None:
        async with Server(_hang_up_on_reused_connections) as server:
            client = HttpToolsTransport(1 << 20)
            assert await client.post(server.url, b"{}", {}, False) == (200, b'{"data":{"n":1}}')
            with pytest.raises(TransportError) as failure:
                await client.post(server.url, b"{}", {}, False)
            assert not failure.value.bad_response
            # the server may have applied it: a second copy could apply it twice
            assert (server.connections, len(server.requests)) == (1, 2)
            await client.close()

    run(main())


def test_header_values_with_line_breaks_are_refused() -> None:
    async def main() -> None:
        async with Server(lambda req, n: ok(b"{}")) as server:
            client = HttpToolsTransport(1 << 20)
            with pytest.raises(TransportError):
                await client.post(server.url, b"{}", {"x-evil": "a\r\nInjected: yes"}, True)
            assert not server.requests
            await client.close()

    run(main())


def test_connection_cap_bounds_the_connections_open_at_once_and_every_request_completes() -> None:
    async def main() -> None:
        open_now = peak = 0

        async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal open_now, peak
            open_now += 1
            peak = max(peak, open_now)
            try:
                while True:
                    request = await _read_request(reader)
                    await asyncio.sleep(0.05)
                    writer.write(ok(request.rsplit(b"\r\n\r\n", 1)[1]))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                open_now -= 1
                writer.close()

        server = await asyncio.start_server(slow, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/graphql"
        client = HttpToolsTransport(1 << 20, max_connections=3)
        bodies = [b'{"i":%d}' % i for i in range(12)]
        answers = await asyncio.gather(*(client.post(url, b, {}, True) for b in bodies))
        assert [a[1] for a in answers] == bodies
        assert peak == 3
        await client.close()
        server.close()

    run(main())


def test_a_refused_connection_was_never_sent_and_a_dropped_write_was() -> None:
    async def main() -> None:
        async with Server(lambda req, n: HANG_UP) as server:
            client = HttpToolsTransport(1 << 20)
            with pytest.raises(TransportError) as dropped:
                await client.post(server.url, b"{}", {}, False)
            assert dropped.value.sent
            url = server.url
        with pytest.raises(TransportError) as refused:
            await client.post(url, b"{}", {}, False)
        assert not refused.value.sent
        await client.close()

    run(main())
