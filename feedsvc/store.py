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
import stat as stat_module
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from types import MappingProxyType

from .articles import Article, Image, Problem, is_article_name, read_article
from .slugs import assign_slugs, hashed_slug, topic_key

log = logging.getLogger("feedsvc.store")

# Below this many files to parse, worker processes cost more than they save.
PARALLEL_THRESHOLD = 2000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def scan(root: str) -> Iterator[_FileStat]:
    """Every article file below ``root``; hidden entries skipped, links leaving the store not followed."""
    real_root = os.path.realpath(root)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if not is_article_name(name):
                    continue
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if os.path.commonpath([real_root, target]) != real_root:
                        continue
                st = entry.stat()
            except (OSError, ValueError):
                continue
            if not stat_module.S_ISREG(st.st_mode):  # regular files only
                continue
            rel = os.path.relpath(entry.path, root).replace(os.sep, "/")
            yield _FileStat(entry.path, rel, st.st_size, st.st_mtime_ns)


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
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
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


class Store:
    """The folder of articles and its current snapshot."""

    def __init__(self, root: str, *, max_file_bytes: int = 1 << 20, workers: int | None = None):
        self.root = root
        self.max_file_bytes = max_file_bytes
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()  # one refresh at a time
        self._generation = 0
        self._snapshot: Snapshot | None = None
        self.root_missing = False
        # Called with each newly published snapshot, inside the refresh (metrics use it).
        self.listeners: list[Callable[[Snapshot], None]] = []

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
        with self._lock:
            started = time.perf_counter()
            if not os.path.isdir(self.root):
                if not self.root_missing:
                    log.error("store folder %s is missing; serving the last snapshot", self.root)
                self.root_missing = True
                if self._snapshot is not None:
                    return self._snapshot
                return self._publish(started, files=0)
            if self.root_missing:
                log.warning("store folder %s is back", self.root)
                self.root_missing = False
            if self._update_entries() or self._snapshot is None:
                return self._publish(started, files=len(self._entries))
            return self._snapshot

    def _update_entries(self) -> bool:
        """Re-read new and changed files, forget deleted ones; True if anything changed."""
        seen: set[str] = set()
        todo: list[_FileStat] = []
        for stat in scan(self.root):
            seen.add(stat.rel)
            old = self._entries.get(stat.rel)
            if old is None or old.size != stat.size or old.mtime_ns != stat.mtime_ns:
                todo.append(stat)
        gone = self._entries.keys() - seen
        for rel in gone:
            del self._entries[rel]
        for stat, (article, problem, complete) in zip(todo, self._parse(todo), strict=True):
            self._remember(stat, article, problem, complete)
        return bool(todo or gone)

    def _parse(self, todo: list[_FileStat]) -> Iterator[tuple]:
        jobs = [(s.path, s.rel, s.size) for s in todo]
        if len(jobs) < PARALLEL_THRESHOLD or self.workers < 2:
            yield from _parse_batch(jobs, self.max_file_bytes)
            return
        # Fork server, not fork: the reloader may run beside server threads.
        chunk = max(200, len(jobs) // (self.workers * 8))
        batches = [jobs[i : i + chunk] for i in range(0, len(jobs), chunk)]
        with ProcessPoolExecutor(self.workers, mp_context=get_context("forkserver")) as pool:
            for results in pool.map(_parse_batch, batches, [self.max_file_bytes] * len(batches)):
                yield from results

    def _remember(
        self, stat: _FileStat, article: Article | None, problem: Problem | None, complete: bool
    ) -> None:
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
                problem.source,
                problem.reason,
            )
        size = stat.size if complete else -1  # an incomplete read is retried on the next scan
        self._entries[stat.rel] = _Entry(size, stat.mtime_ns, article, problem)

    def _publish(self, started: float, files: int) -> Snapshot:
        previous = self._snapshot
        self._generation += 1
        snapshot = build_snapshot(
            (e.article for e in self._entries.values() if e.article is not None),
            [e.problem for e in self._entries.values() if e.problem is not None],
            previous=previous,
            generation=self._generation,
            files=files,
        )
        snapshot = _replace_timing(snapshot, time.time(), time.perf_counter() - started)
        self._snapshot = snapshot
        for listener in self.listeners:
            try:
                listener(snapshot)
            except Exception:  # noqa: BLE001 - an observer must not stop the store
                log.exception("snapshot listener failed")
        return snapshot


def _replace_timing(snapshot: Snapshot, loaded_at: float, seconds: float) -> Snapshot:
    from dataclasses import replace

    return replace(snapshot, loaded_at=loaded_at, load_seconds=seconds)


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
    for article in served:
        for name in article.topics:
            key = topic_key(name)
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


@dataclass
class Reloader:
    """A daemon thread that refreshes the store every ``interval`` seconds.

    Started lazily in the process that serves requests, so it survives a forking
    server (threads do not cross ``fork``).
    """

    store: Store
    interval: float
    _pid: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def ensure_running(self) -> None:
        if self._pid == os.getpid() or self.interval <= 0:
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="feedsvc-reloader", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.store.refresh()
            except Exception:  # noqa: BLE001 - keep the last snapshot and try again
                log.exception("store refresh failed; serving the last snapshot")


def init_app(app) -> Store:
    """Load the store for ``app`` and keep it fresh from the process that serves requests."""
    config = app.config
    store = Store(
        config["CONTENT_DIR"],
        max_file_bytes=config["MAX_FILE_BYTES"],
        workers=config["WORKERS"] or None,
    )
    if not config.get("BACKGROUND_LOAD"):
        store.refresh()  # else health.init_app loads it in each serving process
    reloader = Reloader(store, config["RELOAD_INTERVAL"])
    app.extensions["feedsvc.store"] = store
    app.before_request(reloader.ensure_running)
    return store
