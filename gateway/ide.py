"""The browser IDE: GraphiQL, served by the gateway itself.

Government networks are often cut off from the internet, so nothing is loaded from a
CDN: the page and GraphiQL's scripts and styles (with React, which they run on) come
from the gateway, kept compressed in `ide_assets/` and sent as they are to every browser
that accepts gzip. The page asks the gateway's own `/graphql` with POST, so CSRF
prevention and authentication apply to it as to any client.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

IDE_PREFIX = "/graphiql/"
ASSET_TYPES = {
    "react.production.min.js": b"application/javascript; charset=utf-8",
    "react-dom.production.min.js": b"application/javascript; charset=utf-8",
    "graphiql.min.js": b"application/javascript; charset=utf-8",
    "graphiql.min.css": b"text/css; charset=utf-8",
    "LICENSES.txt": b"text/plain; charset=utf-8",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>govgraph</title>
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
  <link rel="stylesheet" href="{prefix}graphiql.min.css">
  <script src="{prefix}react.production.min.js"></script>
  <script src="{prefix}react-dom.production.min.js"></script>
  <script src="{prefix}graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: {endpoint!r} }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{ fetcher, defaultEditorToolbarTabs: "headers" }})
    );
  </script>
</body>
</html>
"""


@cache
def page(endpoint: str) -> bytes:
    """The IDE's HTML page, asking `endpoint` (the gateway's GraphQL path)."""
    return _PAGE.format(prefix=IDE_PREFIX, endpoint=endpoint).encode()


@cache
def _compressed(name: str) -> bytes:
    if name == "LICENSES.txt":
        return gzip.compress(resources.files("gateway.ide_assets").joinpath(name).read_bytes())
    return resources.files("gateway.ide_assets").joinpath(f"{name}.gz").read_bytes()


def asset(name: str, accepts_gzip: bool) -> tuple[bytes, bytes, bool] | None:
    """(body, content type, gzip-encoded) of one asset, or None when there is no such asset."""
    content_type = ASSET_TYPES.get(name)
    if content_type is None:
        return None
    body = _compressed(name)
    if accepts_gzip:
        return body, content_type, True
    return gzip.decompress(body), content_type, False


def wants_page(accept: str | None, query_string: bytes) -> bool:
    """A browser navigating to the endpoint: it asks for HTML and sends no GraphQL request."""
    if not accept or "text/html" not in accept:
        return False
    return b"query=" not in query_string and b"extensions=" not in query_string
