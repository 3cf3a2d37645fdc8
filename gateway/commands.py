"""`govgraph gateway`: load a supergraph, build the engine, serve GraphQL over HTTP.

Heavy imports (uvicorn, the engine) happen inside the command so that `govgraph
--help` and the other subcommands stay fast.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import logging.config
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.exchange import Engine
    from gateway.server import GraphQLApp

PROG = "govgraph gateway"


def register_gateway(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="serve the federated GraphQL API from a supergraph",
        description="Serve GraphQL over HTTP (POST and GET /graphql) for a federation v2 "
        "supergraph, with GET /health (liveness), /ready (readiness), /metrics (Prometheus) "
        "and /status (status page). Command-line flags override the configuration file; "
        "GOVGRAPH_* environment variables override the file too; OTEL_* variables turn on "
        "OpenTelemetry traces.",
    )
    parser.add_argument(
        "--supergraph",
        metavar="PATH|URL",
        help="supergraph SDL file or http(s) URL (default: env "
        "GOVGRAPH_SUPERGRAPH, then gateway.supergraph in the config)",
    )
    parser.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port to listen on (default 4000)")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="govgraph.toml configuration file (default: env GOVGRAPH_CONFIG)",
    )
    parser.add_argument(
        "--profile",
        choices=("production", "development"),
        help="defaults for what the configuration does not set: production (introspection "
        "and the query-plan header off) or development (both on); default: env "
        "GOVGRAPH_PROFILE, then gateway.profile, then production",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes, each with its own engine (default 1)",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error", "critical"),
        help="least severe log records written (default: logging.level in the config, or info)",
    )
    parser.set_defaults(func=run_gateway)


def run_gateway(args: argparse.Namespace) -> int:
    """Exit 2 with one clear line when the configuration or the supergraph is unusable."""
    from gateway.config import ConfigError, load_config

    config_path = args.config or os.environ.get("GOVGRAPH_CONFIG") or None
    try:
        config = load_config(config_path, profile=args.profile)
    except ConfigError as exc:
        return _fail(str(exc))
    if args.host:
        config.host = args.host
    if args.port is not None:
        config.port = args.port
    if args.workers is not None:
        config.workers = args.workers
    if args.log_level:
        config.log_level = args.log_level
    if not 0 <= config.port <= 65535:
        return _fail(f"port {config.port} is outside 0-65535")
    if config.workers < 1:
        return _fail(f"--workers must be at least 1, got {config.workers}")
    source = args.supergraph or os.environ.get("GOVGRAPH_SUPERGRAPH")
    if not source and config.supergraph:
        source = (
            _relative_to(Path(config_path).parent, config.supergraph)
            if config_path
            else config.supergraph
        )
    if not source:
        return _fail(
            "no supergraph given: pass --supergraph PATH|URL, set GOVGRAPH_SUPERGRAPH "
            "or gateway.supergraph in the configuration file"
        )
    config.supergraph = source

    from gateway.logs import logging_config
    from gateway.supergraph_source import load_supergraph
    from schema.supergraph import SupergraphError

    logging.config.dictConfig(logging_config(config.log_level, config.log_format))
    try:
        sdl = load_supergraph(source)
    except SupergraphError as exc:
        return _fail(f"cannot load supergraph {source}: {exc}")
    gateway = _build_engine(sdl, config, source)
    if gateway is None:
        return 2

    print(
        f"{PROG}: serving http://{config.host}:{config.port}/graphql "
        f"({config.workers} worker{'s' if config.workers > 1 else ''}, "
        f"{config.profile} profile)",
        file=sys.stderr,
    )
    if config.workers == 1:
        from gateway.server import create_app

        _serve(create_app(gateway, config), config, factory=False)
        return 0
    return _serve_workers(sdl, config, config_path)


def _build_engine(sdl: str, config: GatewayConfig, source: str) -> Engine | None:
    """Construct the engine, which parses and validates the supergraph."""
    from gateway.config import ConfigError
    from gateway.engine import Gateway
    from gateway.server import GraphQLApp

    try:
        engine = Gateway(sdl, config)
        GraphQLApp(engine, config)  # reads the key files authentication needs
        return engine
    except ConfigError as exc:
        _fail(str(exc))
        return None
    except ValueError as exc:  # schema.supergraph.SupergraphError is a ValueError
        _fail(f"cannot load supergraph {source}: {exc}")
        return None


def _serve_workers(sdl: str, config: GatewayConfig, config_path: str | None) -> int:
    """Workers rebuild the engine from the environment; a private copy pins the SDL."""
    from gateway.metrics import MULTIPROC_ENV

    with tempfile.TemporaryDirectory(prefix="govgraph-gateway-") as tmp:
        pinned = Path(tmp) / "supergraph.graphql"
        pinned.write_text(sdl, encoding="utf-8")
        if not os.environ.get(MULTIPROC_ENV):
            # every worker writes its metrics here; a scrape of any worker reads them all
            (Path(tmp) / "metrics").mkdir()
            os.environ[MULTIPROC_ENV] = str(Path(tmp) / "metrics")
        os.environ["GOVGRAPH_SUPERGRAPH"] = str(pinned)
        os.environ["GOVGRAPH_PROFILE"] = config.profile
        if config_path:
            os.environ["GOVGRAPH_CONFIG"] = str(Path(config_path).resolve())
        else:
            os.environ.pop("GOVGRAPH_CONFIG", None)
        _serve("gateway.server:app_from_environment", config, factory=True)
    return 0


def _serve(app: GraphQLApp | str, config: GatewayConfig, *, factory: bool) -> None:
    """Serve `app`, or with `factory` the app the import string `app` names."""
    import uvicorn

    from gateway.logs import logging_config

    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.run(
            app,
            factory=factory,
            host=config.host,
            port=config.port,
            workers=config.workers if factory else None,
            loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            http="httptools" if importlib.util.find_spec("httptools") else "h11",
            lifespan="on",
            # uvicorn's records go through the gateway's formatter; requests are logged by
            # govgraph.access, with their ids and operations
            log_config=logging_config(config.log_level, config.log_format),
            log_level=config.log_level,
            access_log=False,
            timeout_graceful_shutdown=int(config.request_deadline_s) + 1,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_cleanly(signum: int, frame: object) -> None:
    """uvicorn re-raises the SIGTERM it has already handled gracefully: exit 0, not -15."""
    raise SystemExit(0)


def _relative_to(directory: Path, source: str) -> str:
    """A relative path in the configuration file means relative to that file."""
    if source.lower().startswith(("http://", "https://")) or Path(source).is_absolute():
        return source
    return str(directory / source)


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2
