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
# How often the folder itself is looked at: a swapped symlink or a folder renamed into
# place raises no event in the old folder's watch.
ROOT_CHECK_INTERVAL = 1.0
# Events come in bursts (an editor writes, then renames); wait this long to take them together.
_EVENT_DEBOUNCE = 0.05


@dataclass
class Reloader:
    """A daemon thread that keeps the store fresh.

    With ``watch`` (and inotify through watchdog available) it re-reads just the
    files the OS reports changed, at once, and scans the whole folder every
    ``rescan_interval`` seconds as a safety net for events that never come (network
    filesystems, an overflowing event queue). Without it, it scans every
    ``interval`` seconds. Either way it looks at the folder's path every
    ``ROOT_CHECK_INTERVAL`` seconds and scans at once when it leads to another folder
    (a swapped symlink, a folder renamed into place), and it falls back to scanning
    every ``interval`` seconds when the watch does not cover every folder. Started
    lazily in the process that serves requests, so it survives a forking server
    (threads do not cross ``fork``). ``clock`` and ``sleep`` time its refreshes, its
    idle spells and its scans; tests pass their own.
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
    _real_root: str = field(default="", init=False)
    _stopped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._thread = PerProcessThread(self._run, "feedsvc-reloader")

    def ensure_running(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def _run(self) -> None:
        self.watching = self.watch and self._start_watching()
        if self.watching:
            log.info(
                "watching %s for changes, with a full scan every %s s",
                self.store.root,
                self.rescan_interval,
            )
        identity = _identity(self.store.root)
        # The first round scans at once: it catches whatever changed between the
        # initial load and the watch being set up, whose events nobody saw.
        woke = False
        idle_until = 0.0
        next_scan = 0.0
        while not self._stopped:
            changed: set[str | None] = set()
            if woke:
                # Let a burst of events settle, and after a refresh stay idle at least
                # as long as it took: a stream of edits then costs at most half a core
                # (and the render cache at most one invalidation per refresh time),
                # however large the store, while an edit after a quiet spell waits
                # only the settle time.
                self.sleep(max(_EVENT_DEBOUNCE, idle_until - self.clock()))
                self._wake.clear()
                with self._lock:
                    changed, self._changed = self._changed, set()
            identity_now = _identity(self.store.root)
            full = woke and (None in changed or len(changed) > _MAX_TARGETED)
            if identity_now != identity:
                # A symlink swapped to another folder, or a folder renamed over this
                # one (git-sync, a deploy): events came from the old one, if at all.
                # (A folder that went or came back is the store's to report.)
                if identity_now[1] != -1 and identity[1] != -1:
                    log.warning(
                        "store folder %s was replaced (now %s); scanning it",
                        self.store.root,
                        identity_now[0],
                    )
                identity = identity_now
                full = True
                if self.watch:
                    self._stop_watching()
                    self.watching = identity_now[1] != -1 and self._start_watching()
            if not woke and self.clock() >= next_scan:
                full = True
            if woke or full:
                started = self.clock()
                try:
                    if full:
                        self.store.refresh()
                    else:
                        self.store.refresh_paths([p for p in changed if p is not None])
                except Exception:  # noqa: BLE001 - keep the last snapshot and try again
                    log.exception("store refresh failed; serving the last snapshot")
                ended = self.clock()
                idle_until = ended + (ended - started)
                if full:
                    if self.watching and not self._covers_the_store():
                        self._stop_watching()
                        self.watching = False
                    period = self.rescan_interval if self.watching else self.interval
                    next_scan = self.clock() + period
            # Woken by events, or to look at the folder itself (a cheap stat) and to scan.
            wait = min(max(next_scan - self.clock(), 0.0), ROOT_CHECK_INTERVAL)
            woke = self._wake.wait(wait)

    def _covers_the_store(self) -> bool:
        """False (and why, logged) if the watch misses folders the last scan listed:
        inotify is out of watches, and changes there would wait for the next full scan."""
        watched = _watched_folders(self._observer)
        if watched is None or watched >= self.store.folders:
            return True
        log.warning(
            "watching only %d of the %d folders of %s (inotify watch limit, "
            "fs.inotify.max_user_watches?); scanning it every %s s instead",
            watched,
            self.store.folders,
            self.store.root,
            self.interval,
        )
        return False

    def _start_watching(self) -> bool:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            reloader = self

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event: FileSystemEvent) -> None:
                    if event.event_type in _WRITE_EVENTS:
                        reloader._note(event)

            # The folder the path leads to now: inotify would watch a symlink itself.
            self._real_root = os.path.realpath(self.store.root)
            observer = Observer()
            observer.schedule(Handler(), self._real_root, recursive=True)
            observer.start()
        except Exception as exc:  # noqa: BLE001 - no watchdog, no inotify, or out of watches
            log.warning(
                "not watching %s for changes (%s); scanning it every %s s",
                self.store.root,
                exc,
                self.interval,
            )
            return False
        self._observer = observer
        return True

    def _stop_watching(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()

    def _note(self, event: FileSystemEvent) -> None:
        with self._lock:
            if event.is_directory and event.event_type != "modified":
                self._changed.add(None)  # a folder came, went or moved: scan it all
            else:
                self._changed.add(self._in_store(event.src_path))
                if getattr(event, "dest_path", ""):
                    self._changed.add(self._in_store(event.dest_path))
        self._wake.set()

    def _in_store(self, path: str | bytes) -> str:
        """An event's path (below the watched real folder) as a path below the store's."""
        path = os.fsdecode(path)
        real = self._real_root
        if path.startswith(real + os.sep):
            return os.path.join(self.store.root, path[len(real) + 1 :])
        return path

    def stop(self) -> None:
        """Stop watching and checking (for tests and orderly shutdowns)."""
        self._stopped = True
        self._wake.set()
        self._stop_watching()


def _identity(root: str) -> tuple[str, int, int]:
    """What the store folder is now: where its path leads, and that folder's device and inode."""
    try:
        st = os.stat(root)
    except OSError:
        return (root, -1, -1)
    return (os.path.realpath(root), st.st_dev, st.st_ino)


def _watched_folders(observer: BaseObserver | None) -> int | None:
    """How many folders ``observer``'s inotify watches cover, or None if it cannot tell.

    watchdog skips, silently, a subfolder it cannot watch (out of inotify watches);
    its inotify emitter keeps the folders it does watch, which is what is counted.
    """
    total = 0
    for emitter in getattr(observer, "emitters", ()):
        group = getattr(emitter, "_inotify", None)
        paths = getattr(group, "_active_callbacks_by_path", None)
        if not isinstance(paths, dict):
            return None
        total += len(paths)
    return total
