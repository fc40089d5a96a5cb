"""The reloader: a background thread that keeps a store fresh from file events or scans."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .threads import PerProcessThread

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent
    from watchdog.observers.api import BaseObserver

    from .store import Store

log = logging.getLogger("feedsvc.store")

# File events worth a look: watchdog also reports opens and reads, which the store's
# own parsing would cause, and which change nothing.
_WRITE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})
# Past this many changed paths at once (a sync, a checkout), one scan is cheaper.
_MAX_TARGETED = 1000
# Events come in bursts (an editor writes, then renames); wait this long to take them together.
_SETTLE = 0.05


@dataclass
class Reloader:
    """A daemon thread that keeps the store fresh.

    With ``watch`` (and inotify through watchdog available) it re-reads just the
    files the OS reports changed, at once, and scans the whole folder every
    ``rescan_interval`` seconds as a safety net for events that never come (network
    filesystems, an overflowing event queue). Without it, it scans every
    ``interval`` seconds. Started lazily in the process that serves requests, so it
    survives a forking server (threads do not cross ``fork``). ``clock`` and ``sleep``
    time its refreshes and its idle spells; tests pass their own.
    """

    store: Store
    interval: float
    watch: bool = True
    rescan_interval: float = 60.0
    clock: Callable[[], float] = time.perf_counter
    sleep: Callable[[float], None] = time.sleep
    watching: bool = field(default=False, init=False)  # file events are arriving
    _thread: PerProcessThread = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _changed: set[str | None] = field(default_factory=set, init=False)  # None: scan all
    _observer: BaseObserver | None = field(default=None, init=False)
    _stopped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._thread = PerProcessThread(self._run, "feedsvc-reloader")

    def ensure_running(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def _run(self) -> None:
        self.watching = self.watch and self._start_watching()
        period = self.rescan_interval if self.watching else self.interval
        # The first round scans at once: it catches whatever changed between the
        # initial load and the watch being set up, whose events nobody saw.
        woke = False
        idle_until = 0.0
        while not self._stopped:
            if woke:
                # Let a burst of events settle, and after a refresh stay idle at least
                # as long as it took: a stream of edits then costs at most half a core
                # (and the render cache at most one invalidation per refresh time),
                # however large the store, while an edit after a quiet spell waits
                # only the settle time.
                self.sleep(max(_SETTLE, idle_until - self.clock()))
                self._wake.clear()
                with self._lock:
                    changed, self._changed = self._changed, set()
            started = self.clock()
            try:
                if woke and None not in changed and len(changed) <= _MAX_TARGETED:
                    self.store.refresh_paths([p for p in changed if p is not None])
                else:
                    self.store.refresh()
            except Exception:  # noqa: BLE001 - keep the last snapshot and try again
                log.exception("store refresh failed; serving the last snapshot")
            ended = self.clock()
            idle_until = ended + (ended - started)
            woke = self._wake.wait(period)

    def _start_watching(self) -> bool:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            reloader = self

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event: FileSystemEvent) -> None:
                    if event.event_type in _WRITE_EVENTS:
                        reloader._note(event)

            observer = Observer()
            observer.schedule(Handler(), self.store.root, recursive=True)
            observer.start()
        except Exception as exc:  # noqa: BLE001 - no watchdog, no inotify, or out of watches
            log.info(
                "not watching %s for changes (%s); scanning it every %s s",
                self.store.root,
                exc,
                self.interval,
            )
            return False
        self._observer = observer
        return True

    def _note(self, event: FileSystemEvent) -> None:
        with self._lock:
            if event.is_directory and event.event_type != "modified":
                self._changed.add(None)  # a folder came, went or moved: scan it all
            else:
                self._changed.add(os.fsdecode(event.src_path))
                if getattr(event, "dest_path", ""):
                    self._changed.add(os.fsdecode(event.dest_path))
        self._wake.set()

    def stop(self) -> None:
        """Stop watching and checking (for tests and orderly shutdowns)."""
        self._stopped = True
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
