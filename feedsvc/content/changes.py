"""When the store last changed, from the modification times of its files and folders.

A deletion leaves no trace in the feeds it left (nor does an article leaving a
topic), only in its folder's time, so no feed can say alone when it last changed:
the store says it for all of them, and HTTP's Last-Modified is that. It comes from
the files and folders alone, so replicas that share a store agree on it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from .index import Snapshot
from .model import Article

# A file modified this recently may be modified again within the same timestamp tick
# (milliseconds to seconds, by file system) keeping its size, and the change would go
# unseen: its stat is not trusted, and it is read again on the next scan.
RACY_NS = 1_000_000_000


def is_racy(mtime_ns: int) -> bool:
    return time.time_ns() - mtime_ns < RACY_NS


def stamp_modified(article: Article | None, old: Article | None, mtime_ns: int) -> None:
    """Give a just-parsed article (not the ``old`` one kept) its file's modification
    time, in whole seconds and never before its publication, as the date it was last
    modified; a ``mtime_ns`` of -1 says no time is known."""
    if article is not None and article is not old and mtime_ns >= 0:
        modified = datetime.fromtimestamp(mtime_ns // 1_000_000_000, UTC)
        # The article is frozen for everyone else; nothing else holds it yet.
        object.__setattr__(article, "modified", max(modified, article.published))


class _HasTime(Protocol):
    mtime_ns: int


class StoreTimes:
    """The folder times a store has seen, and when its latest check of the folder began."""

    def __init__(self, root: str, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.clock = clock
        # Changes made before it are in the snapshot (wall-clock seconds, like file times).
        self.checked_at = 0.0
        self.folders: dict[str, int] = {}  # folder inside the store ("" the root) → mtime_ns
        self._last = (-1, datetime.fromtimestamp(0, UTC))

    def check_begins(self) -> None:
        self.checked_at = self.clock()

    def note_folder_of(self, rel: str) -> None:
        """Remember the time of the folder holding ``rel`` (where a deletion shows)."""
        folder = rel.rpartition("/")[0]
        with contextlib.suppress(OSError):
            path = os.path.join(self.root, folder) if folder else self.root
            self.folders[f"{folder}/" if folder else ""] = os.stat(path).st_mtime_ns

    def changed_at(self, files: Iterable[_HasTime]) -> float:
        """The newest modification time of any file (the store's entries) or folder."""
        newest = max((file.mtime_ns for file in files), default=0)
        return max(newest, *self.folders.values(), 0) / 1e9

    def restamp(self, snapshot: Snapshot, files: Iterable[_HasTime]) -> Snapshot:
        """``snapshot`` with the store's newest time as it is now (itself if unchanged)."""
        changed_at = self.changed_at(files)
        return (
            snapshot
            if changed_at == snapshot.changed_at
            else replace(snapshot, changed_at=changed_at)
        )

    def last_modified(self, changed_at: float) -> datetime:
        """The end of the second that holds ``changed_at``, but never later than the
        latest check of the folder began.

        Clients compare whole seconds, either the date they were sent or the time they
        last fetched (some readers make one up that way): the end of the change's
        second is later than both for any change made after their fetch. Until a check
        has begun after that second, the date stays at the check's second, so a change
        later in it still moves it.
        """
        seconds = max(0, min(int(changed_at) + 1, int(self.checked_at)))
        if seconds != self._last[0]:  # asked on every request: made once a second
            self._last = (seconds, datetime.fromtimestamp(seconds, UTC))
        return self._last[1]
