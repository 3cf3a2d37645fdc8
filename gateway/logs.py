"""The gateway's log: JSON lines for machines, aligned text for people, one formatter for
the gateway's own records and uvicorn's.

Every record written while a request is being answered carries that request's id,
operation and client (a context variable the HTTP layer sets), so a shard failure deep in
a scatter is found by the id the client was given. Fields of an event travel in
`extra={"fields": {...}}`; callers check `isEnabledFor` first, so a level that is off
costs nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson


@dataclass(slots=True)
class RequestContext:
    """What every record written while answering one request is tagged with."""

    request_id: str
    operation: str | None = None
    operation_hash: str | None = None
    client: str | None = None
    span: Any = field(default=None, repr=False)  # the request's trace span, when traced


current_request: ContextVar[RequestContext | None] = ContextVar("govgraph_request", default=None)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured part of a record: its request's context, then the event's own fields."""
    out: dict[str, Any] = {}
    context = current_request.get() if not hasattr(record, "request") else record.request
    if context is not None:
        out["request_id"] = context.request_id
        if context.operation:
            out["operation"] = context.operation
        if context.operation_hash:
            out["operation_hash"] = context.operation_hash
        if context.client:
            out["client"] = context.client
    extra = getattr(record, "fields", None)
    if extra:
        out.update(extra)
    return out


class ContextFilter(logging.Filter):
    """Captures the request context when a record is made (formatting may happen later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request"):
            record.request = current_request.get()
        return True


def iso_time(seconds: float) -> str:
    """UTC, to the millisecond: `2026-01-31T08:00:00.123Z`."""
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": iso_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value …`, for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{iso_time(record.created)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        )
        extra = fields(record)
        if extra:
            line += "  " + " ".join(f"{k}={_text(v)}" for k, v in extra.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else orjson.dumps(value).decode()
    return orjson.dumps(value, default=str).decode()


def resolve_format(name: str, stream: TextIO | None = None) -> str:
    """ "auto" is text on a terminal and JSON lines anywhere else."""
    if name != "auto":
        return name
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def logging_config(level: str, format_name: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the gateway and uvicorn alike: uvicorn applies it in
    every worker process it starts."""
    formatter = JsonFormatter if resolve_format(format_name) == "json" else TextFormatter
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"govgraph": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "govgraph",
                "filters": ["context"],
            }
        },
        "loggers": {
            "govgraph": {"level": upper},
            "uvicorn": {"level": upper},
            "uvicorn.error": {"level": upper},
            # requests are logged by govgraph.access, with their ids and operations
            "uvicorn.access": {"level": "WARNING", "propagate": True},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }


def event(logger: logging.Logger, level: int, message: str, **values: Any) -> None:
    """Log `message` with structured `values`, when `level` is on for `logger`."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": values})
