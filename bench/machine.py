"""A description of the machine a benchmark ran on, so numbers are never read without it."""
from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Machine:
    cpu_model: str
    logical_cpus: int
    memory: str
    kernel: str
    python: str
    node: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def describe() -> Machine:
    """Read the CPU model from /proc/cpuinfo and memory from `free`, plus runtime versions."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return Machine(
        cpu_model=model,
        logical_cpus=os.cpu_count() or 1,
        memory=_command_output(["free", "-h"]),
        kernel=platform.release(),
        python=platform.python_version(),
        node=_command_output(["node", "--version"]),
    )


def _command_output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout.strip("\n")
    except OSError:
        return "unavailable"
