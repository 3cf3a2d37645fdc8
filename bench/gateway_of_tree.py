"""`govgraph gateway` from the `gateway` package first on the path (PYTHONPATH: a checkout).

The installed `govgraph` command lists its subcommands from this tree's package metadata, which
an older checkout may not have all of; this starts the gateway subcommand alone. Run with
`python -P`: no directory of this tree comes before PYTHONPATH on the import path."""

from __future__ import annotations

import argparse
import sys

from gateway.commands import register_gateway

parser = argparse.ArgumentParser(prog="govgraph")
register_gateway(parser.add_subparsers(dest="command", required=True))
arguments = parser.parse_args(sys.argv[1:])
sys.exit(int(arguments.func(arguments) or 0))
