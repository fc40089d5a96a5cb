"""Cached bytes to HTTP responses: validators, caching and CORS headers, set in one place.

Both the Flask views and the fast path build a feed's headers with
:func:`validator_headers`, so the two answer header for header alike. Headers are
set only on success: errors carry none of them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime

from flask import Flask, Response, current_app, request
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import http_date, parse_accept_header, quote_etag

from ..render.cache import Rendered
from . import negotiation

# The request headers make_conditional acts on (RFC 9110 preconditions and ranges).
CONDITIONAL = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
)


def send(rendered: Rendered) -> Response:
    """The cached bytes, gzipped if the client takes it, with validators and caching headers."""
    environ = request.environ
    use_gzip = takes_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
    body = rendered.gzipped if use_gzip else rendered.body
    headers = list(validator_headers(rendered, use_gzip, fixed_headers(current_app)))
    if not any(name in environ for name in CONDITIONAL):
        # Nothing to compare: make_conditional would only add the Date header.
        headers.append(("Date", http_date()))
        return Response(body, headers=headers, content_type=rendered.mimetype)
    response = Response(body, headers=headers, content_type=rendered.mimetype)
    response.make_conditional(request)  # in place
    return response


def validator_headers(rendered: Rendered, use_gzip: bool, fixed: tuple) -> tuple:
    """The headers of a cached entry before Date, in order.

    Built as strings once per setting: werkzeug's cache_control and last_modified
    setters re-parse and re-serialise the header on every assignment.
    """
    encoding = (("Content-Encoding", "gzip"),) if use_gzip else ()
    # The two encodings are different representations, so each gets its own strong tag.
    etag = ("ETag", quote_etag(rendered.etag + ("-gz" if use_gzip else "")))
    last_modified = ("Last-Modified", _http_date(rendered.last_modified))
    return (*encoding, etag, last_modified, *fixed)


def _fixed(config: Mapping) -> tuple[tuple[str, str], ...]:
    control = ResponseCacheControl()
    control.public = True
    control.max_age = config["MAX_AGE"]
    control.stale_while_revalidate = config["STALE_WHILE_REVALIDATE"]
    control.stale_if_error = config["STALE_IF_ERROR"]
    return (
        # Feed URLs answer a page or the feed by these headers (negotiation.py).
        ("Vary", ", ".join(("Accept-Encoding", *negotiation.VARY))),
        ("Cache-Control", control.to_header()),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "ETag, Last-Modified"),
    )


def fixed_headers(app: Flask) -> tuple[tuple[str, str], ...]:
    """The headers every cached response of ``app`` carries, from its settings."""
    return app.extensions["feedsvc.fixed_headers"]


@functools.lru_cache(maxsize=256)
def takes_gzip(accept_encoding: str) -> bool:
    """Whether a client's Accept-Encoding takes gzip (clients send a handful of values)."""
    return parse_accept_header(accept_encoding)["gzip"] > 0


@functools.lru_cache(maxsize=4096)
def _http_date(value: datetime) -> str:
    return http_date(value)


def init_app(app: Flask) -> None:
    app.extensions["feedsvc.fixed_headers"] = _fixed(app.config)
