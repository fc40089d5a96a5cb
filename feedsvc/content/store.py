"""The article store: scan the folder, parse what changed, and publish an immutable snapshot.

Each file is parsed once and kept, keyed by path, size and modification time; a
refresh re-reads only what changed, rebuilds the topic and provider index from the
kept results and swaps the new :class:`Snapshot` in with one assignment, so a
request always sees a whole index and never waits for a refresh. A file that turns
bad keeps its last good version until it is fixed or removed, so an editor's
half-written save never drops an article from the feeds.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing import get_context
from types import MappingProxyType
from typing import TYPE_CHECKING

from . import persist, select
from .changes import StoreTimes, is_racy, stamp_modified
from .files import FileStat, ScanReport, parse_batch, parse_batch_pickled, relative, scan, stat_one
from .heap import collector_paused, freeze_heap, freeze_without_collecting
from .index import Snapshot, build_snapshot
from .model import Article, Problem, Provider, printable
from .reloader import Reloader

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("feedsvc.store")

# Below this many files to parse, worker processes cost more than they save.
PARALLEL_THRESHOLD = 2000
# The persisted cache is rewritten at most this often after changes (a restart
# re-parses whatever changed since, so it only costs time, never correctness).
SAVE_INTERVAL = 60.0


@dataclass(slots=True)
class _FileRecord:
    """What the store remembers of one file between scans."""

    size: int
    mtime_ns: int
    article: Article | None
    problem: Problem | None


class Store:
    """The folder of articles and its current snapshot."""

    def __init__(
        self,
        root: str,
        *,
        max_file_bytes: int = 1 << 20,
        workers: int | None = None,
        cache_dir: str | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.root = root
        self.times = StoreTimes(root, clock)
        self.max_file_bytes = max_file_bytes
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.cache_file = persist.cache_path(cache_dir, root, max_file_bytes) if cache_dir else None
        self._saved_at: float | None = None
        self.parsed_files = 0  # files read and parsed by the last refresh, for logs and tests
        self._entries: dict[str, _FileRecord] = {}
        # One Provider object per distinct provider: most articles share a handful.
        self._providers: dict[Provider, Provider] = {}
        self._lock = threading.Lock()  # one refresh at a time
        self._generation = 0
        self._snapshot: Snapshot | None = None
        self.root_missing = False
        self.folders = 0  # folders the last full scan listed (the reloader's watch covers them)
        # Called with each newly published snapshot, inside the refresh (metrics use it).
        self.listeners: list[Callable[[Snapshot], None]] = []
        self._parsed_here = False  # a parse ran in this process, not in pool workers
        self._unsaved = False  # the cache file is behind the snapshot

    @property
    def snapshot(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            snapshot = self.refresh()
        return snapshot

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    def refresh(self) -> Snapshot:
        """Bring the snapshot up to date with the folder; returns the current one."""
        # A first load creates millions of objects without cycles; the cycle collector
        # would walk them all many times over for nothing. The pause covers the index
        # too: re-enabled before it, the collector's next runs walked everything just
        # loaded while the index was built. (The second item is entered under the lock.)
        with self._lock, collector_paused(first := self._snapshot is None):
            snapshot = self._refresh()
            if first and not self._parsed_here:
                # Nothing was parsed in this process: what the load made (restored,
                # unpickled and scanned objects) holds no garbage cycles, so it leaves
                # the collector's sight without a full pass over it.
                freeze_without_collecting()
            return snapshot

    def _refresh(self) -> Snapshot:
        started = time.perf_counter()
        self.times.check_begins()
        if not os.path.isdir(self.root):
            return self._root_gone(started)
        first = self._snapshot is None
        try:
            index = self._restore() if first else None
            changed = self._update_entries()
        except OSError:  # the folder went while it was being read
            return self._root_gone(started)
        if self.root_missing:
            log.warning("store folder %s is back", self.root)
            self.root_missing = False
        if index is not None and not changed:
            self._saved_at = time.monotonic()
            return self._install(index, started)
        if changed or self._snapshot is None:
            snapshot = self._publish(started, files=len(self._entries))
            self._save(snapshot)
            return snapshot
        # Nothing served changed, but a folder's time may have: replicas agree on it.
        self._snapshot = self.times.restamp(self._snapshot, self._entries.values())
        if self._unsaved:
            self._save(self._snapshot)
        return self._snapshot

    def refresh_paths(self, paths: Iterable[str]) -> Snapshot:
        """Re-read just these files (e.g. from file events); anything else about the
        folder is left to the next full :meth:`refresh`."""
        with self._lock:
            if self._snapshot is not None and not self.root_missing:
                started = time.perf_counter()
                self.times.check_begins()
                if self._update_paths(paths):
                    snapshot = self._publish(started, files=len(self._entries))
                    self._save(snapshot)
                    return snapshot
                return self._snapshot
        return self.refresh()

    def _update_paths(self, paths: Iterable[str]) -> bool:
        todo: list[FileStat] = []
        gone = refused = False
        real_root = os.path.realpath(self.root)
        for path in set(paths):
            rel = relative(self.root, path)
            if rel is None:
                continue
            self.times.note_folder_of(rel)
            found = stat_one(real_root, path, rel)
            if isinstance(found, Problem):
                refused |= self._refuse(found)
            elif found is None:
                gone |= self._entries.pop(rel, None) is not None
            elif self._stale(found):
                todo.append(found)
        return bool(self._reparse(todo) or gone or refused)

    def _stale(self, stat: FileStat) -> bool:
        old = self._entries.get(stat.rel)
        return old is None or old.size != stat.size or old.mtime_ns != stat.mtime_ns

    def _reparse(self, todo: list[FileStat]) -> int:
        """Parse and remember these files; how many now give a different result."""
        self.parsed_files = len(todo)
        results = zip(todo, self._parse(todo), strict=True)
        return sum(self._remember(stat, *result) for stat, result in results)

    def _refuse(self, problem: Problem) -> bool:
        """Record a file that is not read at all; True if that is news."""
        old = self._entries.get(problem.source)
        if old is not None and old.problem == problem:
            return False
        # Not read at all, so no last good version is kept either.
        self._entries.pop(problem.source, None)
        self._remember(FileStat("", problem.source, -1, -1), None, problem, True)
        return True

    def _restore(self) -> Snapshot | None:
        """Take the entries (and, if nothing changed since, the index) from the cache file."""
        if self.cache_file is None:
            return None
        state = persist.load(self.cache_file)
        if state is None or state.root != os.path.realpath(self.root):
            return None
        self._entries = {rel: _FileRecord(*fields) for rel, fields in state.entries.items()}
        self._generation = state.generation
        for entry in self._entries.values():
            if entry.article is not None and entry.article.provider is not None:
                self._providers.setdefault(entry.article.provider, entry.article.provider)
        return Snapshot(
            everything=state.everything,
            topics=MappingProxyType(state.topics),
            providers=MappingProxyType(state.providers),
            topic_aliases=MappingProxyType(state.aliases),
            problems=state.problems,
            files=state.files,
            generation=self._generation,
            loaded_at=0.0,
            load_seconds=0.0,
        )

    def _save(self, snapshot: Snapshot) -> None:
        """Write the cache file, at most every SAVE_INTERVAL; a skipped save is made
        by a later refresh, changed or not."""
        now = time.monotonic()
        if self.cache_file is None:
            return
        if self._saved_at is not None and now - self._saved_at < SAVE_INTERVAL:
            self._unsaved = True
            return
        self._saved_at = now
        self._unsaved = False
        state = persist.State(
            root=os.path.realpath(self.root),
            generation=self._generation,
            entries={
                rel: (e.size, e.mtime_ns, e.article, e.problem) for rel, e in self._entries.items()
            },
            everything=snapshot.everything,
            topics=dict(snapshot.topics),
            providers=dict(snapshot.providers),
            aliases=dict(snapshot.topic_aliases),
            problems=snapshot.problems,
            files=snapshot.files,
        )
        persist.dump(self.cache_file, state)

    def _root_gone(self, started: float) -> Snapshot:
        if not self.root_missing:
            log.error("store folder %s is missing; serving the last snapshot", self.root)
        self.root_missing = True
        if self._snapshot is not None:
            return self._snapshot
        return self._publish(started, files=0)

    def _update_entries(self) -> bool:
        """Re-read new and changed files, forget deleted ones; True if anything changed.

        The files of a folder that cannot be listed keep their last good versions: a
        permissions slip must not empty feeds any more than one unreadable file does.
        """
        seen: set[str] = set()
        todo: list[FileStat] = []
        report = ScanReport()
        for stat in scan(self.root, report):
            seen.add(stat.rel)
            if self._stale(stat):
                todo.append(stat)
        if not os.path.isdir(self.root):
            # Gone mid-scan: what was seen is partial, so change nothing.
            raise FileNotFoundError(self.root)
        self.times.folders = report.folder_times
        self.folders = report.folders
        if report.unreadable:
            prefixes = tuple(report.unreadable)
            seen.update(rel for rel in self._entries if rel.startswith(prefixes))
        refused = 0
        for problem in report.rejected:
            seen.add(problem.source)
            if problem.source in report.unreadable:
                kept = sum(
                    1
                    for rel, entry in self._entries.items()
                    if rel.startswith(problem.source) and entry.article is not None
                )
                problem = replace(
                    problem,
                    reason=f"{problem.reason}; serving the last good versions of {kept} files",
                )
            refused += self._refuse(problem)
        gone = self._entries.keys() - seen
        for rel in gone:
            del self._entries[rel]
        return bool(self._reparse(todo) or gone or refused)

    def _parse(self, todo: list[FileStat]) -> Iterator[tuple]:
        jobs = [(s.path, s.rel, s.size) for s in todo]
        if len(jobs) < PARALLEL_THRESHOLD or self.workers < 2:
            # The parser's own objects form cycles, left for the collector to free.
            self._parsed_here = self._parsed_here or bool(jobs)
            yield from parse_batch(jobs, self.max_file_bytes)
            return
        # Fork server, not fork: the reloader may run beside server threads.
        chunk = max(200, len(jobs) // (self.workers * 8))
        batches = [jobs[i : i + chunk] for i in range(0, len(jobs), chunk)]
        context = get_context("forkserver")
        # Imported once in the fork server (when it starts), not again in each worker.
        context.set_forkserver_preload(["__main__", __name__])
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            limits = [self.max_file_bytes] * len(batches)
            for results in pool.map(parse_batch_pickled, batches, limits):
                yield from pickle.loads(results)  # noqa: S301 - from our own workers

    def _remember(
        self, stat: FileStat, article: Article | None, problem: Problem | None, complete: bool
    ) -> bool:
        """Keep what a file gave; True if that differs from what it gave before."""
        old = self._entries.get(stat.rel)
        if article is None and old is not None and old.article is not None:
            # Keep serving the last good version of a file that went bad.
            article = old.article
            problem = Problem(
                stat.rel,
                f"{problem.reason if problem else 'unreadable'}; serving its last good version",
            )
        if problem is not None and (old is None or old.problem != problem):
            log.warning(
                "%s %s: %s",
                "Skipping" if article is None else "Problem in",
                printable(problem.source),
                problem.reason,
            )
        stamp_modified(article, getattr(old, "article", None), stat.mtime_ns)
        if article is not None and article.provider is not None:
            shared = self._providers.setdefault(article.provider, article.provider)
            if shared is not article.provider:
                article = replace(article, provider=shared)
        if old is not None and old.article is not None and old.article == article:
            article = old.article  # same object, so the groups holding it stay as they are
        # An incomplete or racy read is retried on the next scan.
        racy = is_racy(stat.mtime_ns)
        size = stat.size if complete and not racy else -1
        self._entries[stat.rel] = _FileRecord(size, stat.mtime_ns, article, problem)
        return old is None or old.article != article or old.problem != problem

    def _publish(self, started: float, files: int) -> Snapshot:
        previous = self._snapshot
        self._generation += 1
        problems = [e.problem for e in self._entries.values() if e.problem is not None]
        snapshot = build_snapshot(
            (e.article for e in self._entries.values() if e.article is not None),
            problems,
            previous=previous,
            generation=self._generation,
            files=files,
        )
        if previous is not None:
            select.carry_words(previous, snapshot)
        # Duplicates are found across files, so they are logged here, once each.
        known = set(problems).union(previous.problems if previous else ())
        for problem in snapshot.problems:
            if problem not in known:
                log.warning("Skipping %s: %s", printable(problem.source), problem.reason)
        return self._install(snapshot, started)

    def _install(self, snapshot: Snapshot, started: float) -> Snapshot:
        """Make ``snapshot``, timed from ``started`` (a perf_counter), the one requests
        see, and tell the listeners."""
        now, took = time.time(), time.perf_counter() - started
        snapshot = replace(snapshot, loaded_at=now, load_seconds=took)
        snapshot = self.times.restamp(snapshot, self._entries.values())
        self._snapshot = snapshot
        for listener in self.listeners:
            try:
                listener(snapshot)
            except Exception:  # noqa: BLE001 - an observer must not stop the store
                log.exception("snapshot listener failed")
        return snapshot

    def last_modified(self) -> datetime:  # for every feed: see .changes
        return self.times.last_modified(self.snapshot.changed_at)


def init_app(app: Flask) -> Store:
    """Load the store for ``app``; its reloader is kept running by each request (web.hooks)."""
    config = app.config
    store = Store(
        config["CONTENT_DIR"],
        max_file_bytes=config["MAX_FILE_BYTES"],
        workers=config["WORKERS"] or None,
        cache_dir=config["CACHE_DIR"] or None,
        clock=config.get("CLOCK") or time.time,  # not a setting: tests pass their own
    )
    if not config.get("BACKGROUND_LOAD"):
        store.refresh()  # else health.init_app loads it in each serving process
        freeze_heap()
    reloader = Reloader(
        store,
        config["RELOAD_INTERVAL"],
        watch=config["WATCH"],
        rescan_interval=config["RESCAN_INTERVAL"],
    )
    app.extensions["feedsvc.reloader"] = reloader
    app.extensions["feedsvc.store"] = store
    return store
