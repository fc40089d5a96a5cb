"""Files: walking the store folder and reading one file into an article.

Only regular ``*.txt``/``*.md`` files inside the store are read; links that leave it
and FIFOs are refused, and a file is opened without blocking and read no further
than the size limit.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import persist
from .articles import is_article_name, read_article
from .model import MODEL_CLASSES, Article, Problem


@dataclass(slots=True)
class FileStat:
    path: str
    rel: str
    size: int
    mtime_ns: int


def scan(
    root: str, rejected: list[Problem] | None = None, folders: dict[str, int] | None = None
) -> Iterator[FileStat]:
    """Every article file below ``root``; hidden entries skipped, links leaving the store not followed.

    Article-named entries that are not read (a link out of the store, a FIFO) are
    added to ``rejected``; each folder's modification time goes into ``folders``, by
    its path inside the store ("" for the root). Raises OSError if ``root`` itself
    cannot be listed.
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
            if folders is not None:
                folders[prefix] = os.stat(folder).st_mtime_ns
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
            if isinstance(found, FileStat):
                yield found
            elif found is not None and rejected is not None:
                rejected.append(found)


def _examine(
    real_root: str, path: str, rel: str, is_link: bool, stat: Callable[[], os.stat_result]
) -> FileStat | Problem | None:
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
    return FileStat(path, rel, st.st_size, st.st_mtime_ns)


def relative(root: str, path: str) -> str | None:
    """``path``'s name inside the store, or None if it is outside or hidden."""
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    parts = rel.split("/")
    if rel.startswith("../") or rel == ".." or any(p.startswith(".") for p in parts):
        return None
    return rel


def stat_one(real_root: str, path: str, rel: str) -> FileStat | Problem | None:
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


def parse_batch(batch: list[tuple[str, str, int]], max_bytes: int) -> list:
    return [parse_file(path, rel, size, max_bytes) for path, rel, size in batch]


def parse_batch_pickled(batch: list[tuple[str, str, int]], max_bytes: int) -> bytes:
    # The default pickling of slots dataclasses sets one slot at a time from Python,
    # which made unpickling the workers' results the parent's main cost.
    return persist.dumps(parse_batch(batch, max_bytes), MODEL_CLASSES)
