"""The store's parsed results on disk, so a restart over an unchanged folder skips parsing.

One file per store folder in ``FEEDSVC_CACHE_DIR``. It is only ever a hint: each
article in it is used only while its file still has the size and modification time
it was parsed at, and the whole file is ignored when it was written by other code
(any change to the parsing modules, feedsvc's version or Python's), belongs to
another folder, or fails its checksum (a torn or corrupt write). It is written to
a temporary name and renamed, so readers see the old file or the new one, never
half of one.

It holds data, never code: JSON (through orjson) of the model's fields, in lists
whose position says which field is which, rebuilt by calling the model's own
classes. Loading it can give wrong articles at worst, so it is also refused (with
a log line) unless it and its folder belong to the service's user and nobody else
may write to them; it is opened without following a link or blocking on a FIFO.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from .. import __version__
from .index import Group
from .model import Article, Image, Problem, Provider, Related

log = logging.getLogger("feedsvc.store")

MAGIC = b"feedsvc-store-cache 2\n"
# Larger than any store we serve; a bigger file is not read into memory.
MAX_BYTES = 4 << 30


@functools.cache
def code_key() -> bytes:
    """What the cached results depend on besides the files: the code that made them."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{__version__} {sys.version}".encode())
    # Every module of the content package decides what a parsed file becomes: a change
    # to any of them, or a module added or removed, makes every cached result suspect.
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest().encode()


def cache_path(cache_dir: str, root: str, max_file_bytes: int) -> str:
    """One cache file per store folder and size limit."""
    ident = f"{os.path.realpath(root)}\0{max_file_bytes}".encode()
    return os.path.join(cache_dir, f"store-{hashlib.blake2b(ident, digest_size=8).hexdigest()}")


@dataclass(slots=True)
class State:
    """What the store keeps between restarts: its files' results and its last index."""

    root: str
    generation: int
    # rel -> (size, mtime_ns, article, problem), as the store's entries hold them
    entries: dict[str, tuple[int, int, Article | None, Problem | None]]
    everything: Group
    topics: dict[str, Group]
    providers: dict[str, Group]
    aliases: dict[str, str]
    problems: tuple[Problem, ...]
    files: int


# --- encoding: every object as a list of its fields, in the class's field order ---------
#
# JSON lines: a header (root, generation, providers, how many entry and extra-article
# lines follow), one line per entry with its article, one per article that only a
# group holds, and the index. Read a line at a time, each line's lists are freed as
# soon as its objects are built, so loading leaves no holes in memory between them.
# Articles and providers are shared (groups and entries hold the same objects), so
# each is written once and then referred to by its position.


def _image(i: Image | None) -> list | None:
    return None if i is None else [i.url, i.mime_type, i.width, i.height, i.title]


def _problem(p: Problem | None) -> list | None:
    return None if p is None else [p.source, p.reason, p.skipped]


class _Encoder:
    def __init__(self) -> None:
        self.providers: list[list] = []
        self._provider_ids: dict[Provider, int] = {}
        self._article_ids: dict[int, int] = {}
        self.extra: list[bytes] = []  # lines of articles no entry holds

    def article(self, a: Article) -> int | list:
        """The article's position if it was written already, else its row (now written)."""
        known = self._article_ids.get(id(a))
        if known is not None:
            return known
        self._article_ids[id(a)] = len(self._article_ids)
        return [
            a.url,
            a.title,
            a.published,
            a.source,
            a.excerpt,
            self.provider(a.provider),
            a.topics,
            [_image(i) for i in a.images],
            [[r.title, r.url, r.provider] for r in a.related],
            a.category,
            a.quality,
            a.heat,
            a.visible,
        ]

    def position(self, a: Article) -> int:
        row = self.article(a)
        if isinstance(row, list):
            self.extra.append(orjson.dumps(row))
            return len(self._article_ids) - 1
        return row

    def provider(self, p: Provider | None) -> int:
        if p is None:
            return -1
        known = self._provider_ids.get(p)
        if known is None:
            self.providers.append([p.name, p.domain, _image(p.logo)])
            known = self._provider_ids[p] = len(self.providers) - 1
        return known

    def group(self, g: Group) -> list:
        members = [self.position(a) for a in g.articles]
        return [g.kind, g.slug, g.name, members, _image(g.logo), g.version]


def encode(state: State) -> bytes:
    encoder = _Encoder()
    dumps = orjson.dumps
    entries = [
        dumps([rel, size, mtime_ns, _problem(problem), None if a is None else encoder.article(a)])
        for rel, (size, mtime_ns, a, problem) in state.entries.items()
    ]
    index = dumps(
        [
            encoder.group(state.everything),
            [[key, encoder.group(g)] for key, g in state.topics.items()],
            [[key, encoder.group(g)] for key, g in state.providers.items()],
            state.aliases,
            [_problem(p) for p in state.problems],
            state.files,
        ]
    )
    header = dumps(
        [state.root, state.generation, encoder.providers, len(entries), len(encoder.extra)]
    )
    return b"\n".join([header, *entries, *encoder.extra, index])


def _make_image(row: list | None) -> Image | None:
    return None if row is None else Image(*row)


def _make_problem(row: list | None) -> Problem | None:
    return None if row is None else Problem(*row)


def decode(data: bytes, offset: int = 0) -> State:
    """The state :func:`encode` wrote at ``offset`` of ``data``; TypeError, ValueError or
    IndexError if it is not one."""
    view = memoryview(data)
    loads = orjson.loads
    find = data.find

    def line() -> Any:
        nonlocal offset
        end = find(b"\n", offset)
        if end < 0:
            end = len(data)
        value = loads(view[offset:end])
        offset = end + 1
        return value

    root, generation, provider_rows, entry_count, extra_count = line()
    if not isinstance(root, str) or not isinstance(generation, int):
        raise TypeError("not a store cache")
    providers: list[Provider | None] = [
        Provider(name, domain, _make_image(logo)) for name, domain, logo in provider_rows
    ]
    providers.append(None)  # position -1: no provider
    # Values repeated across articles (topics, image types, categories, outlet names)
    # become one string each, as the parser's own results share them.
    intern = sys.intern
    fromiso = datetime.fromisoformat
    articles: list = []

    def article(row: list) -> Article:
        (
            url,
            title,
            published,
            source,
            excerpt,
            provider,
            topics,
            images,
            related,
            category,
            quality,
            heat,
            visible,
        ) = row
        made = Article(
            url,
            title,
            fromiso(published),
            source,
            excerpt,
            providers[provider],
            tuple(map(intern, topics)),
            tuple([Image(u, intern(m), w, h, t) for u, m, w, h, t in images]) if images else (),
            tuple([Related(t, u, p and intern(p)) for t, u, p in related]) if related else (),
            category and intern(category),
            quality,
            heat,
            visible,
        )
        articles.append(made)
        return made

    entries = {}
    for _ in range(entry_count):
        rel, size, mtime_ns, problem, held = line()
        if held is None:
            kept = None
        elif isinstance(held, list):
            kept = article(held)
            if kept.source == rel:
                rel = kept.source  # one string for both, as the parser leaves them
        else:
            kept = articles[held]
        entries[rel] = (size, mtime_ns, kept, _make_problem(problem))
    for _ in range(extra_count):
        article(line())
    everything, topics, provider_groups, aliases, problems, files = line()
    if offset < len(data) or not isinstance(aliases, dict):
        raise ValueError("not a store cache")
    last = len(articles) - 1

    def group(row: list) -> Group:
        kind, slug, name, members, logo, version = row
        if members and not (min(members) >= 0 and max(members) <= last):
            raise ValueError("a group refers to no article")
        held = tuple(map(articles.__getitem__, members))
        return Group(kind, slug, name, held, _make_image(logo), version)

    return State(
        root=root,
        generation=generation,
        entries=entries,
        everything=group(everything),
        topics={key: group(row) for key, row in topics},
        providers={key: group(row) for key, row in provider_groups},
        aliases=aliases,
        problems=tuple(Problem(*row) for row in problems),
        files=files,
    )


# --- the file -----------------------------------------------------------------------------


def _unsafe(st: os.stat_result, what: str) -> str | None:
    """Why a file or folder with this stat may not be trusted, or None."""
    if st.st_uid != os.geteuid():
        return f"{what} belongs to user {st.st_uid}, not to the service's user {os.geteuid()}"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} may be written by other users (mode {stat.filemode(st.st_mode)})"
    return None


def _folder_problem(folder: str) -> str | None:
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return "its folder is not a folder"
    return _unsafe(st, "its folder")


def dump(path: str, state: State) -> None:
    """Write ``state`` atomically; a failure is logged and leaves the old file."""
    try:
        body = encode(state)
        folder = os.path.dirname(path) or "."
        # Created for the service alone: a folder others may write to is refused on load.
        os.makedirs(folder, mode=0o700, exist_ok=True)
        problem = _folder_problem(folder)
        if problem is not None:
            raise PermissionError(problem)
        handle, temp = tempfile.mkstemp(dir=folder, prefix=".store-")  # mode 0600
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(MAGIC)
                out.write(code_key() + b"\n")
                out.write(hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b"\n")
                out.write(body)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except Exception as exc:  # noqa: BLE001 - the cache is an optimisation, never fatal
        log.warning("cannot write the store cache %s: %s", path, exc)


def _read(path: str) -> bytes | None:
    """The file's bytes, or None (and why, logged) if it is absent or not to be trusted."""
    problem = _folder_problem(os.path.dirname(path) or ".")
    if problem is not None:
        log.warning("store cache %s refused: %s; parsing afresh", path, problem)
        return None
    try:
        # No link followed, and no wait on a FIFO planted at the name.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("store cache %s refused: cannot be opened (%s); parsing afresh", path, exc)
        return None
    with open(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            problem = "not a regular file"
        elif st.st_size > MAX_BYTES:
            problem = f"larger than {MAX_BYTES} bytes"
        else:
            problem = _unsafe(st, "it")
        if problem is not None:
            log.warning("store cache %s refused: %s; parsing afresh", path, problem)
            return None
        return handle.read()


def load(path: str) -> State | None:
    """The state written by :func:`dump` with this code, or None (and why, logged)."""
    try:
        data = _read(path)
    except OSError as exc:
        log.warning("cannot read the store cache %s: %s", path, exc)
        return None
    if data is None:
        return None
    head = len(MAGIC)
    key_end = head + 33
    sum_end = key_end + 33
    if not data.startswith(MAGIC) or data[head:key_end] != code_key() + b"\n":
        log.info("store cache %s was written by other code; parsing afresh", path)
        return None
    body = memoryview(data)[sum_end:]
    if data[key_end:sum_end] != hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b"\n":
        log.warning("store cache %s is damaged; parsing afresh", path)
        return None
    try:
        return decode(data, sum_end)
    except (orjson.JSONDecodeError, TypeError, ValueError, IndexError, KeyError) as exc:
        log.warning("store cache %s cannot be loaded (%s); parsing afresh", path, exc)
        return None
