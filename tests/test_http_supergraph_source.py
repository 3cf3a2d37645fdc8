"""Loading a supergraph from a file or an http(s) URL, and the errors that say why not."""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from gateway.supergraph_source import load_supergraph
from schema.supergraph import SupergraphError

SDL = 'schema @link(url: "https://specs.apollo.dev/link/v1.0") { query: Query }\n' \
      "type Query { 省: String }\n"


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def do_GET(self) -> None:
        status, body = self.routes.get(self.path, (404, b"not here"))
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    routes = {
        "/supergraph.graphql": (200, SDL.encode()),
        "/empty": (200, b""),
        "/broken": (500, b"oops"),
        "/big": (200, b"#" * 5000),
    }
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(SDL, encoding="utf-8")
    assert load_supergraph(str(path)) == SDL


def test_strips_a_utf8_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_bytes(b"\xef\xbb\xbf" + SDL.encode())
    assert load_supergraph(str(path)) == SDL


@pytest.mark.parametrize("setup,message", [
    (lambda d: d / "absent.graphql", "no such file"),
    (lambda d: d, "it is a directory, not a supergraph file"),
])
def test_missing_file_or_directory_is_refused(tmp_path: Path, setup: Callable[[Path], Path],
                                               message: str) -> None:
    with pytest.raises(SupergraphError) as error:
        load_supergraph(str(setup(tmp_path)))
    assert str(error.value) == message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.graphql"
    path.write_text("  \n\t\n", encoding="utf-8")
    with pytest.raises(SupergraphError, match="^the supergraph is empty$"):
        load_supergraph(str(path))


def test_non_utf8_file_is_refused_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.graphql"
    path.write_bytes(b"type Query { caf\xe9: String }")
    with pytest.raises(SupergraphError, match=r"^not UTF-8 text \(invalid byte at offset 16\)$"):
        load_supergraph(str(path))


def test_file_over_the_size_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.graphql"
    path.write_text(SDL, encoding="utf-8")
    with pytest.raises(SupergraphError, match="more than the 10-byte limit"):
        load_supergraph(str(path), max_bytes=10)


def test_blank_source_is_refused() -> None:
    with pytest.raises(SupergraphError, match="no supergraph given"):
        load_supergraph("  ")


def test_reads_a_url(server: str) -> None:
    assert load_supergraph(f"{server}/supergraph.graphql") == SDL


@pytest.mark.parametrize("path,message", [
    ("/missing", "HTTP 404 Not Found"),
    ("/broken", "HTTP 500 Internal Server Error"),
    ("/empty", "the supergraph is empty"),
])
def test_url_errors_name_the_problem(server: str, path: str, message: str) -> None:
    with pytest.raises(SupergraphError) as error:
        load_supergraph(server + path)
    assert str(error.value) == message


def test_url_response_over_the_size_bound_is_refused(server: str) -> None:
    with pytest.raises(SupergraphError, match="the response is 5000 bytes, more than the "
                                              "100-byte limit"):
        load_supergraph(f"{server}/big", max_bytes=100)


def test_unreachable_url_is_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SupergraphError, match="^cannot connect: .*refused"):
        load_supergraph(f"http://127.0.0.1:{port}/supergraph.graphql")


def test_silent_url_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(SupergraphError, match=r"^no response within 0\.3 s$"):
            load_supergraph(f"http://127.0.0.1:{port}/supergraph.graphql", timeout_s=0.3)
