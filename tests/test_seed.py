"""`govgraph seed`: deterministic content, atomic writes, kept databases, masked identities."""
from __future__ import annotations

import argparse
import importlib.util
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from resolvers import commands, reference
from resolvers.datadir import dataset_digest, national_db_path, province_db_path
from resolvers.national import seed as national_seed
from resolvers.national.masking import (
    mask_certificate_no,
    mask_organisation_name,
    mask_person_name,
)
from resolvers.national.seed import capability_level, resident_id_number, seed_national

ROOT = Path(__file__).resolve().parent.parent
GOVGRAPH = [sys.executable, "-m", "gateway.cli"]


def _seed(data_dir: Path, scale: float) -> str:
    seed_national(national_db_path(data_dir), scale)
    return dataset_digest(data_dir)


def test_same_scale_gives_the_same_digest_and_another_scale_a_different_one(tmp_path: Path) -> None:
    first = _seed(tmp_path / "a", 0.05)
    second = _seed(tmp_path / "b", 0.05)
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert _seed(tmp_path / "c", 0.1) != first


def test_digest_changes_when_one_row_changes(tmp_path: Path) -> None:
    before = _seed(tmp_path, 0.05)
    with sqlite3.connect(national_db_path(tmp_path)) as connection:
        connection.execute("UPDATE departments SET name = name || '（改）' WHERE rowid = 1")
    connection.close()
    assert dataset_digest(tmp_path) != before


def test_national_database_holds_the_catalogue_provinces_and_every_subject(tmp_path: Path) -> None:
    seed_national(national_db_path(tmp_path), 1.0)
    with sqlite3.connect(national_db_path(tmp_path)) as connection:
        catalogue = connection.execute("SELECT count(*) FROM catalog_items").fetchone()[0]
        platforms = [c for (c,) in connection.execute(
            "SELECT code FROM divisions WHERE has_platform = 1 ORDER BY position")]
        subjects = {s for (s,) in connection.execute("SELECT subject_id FROM subjects")}
        years = connection.execute(
            "SELECT DISTINCT year FROM capability_assessments ORDER BY year").fetchall()
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    assert catalogue >= 300
    assert platforms == [p.code for p in reference.PLATFORM_PROVINCES]
    assert subjects == set(reference.subject_ids(1.0))
    assert [y for (y,) in years] == [2023, 2024, 2025]
    assert journal == "wal"


def test_no_raw_identity_number_reaches_the_national_database(tmp_path: Path) -> None:
    seed_national(national_db_path(tmp_path), 0.2)
    with sqlite3.connect(national_db_path(tmp_path)) as connection:
        rows = connection.execute(
            "SELECT subject_type, certificate_type, masked_certificate_no, masked_name FROM subjects"
        ).fetchall()
        dump = "\n".join(connection.iterdump())
    connection.close()
    for subject_type, certificate_type, number, name in rows:
        assert re.fullmatch(r"[0-9A-Z]{4}\*{10}[0-9A-Z]{4}", number), number
        assert certificate_type == ("111" if subject_type == "NATURAL_PERSON" else "49")
        assert "*" in name
    # Neither an 18-character identity number nor a credit code appears anywhere unmasked,
    # except the public credit codes of the State Council departments.
    department_codes = {d.uscc for d in reference.DEPARTMENTS}
    for code in set(re.findall(r"(?<![0-9A-Z])[0-9]{17}[0-9X](?![0-9A-Z])", dump)):
        assert code in department_codes or any(
            code in t.type_code for t in reference.LICENCE_TYPES
        ), code


def test_an_interrupted_seed_leaves_no_database_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(connection: sqlite3.Connection, scale: float) -> None:
        connection.execute("INSERT INTO departments VALUES ('x', 'half written')")
        raise KeyboardInterrupt

    monkeypatch.setattr(national_seed, "_write", fail)
    with pytest.raises(KeyboardInterrupt):
        seed_national(national_db_path(tmp_path), 0.05)
    assert list(tmp_path.iterdir()) == []


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govgraph")
    commands.register_seed(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def _fake_province_seeder(written: list[str]) -> commands.SeedProvince:
    def seed_province(db_path: Path, province: reference.Province, scale: float) -> None:
        db_path.unlink(missing_ok=True)
        with sqlite3.connect(db_path) as connection:
            connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            connection.execute("INSERT INTO meta VALUES ('province', ?)", (province.code,))
        connection.close()
        written.append(province.code)

    return seed_province


def test_seed_keeps_existing_databases_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    written: list[str] = []
    monkeypatch.setattr(commands, "_province_seeder", lambda: _fake_province_seeder(written))
    args = _parse(["seed", "--scale", "0.05", "--data-dir", str(tmp_path), "--digest"])
    assert args.func(args) == 0
    assert written == [p.code for p in reference.PLATFORM_PROVINCES]
    assert all(province_db_path(tmp_path, c).exists() for c in written)
    first_digest = capsys.readouterr().out.strip().splitlines()[-1]
    assert first_digest == dataset_digest(tmp_path)

    written.clear()
    national_mtime = national_db_path(tmp_path).stat().st_mtime_ns
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert written == []
    assert f"seeded {tmp_path}: wrote 0 of 32 databases (0 rows)" in out
    assert "kept 32 that existed (--force rewrites them)" in out
    assert national_db_path(tmp_path).stat().st_mtime_ns == national_mtime
    assert out.strip().splitlines()[-1] == first_digest

    forced = _parse(["seed", "--scale", "0.05", "--data-dir", str(tmp_path), "--force"])
    assert forced.func(forced) == 0
    assert len(written) == 31
    assert dataset_digest(tmp_path) == first_digest


def test_seed_warns_when_the_kept_database_has_another_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "_province_seeder", lambda: _fake_province_seeder([]))
    seed_national(national_db_path(tmp_path), 0.05)
    args = _parse(["seed", "--scale", "0.1", "--data-dir", str(tmp_path)])
    args.func(args)
    assert "seeded at scale 0.05, not 0.1" in capsys.readouterr().err


@pytest.mark.parametrize("scale", ["0", "-1", "lots"])
def test_seed_refuses_a_bad_scale(scale: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _parse(["seed", "--scale", scale])
    assert exit_info.value.code == 2
    assert repr(scale) in capsys.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("resolvers.provincial.seed") is None,
    reason="the provincial seed is not part of this tree",
)
def test_govgraph_seed_command_is_deterministic_across_processes(tmp_path: Path) -> None:
    digests = []
    for name in ("one", "two"):
        result = subprocess.run(
            [*GOVGRAPH, "seed", "--scale", "0.02", "--data-dir", str(tmp_path / name), "--digest"],
            check=False, cwd=ROOT, capture_output=True, text=True, timeout=240,
        )
        assert result.returncode == 0, result.stderr
        digests.append(result.stdout.strip().splitlines()[-1])
        provinces = sorted(p.stem for p in (tmp_path / name / "provinces").glob("*.db"))
        assert provinces == [p.code for p in reference.PLATFORM_PROVINCES]
    assert digests[0] == digests[1]
    assert digests[0] == dataset_digest(tmp_path / "one")


def test_masking_keeps_only_the_surname_region_and_last_four() -> None:
    assert mask_person_name("张三") == "张*"
    assert mask_person_name("张小三") == "张*三"
    assert mask_person_name("欧阳小明") == "欧**明"
    assert mask_certificate_no("440104199001011234") == "4401**********1234"
    assert mask_organisation_name("广州恒达科技有限公司") == "广州****有限公司"


def test_generated_identity_numbers_carry_the_gb_11643_check_character() -> None:
    # The worked example of GB 11643-1999.
    assert resident_id_number("110105", "19491231", 2) == "11010519491231002X"


@pytest.mark.parametrize(
    ("overall", "band"),
    [(95.0, "VERY_HIGH"), (90.0, "VERY_HIGH"), (89.99, "HIGH"), (80.0, "HIGH"),
     (79.99, "MEDIUM"), (70.0, "MEDIUM"), (69.99, "LOW")],
)
def test_capability_bands(overall: float, band: str) -> None:
    assert capability_level(overall) == band
