"""`govgraph seed`: write the national database and one database per provincial platform."""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

from resolvers import reference
from resolvers.datadir import (
    DATA_DIR_ENV,
    dataset_digest,
    default_data_dir,
    national_db_path,
    province_db_path,
)
from resolvers.national.seed import seed_national, seeded_scale
from resolvers.seed_progress import Progress

SeedProvince = Callable[[Path, reference.Province, float], None]


def register_seed(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `govgraph seed` to the CLI."""
    parser = subparsers.add_parser(
        "seed",
        help="write the demo databases (national + one per province)",
        description=(
            "Write DIR/national.db and DIR/provinces/<code>.db for the 31 provincial platforms. "
            "Existing databases are kept unless --force is given, so this is safe to run every "
            "time. The same scale always yields the same content."
        ),
    )
    parser.add_argument(
        "--scale", type=_scale, default=1.0,
        help="size of the dataset; 1.0 is ~320 catalogue items and 6,000 subjects (default 1.0)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help=f"where the databases live (default ${DATA_DIR_ENV} or ./data)",
    )
    parser.add_argument("--force", action="store_true", help="rewrite databases that exist")
    parser.add_argument(
        "--digest", action="store_true",
        help="print the sha256 of the data directory's content after seeding",
    )
    parser.set_defaults(func=run_seed)


def _scale(value: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale {value!r} is not a number") from None
    if not 0 < scale <= 100:
        raise argparse.ArgumentTypeError(f"scale {value!r} must be greater than 0 and at most 100")
    return scale


def _province_seeder() -> SeedProvince | None:
    """The provincial seed function, imported only when seeding so the national part stands alone."""
    try:
        module = importlib.import_module("resolvers.provincial.seed")
    except ModuleNotFoundError as error:
        if error.name and "resolvers.provincial" in error.name:
            return None
        raise
    seeder: SeedProvince | None = getattr(module, "seed_province", None)
    return seeder


def run_seed(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir or default_data_dir()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "provinces").mkdir(exist_ok=True)
        probe = data_dir / ".govgraph-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"govgraph seed: cannot write to {data_dir}: {reason.lower()}; choose another "
              "--data-dir (or GOVGRAPH_DATA_DIR)", file=sys.stderr)
        return 2
    seed_province = _province_seeder()
    provinces = reference.PLATFORM_PROVINCES if seed_province is not None else ()
    progress = Progress(sys.stdout, 1 + len(provinces), live=sys.stdout.isatty())

    national = national_db_path(data_dir)
    if national.exists() and not args.force:
        progress.keep()
        existing = seeded_scale(national)
        if existing != args.scale:
            print(
                f"warning: {national} was seeded at scale {existing}, not {args.scale}; "
                "run with --force to reseed every database at one scale",
                file=sys.stderr,
            )
    else:
        started = time.monotonic()
        seed_national(national, args.scale)
        progress.wrote(national, time.monotonic() - started)

    status = 0
    if seed_province is None:
        print("provincial seed is not available: no provincial databases written", file=sys.stderr)
        status = 1
    for province in provinces:
        assert seed_province is not None
        path = province_db_path(data_dir, province.code)
        if path.exists() and not args.force:
            progress.keep()
            continue
        started = time.monotonic()
        seed_province(path, province, args.scale)
        progress.wrote(path, time.monotonic() - started)
    progress.finish(data_dir)
    if args.digest:
        print(dataset_digest(data_dir))
    return status
