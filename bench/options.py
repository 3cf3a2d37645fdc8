"""The knobs of one benchmark run, with the defaults `make bench` uses and the `--quick` ones."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Options:
    rounds: int = 3
    warmup_s: int = 5
    duration_s: int = 15
    connections: int = 50
    wrk_threads: int = 1
    w3_operations: int = 40
    w3_repeats: int = 20
    w2_scale: float = 1.0
    targets: list[str] = field(default_factory=list)
    workloads: list[str] = field(default_factory=lambda: ["w1", "w2", "w3"])
    results_dir: Path = Path("bench/results")
    quick: bool = False

    @classmethod
    def quick_run(cls) -> Options:
        """A smoke test: one round, seconds-long loads, a handful of W3 operations."""
        return cls(rounds=1, warmup_s=3, duration_s=8, w3_operations=6, w3_repeats=5, w2_scale=0.2,
                   quick=True)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "results_dir": str(self.results_dir)}
