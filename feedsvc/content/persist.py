"""The store's parsed results on disk, so a restart over an unchanged folder skips parsing.

One file per store folder in ``FEEDSVC_CACHE_DIR``. It is only ever a hint: each
article in it is used only while its file still has the size and modification time
it was parsed at, and the whole file is ignored when it was written by other code
(any change to the parsing modules, feedsvc's version or Python's), belongs to
another folder, or fails its checksum (a torn or corrupt write). It is written to
a temporary name and renamed, so readers see the old file or the new one, never
half of one.

The payload is a pickle, so the folder must be writable by the service alone: the
checksum catches damage, not tampering.
"""

from __future__ import annotations

import contextlib
import copyreg
import functools
import hashlib
import io
import logging
import operator
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import __version__

log = logging.getLogger("feedsvc.store")

MAGIC = b"feedsvc-store-cache 1\n"


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


def _by_fields(obj: object) -> tuple:
    # Rebuild a slots dataclass by calling it with its fields in order: several times
    # faster to load than the default state-setting path, which sets one slot at a time
    # from Python. The fields are read by one attrgetter per class (in C), not a
    # generator per object: that was ~40% of pickling the workers' results.
    cls = type(obj)
    fields = _FIELDS.get(cls)
    if fields is None:
        names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]  # slotted dataclasses
        getter = operator.attrgetter(*names)
        fields = _FIELDS[cls] = getter if len(names) > 1 else lambda o: (getter(o),)
    return cls, fields(obj)


_FIELDS: dict[type, Callable[[object], tuple]] = {}


def dumps(payload: object, classes: tuple[type, ...]) -> bytes:
    """Pickle ``payload``, rebuilding instances of ``classes`` through their constructors."""
    table = copyreg.dispatch_table.copy()
    for cls in classes:
        table[cls] = _by_fields
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = table
    pickler.dump(payload)
    return buffer.getvalue()


def dump(path: str, payload: object, classes: tuple[type, ...]) -> None:
    """Write ``payload`` atomically; a failure is logged and leaves the old file."""
    try:
        body = dumps(payload, classes)
        folder = os.path.dirname(path) or "."
        os.makedirs(folder, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=folder, prefix=".store-")
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


def load(path: str) -> object | None:
    """The payload written by :func:`dump` with this code, or None (and why, logged)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read the store cache %s: %s", path, exc)
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
        return pickle.loads(body)  # noqa: S301 - our own file, checked above
    except Exception as exc:  # noqa: BLE001
        log.warning("store cache %s cannot be loaded (%s); parsing afresh", path, exc)
        return None
