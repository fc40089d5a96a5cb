"""HTTP routes for the feeds: one view for every grouping and format.

The format is part of the URL and checked by routing, so an unknown one is a 404
before any view code runs. Caching and CORS headers are set in one place,
:func:`feedsvc.web.responses.send`, and only on success.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, g, request

from ..content.index import Group
from ..render import feeds, urls
from ..render.cache import Rendered, feed_key
from ..render.items import ItemCache
from ..render.page import FeedPage
from . import current, discovery, limits, negotiation, pages, routing
from .responses import send

bp = Blueprint("feeds", __name__)


def _feed_view(route: urls.Route) -> Callable[..., Response]:
    def view(fmt: str, **values: str) -> Response:
        snapshot = current.store().snapshot
        group = route.group_in(snapshot, values)
        if group is None:
            slug = values.get(route.group_slot or "", "")
            current.redirect_moved_topic(snapshot, route.group_kind or "", slug)
            abort(404, f"No such {route.group_kind}.")
        return feed_response(group, fmt)

    view.__name__ = route.endpoint.partition(".")[2]
    return view


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
