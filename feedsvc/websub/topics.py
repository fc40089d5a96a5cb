"""Topics: the feeds WebSub pushes, each format's canonical first page.

A topic URL is one the feeds announce as rel=self on their first page at the
default limit: the base URL, a feed path of a group that exists, no query. Any
other URL is not a topic of this hub. Its bytes are the render the feed URL
itself serves, from the same render cache, so a delivery carries exactly what a
poll would fetch and its version is the feed's ETag.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import HTTPException

from ..content.index import Group, Snapshot
from ..render import feeds
from ..render.cache import Rendered
from ..render.feeds import DEFAULT_LIMIT, FeedPage, feed_path
from ..web import views

# The feed routes of the URL table, and the group kind each one serves.
_KINDS = {"feeds.everything": "all", "feeds.topic": "topic", "feeds.provider": "provider"}
_SLUG_ARGS = ("slug", "domain")


@dataclass(frozen=True, slots=True)
class Topic:
    url: str
    group: Group
    fmt: str


class Topics:
    """The topics of one app: what they are, and their current bytes."""

    def __init__(self, app: Flask, base_url: str):
        self.app = app
        self.base_url = base_url
        self._urls = app.url_map.bind("topics.invalid")

    def urls(self, group: Group) -> list[tuple[str, str]]:
        """(format, topic URL) of every format of ``group``."""
        return [(fmt, self.base_url + feed_path(group, fmt)) for fmt in feeds.FORMATS]

    def find(self, url: str, snapshot: Snapshot) -> Topic | str:
        """The topic at ``url``, or the reason it is not one of ours."""
        if not url.startswith(self.base_url + "/"):
            return f"not a feed of this site: topics start with {self.base_url}/"
        rest = url[len(self.base_url) :]
        path, _, query = rest.partition("?")
        try:
            endpoint, args = self._urls.match(path, method="GET")
        except HTTPException:
            return "not a feed of this site"
        kind = _KINDS.get(endpoint)
        if kind is None:
            return "not a feed of this site"
        slug = next((args[name] for name in _SLUG_ARGS if name in args), "")
        group = snapshot.group(kind, slug)
        if group is None:
            return "no such feed"
        canonical = self.base_url + feed_path(group, args["fmt"])
        if query or url != canonical:
            return f"only the feeds' canonical first pages are topics: {canonical}"
        return Topic(canonical, group, args["fmt"])

    def render(self, group: Group, fmt: str) -> Rendered:
        """The bytes the topic URL serves now, from the render cache."""
        site = views.site_of(self.app.config, self.base_url)
        page = FeedPage(site, group, fmt, DEFAULT_LIMIT, 1)
        key = views.cache_key(group, fmt, DEFAULT_LIMIT, 1, site)
        cache = self.app.extensions["feedsvc.render_cache"]
        rendered, _ = cache.get(key, lambda: views._render(page))
        return rendered
