"""The article store: scan the folder, parse what changed, and publish an immutable snapshot.

Each file is parsed once and kept, keyed by path, size and modification time; a
refresh re-reads only what changed, rebuilds the topic and provider index from the
kept results and swaps the new :class:`Snapshot` in with one assignment, so a
request always sees a whole index and never waits for a refresh. A file that turns
bad keeps its last good version until it is fixed or removed, so an editor's
half-written save never drops an article from the feeds.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import stat as stat_module
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from types import MappingProxyType

from . import persist
from .articles import (
    Article,
    Image,
    Problem,
    Provider,
    Related,
    is_article_name,
    printable,
    read_article,
)
from .slugs import assign_slugs, hashed_slug, topic_key

log = logging.getLogger("feedsvc.store")

# Below this many files to parse, worker processes cost more than they save.
PARALLEL_THRESHOLD = 2000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A file modified this recently may be modified again within the same timestamp tick
# (milliseconds to seconds, by file system) keeping its size, and the change would go
# unseen: its stat is not trusted, and it is read again on the next scan.
RACY_NS = 1_000_000_000
# The persisted cache is rewritten at most this often after changes (a restart
# re-parses whatever changed since, so it only costs time, never correctness).
SAVE_INTERVAL = 60.0


@dataclass(frozen=True, slots=True, eq=False)
class Group:
    """The articles of one feed (everything, one topic or one provider), newest first.

    ``version`` changes only when something this feed shows changes, so rendered
    bytes cached under it stay valid across edits elsewhere in the store.
    """

    kind: str  # "all", "topic" or "provider"
    slug: str
    name: str
    articles: tuple[Article, ...]
    logo: Image | None = None
    version: int = 0

    @property
    def updated(self) -> datetime:
        return self.articles[0].published if self.articles else EPOCH

    def same_content(self, other: Group | None) -> bool:
        return (
            other is not None
            and other.name == self.name
            and other.logo == self.logo
            and len(other.articles) == len(self.articles)
            and all(a is b for a, b in zip(other.articles, self.articles, strict=True))
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent view of the store; replaced whole, never changed."""

    everything: Group
    topics: Mapping[str, Group]
    providers: Mapping[str, Group]
    topic_aliases: Mapping[str, str]
    problems: tuple[Problem, ...]
    files: int
    generation: int
    loaded_at: float
    load_seconds: float

    @property
    def articles(self) -> tuple[Article, ...]:
        return self.everything.articles

    @property
    def groups(self) -> list[Group]:
        """Every feed: everything, then each topic, then each provider."""
        return [self.everything, *self.topics.values(), *self.providers.values()]

    @property
    def skipped(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.skipped)

    def group(self, kind: str, slug: str) -> Group | None:
        if kind == "all":
            return self.everything
        if kind == "topic":
            slug = slug.lower()
            return self.topics.get(slug) or self.topics.get(self.topic_aliases.get(slug, ""))
        if kind == "provider":
            return self.providers.get(slug.lower())
        return None


@dataclass(slots=True)
class _Entry:
    """What the store remembers of one file between scans."""

    size: int
    mtime_ns: int
    article: Article | None
    problem: Problem | None


@dataclass(slots=True)
class _FileStat:
    path: str
    rel: str
    size: int
    mtime_ns: int


def scan(root: str, rejected: list[Problem] | None = None) -> Iterator[_FileStat]:
    """Every article file below ``root``; hidden entries skipped, links leaving the store not followed.

    Article-named entries that are not read (a link out of the store, a FIFO) are
    added to ``rejected``. Raises OSError if ``root`` itself cannot be listed.
    """
    real_root = os.path.realpath(root)
    # Relative paths are built from the folder's prefix: os.path.relpath per file
    # costs more than the stat call, and this runs over every file on every check.
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            if folder is root:
                raise
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{prefix}{name}/"))
                    continue
                if not is_article_name(name):
                    continue
                is_link = entry.is_symlink()
            except OSError:
                continue
            found = _examine(real_root, entry.path, prefix + name, is_link, entry.stat)
            if isinstance(found, _FileStat):
                yield found
            elif found is not None and rejected is not None:
                rejected.append(found)


def _examine(
    real_root: str, path: str, rel: str, is_link: bool, stat: Callable[[], os.stat_result]
) -> _FileStat | Problem | None:
    """One article-named file: its stat, a Problem if it is not to be read (a link out
    of the store, a FIFO), or None if it went away."""
    try:
        if is_link and os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
            return Problem(rel, "symbolic link to outside the store")
        st = stat()
    except (OSError, ValueError):
        return None
    if not stat_module.S_ISREG(st.st_mode):  # regular files only
        return Problem(rel, "not a regular file")
    return _FileStat(path, rel, st.st_size, st.st_mtime_ns)


def _relative(root: str, path: str) -> str | None:
    """``path``'s name inside the store, or None if it is outside or hidden."""
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    parts = rel.split("/")
    if rel.startswith("../") or rel == ".." or any(p.startswith(".") for p in parts):
        return None
    return rel


def _stat_one(real_root: str, path: str, rel: str) -> _FileStat | Problem | None:
    """What :func:`scan` would say of one file, or None if it is not an article."""
    if not is_article_name(os.path.basename(path)):
        return None
    return _examine(real_root, path, rel, os.path.islink(path), lambda: os.stat(path))


def parse_file(
    path: str, rel: str, size: int, max_bytes: int
) -> tuple[Article | None, Problem | None, bool]:
    """Read and parse one file: (article, problem, complete).

    ``complete`` is False when the file changed size while it was read, so the
    caller does not remember this stat and reads it again on the next scan.
    """
    if size > max_bytes:
        return None, Problem(rel, f"larger than the {max_bytes}-byte limit"), True
    try:
        # Non-blocking, and checked again once open: a file swapped for a FIFO
        # since the scan must not hang the reader.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat_module.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, Problem(rel, "not a regular file"), False
            # Sized from the scan: asking for max_bytes + 1 allocated a buffer of the
            # limit's size for every file. A file that grew since is read on to the limit.
            raw = handle.read(size + 1)
            if len(raw) > size:
                raw += handle.read(max_bytes + 1 - len(raw))
    except OSError as exc:
        return None, Problem(rel, f"cannot be read ({exc.strerror or type(exc).__name__})"), False
    if len(raw) > max_bytes:
        return None, Problem(rel, f"larger than the {max_bytes}-byte limit"), False
    result = read_article(raw, rel)
    complete = len(raw) == size
    if isinstance(result, Article):
        return result, None, complete
    if isinstance(result, Problem):
        return None, result, complete
    return result[0], result[1], complete


def _parse_batch(batch: list[tuple[str, str, int]], max_bytes: int) -> list:
    return [parse_file(path, rel, size, max_bytes) for path, rel, size in batch]


def _parse_batch_pickled(batch: list[tuple[str, str, int]], max_bytes: int) -> bytes:
    # The default pickling of slots dataclasses sets one slot at a time from Python,
    # which made unpickling the workers' results the parent's main cost.
    return persist.dumps(_parse_batch(batch, max_bytes), MODEL_CLASSES)


class Store:
    """The folder of articles and its current snapshot."""

    def __init__(
        self,
        root: str,
        *,
        max_file_bytes: int = 1 << 20,
        workers: int | None = None,
        cache_dir: str | None = None,
    ):
        self.root = root
        self.max_file_bytes = max_file_bytes
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.cache_file = persist.cache_path(cache_dir, root, max_file_bytes) if cache_dir else None
        self._saved_at: float | None = None
        self.parsed_files = 0  # files read and parsed by the last refresh, for logs and tests
        self._entries: dict[str, _Entry] = {}
        # One Provider object per distinct provider: most articles share a handful.
        self._providers: dict[Provider, Provider] = {}
        self._lock = threading.Lock()  # one refresh at a time
        self._generation = 0
        self._snapshot: Snapshot | None = None
        self.root_missing = False
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
        with self._lock, _collector_paused(first := self._snapshot is None):
            snapshot = self._refresh()
            if first and not self._parsed_here:
                # Nothing was parsed in this process: what the load made (restored,
                # unpickled and scanned objects) holds no garbage cycles, so it leaves
                # the collector's sight without a full pass over it (~0.5 s at 100k).
                gc.freeze()
            return snapshot

    def _refresh(self) -> Snapshot:
        started = time.perf_counter()
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
            return self._install(_timed(index, started))
        if changed or self._snapshot is None:
            snapshot = self._publish(started, files=len(self._entries))
            self._save(snapshot)
            return snapshot
        if self._unsaved:
            self._save(self._snapshot)
        return self._snapshot

    def refresh_paths(self, paths: Iterable[str]) -> Snapshot:
        """Re-read just these files (e.g. from file events); anything else about the
        folder is left to the next full :meth:`refresh`."""
        with self._lock:
            if self._snapshot is not None and not self.root_missing:
                started = time.perf_counter()
                if self._update_paths(paths):
                    snapshot = self._publish(started, files=len(self._entries))
                    self._save(snapshot)
                    return snapshot
                return self._snapshot
        return self.refresh()

    def _update_paths(self, paths: Iterable[str]) -> bool:
        todo: list[_FileStat] = []
        gone = refused = False
        real_root = os.path.realpath(self.root)
        for path in set(paths):
            rel = _relative(self.root, path)
            if rel is None:
                continue
            found = _stat_one(real_root, path, rel)
            if isinstance(found, Problem):
                refused |= self._refuse(found)
            elif found is None:
                gone |= self._entries.pop(rel, None) is not None
            elif self._stale(found):
                todo.append(found)
        return bool(self._reparse(todo) or gone or refused)

    def _stale(self, stat: _FileStat) -> bool:
        old = self._entries.get(stat.rel)
        return old is None or old.size != stat.size or old.mtime_ns != stat.mtime_ns

    def _reparse(self, todo: list[_FileStat]) -> int:
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
        self._remember(_FileStat("", problem.source, -1, -1), None, problem, True)
        return True

    def _restore(self) -> Snapshot | None:
        """Take the entries (and, if nothing changed since, the index) from the cache file."""
        if self.cache_file is None:
            return None
        payload = persist.load(self.cache_file)
        if not isinstance(payload, dict) or payload.get("root") != os.path.realpath(self.root):
            return None
        self._entries = payload["entries"]
        self._generation = payload["generation"]
        for entry in self._entries.values():
            if entry.article is not None and entry.article.provider is not None:
                self._providers.setdefault(entry.article.provider, entry.article.provider)
        everything, topics, providers, aliases, problems, files = payload["index"]
        return Snapshot(
            everything=everything,
            topics=MappingProxyType(topics),
            providers=MappingProxyType(providers),
            topic_aliases=MappingProxyType(aliases),
            problems=problems,
            files=files,
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
        index = (
            snapshot.everything,
            dict(snapshot.topics),
            dict(snapshot.providers),
            dict(snapshot.topic_aliases),
            snapshot.problems,
            snapshot.files,
        )
        payload = {
            "root": os.path.realpath(self.root),
            "generation": self._generation,
            "entries": self._entries,
            "index": index,
        }
        persist.dump(self.cache_file, payload, MODEL_CLASSES + (_Entry, Group))

    def _root_gone(self, started: float) -> Snapshot:
        if not self.root_missing:
            log.error("store folder %s is missing; serving the last snapshot", self.root)
        self.root_missing = True
        if self._snapshot is not None:
            return self._snapshot
        return self._publish(started, files=0)

    def _update_entries(self) -> bool:
        """Re-read new and changed files, forget deleted ones; True if anything changed."""
        seen: set[str] = set()
        todo: list[_FileStat] = []
        rejected: list[Problem] = []
        for stat in scan(self.root, rejected):
            seen.add(stat.rel)
            if self._stale(stat):
                todo.append(stat)
        if not os.path.isdir(self.root):
            # Gone mid-scan: what was seen is partial, so change nothing.
            raise FileNotFoundError(self.root)
        refused = 0
        for problem in rejected:
            seen.add(problem.source)
            refused += self._refuse(problem)
        gone = self._entries.keys() - seen
        for rel in gone:
            del self._entries[rel]
        return bool(self._reparse(todo) or gone or refused)

    def _parse(self, todo: list[_FileStat]) -> Iterator[tuple]:
        jobs = [(s.path, s.rel, s.size) for s in todo]
        if len(jobs) < PARALLEL_THRESHOLD or self.workers < 2:
            # The parser's own objects form cycles, left for the collector to free.
            self._parsed_here = self._parsed_here or bool(jobs)
            yield from _parse_batch(jobs, self.max_file_bytes)
            return
        # Fork server, not fork: the reloader may run beside server threads.
        chunk = max(200, len(jobs) // (self.workers * 8))
        batches = [jobs[i : i + chunk] for i in range(0, len(jobs), chunk)]
        context = get_context("forkserver")
        # Imported once in the fork server (when it starts), not again in each worker.
        context.set_forkserver_preload(["__main__", __name__])
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            limits = [self.max_file_bytes] * len(batches)
            for results in pool.map(_parse_batch_pickled, batches, limits):
                yield from pickle.loads(results)  # noqa: S301 - from our own workers

    def _remember(
        self, stat: _FileStat, article: Article | None, problem: Problem | None, complete: bool
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
        if article is not None and article.provider is not None:
            shared = self._providers.setdefault(article.provider, article.provider)
            if shared is not article.provider:
                # The article was just parsed and nothing else holds it yet.
                object.__setattr__(article, "provider", shared)
        if old is not None and old.article is not None and old.article == article:
            article = old.article  # same object, so the groups holding it stay as they are
        # An incomplete or racy read is retried on the next scan.
        racy = time.time_ns() - stat.mtime_ns < RACY_NS
        size = stat.size if complete and not racy else -1
        self._entries[stat.rel] = _Entry(size, stat.mtime_ns, article, problem)
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
        # Duplicates are found across files, so they are logged here, once each.
        known = set(problems).union(previous.problems if previous else ())
        for problem in snapshot.problems:
            if problem not in known:
                log.warning("Skipping %s: %s", printable(problem.source), problem.reason)
        return self._install(_timed(snapshot, started))

    def _install(self, snapshot: Snapshot) -> Snapshot:
        """Make ``snapshot`` the one requests see, and tell the listeners."""
        self._snapshot = snapshot
        for listener in self.listeners:
            try:
                listener(snapshot)
            except Exception:  # noqa: BLE001 - an observer must not stop the store
                log.exception("snapshot listener failed")
        return snapshot


MODEL_CLASSES = (Article, Image, Provider, Related, Problem)


def settle() -> None:
    """Move what is loaded now out of the cycle collector's sight.

    A loaded store is millions of objects that never form cycles; left in view, every
    full collection walks them all, which tripled the CPU of an index rebuild at 100k
    articles. Frozen objects are still freed by reference counting when a reload
    drops them.
    """
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause and enabled:
            gc.enable()


def _timed(snapshot: Snapshot, started: float) -> Snapshot:
    """``snapshot`` stamped with now and the time since ``started`` (a perf_counter)."""
    return replace(snapshot, loaded_at=time.time(), load_seconds=time.perf_counter() - started)


def _newest_first(article: Article) -> tuple:
    # Ties broken by URL so the same store always gives the same order.
    return (-article.published.timestamp(), article.url)


def build_snapshot(
    articles: Iterator[Article] | list[Article],
    problems: list[Problem],
    *,
    previous: Snapshot | None = None,
    generation: int = 1,
    files: int = 0,
) -> Snapshot:
    """Dedupe by webUrl, drop hidden articles, and index by topic and provider."""
    problems = list(problems)
    by_url: dict[str, Article] = {}
    for article in articles:
        kept = by_url.get(article.url)
        if kept is None:
            by_url[article.url] = article
            continue
        # Same webUrl: one article. The newest date wins; the path breaks ties.
        winner, loser = sorted((kept, article), key=lambda a: (-a.published.timestamp(), a.source))
        by_url[article.url] = winner
        problems.append(
            Problem(loser.source, f"same webUrl as {winner.source}, which is newer; skipped")
        )
    served = sorted((a for a in by_url.values() if a.visible), key=_newest_first)

    topic_members: dict[str, list[Article]] = {}
    topic_names: dict[str, dict[str, int]] = {}
    provider_members: dict[str, list[Article]] = {}
    keys: dict[str, str] = {}  # a few hundred names spelled out over every article
    for article in served:
        for name in article.topics:
            key = keys.get(name)
            if key is None:
                key = keys[name] = topic_key(name)
            topic_members.setdefault(key, []).append(article)
            spellings = topic_names.setdefault(key, {})
            spellings[name] = spellings.get(name, 0) + 1
        if article.provider is not None and article.provider.domain:
            provider_members.setdefault(article.provider.domain, []).append(article)

    def reuse(group: Group, old: Group | None) -> Group:
        if group.same_content(old):
            return old
        return Group(group.kind, group.slug, group.name, group.articles, group.logo, generation)

    old_topics = previous.topics if previous else {}
    old_providers = previous.providers if previous else {}
    slugs = assign_slugs(topic_members)
    topics: dict[str, Group] = {}
    aliases: dict[str, str] = {}
    for key, members in topic_members.items():
        slug = slugs[key]
        # The most used spelling names the topic; ties go to the first in code-point order.
        name = min(topic_names[key].items(), key=lambda item: (-item[1], item[0]))[0]
        topics[slug] = reuse(Group("topic", slug, name, tuple(members)), old_topics.get(slug))
        alias = hashed_slug(key)
        if alias != slug:
            aliases[alias] = slug
    providers: dict[str, Group] = {}
    for domain, members in provider_members.items():
        # The newest article names the provider and gives its logo.
        name = members[0].provider.name
        logo = next((a.provider.logo for a in members if a.provider.logo), None)
        providers[domain] = reuse(
            Group("provider", domain, name, tuple(members), logo), old_providers.get(domain)
        )
    everything = reuse(
        Group("all", "", "", tuple(served)), previous.everything if previous else None
    )
    problems.sort(key=lambda p: p.source)
    return Snapshot(
        everything=everything,
        topics=MappingProxyType(dict(sorted(topics.items()))),
        providers=MappingProxyType(dict(sorted(providers.items()))),
        topic_aliases=MappingProxyType({k: v for k, v in aliases.items() if k not in topics}),
        problems=tuple(problems),
        files=files,
        generation=generation,
        loaded_at=0.0,
        load_seconds=0.0,
    )


class PerProcessThread:
    """Runs ``target`` in a daemon thread at most once per process.

    Threads do not cross ``fork``, so a forking server's workers each start their
    own on first use; the check is cheap enough for every request.
    """

    def __init__(self, target: Callable[[], None], name: str):
        self._target = target
        self._name = name
        self._pid = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._target, name=self._name, daemon=True).start()


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
    _observer: object = field(default=None, init=False)
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
                    self.store.refresh_paths(changed)
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
                def on_any_event(self, event) -> None:
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

    def _note(self, event) -> None:
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


def init_app(app) -> Store:
    """Load the store for ``app`` and keep it fresh from the process that serves requests."""
    config = app.config
    store = Store(
        config["CONTENT_DIR"],
        max_file_bytes=config["MAX_FILE_BYTES"],
        workers=config["WORKERS"] or None,
        cache_dir=config["CACHE_DIR"] or None,
    )
    if not config.get("BACKGROUND_LOAD"):
        store.refresh()  # else health.init_app loads it in each serving process
        settle()
    reloader = Reloader(
        store,
        config["RELOAD_INTERVAL"],
        watch=config["WATCH"],
        rescan_interval=config["RESCAN_INTERVAL"],
    )
    app.extensions["feedsvc.reloader"] = reloader
    app.extensions["feedsvc.store"] = store
    app.before_request(reloader.ensure_running)
    return store
