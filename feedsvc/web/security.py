"""Security headers for every response, set in one place.

Feeds and JSON are data, but a browser can still be talked into sniffing them as
HTML, so ``nosniff`` goes on everything. HTML pages get a Content-Security-Policy
that loads nothing but the site's own scripts and styles (article images may come
from anywhere) and may not be framed; embed pages exist to be framed by other
sites, so they keep the policy without the framing rules.
"""

from __future__ import annotations

from flask import Flask, Response, request

from ..render import urls

CSP = (
    "default-src 'none'; img-src https: http: data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'"
)
FRAME_ANCESTORS = "frame-ancestors 'none'"
# On every response, in this order (the fast path below Flask adds them as they are).
ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)


def is_framed() -> bool:
    """Whether the current request's route is a page made to be framed (the URL table says)."""
    rule = request.url_rule
    route = urls.route_of(None if rule is None else rule.rule)
    return route is not None and route.framed


def add_headers(response: Response) -> Response:
    headers = response.headers
    for name, value in ALWAYS:
        headers.setdefault(name, value)
    if response.mimetype == "text/html":
        if is_framed():
            headers["Content-Security-Policy"] = CSP
            headers.pop("X-Frame-Options", None)
        else:
            headers["Content-Security-Policy"] = f"{CSP}; {FRAME_ANCESTORS}"
            headers["X-Frame-Options"] = "DENY"
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
