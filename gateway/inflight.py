"""Identical work in flight, shared: the first caller starts it, later callers join it.

Used for client requests (`Gateway`, when configured) and for subgraph requests (`Upstream`).
A shared task is never cancelled by one caller giving up: callers wait through
`asyncio.shield` or `asyncio.wait`. Its outcome is always observed, even when every caller
has gone, so a failure nobody waits for is not reported as "never retrieved".
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class InFlight(Generic[T]):
    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[T]] = {}

    def __contains__(self, key: Hashable) -> bool:
        return key in self._tasks

    def __len__(self) -> int:
        return len(self._tasks)

    def get(self, key: Hashable) -> asyncio.Task[T] | None:
        """The task in flight under `key`, if any."""
        return self._tasks.get(key)

    def join(self, key: Hashable, start: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Task[T]:
        """The task in flight under `key`, or a new one running `start()`; forgotten when done."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(start())
            self._tasks[key] = task
            task.add_done_callback(functools.partial(self._settled, key))
        return task

    def _settled(self, key: Hashable, task: asyncio.Task[T]) -> None:
        self._tasks.pop(key, None)
        observe_outcome(task)


def observe_outcome(task: asyncio.Future[Any]) -> None:
    """Mark a task's outcome as seen: its waiters may all have given up already."""
    if not task.cancelled():
        task.exception()
