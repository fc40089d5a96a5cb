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

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from ..content.index import Group
from ..render import feeds, urls
from ..render.cache import Rendered, feed_key
from ..render.items import ItemCache
from ..render.page import FeedPage
from . import composed, current, discovery, limits, negotiation, pages, routing
from .responses import send

bp = Blueprint("feeds", __name__)


def _feed_view(route: urls.Route) -> Callable[..., BaseResponse]:
    def view(fmt: str, **values: str) -> BaseResponse:
        query = routing.query()
        try:
            target = composed.feed_target(current.store().snapshot, route, values, query)
        except composed.BadFeed as bad:
            if bad.status == 404 and route.group_kind == "topic":
                # A slug an earlier rule gave a topic still reaches it.
                current.redirect_moved_topic(
                    current.store().snapshot, "topic", values.get(route.group_slot or "", "")
                )
            abort(bad.status, str(bad))
        if target.group is not None:
            return feed_response(target.group, fmt)
        return composed_response(target, route, fmt, query)

    view.__name__ = route.endpoint.partition(".")[2]
    return view


def composed_response(
    target: composed.Target, route: urls.Route, fmt: str, query: Mapping[str, Any]
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
    key, make = composed.page_of(
        target, fmt, current.site(), query, composed.today(current_app.config)
    )
    if negotiation.wants_page(request.environ):
        return pages.feed_in_browser(_existing(make()))
    limits.check_poll()
    # Every distinct filter value is a render the cache cannot absorb: a miss is
    # charged to the client's render budget (a 429 past it), as any feed's is.
    rendered, hit = limits.cached(key, lambda: render(_existing(make()), current.items()))
    g.cache_outcome = "hit" if hit else "miss"
    return send(rendered)


def _existing(page: FeedPage) -> FeedPage:
    if not page.exists:
        abort(404, "No such page of this feed.")
    return page


def feed_response(group: Group, fmt: str) -> Response:
    page = FeedPage.of_query(current.site(), group, fmt, routing.query())
    if not page.exists:
        abort(404, "No such page of this feed.")
    if negotiation.wants_page(request.environ):
        return pages.feed_in_browser(page)
    limits.check_poll()
    rendered, hit = limits.cached(feed_key(page), lambda: render(page, current.items()))
    g.cache_outcome = "hit" if hit else "miss"  # for the request log and metrics
    # Its Vary already names what negotiation looks at.
    return send(rendered, discovery.discovery_links(page))


def render(page: FeedPage, items: ItemCache) -> Rendered:
    """A feed page's bytes as the cache keeps them (WebSub renders topics with it too,
    outside any request, so the item cache is given)."""
    fmt = feeds.FORMATS[page.fmt]
    # No date of its own: a feed answers the store's (Store.last_modified).
    return Rendered.make(fmt.render(page, items), None, fmt.mimetype)


# Until the store is loaded there is nothing true to say about any feed or page.
LOADING_RETRY_AFTER = 5
_NO_STORE_NEEDED = frozenset({"pages.asset", "pages.site_image"})


@bp.before_app_request
def wait_for_the_store() -> None:
    if request.blueprint not in ("feeds", "pages") or request.endpoint in _NO_STORE_NEEDED:
        return
    if not current.store().ready:
        response = Response("503 Service Unavailable: the store is loading.\n", 503)
        response.mimetype = "text/plain"
        response.retry_after = LOADING_RETRY_AFTER
        response.cache_control.no_store = True
        abort(response)


for _route in urls.FEED_ROUTES:
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
