"""The `govgraph` command.

Subcommands come from the `govgraph.commands` entry-point group so that each part
of the product registers its own command without the gateway importing it: the
gateway never imports a subgraph (they meet only over HTTP and the supergraph).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govgraph",
        description="Federated GraphQL gateway and subgraphs for Internet Plus government "
        "services.",
    )
    parser.add_argument(
        "--version", action="version", version=f"govgraph {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for ep in sorted(entry_points(group="govgraph.commands"), key=lambda e: e.name):
        try:
            register: Register = ep.load()
        except ImportError as exc:
            # one broken part must not take every other command down with it
            _register_unavailable(commands, ep.name, exc)
            continue
        register(commands)
    return parser


def _register_unavailable(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, exc: ImportError
) -> None:
    reason = f"the {name!r} command cannot be loaded: {exc}"
    parser = commands.add_parser(name, help=f"(unavailable: {exc})")

    def fail(_: argparse.Namespace) -> int:
        print(f"govgraph: {reason}", file=sys.stderr)
        return 2

    parser.set_defaults(func=fail)


def _version() -> str:
    try:
        return version("govgraph")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _check_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Name an unknown option or command before argparse asks for a missing COMMAND."""
    choices: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices = sorted(action.choices)
    listed = f"commands: {', '.join(choices)} (govgraph --help tells more)"
    if not argv:
        parser.error(f"no command given; {listed}")
    first = argv[0]
    if first.startswith("-"):
        if first not in ("-h", "--help", "--version"):
            parser.error(
                f"unknown option {first}: govgraph itself takes only --help and --version; "
                f"options of a command come after it; {listed}"
            )
    elif first not in choices:
        parser.error(f"unknown command {first!r}; {listed}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    _check_command(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
