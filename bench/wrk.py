"""Drive wrk with the checking Lua script and read back its counts and latencies."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.processes import BenchError, pinned

LUA = Path(__file__).resolve().parent / "check.lua"


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One wrk run: all answers, the correct ones, latency and the load generator's own CPU."""

    duration_s: float
    requests: int
    correct: int
    incorrect: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    wrk_cpu_s: float

    @property
    def correct_rps(self) -> float:
        return self.correct / self.duration_s if self.duration_s > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "correct_rps": self.correct_rps}


def ensure_wrk() -> str:
    """Return the wrk executable, installing the Debian package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed and installing it needs root: apt-get install wrk")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get install wrk finished but wrk is still not on PATH")
    return found


def run_load(url: str, body: Path, accepted: list[Path], mismatch_prefix: Path, *, connections: int,
             duration_s: int, threads: int, cpus: str | None, timeout_s: int = 10,
             headers: dict[str, str] | None = None) -> LoadResult:
    """Run wrk against `url` for `duration_s` seconds with keep-alive connections."""
    accepted_list = mismatch_prefix.with_name(mismatch_prefix.name + ".accepted")
    accepted_list.write_text("\n".join(str(path) for path in accepted) + "\n")
    argv = pinned([ensure_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{duration_s}s",
                   "--timeout", f"{timeout_s}s", "--latency", "-s", str(LUA), url], cpus)
    env = {**os.environ, "BENCH_BODY": str(body), "BENCH_ACCEPTED": str(accepted_list),
           "BENCH_MISMATCH": str(mismatch_prefix),
           "BENCH_HEADERS": "\n".join(f"{name}: {value}" for name, value in (headers or {}).items())}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        watchdog = threading.Timer(duration_s + 60, process.kill)
        watchdog.start()
        try:
            # wait4 gives wrk's own rusage: how much of the shared core the load generator took
            _, status, rusage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    wrk_cpu = rusage.ru_utime + rusage.ru_stime
    report = next((line for line in stdout.decode(errors="replace").splitlines() if line.startswith("BENCH_JSON ")), None)
    if process.returncode != 0 or report is None:
        raise BenchError(f"wrk failed (exit {process.returncode}): {stderr.decode(errors='replace').strip()}")
    data = json.loads(report[len("BENCH_JSON "):])
    latency = {key: value / 1000.0 for key, value in data["latency_us"].items()}
    return LoadResult(
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        correct=data["correct"],
        incorrect=data["incorrect"],
        socket_errors=data["errors"],
        latency_ms=latency,
        wrk_cpu_s=wrk_cpu,
    )

