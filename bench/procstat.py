"""CPU time and peak memory of a process and its descendants, read from /proc."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU seconds (user + system) and summed VmHWM of a process tree at one instant."""

    cpu_s: float
    peak_rss_kib: int


def process_tree(pid: int) -> list[int]:
    """The pid and all its live descendants (a gateway may fork workers)."""
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            found.extend(int(child) for child in children if int(child) not in found)
    return found


def usage(pid: int) -> Usage:
    """Sum utime+stime and VmHWM over the tree rooted at `pid`; vanished processes count zero."""
    cpu_ticks = 0
    hwm = 0
    for member in process_tree(pid):
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        # fields after the parenthesised command name; utime and stime are fields 14 and 15
        fields = stat[stat.rindex(")") + 2:].split()
        cpu_ticks += int(fields[11]) + int(fields[12])
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                hwm += int(line.split()[1])
                break
    return Usage(cpu_s=cpu_ticks / _CLOCK_TICKS, peak_rss_kib=hwm)


def settle(pid: int, idle_fraction: float = 0.05, window_s: float = 0.25, timeout_s: float = 30.0) -> float:
    """Wait until the tree stops using CPU (requests a finished load left in flight are done).

    Returns the seconds waited; gives up quietly after `timeout_s`.
    """
    started = time.monotonic()
    previous = usage(pid).cpu_s
    while time.monotonic() - started < timeout_s:
        time.sleep(window_s)
        current = usage(pid).cpu_s
        if current - previous <= idle_fraction * window_s:
            break
        previous = current
    return time.monotonic() - started


def load_average() -> float:
    """The 1-minute load average: other work on the machine skews every number taken meanwhile."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
