"""Hot reload: a new supergraph or configuration replaces the engine without dropping work.

A `Generation` is one engine with the configuration it was built from and the count of
requests it is answering. The HTTP app sends each new request to the current generation;
a reload builds the next one beside it (in a thread, so requests keep flowing), starts it,
swaps it in, and shuts the old one down once its last request has finished. A supergraph
or configuration that fails to load or build leaves the current generation serving, and
the reason is logged.

What triggers a reload: `SIGHUP` (supergraph and configuration), a change of the
supergraph file (watched with watchfiles), or a new answer from a supergraph URL polled
with `If-None-Match`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gateway import metrics
from gateway.config import GatewayConfig
from gateway.exchange import Engine
from gateway.supergraph_source import is_url, load_supergraph, poll_supergraph

log = logging.getLogger("govgraph.reload")


@dataclass(slots=True, eq=False)
class Generation:
    """One engine and its configuration; `active` counts the requests it is answering."""

    engine: Engine
    config: GatewayConfig
    sdl: str = ""
    active: int = 0
    retired: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def leave(self) -> None:
        """A request on this generation finished (the HTTP app's counterpart of `active += 1`)."""
        self.active -= 1
        if self.retired and self.active == 0:
            self.drained.set()


class RefusedReload(Exception):
    """The new supergraph or configuration cannot be served; the message says why."""


# Builds the next generation's engine and configuration, from `sdl` when given (a polled
# supergraph), else from the sources it was first built from. Runs in a worker thread.
Build = Callable[[str | None], Generation]


class Swappable(Protocol):
    """What the reloader needs of the HTTP app: the current generation, and a way to replace it."""

    @property
    def generation(self) -> Generation: ...

    def install(self, generation: Generation) -> Generation:
        """Serve new requests from `generation`; return the one it replaces."""


class Reloader:
    """Watches the supergraph's source and SIGHUP; swaps generations into `app`."""

    def __init__(self, app: Swappable, build: Build, source: str) -> None:
        self.app = app
        self.build = build
        self.source = source
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self._etag: str | None = None
        # a supergraph text already refused is not tried again until it changes
        self._refused_text: str | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_hangup)
        except (NotImplementedError, RuntimeError, AttributeError):
            log.warning("SIGHUP cannot be handled here: reload by changing the supergraph")
        if is_url(self.source):
            self._tasks.add(asyncio.create_task(self._poll()))
        else:
            self._tasks.add(asyncio.create_task(self._watch_or_say_why(Path(self.source))))

    async def stop(self) -> None:
        self._stop.set()
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        except (NotImplementedError, RuntimeError, AttributeError):
            pass
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._tasks.clear()

    def _on_hangup(self) -> None:
        task = asyncio.create_task(self.reload("SIGHUP"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self, reason: str, sdl: str | None = None) -> bool:
        """Build, start and swap in the next generation; False (and logged) when refused."""
        async with self._lock:
            current = self.app.generation
            try:
                generation = await asyncio.to_thread(self.build, sdl)
                await generation.engine.startup()
            except Exception as exc:
                return self._refuse(reason, sdl, exc)
            try:
                old = self.app.install(generation)
            except Exception as exc:  # e.g. a key file the new configuration names
                await generation.engine.shutdown()
                return self._refuse(reason, sdl, exc)
            _warn_fixed_settings(current.config, generation.config)
            metrics.SUPERGRAPH_RELOADS.labels("reloaded").inc()
            log.info(
                "reloaded on %s: supergraph %s -> %s; %d request(s) finish on the old one",
                reason,
                _short_hash(old.sdl),
                _short_hash(generation.sdl),
                old.active,
            )
        await retire(old)
        return True

    def _refuse(self, reason: str, sdl: str | None, exc: Exception) -> bool:
        metrics.SUPERGRAPH_RELOADS.labels("refused").inc()
        self._refused_text = sdl
        message = str(exc) if isinstance(exc, (RefusedReload, ValueError)) else repr(exc)
        log.error(
            "reload on %s refused, still serving supergraph %s: %s",
            reason,
            _short_hash(self.app.generation.sdl),
            message,
        )
        return False

    async def _watch_or_say_why(self, path: Path) -> None:
        try:
            await self._watch(path)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # e.g. no inotify watches left on this machine
            log.error("cannot watch %s (%s): reload it with SIGHUP", path, exc)

    async def _watch(self, path: Path) -> None:
        """Reload when the file's content changes (editors replace files: watch the folder)."""
        from watchfiles import awatch

        target = path.resolve()
        async for _ in awatch(
            target.parent,
            watch_filter=lambda _change, changed: Path(changed) == target,
            stop_event=self._stop,
            debounce=200,
            step=50,
            recursive=False,
        ):
            try:
                text = await asyncio.to_thread(load_supergraph, str(target))
            except Exception as exc:
                metrics.SUPERGRAPH_RELOADS.labels("refused").inc()
                log.error("supergraph file %s changed but cannot be read: %s", target, exc)
                continue
            if text not in (self.app.generation.sdl, self._refused_text):
                await self.reload(f"change of {target.name}", text)

    async def _poll(self) -> None:
        """Ask the URL again every `supergraph_poll_s`; a 304 costs nothing."""
        while not self._stop.is_set():
            interval = self.app.generation.config.supergraph_poll_s
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            try:
                polled = await asyncio.to_thread(poll_supergraph, self.source, self._etag)
            except Exception as exc:
                log.warning("supergraph %s cannot be polled: %s", self.source, exc)
                continue
            if polled is None:
                continue
            if polled.text not in (self.app.generation.sdl, self._refused_text):
                await self.reload(f"new answer from {self.source}", polled.text)
            self._etag = polled.etag


async def retire(old: Generation) -> None:
    """Shut `old` down once its last request has finished (bounded by its own deadline)."""
    old.retired = True
    if old.active:
        try:
            await asyncio.wait_for(old.drained.wait(), old.config.request_deadline_s + 5)
        except TimeoutError:
            log.warning("%d request(s) still on the old supergraph after its deadline", old.active)
    try:
        await old.engine.shutdown()
    except Exception:
        log.exception("the old engine failed to shut down")


def _warn_fixed_settings(old: GatewayConfig, new: GatewayConfig) -> None:
    for name in ("host", "port", "workers"):
        if getattr(old, name) != getattr(new, name):
            log.warning("gateway.%s changed: it takes effect only at the next start", name)


def _short_hash(sdl: str) -> str:
    return hashlib.sha256(sdl.encode()).hexdigest()[:12] if sdl else "(none)"
