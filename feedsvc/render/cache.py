"""Rendered feeds, kept as ready-to-send bytes with their gzip twin and validators.

Entries are keyed by what the bytes depend on (the group's version, format, limit,
page and base URL), so an edit invalidates just the feeds that show the edited
article. The cache is bounded by bytes, and concurrent requests for the same
missing entry render it once: the first renders, the others wait for its result.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from cachetools import LRUCache
from flask import Flask

from .page import FeedPage


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    gzipped: bytes
    etag: str  # strong, from the content: equal bytes give equal tags on every replica
    last_modified: datetime
    mimetype: str

    @classmethod
    def make(cls, body: bytes, last_modified: datetime, mimetype: str) -> Rendered:
        # mtime=0 keeps the gzip header, and so its ETag, the same everywhere.
        gzipped = gzip.compress(body, compresslevel=6, mtime=0)
        etag = hashlib.blake2b(body, digest_size=12).hexdigest()
        return cls(body, gzipped, etag, last_modified, mimetype)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped) + 256


def feed_key(page: FeedPage) -> tuple:
    """What a rendered feed's bytes depend on: the key both serving paths look it up by."""
    group = page.group
    return (group.kind, group.slug, group.version, page.fmt, page.limit, page.page, page.site)


class RenderCache:
    def __init__(self, max_bytes: int):
        self._entries: LRUCache = LRUCache(maxsize=max_bytes, getsizeof=lambda r: r.size)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe
        self._pending: dict[Hashable, Future[Rendered]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, render: Callable[[], Rendered]) -> tuple[Rendered, bool]:
        """The cached entry for ``key``, rendering it once if missing; (entry, was_hit)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self.hits += 1
                return entry, True
            self.misses += 1
            waiting = self._pending.get(key)
            if waiting is None:
                pending: Future[Rendered] = Future()
                self._pending[key] = pending
        if waiting is not None:
            return waiting.result(), False
        try:
            entry = render()
        except BaseException as exc:
            with self._lock:
                self._pending.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            # An entry larger than the whole cache is served, just not kept.
            with contextlib.suppress(ValueError):
                self._entries[key] = entry
            self._pending.pop(key, None)
        pending.set_result(entry)
        return entry, False

    def peek(self, key: Hashable) -> Rendered | None:
        """The cached entry for ``key`` (counted as a hit), or None without counting a miss.

        For a caller that answers only from the cache and hands a miss on to :meth:`get`.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self.hits += 1
            return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def currsize(self) -> int:
        return int(self._entries.currsize)


def init_app(app: Flask) -> RenderCache:
    cache = RenderCache(app.config["CACHE_MAX_BYTES"])
    app.extensions["feedsvc.render_cache"] = cache
    return cache
