"""Identifier formats of the provincial shard: task codes, application numbers, licence ids.

Each format is checked and built here once, so that the seed data, the mutations and the
error messages agree on what a valid id looks like.
"""
from __future__ import annotations

import re
from datetime import datetime

APPLICATION_NO_FORMAT = "6-digit division code + yyyyMMdd + 6-digit sequence, e.g. 44030120250105000123"
_APPLICATION_NO = re.compile(r"^(\d{6})(\d{8})(\d{6})$")
LICENCE_ID_PREFIX = "1.2.156.3005.2"


def implementation_code(agency_uscc: str, level_digit: str, catalog_code: str) -> str:
    """31-character 实施编码 of a national catalogue item: agency USCC + level + basic code."""
    return agency_uscc + level_digit + catalog_code


def local_task_code(province_code: str, agency_uscc: str, level_digit: str, serial: int) -> str:
    """31-character task code of a province-only item; it starts with the province code so it routes."""
    return f"{province_code}{agency_uscc}{level_digit}{serial:06d}"


def application_no(division_code: str, day: datetime, sequence: int) -> str:
    """Application number: division code + yyyyMMdd + 6-digit sequence (routable by prefix)."""
    return f"{division_code}{day:%Y%m%d}{sequence:06d}"


def parse_application_no(value: str) -> tuple[str, str, int] | None:
    """Split an application number into (division code, yyyyMMdd, sequence), or None if malformed."""
    match = _APPLICATION_NO.match(value)
    if match is None:
        return None
    return match.group(1), match.group(2), int(match.group(3))


def licence_check_digit(digits: str) -> str:
    """ISO 7064 MOD 11,10 check digit over the numeric parts of a licence id."""
    product = 10
    for ch in digits:
        total = (product + int(ch)) % 10 or 10
        product = (total * 2) % 11
    return str((11 - product) % 10)


def licence_id(type_code: str, issuer_uscc: str, serial: int, version: int = 1) -> str:
    """GB/T 36901 licence id: prefix.type.issuer.serial.version.check."""
    serial_text = f"{serial:08d}"
    check = licence_check_digit(serial_text + str(version))
    return f"{LICENCE_ID_PREFIX}.{type_code}.{issuer_uscc}.{serial_text}.{version}.{check}"
