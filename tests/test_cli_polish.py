"""The rough edges of the command line: each mistake gets one clear line, never a traceback."""
from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path


PROJECT_DIR = Path(__file__).resolve().parents[1]
SUPERGRAPH = PROJECT_DIR / "schema" / "supergraph.graphql"


def _govgraph(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


def test_a_port_in_use_is_named_before_the_gateway_says_it_serves() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = _govgraph("gateway", "--supergraph", str(SUPERGRAPH), "--port", str(port))
    assert result.returncode == 2
    assert "serving" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"govgraph gateway: cannot listen on 127.0.0.1:{port}: address already in use "
        "(another process listens there: choose another --port)"
    )


def test_seed_into_an_unwritable_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = _govgraph("seed", "--scale", "0.05", "--data-dir", str(blocker / "data"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"govgraph seed: cannot write to {blocker / 'data'}: not a directory; choose another "
        "--data-dir (or GOVGRAPH_DATA_DIR)"
    ]


def test_an_unknown_option_or_command_is_named() -> None:
    bogus = _govgraph("--bogus")
    assert bogus.returncode == 2
    assert "unknown option --bogus" in bogus.stderr
    assert "the following arguments are required" not in bogus.stderr
    frob = _govgraph("frob")
    assert frob.returncode == 2
    assert "unknown command 'frob'; commands: check, gateway, run, seed, subgraph, token" in frob.stderr


def test_version_names_the_installed_package() -> None:
    from importlib.metadata import version

    result = _govgraph("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"govgraph {version('govgraph')}"


def test_seed_prints_one_summary_line_when_not_on_a_terminal(tmp_path: Path) -> None:
    result = _govgraph("seed", "--scale", "0.05", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"seeded {tmp_path}: wrote 32 of 32 databases (")
    assert " rows) in " in lines[0]


def test_seed_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "seed", "--scale", "0.05", "--data-dir",
         str(tmp_path)],
        cwd=PROJECT_DIR, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process has exited
                break
            if not chunk:
                break
            screen += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    assert process.wait(timeout=30) == 0
    text = screen.decode()
    updates = [part for part in text.split("\r") if part.startswith("seeding: ")]
    assert len(updates) >= 31, text
    assert "seeding: 1/32 databases" in text
    assert any("rows written, about" in u and "s left" in u for u in updates), updates
    assert f"seeded {tmp_path}: wrote 32 of 32 databases" in text
