"""`govgraph gateway`: load a supergraph, build the engine, serve GraphQL over HTTP.

Heavy imports (uvicorn, the engine) happen inside the command so that `govgraph
--help` and the other subcommands stay fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import importlib.util
import json
import logging
import logging.config
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.engine import Gateway
    from gateway.server import GraphQLApp
    from gateway.telemetry import Telemetry

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
    _add_profile_option(parser)
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


def _add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        choices=("production", "development"),
        help="defaults for what the configuration does not set: production (introspection "
        "and the query-plan header off) or development (both on); default: env "
        "GOVGRAPH_PROFILE, then gateway.profile, then production",
    )


@dataclass(slots=True)
class Loaded:
    """A configuration and a supergraph that were both checked, and the engine built on them."""

    config: GatewayConfig
    config_path: str | None
    source: str
    sdl: str
    engine: Gateway


def load_gateway(
    args: argparse.Namespace, sdl: str | None = None, telemetry: Telemetry | None = None
) -> Loaded | str:
    """Read, check and build everything `govgraph gateway` serves; a message when unusable.

    On a reload, `sdl` stands in for the supergraph's source when it was already fetched, and
    `telemetry` is the serving engine's, which the new one carries on.
    """
    from gateway.config import ConfigError, load_config

    config_path = args.config or os.environ.get("GOVGRAPH_CONFIG") or None
    try:
        config = load_config(config_path, profile=args.profile)
    except ConfigError as exc:
        return str(exc)
    if getattr(args, "host", None):
        config.host = args.host
    if getattr(args, "port", None) is not None:
        config.port = args.port
    if getattr(args, "workers", None) is not None:
        config.workers = args.workers
    if getattr(args, "log_level", None):
        config.log_level = args.log_level
    if not 0 <= config.port <= 65535:
        return f"port {config.port} is outside 0-65535"
    if config.workers < 1:
        return f"--workers must be at least 1, got {config.workers}"
    source = args.supergraph or os.environ.get("GOVGRAPH_SUPERGRAPH")
    if not source and config.supergraph:
        source = (
            _relative_to(Path(config_path).parent, config.supergraph)
            if config_path
            else config.supergraph
        )
    if not source:
        return (
            "no supergraph given: pass --supergraph PATH|URL, set GOVGRAPH_SUPERGRAPH "
            "or gateway.supergraph in the configuration file"
        )
    config.supergraph = source

    from gateway.supergraph_source import load_supergraph
    from schema.supergraph import SupergraphError

    try:
        sdl = load_supergraph(source) if sdl is None else sdl
    except SupergraphError as exc:
        return f"cannot load supergraph {source}: {exc}"
    engine = _build_engine(sdl, config, source, config_path, telemetry)
    if isinstance(engine, str):
        return engine
    return Loaded(config, config_path, source, sdl, engine)


def register_check(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a configuration and a supergraph, print the effective configuration",
        description="Load the configuration (file and GOVGRAPH_* environment) and the "
        "supergraph exactly as `govgraph gateway` would, build the engine on them, and print "
        "the effective configuration as JSON without serving. Exits 2 with one line naming "
        "the file, key and value when something is wrong.",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="govgraph.toml to check (default: env GOVGRAPH_CONFIG)"
    )
    parser.add_argument(
        "--supergraph",
        metavar="PATH|URL",
        help="supergraph to check (default: env GOVGRAPH_SUPERGRAPH, then gateway.supergraph)",
    )
    _add_profile_option(parser)
    parser.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Print what `govgraph gateway` would run with, or why it would refuse to start."""
    loaded = load_gateway(args)
    if isinstance(loaded, str):
        print(f"govgraph check: {loaded}", file=sys.stderr)
        return 2
    upstream = loaded.engine.upstream
    urls = {upstream.names[enum]: url for enum, url in upstream.urls.items()}
    print(
        f"govgraph check: configuration {loaded.config_path or '(defaults)'} and supergraph "
        f"{loaded.source} are valid",
        file=sys.stderr,
    )
    effective = {
        **dataclasses.asdict(loaded.config),
        "supergraph_hash": loaded.engine.supergraph_hash,
        "subgraph_urls_in_effect": urls,
    }
    print(json.dumps(effective, indent=2, ensure_ascii=False, sort_keys=True))
    return 0


def run_gateway(args: argparse.Namespace) -> int:
    """Exit 2 with one clear line when the configuration or the supergraph is unusable."""
    loaded = load_gateway(args)
    if isinstance(loaded, str):
        return _fail(loaded)
    config = loaded.config
    refused = _port_refused(config.host, config.port)
    if refused:
        return _fail(refused)
    from gateway.logs import logging_config

    logging.config.dictConfig(logging_config(config.log_level, config.log_format))
    print(
        f"{PROG}: serving http://{config.host}:{config.port}/graphql "
        f"({config.workers} worker{'s' if config.workers > 1 else ''}, "
        f"{config.profile} profile)",
        file=sys.stderr,
    )
    if config.workers == 1:
        from gateway.reload import Generation, RefusedReload, Reloader
        from gateway.server import create_app

        def build(sdl: str | None) -> Generation:
            again = load_gateway(args, sdl, loaded.engine.telemetry)
            if isinstance(again, str):
                raise RefusedReload(again)
            return Generation(again.engine, again.config, again.sdl)

        app = create_app(loaded.engine, config, loaded.sdl)
        app.services.append(Reloader(app, build, loaded.source))
        _serve(app, config, factory=False)
        return 0
    return _serve_workers(loaded.source, config, loaded.config_path)


def _port_refused(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, found before it says it serves there."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # as uvicorn binds: a port in TIME_WAIT is free, one with a listener is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            hint = " (another process listens there: choose another --port)"
            return f"cannot listen on {host}:{port}: {reason.lower()}" + (
                hint if exc.errno == errno.EADDRINUSE else ""
            )
    return None


def _build_engine(
    sdl: str,
    config: GatewayConfig,
    source: str,
    config_path: str | None,
    telemetry: Telemetry | None = None,
) -> Gateway | str:
    """Construct the engine, which parses and validates the supergraph."""
    from gateway.config import ConfigError
    from gateway.engine import Gateway
    from gateway.server import GraphQLApp

    try:
        engine = Gateway(sdl, config, telemetry)
        GraphQLApp(engine, config)  # reads the key files authentication needs
        return engine
    except ConfigError as exc:  # the configuration does not fit this supergraph
        return f"{config_path or 'configuration'}: {exc}"
    except ValueError as exc:  # schema.supergraph.SupergraphError is a ValueError
        return f"cannot load supergraph {source}: {exc}"


def _serve_workers(source: str, config: GatewayConfig, config_path: str | None) -> int:
    """Workers build their engines from the environment, each watching the supergraph."""
    from gateway.metrics import MULTIPROC_ENV
    from gateway.supergraph_source import is_url

    os.environ["GOVGRAPH_SUPERGRAPH"] = source if is_url(source) else str(Path(source).resolve())
    os.environ["GOVGRAPH_PROFILE"] = config.profile
    if config_path:
        os.environ["GOVGRAPH_CONFIG"] = str(Path(config_path).resolve())
    else:
        os.environ.pop("GOVGRAPH_CONFIG", None)
    _forward_hangup_to_workers()
    with tempfile.TemporaryDirectory(prefix="govgraph-gateway-") as tmp:
        if not os.environ.get(MULTIPROC_ENV):
            # every worker writes its metrics here; a scrape of any worker reads them all
            os.environ[MULTIPROC_ENV] = tmp
        _serve("gateway.server:app_from_environment", config, factory=True)
    return 0


def _forward_hangup_to_workers() -> None:
    """On SIGHUP uvicorn would replace every worker process, resetting connections a stopping
    worker had just accepted; instead each worker gets the signal and reloads in place
    (gateway.reload), keeping its old engine when the new version is bad."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    def handle_hup(supervisor: Multiprocess) -> None:
        for worker in supervisor.processes:
            # a worker still starting reads the files as they are now, and would die of a
            # SIGHUP it has no handler for yet
            if worker.pid is not None and worker.is_ready(timeout=1):
                os.kill(worker.pid, signal.SIGHUP)

    setattr(Multiprocess, "handle_hup", handle_hup)  # noqa: B010 - replaces uvicorn's handler


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
