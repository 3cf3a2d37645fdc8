"""Where a supergraph comes from: a file path or an http(s) URL.

Only fetching lives here; the engine parses and validates what it gets. Errors say
what went wrong without repeating the source, so callers can prefix it once.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from schema.supergraph import SupergraphError

DEFAULT_TIMEOUT_S = 10.0
# Far above any real supergraph; a bound so a wrong URL cannot exhaust memory.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


def load_supergraph(
    source: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, max_bytes: int = DEFAULT_MAX_BYTES
) -> str:
    """Return the supergraph SDL text at `source` (a path or an http(s) URL)."""
    if not source or not source.strip():
        raise SupergraphError("no supergraph given: pass --supergraph PATH or URL")
    if is_url(source):
        raw = _fetch(source, timeout_s, max_bytes).body
    else:
        raw = _read_file(Path(source).expanduser(), max_bytes)
    return _text(raw)


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class Polled:
    """A supergraph fetched from a URL, and the validator to send when asking again."""

    text: str
    etag: str | None


def poll_supergraph(
    url: str,
    etag: str | None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Polled | None:
    """The supergraph at `url`, or None when the server answers 304 to `If-None-Match`."""
    fetched = _fetch(url, timeout_s, max_bytes, etag)
    if fetched is None:
        return None
    return Polled(_text(fetched.body), fetched.etag)


def _text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SupergraphError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    if not text.strip():
        raise SupergraphError("the supergraph is empty")
    return text


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        if not path.exists():
            raise SupergraphError("no such file")
        if path.is_dir():
            raise SupergraphError("it is a directory, not a supergraph file")
        size = path.stat().st_size
        if size > max_bytes:
            raise SupergraphError(f"the file is {size} bytes, more than the {max_bytes}-byte limit")
        return path.read_bytes()
    except PermissionError:
        raise SupergraphError("permission denied") from None
    except OSError as exc:
        raise SupergraphError(f"cannot read the file: {exc.strerror or exc}") from None


@dataclass(frozen=True, slots=True)
class _Fetched:
    body: bytes
    etag: str | None


@overload
def _fetch(url: str, timeout_s: float, max_bytes: int) -> _Fetched: ...
@overload
def _fetch(url: str, timeout_s: float, max_bytes: int, etag: str | None) -> _Fetched | None: ...
def _fetch(url: str, timeout_s: float, max_bytes: int, etag: str | None = None) -> _Fetched | None:
    headers = {
        "accept": "application/graphql, text/plain;q=0.9, */*;q=0.5",
        "user-agent": "govgraph-gateway",
    }
    if etag is not None:
        headers["if-none-match"] = etag
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise SupergraphError(
                    f"the response is {declared} bytes, more than the {max_bytes}-byte limit"
                )
            body: bytes = response.read(max_bytes + 1)
            validator = response.headers.get("etag")
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and etag is not None:
            return None
        raise SupergraphError(f"HTTP {exc.code} {exc.reason}".rstrip()) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise SupergraphError(f"no response within {timeout_s:g} s") from None
        raise SupergraphError(f"cannot connect: {reason}") from None
    except TimeoutError:
        raise SupergraphError(f"no response within {timeout_s:g} s") from None
    except OSError as exc:
        raise SupergraphError(f"cannot fetch: {exc}") from None
    if len(body) > max_bytes:
        raise SupergraphError(f"the response is more than the {max_bytes}-byte limit")
    return _Fetched(body, validator)
