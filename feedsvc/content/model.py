"""The article model: what the feeds serve of one file, and why a file was skipped.

Every class is frozen and slotted: a snapshot shares these objects between threads
and never changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str | None = None
    logo: Image | None = None

    @property
    def home(self) -> str | None:
        return f"https://{self.domain}" if self.domain else None


@dataclass(frozen=True, slots=True)
class Related:
    """Another outlet's coverage of the same story, linked from the item's content."""

    title: str
    url: str
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    url: str
    title: str
    published: datetime
    source: str  # path of the file inside the store, for logs and dedupe tie-breaks
    excerpt: str | None = None
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Related, ...] = ()
    category: str | None = None
    quality: int | None = None
    heat: int | None = None
    visible: bool = True  # False for ``published: false``: kept for dedupe, never served
    # When the file last changed (its modification time, never before ``published``):
    # the item's updated date, set by the store, which knows the file's times.
    modified: datetime | None = None

    @property
    def updated(self) -> datetime:
        return self.modified or self.published


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a file was skipped (``skipped``), or what was dropped from it while it was kept."""

    source: str
    reason: str
    skipped: bool = True


def printable(path: str) -> str:
    """A file name as it may go into a log line: control characters (a newline would
    forge a second line) and undecodable bytes escaped, everything else as it is."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in path)


# The classes a persisted or pickled store holds.
MODEL_CLASSES = (Article, Image, Provider, Related, Problem)
