"""Every README query that comes with a `json` block of variables runs as written.

The demo data is seeded at the default scale (what `make run` seeds), so the values in the
README are the values a newcomer's stack holds; the stack is `govgraph run` on free ports.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_make_run import STARTUP_S, Running, _free_ports, _govgraph

README = Path(__file__).resolve().parents[1] / "README.md"
# a ```graphql block followed (after blank lines) by a ```json block, and a ```sh block
# minting the caller's token when the query needs one
EXAMPLE = re.compile(r"```graphql\n([^`]*)```\s*```json\n([^`]*)```"
                     r"(?:\s*```sh\nTOKEN=\$\(\.venv/bin/govgraph token ([^)\n]*)\)\n```)?")


def _examples() -> list[tuple[str, dict[str, Any], list[str]]]:
    return [(query, json.loads(variables), token.split()) for query, variables, token in
            EXAMPLE.findall(README.read_text(encoding="utf-8"))]


def test_the_readme_gives_variables_for_every_portal_query_that_declares_some() -> None:
    text = README.read_text(encoding="utf-8")
    declared = [q for q in re.findall(r"```graphql\n([^`]*)```", text) if "($" in q]
    given = [query for query, _, _ in _examples()]
    assert declared and declared == given


@pytest.fixture(scope="module")
def demo_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("default-scale")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}
    seed = Running(_govgraph("seed", "--data-dir", str(data_dir)), env)
    assert seed.wait_exit(STARTUP_S) == 0, seed.output
    gateway, national, provincial = _free_ports(3)
    stack = Running(_govgraph("run", "--data-dir", str(data_dir), "--gateway-port", str(gateway),
                              "--national-port", str(national), "--provincial-port",
                              str(provincial)), env)
    try:
        stack.wait_for(f"gateway     http://127.0.0.1:{gateway}/graphql", STARTUP_S)
        yield f"http://127.0.0.1:{gateway}/graphql", data_dir
    finally:
        stack.kill()


@pytest.mark.parametrize("index", range(len(_examples())))
def test_a_readme_query_answers_with_data_as_written(
    demo_gateway: tuple[str, Path], index: int
) -> None:
    url, data_dir = demo_gateway
    query, variables, token_args = _examples()[index]
    headers = {"content-type": "application/json"}
    if token_args:
        token = subprocess.run(_govgraph("token", *token_args, "--data-dir", str(data_dir)),
                               capture_output=True, text=True, check=True, timeout=60)
        headers["authorization"] = f"Bearer {token.stdout.strip()}"
    request = urllib.request.Request(
        url, data=json.dumps({"query": query, "variables": variables}).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body["errors"]
    for field, value in body["data"].items():
        assert value, f"{field} is empty for {variables}"
