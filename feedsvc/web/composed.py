"""What a feed URL names: a plain group, or a composed feed in canonical form.

Shared by the views, the pages and the fast path. One topic, one provider or
everything with no filter is the plain group, keyed and rendered as before; a
union, a topic within a provider, a digest or any filtered feed is a composed feed
(:mod:`feedsvc.render.compose`), keyed by its canonical form and the versions of the
groups it draws from, so its key is known without selecting its articles.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from ..content.index import Group, Snapshot
from ..content.select import DIGEST_DAYS, Spec
from ..render import compose, urls
from ..render.cache import feed_key
from ..render.page import FeedPage, Site
from . import current, discovery


class Target(NamedTuple):
    """What a feed URL names: a plain group, or a composed feed and the groups it uses."""

    group: Group | None
    feed: compose.Feed | None
    bases: tuple[Group, ...]


class BadFeed(Exception):
    """A feed URL that names nothing: ``status`` 404 or 400, and why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def feed_target(
    snapshot: Snapshot, route: urls.Route, values: Mapping[str, str], query: Mapping[str, Any]
) -> Target:
    """The feed a route's path values and query name (raises :class:`BadFeed`).

    One topic, one provider or everything with no filter is the plain group, as
    before; anything else is a composed feed in canonical form (topics resolved to
    their slugs, sorted, each once), whose path may differ from the one requested.
    """
    terms = values["slug"].split("+") if values.get("slug") else []
    if len(terms) > urls.MAX_TERMS:
        raise BadFeed(400, f"A feed may combine at most {urls.MAX_TERMS} topics.")
    topics = []
    for term in terms:
        topic = snapshot.group("topic", term)
        moved = snapshot.moved_topic(term) if topic is None and len(terms) > 1 else None
        if moved is not None:
            topic = snapshot.group("topic", moved)  # a union's canonical path is a 301
        if topic is None:
            raise BadFeed(404, "No such topic.")
        topics.append(topic)
    provider = None
    if "domain" in values:
        provider = snapshot.group("provider", values["domain"])
        if provider is None:
            raise BadFeed(404, "No such provider.")
    digest = route in urls.DIGESTS
    filtered = any(query.get(name, default) != default for name, default in _FILTER_DEFAULTS)
    if not digest and not filtered and len(terms) <= 1 and not (terms and provider):
        group = topics[0] if topics else provider or snapshot.everything
        return Target(group, None, (group,))
    spec = Spec(
        topics=tuple(sorted({topic.slug for topic in topics})),
        provider=provider.slug if provider is not None else None,
        min_quality=query.get("min_quality"),
        min_heat=query.get("min_heat"),
        words=query.get("q", ()),
        exclude=query.get("exclude", ()),
    )
    bases = compose.bases(snapshot, spec)
    assert bases is not None  # every group was found above
    return Target(None, compose.Feed(spec, digest), bases)


_FILTER_DEFAULTS = tuple((param.name, param.default) for param in urls.FILTERS)


def today(config: Mapping) -> date:
    """The current UTC date, from the app's clock (``CLOCK`` in tests)."""
    return datetime.fromtimestamp(config.get("CLOCK", time.time)(), UTC).date()


def page_of(
    target: Target, fmt: str, site: Site, query: Mapping[str, Any], day: date
) -> tuple[tuple, Callable[[], FeedPage]]:
    """The key of one page of a composed feed, and how to make the page (selects articles)."""
    feed = target.feed
    assert feed is not None
    # Composed feeds are not WebSub topics (see feedsvc.websub.topics): they name no hub.
    site = replace(site, hubs=())
    if feed.digest:
        limit, number = DIGEST_DAYS, 1
    else:
        limit, number = query["limit"], query["page"]
    version = max(group.version for group in target.bases)
    key = ("composed", compose.slug_of(feed, day), version, fmt, limit, number, site)

    def make() -> FeedPage:
        group = compose.compose(
            current.store().snapshot,
            feed,
            limit * number + 1,
            site.title,
            site.base_url,
            day,
            current.items(),
        )
        assert group is not None
        return FeedPage(site, group, fmt, limit, number)

    return key, make


def cached_key(
    snapshot: Snapshot,
    route: urls.Route,
    values: Mapping[str, str],
    query: Mapping[str, Any],
    site: Site,
    config: Mapping,
    path: str,
) -> tuple[tuple, tuple] | None:
    """The render-cache key of the feed at ``path`` and its WebSub Link headers, if it
    can be answered from the cache as it is (the fast path's question); None leaves
    it to Flask."""
    try:
        target = feed_target(snapshot, route, values, query)
    except BadFeed:
        return None
    fmt = values["fmt"]
    if target.group is not None:
        page = FeedPage.of_query(site, target.group, fmt, query)
        return (feed_key(page), discovery.discovery_links(page)) if page.exists else None
    assert target.feed is not None
    if target.feed.path(fmt) != path:
        return None  # Flask's 301
    # A cached composed page existed when it was rendered, and its key names the
    # versions of every group it was made from.
    return page_of(target, fmt, site, query, today(config))[0], ()
