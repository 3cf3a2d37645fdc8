"""`govgraph --help` and every subcommand's `--help` work and describe each option."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import build_parser, main

COMMANDS = {"gateway", "run", "seed", "subgraph"}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _all_commands() -> list[tuple[str, ...]]:
    """Every command path below `govgraph`, e.g. ("subgraph", "national")."""
    found: list[tuple[str, ...]] = []

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for name, sub in _subcommands(parser).items():
            found.append((*path, name))
            walk(sub, (*path, name))

    walk(build_parser(), ())
    return found


def _parser_for(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        parser = _subcommands(parser)[name]
    return parser


def _console_script() -> str:
    beside_python = Path(sys.executable).with_name("govgraph")
    found = str(beside_python) if beside_python.exists() else shutil.which("govgraph")
    assert found, (
        "the govgraph console script is not installed: run `make test` or pip install -e ."
    )
    return found


def test_govgraph_help_lists_every_command() -> None:
    result = subprocess.run(
        [_console_script(), "--help"], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: govgraph" in result.stdout
    for command in COMMANDS:
        assert command in result.stdout


def test_every_agreed_command_is_registered_and_loads() -> None:
    parser = build_parser()
    assert COMMANDS <= set(_subcommands(parser))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert "unavailable" not in (choice.help or ""), (
                    f"govgraph {choice.dest}: {choice.help}"
                )


@pytest.mark.parametrize("path", _all_commands(), ids=" ".join)
def test_command_help_exits_zero_and_describes_each_option(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"usage: govgraph {' '.join(path)}")

    parser = _parser_for(path)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            described = {choice.dest for choice in action._choices_actions if choice.help}
            assert described == set(action.choices), (
                f"`govgraph {' '.join(path)}` lists commands without a description: "
                f"{sorted(set(action.choices) - described)}"
            )
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help != argparse.SUPPRESS, (
            f"`govgraph {' '.join(path)}` does not describe {name}"
        )
        for option in action.option_strings:
            assert option in printed
