"""`govgraph subgraph`: serve the national subgraph or provincial shards, or print their SDL.

Each subgraph's modules are imported only when its command runs, so one part works while
the other is absent.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from resolvers import reference
from resolvers.datadir import DATA_DIR_ENV, default_data_dir
from subgraphs.claims import CLAIMS_HEADER, KEY_FILE_ENV, MIN_KEY_BYTES, internal_key

SDL_MODULES = {"national": "subgraphs.national.schema", "provincial": "subgraphs.provincial.schema"}


def register_subgraph(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `govgraph subgraph national|provincial|sdl` to the CLI."""
    parser = subparsers.add_parser(
        "subgraph",
        help="serve a subgraph (national, provincial shards) or print its SDL",
        description="Serve the national subgraph or the provincial shards over HTTP, or print a subgraph's SDL.",
    )
    kinds = parser.add_subparsers(dest="subgraph", metavar="SUBGRAPH")
    kinds.required = True

    national = kinds.add_parser(
        "national", help="serve the national subgraph at /graphql",
        description="Serve the national subgraph (GraphQL at /graphql, liveness at /health) from DIR/national.db.",
    )
    _server_options(national, 4001)
    national.set_defaults(func=run_national)

    provincial = kinds.add_parser(
        "provincial", help="serve provincial shards at /provinces/<code>/graphql",
        description=(
            "Serve one GraphQL endpoint per province at /provinces/<6-digit code>/graphql (and /health) "
            "from DIR/provinces/<code>.db. Serves all 31 provincial platforms unless --province is given."
        ),
    )
    _server_options(provincial, 4002)
    provincial.add_argument(
        "--province", action="append", type=_province, dest="provinces", metavar="CODE",
        help="a province to serve, as a 2-digit prefix (44) or 6-digit code (440000); repeatable",
    )
    provincial.set_defaults(func=run_provincial)

    sdl = kinds.add_parser("sdl", help="print a subgraph's federation SDL",
                           description="Print the Federation v2 SDL of the national or provincial subgraph.")
    sdl.add_argument("name", choices=sorted(SDL_MODULES), help="which subgraph")
    sdl.set_defaults(func=run_sdl)


def _server_options(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--port", type=int, default=port, help=f"TCP port (default {port})")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help=f"where `govgraph seed` wrote the databases (default ${DATA_DIR_ENV} or ./data)",
    )
    parser.add_argument(
        "--internal-key-file", type=Path, default=None, metavar="PATH",
        help=f"file holding the key (at least {MIN_KEY_BYTES} bytes) that verifies the gateway's "
             f"{CLAIMS_HEADER} tokens (default ${KEY_FILE_ENV}); without one every caller is anonymous",
    )
    parser.add_argument(
        "--access-log", action="store_true",
        help="log one line per request (off by default: a gateway's fan-out would flood the log)",
    )


def _province(value: str) -> reference.Province:
    found = reference.province(value)
    if found is None or not found.has_platform:
        raise argparse.ArgumentTypeError(
            f"unknown province {value!r}: give a 2-digit prefix or 6-digit code of one of the 31 "
            "provincial platforms, e.g. 44 or 440000"
        )
    return found


class _Server(uvicorn.Server):
    """uvicorn, but a graceful stop on SIGINT/SIGTERM ends with status 0 instead of re-raising the signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _serve(build: Callable[[bytes | None], ASGIApp], args: argparse.Namespace, service: str) -> int:
    """Build the app (refusing to start on missing data or a bad key) and run uvicorn until SIGINT/SIGTERM;
    its requests join the gateway's traces when OTEL_* variables configure an exporter."""
    from subgraphs.tracing import traced

    try:
        app = build(internal_key(args.internal_key_file))
    except (FileNotFoundError, ValueError) as error:
        print(f"govgraph subgraph: {error}", file=sys.stderr)
        return 1
    config = uvicorn.Config(traced(app, service), host=args.host, port=args.port, log_level="info", lifespan="on",
                            access_log=args.access_log)
    _Server(config).run()
    return 0


def run_national(args: argparse.Namespace) -> int:
    from subgraphs.national.app import create_app

    data_dir: Path = args.data_dir or default_data_dir()
    return _serve(lambda key: create_app(data_dir, key), args, "govgraph-national")


def run_provincial(args: argparse.Namespace) -> int:
    from subgraphs.provincial.app import create_app

    data_dir: Path = args.data_dir or default_data_dir()
    provinces = list(dict.fromkeys(args.provinces or reference.PLATFORM_PROVINCES))
    return _serve(lambda key: create_app(data_dir, provinces, key), args, "govgraph-provincial")


def run_sdl(args: argparse.Namespace) -> int:
    module = importlib.import_module(SDL_MODULES[args.name])
    print(module.print_sdl())
    return 0
