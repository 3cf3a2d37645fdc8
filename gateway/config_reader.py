"""Strict reading of a configuration table: a key nobody asked for is a mistake.

`Section` is a read-only mapping over one TOML table that remembers which keys the
loader asked for and which it used. The loader reads it like a dict (`"x" in s`,
`s["x"]`, `s.get("x")`); afterwards `unknown_keys` lists the keys present but never
used, each with the nearest key the loader asked for. A new setting therefore needs
no second registration: reading it is what makes it known.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class UnknownKey:
    """A key of the file that no setting reads, and the known key it most resembles."""

    path: str
    value: Any
    suggestion: str | None

    def __str__(self) -> str:
        hint = f"; did you mean {self.suggestion}?" if self.suggestion else ""
        return f"unknown key {self.path} = {_show(self.value)}{hint}"


class Section(Mapping[str, Any]):
    """One table of the file; sub-tables are `Section`s too, created once and kept."""

    __slots__ = ("_asked", "_children", "_data", "_used", "path")

    def __init__(self, data: Mapping[str, Any], path: str = "") -> None:
        self._data = data
        self.path = path
        self._asked: set[str] = set()
        self._used: set[str] = set()
        self._children: dict[str, Section] = {}

    def name(self, key: str) -> str:
        """The dotted name of `key` in this table, as messages show it."""
        return f"{self.path}.{key}" if self.path else key

    def __getitem__(self, key: str) -> Any:
        self._asked.add(key)
        value = self._data[key]
        self._used.add(key)
        if isinstance(value, Mapping):
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = Section(value, self.name(key))
            return child
        return value

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._asked.add(key)
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def table(self, key: str) -> Section:
        """The sub-table `key` (empty when absent); anything else is refused."""
        value = self.get(key)
        if value is None:
            return Section({}, self.name(key))
        if not isinstance(value, Section):
            raise ConfigError(f"{self.name(key)} must be a table, got {_show(value)}")
        return value

    def unknown_keys(self) -> list[UnknownKey]:
        """Keys present here or below that the loader never used."""
        found: list[UnknownKey] = []
        for key, value in self._data.items():
            if key not in self._used:
                match = difflib.get_close_matches(key, sorted(self._asked), n=1, cutoff=0.6)
                suggestion = self.name(match[0]) if match else None
                found.append(UnknownKey(self.name(key), value, suggestion))
        for child in self._children.values():
            found.extend(child.unknown_keys())
        return found


def refuse_unknown(section: Section) -> None:
    """Raise one error listing every unknown key, each with its suggestion."""
    unknown = section.unknown_keys()
    if unknown:
        raise ConfigError("; ".join(str(u) for u in unknown))


def whole_number(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An int (not a bool) within [low, high] when those are given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, got {_show(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name} must be {_range(low, high)}, got {value}")
    return value


def seconds(name: str, value: Any) -> float:
    """A finite number of seconds greater than zero (strings from the environment too)."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number of seconds, got {_show(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, got {_show(value)}") from None
    if not number > 0 or not math.isfinite(number):
        raise ConfigError(f"{name} must be greater than zero, got {_show(value)}")
    return number


def http_url(name: str, value: Any) -> str:
    """An http(s) URL with a host (and a valid port when one is given)."""
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be an http(s) URL, got {_show(value)}")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or any(ch.isspace() for ch in value)
    ):
        raise ConfigError(
            f"{name} must be an http(s) URL with a host, e.g. http://127.0.0.1:4001/graphql, "
            f"got {_show(value)}"
        )
    return value


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}"


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
