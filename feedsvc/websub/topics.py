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

from ..content.index import Group, Snapshot
from ..render import urls
from ..render.cache import Rendered, feed_key
from ..render.page import DEFAULT_LIMIT, FeedPage
from ..web import current, views


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

    def urls(self, group: Group) -> list[tuple[str, str]]:
        """(format, topic URL) of every format of ``group``."""
        return [(fmt, self.base_url + urls.feed_path(group, fmt)) for fmt in urls.FORMATS]

    def find(self, url: str, snapshot: Snapshot) -> Topic | str:
        """The topic at ``url``, or the reason it is not one of ours."""
        if not url.startswith(self.base_url + "/"):
            return f"not a feed of this site: topics start with {self.base_url}/"
        path, _, query = url[len(self.base_url) :].partition("?")
        matched = urls.match_feed(path)
        if matched is None:
            return "not a feed of this site"
        route, values = matched
        group = route.group_in(snapshot, values)
        if group is None:
            return "no such feed"
        canonical = self.base_url + urls.feed_path(group, values["fmt"])
        if query or url != canonical:
            return f"only the feeds' canonical first pages are topics: {canonical}"
        return Topic(canonical, group, values["fmt"])

    def render(self, group: Group, fmt: str) -> Rendered:
        """The bytes the topic URL serves now, from the render cache."""
        site = current.site_of(self.app.config, self.base_url)
        page = FeedPage(site, group, fmt, DEFAULT_LIMIT, 1)
        cache = self.app.extensions["feedsvc.render_cache"]
        items = self.app.extensions["feedsvc.items"]
        rendered, _ = cache.get(feed_key(page), lambda: views.render(page, items))
        return rendered
