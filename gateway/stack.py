"""`govgraph run`: the national subgraph, the provincial subgraph and the gateway in one command.

Each part runs as its own child process, started with the same commands an operator
would use, so the local stack behaves like a deployment and the gateway still meets the
subgraphs only over HTTP.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from gateway.config import ConfigError, load_config

HOST = "127.0.0.1"
NATIONAL = "national"
PROVINCIAL = "provincial"
EFFECTIVE_CONFIG = "gateway.toml"
EXAMPLE_PROVINCE = "440000"
NATIONAL_EXAMPLE = "{ provinces { code nameZh nameEn } }"
# Service halls come from the Guangdong shard, their divisions from the national subgraph.
GATEWAY_EXAMPLE = (
    f'{{ serviceHalls(provinceCode: "{EXAMPLE_PROVINCE}") {{ name division {{ nameZh }} }} }}'
)
_CLI = [sys.executable, "-m", "gateway.cli"]


@dataclass(frozen=True, slots=True)
class Ports:
    gateway: int
    national: int
    provincial: int


@dataclass(slots=True)
class Child:
    """One supervised process: its command, where it says it is ready, and its last words."""

    name: str
    argv: list[str]
    health_url: str
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    reader: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()


class StackError(RuntimeError):
    """The stack cannot start or keep running; the message says which part and why."""


class Console:
    """Serialises output from the children's reader threads and the supervisor."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._lock:
            self._out.write(text if text.endswith("\n") else text + "\n")
            self._out.flush()


class Stack:
    """Starts the children together, waits for each `/health`, and stops them all on request."""

    def __init__(self, console: Console, *, startup_timeout_s: float, grace_s: float) -> None:
        self.console = console
        self.startup_timeout_s = startup_timeout_s
        self.grace_s = grace_s
        self.children: list[Child] = []
        # A plain flag: a signal handler must not take the lock an Event.set() would.
        self.stop_requested = False

    def request_stop(self) -> None:
        """Safe to call from a signal handler: it only sets a flag the loops poll."""
        self.stop_requested = True

    def start(self, *group: Child) -> None:
        """Start `group` together and return once every member answers its health check."""
        for child in group:
            self._spawn(child)
        # Readers start only after every fork: a child must not be forked while threads run.
        for child in group:
            assert child.process is not None and child.process.stdout is not None
            child.reader = threading.Thread(
                target=self._relay, args=(child, child.process.stdout), daemon=True
            )
            child.reader.start()
        deadline = time.monotonic() + self.startup_timeout_s
        pending = list(group)
        while pending and not self.stop_requested:
            for child in list(pending):
                if not child.running:
                    raise StackError(self._death_notice(child, "during start-up"))
                if _healthy(child.health_url):
                    pending.remove(child)
            if pending and time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise StackError(
                    f"{names} did not answer the health check within {self.startup_timeout_s:g} s"
                    + "".join(self._last_output(c) for c in pending)
                )
            if pending:
                time.sleep(0.2)

    def supervise(self) -> None:
        """Block until a stop is requested; raise if a child exits on its own meanwhile."""
        while not self.stop_requested:
            time.sleep(0.2)
            for child in self.children:
                if not child.running:
                    raise StackError(self._death_notice(child, "unexpectedly"))

    def stop(self) -> None:
        """SIGTERM every child (latest first), then SIGKILL whatever outlives the grace period."""
        live = [c for c in reversed(self.children) if c.running]
        for child in live:
            self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for child in live:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.console.say(f"{child.name} did not stop within {self.grace_s:g} s; killing it")
                self._signal(child, signal.SIGKILL)
                child.process.wait()
        for child in self.children:
            # Grandchildren (e.g. gateway workers) share the child's process group.
            self._signal(child, signal.SIGKILL)
            if child.reader is not None:
                child.reader.join(timeout=2)

    def _spawn(self, child: Child) -> None:
        self.console.say(f"starting {child.name}: govgraph {' '.join(child.argv[len(_CLI) :])}")
        child.process = subprocess.Popen(
            child.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=child.env,
            # Own process group: a terminal's Ctrl-C reaches only us, and we stop the
            # children in order; the group lets us reach their workers as well.
            start_new_session=True,
            preexec_fn=_DIE_WITH_PARENT,  # noqa: PLW1509 - no thread runs yet, see start()
        )
        self.children.append(child)

    def _relay(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            child.tail.append(line)
            self.console.say(f"{child.name:<10} | {line}")
        stream.close()

    def _death_notice(self, child: Child, when: str) -> str:
        if child.reader is not None:
            child.reader.join(timeout=2)
        return f"{child.name} exited {when} with code {child.returncode}" + self._last_output(child)

    @staticmethod
    def _last_output(child: Child) -> str:
        if not child.tail:
            return f"\n{child.name} printed nothing."
        lines = "\n".join(f"  {line}" for line in child.tail)
        return f"\nlast output of {child.name}:\n{lines}"

    @staticmethod
    def _signal(child: Child, signum: signal.Signals) -> None:
        if child.process is None:
            return
        try:
            os.killpg(child.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _parent_death_signal() -> Callable[[], None] | None:
    """Have the kernel SIGTERM a child if `govgraph run` itself is killed outright (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1
    # Resolved here, in the parent: between fork and exec the child may only call C.
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


_DIE_WITH_PARENT = _parent_death_signal()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{HOST}:{port}"))


def effective_config(base: Mapping[str, Any], ports: Ports, supergraph: Path) -> dict[str, Any]:
    """The demo configuration with every URL moved to the ports this stack actually uses."""
    config: dict[str, Any] = copy.deepcopy(dict(base))
    gateway = config.setdefault("gateway", {})
    gateway.update(host=HOST, port=ports.gateway, supergraph=str(supergraph))
    subgraphs = config.setdefault("subgraphs", {})
    subgraphs.setdefault(NATIONAL, {}).setdefault("url", f"http://{HOST}:{ports.national}/graphql")
    for name, port in ((NATIONAL, ports.national), (PROVINCIAL, ports.provincial)):
        table = subgraphs.get(name, {})
        if "url" in table:
            table["url"] = _with_port(table["url"], port)
    partition = config.get("partitions", {}).get(PROVINCIAL, {})
    routing = partition.get("routing", {})
    shards = partition.get("shards", {})
    for code, url in shards.items():
        shards[code] = _with_port(url, ports.provincial)
    templated = False
    for table in (partition, routing):
        if "shard_url_template" in table:
            table["shard_url_template"] = _with_port(table["shard_url_template"], ports.provincial)
            templated = True
    if not shards and not templated:
        raise StackError(
            "the configuration lists no provincial shards: add a [partitions.provincial.shards] "
            "table mapping each 6-digit province code to its URL (see govgraph.toml)"
        )
    return config


def dump_toml(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """Write a table of strings, numbers, booleans, lists and sub-tables as TOML."""
    scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    lines: list[str] = []
    if prefix and (scalars or not tables):
        lines.append("[" + ".".join(_toml_key(p) for p in prefix) + "]")
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items()]
    text = "\n".join(lines)
    for key, sub in tables.items():
        text += ("\n\n" if text else "") + dump_toml(sub, (*prefix, key))
    return text + ("\n" if not prefix else "")


def _toml_key(key: str) -> str:
    bare = key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key)
    return key if bare else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise StackError(f"cannot write {value!r} to the gateway configuration")


def write_gateway_config(
    config_path: Path, data_dir: Path, ports: Ports, supergraph: Path | None
) -> tuple[Path, Path]:
    """Write the effective gateway configuration into the data directory.

    Returns (configuration path, supergraph path). The file is checked with the gateway's
    own loader so a mistake shows here, not as a gateway that fails to start.
    """
    try:
        base = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackError(f"configuration file {str(config_path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise StackError(
            f"configuration file {str(config_path)!r} is not valid TOML: {exc}"
        ) from None
    if supergraph is None:
        named = base.get("gateway", {}).get("supergraph")
        if not named:
            raise StackError(f"{config_path} names no [gateway] supergraph; pass --supergraph")
        supergraph = config_path.parent / named
    supergraph = supergraph.resolve()
    if not supergraph.is_file():
        raise StackError(f"supergraph {str(supergraph)!r} does not exist; run `make supergraph`")
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / EFFECTIVE_CONFIG
    effective = effective_config(base, ports, supergraph)
    listing = effective.get("persisted_queries", {}).get("trusted_documents")
    if isinstance(listing, str):  # relative to the file it was written in, not to the copy
        effective["persisted_queries"]["trusted_documents"] = str(
            config_path.resolve().parent / listing
        )
    _with_demo_identity(effective, demo_keys(data_dir))
    target.write_text(dump_toml(effective), encoding="utf-8")
    try:
        load_config(target, env={})
    except ConfigError as exc:
        raise StackError(
            f"the effective gateway configuration {target} is invalid: {exc}"
        ) from None
    return target, supergraph


def demo_keys(data_dir: Path) -> dict[str, Path]:
    """The demo's secrets, made once per data directory (readable by its owner only): the
    development key demo tokens are signed with, the key of the claims the gateway signs
    for the subgraphs, and the demo aggregator's API key."""
    keys = data_dir / "keys"
    keys.mkdir(parents=True, mode=0o700, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in ("token", "internal", "aggregator"):
        path = paths[name] = keys / f"{name}.key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
    return paths


def _with_demo_identity(config: dict[str, Any], keys: Mapping[str, Path]) -> None:
    """The demo gateway: development profile, demo tokens and the demo aggregator's key."""
    config.setdefault("gateway", {}).setdefault("profile", "development")
    auth = config.setdefault("auth", {})
    auth.setdefault("jwt_key_file", str(keys["token"]))
    auth.setdefault("algorithms", ["HS256"])
    auth.setdefault("internal_key_file", str(keys["internal"]))
    aggregator = keys["aggregator"].read_text(encoding="utf-8").strip()
    auth.setdefault("api_keys", {}).setdefault(
        "demo-aggregator",
        {
            "sha256": hashlib.sha256(aggregator.encode()).hexdigest(),
            "trusted_documents_only": True,
        },
    )


def plan_subgraphs(ports: Ports, data_dir: Path) -> list[Child]:
    """The national subgraph and the provincial subgraph with all its province shards."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["GOVGRAPH_INTERNAL_KEY_FILE"] = str(demo_keys(data_dir)["internal"])
    return [
        Child(
            name,
            [*_CLI, "subgraph", name, "--port", str(port), "--data-dir", str(data_dir)],
            f"http://{HOST}:{port}/health",
            env,
        )
        for name, port in ((NATIONAL, ports.national), (PROVINCIAL, ports.provincial))
    ]


def plan_gateway(ports: Ports, config: Path, supergraph: Path, workers: int) -> Child:
    """The gateway loads its supergraph from a file, so it may start beside the subgraphs."""
    # The stack decides where the subgraphs are; stray URL overrides would point elsewhere.
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("GOVGRAPH_SUBGRAPH_") and k.endswith("_URL"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return Child(
        "gateway",
        [
            *_CLI,
            "gateway",
            "--supergraph",
            str(supergraph),
            "--host",
            HOST,
            "--port",
            str(ports.gateway),
            "--config",
            str(config),
            "--workers",
            str(workers),
        ],
        f"http://{HOST}:{ports.gateway}/health",
        env,
    )


def banner(ports: Ports, *, with_gateway: bool) -> str:
    national_url = f"http://{HOST}:{ports.national}/graphql"
    gateway_url = f"http://{HOST}:{ports.gateway}/graphql"
    target, query = (
        (gateway_url, GATEWAY_EXAMPLE) if with_gateway else (national_url, NATIONAL_EXAMPLE)
    )
    body = json.dumps({"query": query}, ensure_ascii=False)
    lines = ["", "govgraph is running:"]
    if with_gateway:
        lines.append(f"  gateway     {gateway_url}")
    lines += [
        f"  national    {national_url}",
        f"  provincial  http://{HOST}:{ports.provincial}/provinces/<code>/graphql",
        f"              one shard per province, e.g. /provinces/{EXAMPLE_PROVINCE}/graphql",
        "",
        "Try:",
        f"  curl -s {target} -H 'content-type: application/json' -d '{body}'",
        "",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    console = Console(sys.stdout)
    ports = Ports(args.gateway_port, args.national_port, args.provincial_port)
    if len({ports.gateway, ports.national, ports.provincial}) < 3:
        console.say(f"govgraph run: the three ports must differ, got {ports}")
        return 2
    stack = Stack(console, startup_timeout_s=args.startup_timeout, grace_s=args.grace_period)
    # Until the children are stopped, a signal only asks for the stop; it never interrupts it.
    previous = _on_stop_signals(stack.request_stop)
    try:
        return _run_stack(stack, args, ports)
    finally:
        stack.stop()
        _restore_signals(previous)


def _run_stack(stack: Stack, args: argparse.Namespace, ports: Ports) -> int:
    data_dir = Path(args.data_dir).resolve()
    try:
        children = plan_subgraphs(ports, data_dir)
        if not args.subgraphs_only:
            config, supergraph = write_gateway_config(
                Path(args.config),
                data_dir,
                ports,
                Path(args.supergraph) if args.supergraph else None,
            )
            children.append(plan_gateway(ports, config, supergraph, args.workers))
        stack.start(*children)
        if not stack.stop_requested:
            stack.console.say(banner(ports, with_gateway=not args.subgraphs_only))
            stack.supervise()
    except StackError as exc:
        stack.console.say(f"govgraph run: {exc}")
        return 1
    stack.console.say("stopping govgraph")
    return 0


Handlers = dict[int, Any]


def _on_stop_signals(callback: Callable[[], None]) -> Handlers:
    previous: Handlers = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda _s, _f: callback())
    return previous


def _restore_signals(previous: Handlers) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def register_run(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the national subgraph, the provincial subgraph and the gateway together",
        description=(
            "Start the national subgraph, the provincial subgraph (all 31 provinces) and the "
            "gateway as child processes, wait until each answers GET /health, and stop them "
            "all on Ctrl-C or SIGTERM. Seed the data first with `govgraph seed`."
        ),
    )
    parser.add_argument(
        "--gateway-port",
        type=_port,
        default=os.environ.get("GOVGRAPH_GATEWAY_PORT") or "4000",
        metavar="PORT",
        help="port of the gateway (env GOVGRAPH_GATEWAY_PORT, default 4000)",
    )
    parser.add_argument(
        "--national-port",
        type=_port,
        default=os.environ.get("GOVGRAPH_NATIONAL_PORT") or "4001",
        metavar="PORT",
        help="port of the national subgraph (env GOVGRAPH_NATIONAL_PORT, default 4001)",
    )
    parser.add_argument(
        "--provincial-port",
        type=_port,
        default=os.environ.get("GOVGRAPH_PROVINCIAL_PORT") or "4002",
        metavar="PORT",
        help="port of the provincial subgraph (env GOVGRAPH_PROVINCIAL_PORT, default 4002)",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("GOVGRAPH_DATA_DIR", "data"),
        metavar="DIR",
        help="directory with national.db and provinces/*.db; the effective gateway "
        f"configuration is written there as {EFFECTIVE_CONFIG} "
        "(env GOVGRAPH_DATA_DIR, default data)",
    )
    parser.add_argument(
        "--config",
        default=os.environ.get("GOVGRAPH_CONFIG", "govgraph.toml"),
        metavar="PATH",
        help="gateway configuration to start from (env GOVGRAPH_CONFIG, default govgraph.toml)",
    )
    parser.add_argument(
        "--supergraph",
        default=None,
        metavar="PATH",
        help="supergraph SDL for the gateway (default: [gateway] supergraph in the configuration)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="gateway worker processes (default 1)",
    )
    parser.add_argument(
        "--subgraphs-only",
        action="store_true",
        help="start only the two subgraphs, e.g. to put another gateway in front of them",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long the parts may take to answer their health checks (default 120)",
    )
    parser.add_argument(
        "--grace-period",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long the parts may take to stop after SIGTERM before they are killed "
        "(default 10)",
    )
    parser.set_defaults(func=run)
