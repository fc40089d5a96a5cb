"""HTTP routes for the feeds: one view for every grouping and format.

A feed URL names a plain group (everything, a topic, a provider) or a composed
feed (a union, a topic within a provider, a digest, any of them filtered): both are
rendered by the same builders and cached in the same cache, the composed ones under
their canonical form.

The format is part of the URL and checked by routing, so an unknown one is a 404
before any view code runs. Caching and CORS headers are set in one place,
:func:`feedsvc.web.responses.send`, and only on success.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from flask import Blueprint, Response, abort, current_app, g, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from ..content.index import Group, Snapshot
from ..content.select import DIGEST_DAYS, Spec
from ..content.store import Store
from ..render import compose, feeds, urls
from ..render.cache import RenderCache, Rendered
from ..render.feeds import FeedPage, Site
from . import limits, negotiation, origin, pages, routing
from .responses import send

bp = Blueprint("feeds", __name__)


def site() -> Site:
    return site_of(current_app.config, origin.base_url())


def site_of(config: Mapping[str, Any], base_url: str) -> Site:
    return Site(config["TITLE"], config["DESCRIPTION"], config["LANGUAGE"], base_url)


def cache_key(page: FeedPage) -> tuple:
    """What a rendered feed's bytes depend on (the fast path looks entries up by it too)."""
    group = page.group
    return (group.kind, group.slug, group.version, page.fmt, page.limit, page.page, page.site)


def feed_page(group: Group, fmt: str, site: Site, query: Mapping[str, Any]) -> FeedPage:
    return FeedPage(site, group, fmt, query["limit"], query["page"])


def store() -> Store:
    return current_app.extensions["feedsvc.store"]


def render_cache() -> RenderCache:
    return current_app.extensions["feedsvc.render_cache"]


def group_or_404(kind: str, slug: str) -> Group:
    group = store().snapshot.group(kind, slug)
    if group is None:
        abort(404, f"No such {kind}.")
    return group


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


def composed_page(
    target: Target, fmt: str, site: Site, query: Mapping[str, Any], day: date
) -> tuple[tuple, Callable[[], FeedPage]]:
    """The key of one page of a composed feed, and how to make the page (selects articles)."""
    feed = target.feed
    assert feed is not None
    if feed.digest:
        limit, number = DIGEST_DAYS, 1
    else:
        limit, number = query["limit"], query["page"]
    version = max(group.version for group in target.bases)
    key = ("composed", compose.slug_of(feed, day), version, fmt, limit, number, site)

    def make() -> FeedPage:
        group = compose.compose(
            store().snapshot, feed, limit * number + 1, site.title, site.base_url, day
        )
        assert group is not None
        return FeedPage(site, group, fmt, limit, number)

    return key, make


def feed_key(
    snapshot: Snapshot,
    route: urls.Route,
    values: Mapping[str, str],
    query: Mapping[str, Any],
    site: Site,
    config: Mapping,
    path: str,
) -> tuple | None:
    """The render-cache key of the feed at ``path``, if it can be answered from the
    cache as it is (the fast path's question); None leaves it to Flask."""
    try:
        target = feed_target(snapshot, route, values, query)
    except BadFeed:
        return None
    fmt = values["fmt"]
    if target.group is not None:
        page = feed_page(target.group, fmt, site, query)
        return cache_key(page) if page.exists else None
    assert target.feed is not None
    if target.feed.path(fmt) != path:
        return None  # Flask's 301
    # A cached composed page existed when it was rendered, and its key names the
    # versions of every group it was made from.
    return composed_page(target, fmt, site, query, today(config))[0]


def _feed_view(route: urls.Route) -> Callable[..., BaseResponse]:
    def view(fmt: str, **values: str) -> BaseResponse:
        query = routing.query()
        try:
            target = feed_target(store().snapshot, route, values, query)
        except BadFeed as bad:
            abort(bad.status, str(bad))
        if target.group is not None:
            return feed_response(target.group, fmt)
        return composed_response(target, route, fmt, query)

    view.__name__ = route.endpoint.partition(".")[2]
    return view


def composed_response(
    target: Target, route: urls.Route, fmt: str, query: Mapping[str, Any]
) -> BaseResponse:
    feed = target.feed
    assert feed is not None
    canonical = feed.path(fmt)
    if request.path != canonical:
        spelled = route.query.spell(query)
        response = redirect(
            request.script_root + canonical + (f"?{spelled}" if spelled else ""), 301
        )
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    key, make = composed_page(target, fmt, site(), query, today(current_app.config))
    if negotiation.wants_page(request.environ):
        return pages.feed_in_browser(_existing(make()))
    limits.check_poll()
    # Every distinct filter value is a render the cache cannot absorb: a miss is
    # charged to the client's render budget (a 429 past it), as any feed's is.
    rendered, hit = limits.cached(key, lambda: _render(_existing(make())))
    g.cache_outcome = "hit" if hit else "miss"
    return send(rendered)


def _existing(page: FeedPage) -> FeedPage:
    if not page.exists:
        abort(404, "No such page of this feed.")
    return page


def feed_response(group: Group, fmt: str) -> Response:
    page = feed_page(group, fmt, site(), routing.query())
    if not page.exists:
        abort(404, "No such page of this feed.")
    if negotiation.wants_page(request.environ):
        return pages.feed_in_browser(page)
    limits.check_poll()
    rendered, hit = limits.cached(cache_key(page), lambda: _render(page))
    g.cache_outcome = "hit" if hit else "miss"  # for the request log and metrics
    return send(rendered)  # its Vary already names what negotiation looks at


def _render(page: FeedPage) -> Rendered:
    fmt = feeds.FORMATS[page.fmt]
    return Rendered.make(fmt.render(page), page.group.updated, fmt.mimetype)


for _route in urls.FEED_ROUTES.values():
    routing.add(bp, _route, _feed_view(_route))


@bp.after_request
def allow_cross_origin_preflight(response: Response) -> Response:
    """Browsers ask before a cross-origin conditional GET; feeds are public, so say yes."""
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
