"""HTTP routes for the feeds: one view for every grouping and format.

The format is part of the URL and checked by routing, so an unknown one is a 404
before any view code runs. Caching and CORS headers are set in one place,
:func:`feedsvc.web.responses.send`, and only on success.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, redirect, request

from ..content.index import Group, Snapshot
from ..content.store import Store
from ..render import feeds, urls
from ..render.cache import RenderCache, Rendered
from ..render.feeds import FeedPage, Site
from . import limits, negotiation, origin, pages, routing
from .responses import send

bp = Blueprint("feeds", __name__)


def site() -> Site:
    return site_of(current_app.config, origin.base_url())


def site_of(config: Mapping[str, Any], base_url: str) -> Site:
    return Site(
        config["TITLE"], config["DESCRIPTION"], config["LANGUAGE"], base_url, config["MAX_AGE"]
    )


def cache_key(page: FeedPage) -> tuple:
    """What a rendered feed's bytes depend on (the fast path looks entries up by it too)."""
    group = page.group
    return (group.kind, group.slug, group.version, page.fmt, page.limit, page.page, page.site)


def feed_group(snapshot: Snapshot, route: urls.Route, values: dict) -> Group | None:
    """The group a feed route's values name, or None."""
    return snapshot.group(route.group_kind or "", values.get(route.group_slot or "", ""))


def feed_page(group: Group, fmt: str, site: Site, query: Mapping[str, Any]) -> FeedPage:
    return FeedPage(site, group, fmt, query["limit"], query["page"])


def store() -> Store:
    return current_app.extensions["feedsvc.store"]


def render_cache() -> RenderCache:
    return current_app.extensions["feedsvc.render_cache"]


def group_or_404(kind: str, slug: str) -> Group:
    """The group, a 301 to where a topic's slug moved, or a 404."""
    snapshot = store().snapshot
    group = snapshot.group(kind, slug)
    if group is None:
        _redirect_moved_topic(snapshot, kind, slug)
        abort(404, f"No such {kind}.")
    return group


def _redirect_moved_topic(snapshot: Snapshot, kind: str, slug: str) -> None:
    """A 301 to the same page or feed of a topic under its slug, if ``slug`` is one it had."""
    moved = snapshot.moved_topic(slug) if kind == "topic" else None
    route = urls.route_of(request.url_rule.rule if request.url_rule else None)
    if moved is None or route is None or route.group_slot is None:
        return
    path = route.path(**{**(request.view_args or {}), route.group_slot: moved})
    query = request.environ.get("QUERY_STRING", "")  # canonical already (routing.py)
    response = redirect(request.script_root + path + (f"?{query}" if query else ""), 301)
    # Cross-origin readers (embed.js) may follow it only if it says they may.
    response.headers["Access-Control-Allow-Origin"] = "*"
    abort(response)


# Until the store is loaded there is nothing true to say about any feed or page.
LOADING_RETRY_AFTER = 5
_NO_STORE_NEEDED = frozenset({"pages.asset", "pages.site_image"})


@bp.before_app_request
def wait_for_the_store() -> None:
    if request.blueprint not in ("feeds", "pages") or request.endpoint in _NO_STORE_NEEDED:
        return
    if not store().ready:
        response = Response("503 Service Unavailable: the store is loading.\n", 503)
        response.mimetype = "text/plain"
        response.retry_after = LOADING_RETRY_AFTER
        response.cache_control.no_store = True
        abort(response)


def _feed_view(route: urls.Route) -> Callable[..., Response]:
    def view(fmt: str, **values: str) -> Response:
        snapshot = store().snapshot
        group = feed_group(snapshot, route, values)
        if group is None:
            _redirect_moved_topic(snapshot, route.group_kind or "", values.get("slug", ""))
            abort(404, f"No such {route.group_kind}.")
        return feed_response(group, fmt)

    view.__name__ = route.endpoint.partition(".")[2]
    return view


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
    return Rendered.make(fmt.render(page), None, fmt.mimetype)  # the store's date


for _route in urls.FEEDS.values():
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
