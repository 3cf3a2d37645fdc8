"""Checks of client-supplied codes; each failure is a sentence naming the offending value."""
from __future__ import annotations

import re

from subgraphs.errors import excerpt

DIVISION_CODE = re.compile(r"\d{6}")
CATALOG_CODE_LENGTH = 12
PERIOD = re.compile(r"(\d{4})-Q([1-4])")
MAX_SEARCH_RESULTS = 500
MAX_KEYWORD_LENGTH = 50


class InvalidArgument(ValueError):
    """A client sent a value the national subgraph cannot accept; the message says why."""


def division_code(code: str) -> str:
    if not DIVISION_CODE.fullmatch(code):
        raise InvalidArgument(
            f'Invalid division code "{excerpt(code)}": a GB/T 2260 division code has 6 digits, e.g. "440000".'
        )
    return code


def catalog_code(code: str) -> str:
    if len(code) != CATALOG_CODE_LENGTH or not code.isascii() or not code.isalnum():
        raise InvalidArgument(
            f'Unknown catalogue code "{excerpt(code)}": a basic catalogue code has '
            f"{CATALOG_CODE_LENGTH} letters or digits (GB/T 39554.1), e.g. \"010140001000\"."
        )
    return code


def period(value: str) -> str:
    if not PERIOD.fullmatch(value):
        raise InvalidArgument(
            f'Invalid period "{excerpt(value)}": a period is a year and a quarter, e.g. "2025-Q1".'
        )
    return value


def search_limit(first: int) -> int:
    if not 1 <= first <= MAX_SEARCH_RESULTS:
        raise InvalidArgument(
            f"Invalid first: {first}; ask for between 1 and {MAX_SEARCH_RESULTS} items."
        )
    return first


def keyword(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_KEYWORD_LENGTH:
        raise InvalidArgument(
            f'Keyword "{value[:20]}…" is {len(value)} characters long; '
            f"use at most {MAX_KEYWORD_LENGTH}."
        )
    return value or None
