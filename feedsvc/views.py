"""HTTP routes for the feeds: one view for every grouping and format.

The format is part of the URL and checked by routing, so an unknown one is a 404
before any view code runs. Caching and CORS headers are set in one place,
:func:`feed_response`, and only on success.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, g, request
from werkzeug.datastructures import MultiDict

from . import feeds, negotiation, pages
from .cache import RenderCache, Rendered
from .feeds import DEFAULT_LIMIT, MAX_LIMIT, FeedPage, Site
from .store import Group, Store

bp = Blueprint("feeds", __name__)

FMT = "<any(rss, atom, json):fmt>"
_NUMBER = re.compile(r"[0-9]{1,6}")


def site() -> Site:
    config = current_app.config
    return Site(
        title=config["TITLE"],
        description=config["DESCRIPTION"],
        language=config["LANGUAGE"],
        base_url=config["BASE_URL"] or request.host_url.rstrip("/"),
    )


def store() -> Store:
    return current_app.extensions["feedsvc.store"]


def render_cache() -> RenderCache:
    return current_app.extensions["feedsvc.render_cache"]


def int_param(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    """A whole number from the query string in [low, high], or a 400 that says why."""
    values = args.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        abort(400, f"'{name}' may be given only once")
    if not _NUMBER.fullmatch(values[0]) or not low <= int(values[0]) <= high:
        abort(400, f"'{name}' must be a whole number from {low} to {high}")
    return int(values[0])


@bp.get(f"/feed.{FMT}")
def everything(fmt: str) -> Response:
    return feed_response(store().snapshot.everything, fmt)


@bp.get(f"/topics/<slug>/feed.{FMT}")
def topic(slug: str, fmt: str) -> Response:
    group = store().snapshot.group("topic", slug)
    if group is None:
        abort(404, "No such topic.")
    return feed_response(group, fmt)


@bp.get(f"/providers/<domain>/feed.{FMT}")
def provider(domain: str, fmt: str) -> Response:
    group = store().snapshot.group("provider", domain)
    if group is None:
        abort(404, "No such provider.")
    return feed_response(group, fmt)


def feed_response(group: Group, fmt: str) -> Response:
    limit = int_param(request.args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    number = int_param(request.args, "page", 1, 1, 100_000)
    page = FeedPage(site(), group, fmt, limit, number)
    if not page.exists:
        abort(404, "No such page of this feed.")
    if negotiation.wants_page(request):
        return negotiation.vary(pages.feed_in_browser(page))
    key = (group.kind, group.slug, group.version, fmt, limit, number, page.site)
    rendered, hit = render_cache().get(key, lambda: _render(page))
    g.cache_outcome = "hit" if hit else "miss"  # for the request log and metrics
    return negotiation.vary(send(rendered))


def _render(page: FeedPage) -> Rendered:
    fmt = feeds.FORMATS[page.fmt]
    return Rendered.make(fmt.render(page), page.group.updated, fmt.mimetype)


def send(rendered: Rendered) -> Response:
    """The cached bytes, gzipped if the client takes it, with validators and caching headers."""
    config = current_app.config
    use_gzip = request.accept_encodings["gzip"] > 0
    body = rendered.gzipped if use_gzip else rendered.body
    response = Response(body, content_type=rendered.mimetype)
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    # The two encodings are different representations, so each gets its own strong tag.
    response.set_etag(rendered.etag + ("-gz" if use_gzip else ""))
    response.last_modified = rendered.last_modified
    response.vary.add("Accept-Encoding")
    response.cache_control.public = True
    response.cache_control.max_age = config["MAX_AGE"]
    response.cache_control.stale_while_revalidate = config["STALE_WHILE_REVALIDATE"]
    response.cache_control.stale_if_error = config["STALE_IF_ERROR"]
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified"
    return response.make_conditional(request)


@bp.after_request
def allow_cross_origin_preflight(response: Response) -> Response:
    """Browsers ask before a cross-origin conditional GET; feeds are public, so say yes."""
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
