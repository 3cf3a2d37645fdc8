"""What `govgraph seed` tells its user: a line that updates on a terminal, one summary otherwise."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TextIO


def count_rows(path: Path) -> int:
    """Rows in every table of a database just written."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )]
        return sum(db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables)


class Progress:
    """Databases written and rows in them; on a terminal, time left from the pace so far."""

    def __init__(self, out: TextIO, total: int, *, live: bool) -> None:
        self.out = out
        self.total = total
        self.live = live
        self.done = 0
        self.written = 0
        self.kept = 0
        self.rows = 0
        self.started = time.monotonic()
        self._seeding_s = 0.0

    def wrote(self, path: Path, seconds: float) -> None:
        self.done += 1
        self.written += 1
        self.rows += count_rows(path)
        self._seeding_s += seconds
        self._show()

    def keep(self) -> None:
        self.done += 1
        self.kept += 1
        self._show()

    def _show(self) -> None:
        if not self.live:
            return
        left = ""
        if self.written and self.done < self.total:
            remaining = self._seeding_s / self.written * (self.total - self.done)
            left = f", about {remaining:.0f} s left"
        self.out.write(
            f"\rseeding: {self.done}/{self.total} databases, {self.rows:,} rows written{left}\033[K"
        )
        self.out.flush()

    def finish(self, data_dir: Path) -> None:
        elapsed = time.monotonic() - self.started
        kept = f", kept {self.kept} that existed (--force rewrites them)" if self.kept else ""
        if self.live:
            self.out.write("\r\033[K")
        self.out.write(
            f"seeded {data_dir}: wrote {self.written} of {self.total} databases "
            f"({self.rows:,} rows) in {elapsed:.1f} s{kept}\n"
        )
        self.out.flush()
