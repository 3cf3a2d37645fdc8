"""Where the seeded databases live, and a digest of their content.

Layout: DIR/national.db and DIR/provinces/<6-digit code>.db. The digest hashes the
ordered rows of every table, not file bytes, which SQLite may lay out differently.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

DATA_DIR_ENV = "GOVGRAPH_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")
NATIONAL_DB = "national.db"
PROVINCES_DIR = "provinces"


def default_data_dir() -> Path:
    """`$GOVGRAPH_DATA_DIR` when set, else ./data."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def national_db_path(data_dir: Path) -> Path:
    return data_dir / NATIONAL_DB


def province_db_path(data_dir: Path, province_code: str) -> Path:
    return data_dir / PROVINCES_DIR / f"{province_code}.db"


def databases(data_dir: Path) -> list[Path]:
    """Every database of the data directory: the national one first, then provinces by code."""
    found = [national_db_path(data_dir)] if national_db_path(data_dir).exists() else []
    provinces = data_dir / PROVINCES_DIR
    if provinces.is_dir():
        found.extend(sorted(provinces.glob("*.db")))
    return found


def database_digest(db_path: Path, digest: hashlib._Hash) -> None:
    """Feed every table of one database into `digest`: table names, columns and rows, ordered."""
    connection = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        tables = [
            name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            digest.update(repr((table, columns)).encode())
            order = ", ".join(str(i + 1) for i in range(len(columns)))
            for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY {order}'):
                digest.update(repr(row).encode())
    finally:
        connection.close()


def dataset_digest(data_dir: Path) -> str:
    """sha256 over the content of every database in `data_dir`: same seed and scale, same digest."""
    digest = hashlib.sha256()
    for db_path in databases(data_dir):
        digest.update(repr(db_path.relative_to(data_dir).as_posix()).encode())
        database_digest(db_path, digest)
    return digest.hexdigest()
