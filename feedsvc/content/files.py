"""Files: walking the store folder and reading one file into an article.

Only regular ``*.txt``/``*.md`` files inside the store are read; links that leave it
or loop and FIFOs are refused, folders that cannot be listed are reported, and a file is opened without blocking and read no further
than the size limit.
"""

from __future__ import annotations

import copyreg
import errno
import io
import operator
import os
import pickle
import stat as stat_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .articles import is_article_name, read_article
from .model import MODEL_CLASSES, Article, Problem


@dataclass(slots=True)
class FileStat:
    path: str
    rel: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class ScanReport:
    """What a scan found besides article files: folders listed, and what it could not read."""

    folders: int = 0
    rejected: list[Problem] = field(default_factory=list)  # article names not read
    unreadable: list[str] = field(default_factory=list)  # folders (rel, ending in "/")


def scan(root: str, report: ScanReport | None = None) -> Iterator[FileStat]:
    """Every article file below ``root``; hidden entries skipped, links leaving the store not followed.

    Article-named entries that are not read (a link out of the store or in a loop, a
    FIFO) and folders that cannot be listed are reported as problems in ``report``.
    Raises OSError if ``root`` itself cannot be listed.
    """
    report = report if report is not None else ScanReport()
    real_root = os.path.realpath(root)
    # Relative paths are built from the folder's prefix: os.path.relpath per file
    # costs more than the stat call, and this runs over every file on every check.
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            if folder is root:
                raise
            report.unreadable.append(prefix)
            reason = f"folder cannot be read ({exc.strerror or type(exc).__name__})"
            report.rejected.append(Problem(prefix, reason))
            continue
        report.folders += 1
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
            elif found is not None:
                report.rejected.append(found)


def _examine(
    real_root: str, path: str, rel: str, is_link: bool, stat: Callable[[], os.stat_result]
) -> FileStat | Problem | None:
    """One article-named file: its stat, a Problem if it is not to be read (a link out
    of the store or in a loop, a FIFO), or None if it went away."""
    try:
        if is_link and os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
            return Problem(rel, "symbolic link to outside the store")
        st = stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Problem(rel, "symbolic link loop")
        return None
    except ValueError:
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
    """A batch's results for the parent process, pickled (between our own processes only:
    nothing pickled is ever written to disk)."""
    table = copyreg.dispatch_table.copy()
    for cls in MODEL_CLASSES:
        table[cls] = _by_fields
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = table
    pickler.dump(parse_batch(batch, max_bytes))
    return buffer.getvalue()


def _by_fields(obj: object) -> tuple:
    # The default pickling of slots dataclasses sets one slot at a time from Python,
    # which made unpickling the workers' results the parent's main cost: rebuild each
    # by calling its class with its fields in order. The fields are read by one
    # attrgetter per class (in C), not a generator per object.
    cls = type(obj)
    fields = _FIELDS.get(cls)
    if fields is None:
        names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]  # slotted dataclasses
        getter = operator.attrgetter(*names)
        fields = _FIELDS[cls] = getter if len(names) > 1 else lambda o: (getter(o),)
    return cls, fields(obj)


_FIELDS: dict[type, Callable[[object], tuple]] = {}
