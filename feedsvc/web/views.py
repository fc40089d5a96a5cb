"""HTTP routes for the feeds: one view for every grouping and format.

The format is part of the URL and checked by routing, so an unknown one is a 404
before any view code runs. Caching and CORS headers are set in one place,
:func:`feed_response`, and only on success.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime

from flask import Blueprint, Response, abort, current_app, g, redirect, request
from werkzeug.datastructures import MultiDict, ResponseCacheControl
from werkzeug.http import http_date, parse_accept_header, quote_etag

from ..content.index import Group
from ..content.store import Store
from ..render import feeds
from ..render.cache import RenderCache, Rendered
from ..render.feeds import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, FeedPage, Site
from . import negotiation, pages

bp = Blueprint("feeds", __name__)

FMT = "<any(rss, atom, json):fmt>"
_NUMBER = re.compile(r"[0-9]{1,6}")


def site() -> Site:
    config = current_app.config
    return site_of(config, config["BASE_URL"] or request.host_url.rstrip("/"))


def site_of(config, base_url: str) -> Site:
    return Site(
        config["TITLE"], config["DESCRIPTION"], config["LANGUAGE"], base_url, config["MAX_AGE"]
    )


def cache_key(group: Group, fmt: str, limit: int, number: int, site: Site) -> tuple:
    """What a rendered feed's bytes depend on (fastpath.py looks entries up by it too)."""
    return (group.kind, group.slug, group.version, fmt, limit, number, site)


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
    return feed_response(group_or_404("topic", slug), fmt)


@bp.get(f"/providers/<domain>/feed.{FMT}")
def provider(domain: str, fmt: str) -> Response:
    return feed_response(group_or_404("provider", domain), fmt)


def group_or_404(kind: str, slug: str) -> Group:
    """The group, a 301 to where a topic's slug moved, or a 404."""
    snapshot = store().snapshot
    group = snapshot.group(kind, slug)
    if group is None:
        moved = snapshot.moved_topic(slug) if kind == "topic" else None
        if moved is not None:
            # Same page or feed, same query, under the topic's slug.
            path = request.path.replace(f"/topics/{slug}/", f"/topics/{moved}/", 1)
            query = request.query_string.decode()
            abort(redirect(request.script_root + path + (f"?{query}" if query else ""), 301))
        abort(404, f"No such {kind}.")
    return group


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


def feed_response(group: Group, fmt: str) -> Response:
    limit = int_param(request.args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    number = int_param(request.args, "page", 1, 1, MAX_PAGE)
    page = FeedPage(site(), group, fmt, limit, number)
    if not page.exists:
        abort(404, "No such page of this feed.")
    if negotiation.wants_page(request.environ):
        return pages.feed_in_browser(page)
    key = cache_key(group, fmt, limit, number, page.site)
    rendered, hit = render_cache().get(key, lambda: _render(page))
    g.cache_outcome = "hit" if hit else "miss"  # for the request log and metrics
    return send(rendered)  # its Vary already names what negotiation looks at


def _render(page: FeedPage) -> Rendered:
    fmt = feeds.FORMATS[page.fmt]
    return Rendered.make(fmt.render(page), None, fmt.mimetype)


def send(rendered: Rendered) -> Response:
    """The cached bytes, gzipped if the client takes it, with validators and caching headers."""
    environ = request.environ
    use_gzip = _takes_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
    body = rendered.gzipped if use_gzip else rendered.body
    last_modified = rendered.last_modified or store().last_modified()
    headers = list(validator_headers(rendered, last_modified, use_gzip, current_app.config))
    if not any(name in environ for name in CONDITIONAL):
        # Nothing to compare: make_conditional would only add the Date header.
        headers.append(("Date", http_date()))
        return Response(body, headers=headers, content_type=rendered.mimetype)
    response = Response(body, headers=headers, content_type=rendered.mimetype)
    return response.make_conditional(request)


def validator_headers(
    rendered: Rendered, last_modified: datetime, use_gzip: bool, config: Mapping
) -> tuple:
    """The headers of a cached feed before Date, in order (fastpath.py uses them too).

    ``last_modified`` is the store's (see Store.last_modified) for everything made
    from it: any change to the store moves it, so a client that sends only
    If-Modified-Since sees every change; the ETag is the feed's own.

    Strings made once: werkzeug's cache_control and last_modified setters re-parse and
    re-serialise the header on every assignment, which was half the cost of answering
    from the cache.
    """
    encoding = (("Content-Encoding", "gzip"),) if use_gzip else ()
    # The two encodings are different representations, so each gets its own strong tag.
    etag = ("ETag", quote_etag(rendered.etag + ("-gz" if use_gzip else "")))
    return (*encoding, etag, ("Last-Modified", _http_date(last_modified)), *_fixed_headers(config))


# The request headers make_conditional acts on (RFC 9110 preconditions and ranges).
CONDITIONAL = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
)


def _fixed_headers(config) -> tuple[tuple[str, str], ...]:
    """The headers every feed response carries, from the settings (made once per app)."""
    key = (
        config["MAX_AGE"],
        config["S_MAXAGE"],
        config["STALE_WHILE_REVALIDATE"],
        config["STALE_IF_ERROR"],
    )
    cached = _FIXED.get(key)
    if cached is None:
        control = ResponseCacheControl()
        control.public = True
        control.max_age = key[0]
        if key[1] < key[0]:
            control.s_maxage = key[1]
        control.stale_while_revalidate = key[2]
        control.stale_if_error = key[3]
        cached = _FIXED[key] = (
            # Feed URLs answer a page or the feed by these headers (negotiation.py).
            ("Vary", ", ".join(("Accept-Encoding", *negotiation.VARY))),
            ("Cache-Control", control.to_header()),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Expose-Headers", "ETag, Last-Modified"),
        )
    return cached


_FIXED: dict[tuple, tuple[tuple[str, str], ...]] = {}


@functools.lru_cache(maxsize=256)
def _takes_gzip(accept_encoding: str) -> bool:
    # Clients send a handful of distinct Accept-Encoding values; parse each once.
    return parse_accept_header(accept_encoding)["gzip"] > 0


@functools.lru_cache(maxsize=4096)
def _http_date(value) -> str:
    return http_date(value)


@bp.after_request
def allow_cross_origin_preflight(response: Response) -> Response:
    """Browsers ask before a cross-origin conditional GET; feeds are public, so say yes."""
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
