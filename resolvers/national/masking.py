"""Masking of identity data, applied when the national database is written.

Raw names and certificate numbers never reach the national database: only the
masked forms below are stored, so nothing downstream can leak them.
"""
from __future__ import annotations


def mask_person_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明: keep the surname and the last character."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_organisation_name(name: str, suffix_length: int = 4) -> str:
    """广州恒达科技有限公司 → 广州****有限公司: keep the place and the legal-form suffix."""
    keep_head = 2
    hidden = len(name) - keep_head - suffix_length
    if hidden <= 0:
        return name[0] + "*" * (len(name) - 1)
    return name[:keep_head] + "*" * hidden + name[-suffix_length:]


def mask_certificate_no(number: str) -> str:
    """440104199001011234 → 4401**********1234: the region and the last four characters stay."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    """13812345678 → 138****5678: the carrier prefix and the last four digits stay."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
