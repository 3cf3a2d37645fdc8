"""The built wheel, installed into a fresh virtual environment, runs from outside the checkout.

The gateway over the supergraph shipped in the package, and the demo (`govgraph seed`,
`govgraph run`) with the configuration shipped in the package, from a temporary directory.
pip's cache keeps the installation quick after the first run.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
INSTALL_S = 600


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding only the wheel and its dependencies."""
    root = tmp_path_factory.mktemp("package")
    wheels = root / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(wheels), str(PROJECT_DIR)], check=True, timeout=INSTALL_S,
                   capture_output=True)
    (wheel,) = wheels.glob("govgraph-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, timeout=INSTALL_S, capture_output=True)
    return venv / "bin"


def _outside(root: Path) -> dict[str, Any]:
    """Run in a directory of its own, with nothing of the checkout on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOVGRAPH_", "PYTHON", "VIRTUAL_ENV"))}
    return {"cwd": root, "env": env}


def _post(url: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        body: dict[str, Any] = json.loads(response.read())
    return body


def _wait_answer(url: str, query: str, process: subprocess.Popen[str], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            body = _post(url, query)
            if "data" in body and not body.get("errors"):
                return body["data"]
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.communicate(timeout=30)[0]
            raise AssertionError(f"no answer from {url}:\n{output}")
        time.sleep(0.5)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_installed_package_reports_its_version_and_license(
    installed: Path, workdir: Path
) -> None:
    result = subprocess.run([str(installed / "govgraph"), "--version"], capture_output=True,
                            text=True, timeout=60, check=True, **_outside(workdir))
    assert result.stdout.strip() == "govgraph 0.1.0"
    metadata = subprocess.run(
        [str(installed / "python"), "-c",
         "from importlib.metadata import metadata; m = metadata('govgraph'); "
         "print(m['License-Expression']); print(m.get_all('Requires-Dist'))"],
        capture_output=True, text=True, timeout=60, check=True, **_outside(workdir))
    assert metadata.stdout.splitlines()[0] == "Apache-2.0"
    assert "uvloop<1,>=0.19; sys_platform != \"win32\"" in metadata.stdout


def test_the_installed_gateway_serves_the_shipped_supergraph_from_anywhere(
    installed: Path, workdir: Path
) -> None:
    shipped = subprocess.run(
        [str(installed / "python"), "-c",
         "from importlib.resources import files; print(files('schema') / 'supergraph.graphql')"],
        capture_output=True, text=True, timeout=60, check=True, **_outside(workdir)).stdout.strip()
    assert not shipped.startswith(str(PROJECT_DIR))
    (port,) = _free_ports(1)
    gateway = subprocess.Popen(
        [str(installed / "govgraph"), "gateway", "--supergraph", shipped, "--port", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        **_outside(workdir))
    try:
        data = _wait_answer(f"http://127.0.0.1:{port}/graphql", "{ __typename }", gateway, 60)
    finally:
        gateway.terminate()
        gateway.communicate(timeout=30)
    assert data == {"__typename": "Query"}


def test_the_installed_demo_seeds_and_runs_from_anywhere(installed: Path, workdir: Path) -> None:
    data_dir = workdir / "data"
    subprocess.run([str(installed / "govgraph"), "seed", "--scale", "0.05", "--data-dir",
                    str(data_dir)], check=True, timeout=300, capture_output=True,
                   **_outside(workdir))
    gateway, national, provincial = _free_ports(3)
    stack = subprocess.Popen(
        [str(installed / "govgraph"), "run", "--data-dir", str(data_dir), "--gateway-port",
         str(gateway), "--national-port", str(national), "--provincial-port", str(provincial)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, **_outside(workdir))
    try:
        data = _wait_answer(f"http://127.0.0.1:{gateway}/graphql",
                            '{ serviceHalls(provinceCode: "440000") { name division { nameZh } } }',
                            stack, 240)
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        output = stack.communicate(timeout=60)[0]
    assert data["serviceHalls"] and data["serviceHalls"][0]["division"]["nameZh"] == "广东省"
    assert stack.returncode == 0, output
    assert str(PROJECT_DIR) not in output


def test_the_lock_file_pins_every_dependency_the_project_declares() -> None:
    """A dependency added to pyproject.toml without `make lock` would install unpinned."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in
                [*project["dependencies"], *project["optional-dependencies"]["dev"]]]
    pinned: dict[str, str] = {}
    hashed: set[str] = set()
    name = ""
    for line in (PROJECT_DIR / "requirements.lock").read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#") and "==" in line:
            name, _, rest = line.partition("==")
            name = name.strip().lower().replace("_", "-")
            pinned[name] = rest.split()[0].rstrip(";")
        elif "--hash=sha256:" in line:
            hashed.add(name)
    assert hashed == set(pinned), f"pinned without a hash: {sorted(set(pinned) - hashed)}"
    for requirement in declared:
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements.lock pins {name}=={pinned[name]}, outside {requirement.specifier}"
        )
