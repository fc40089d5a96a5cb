"""Every public URL path the service answers, for the static export and link checks.

The feeds' paths come from the URL table; other parts of the app (HTML pages, OPML,
the embed script) add theirs with :func:`register`, so ``feedsvc build`` exports
whatever the server serves without knowing each part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Flask

from ..content.index import Snapshot
from . import urls

PathSource = Callable[[Snapshot], Iterable[str]]


def feed_paths(snapshot: Snapshot) -> Iterator[str]:
    return urls.feed_paths(snapshot.groups)


def register(app: Flask, source: PathSource) -> None:
    app.extensions.setdefault("feedsvc.paths", []).append(source)


def all_paths(app: Flask, snapshot: Snapshot) -> Iterator[str]:
    yield from feed_paths(snapshot)
    for source in app.extensions.get("feedsvc.paths", []):
        yield from source(snapshot)
