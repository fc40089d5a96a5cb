"""Every public URL path the service answers, for static export and link checks.

The feeds register themselves here; other parts of the app (HTML pages, OPML, the
embed script) add their paths with :func:`register`, so ``feedsvc build`` exports
whatever the server serves without knowing each part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Flask

from ..content.index import Snapshot
from .feeds import FORMATS, feed_path

PathSource = Callable[[Snapshot], Iterable[str]]


def feed_paths(snapshot: Snapshot) -> Iterator[str]:
    groups = snapshot.groups
    for group in groups:
        for fmt in FORMATS:
            yield feed_path(group, fmt)


def register(app: Flask, source: PathSource) -> None:
    app.extensions.setdefault("feedsvc.paths", []).append(source)


def all_paths(app: Flask, snapshot: Snapshot) -> Iterator[str]:
    yield from feed_paths(snapshot)
    for source in app.extensions.get("feedsvc.paths", []):
        yield from source(snapshot)
