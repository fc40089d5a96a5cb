"""The URL table on the Flask side: rules registered from it, the query read once.

Every route of :mod:`feedsvc.render.urls` is added with :func:`add`, and its query
string is read by :func:`read_query` before the view runs: a malformed value is a
400 that says why, any other spelling than the canonical one a 301 there. Views
take the values from :func:`query`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, abort, g, redirect, request

from ..render import urls


def add(bp: Blueprint, route: urls.Route, view: Callable) -> None:
    """Register ``route``'s rule on ``bp`` (its endpoint is ``bp.name`` + "." + the view's)."""
    blueprint, _, endpoint = route.endpoint.partition(".")
    assert blueprint == bp.name, f"{route.endpoint} belongs to another blueprint"
    # A blueprint's rule takes no defaults=None, so the keyword is left out instead.
    options: dict[str, Any] = {"defaults": dict(route.defaults)} if route.defaults else {}
    bp.add_url_rule(route.rule, endpoint, view, methods=["GET"], **options)


def read_query() -> None:
    rule = request.url_rule
    route = urls.route_of(None if rule is None else rule.rule)
    if route is None:
        return
    parsed = route.query.read(request.environ.get("QUERY_STRING", ""))
    if parsed.error is not None:
        abort(400, parsed.error)
    if parsed.canonical is not None:
        location = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=~")
        if parsed.canonical:
            location += "?" + parsed.canonical
        response = redirect(location, 301)
        # Cross-origin readers (embed.js) may follow it only if it says they may.
        response.headers["Access-Control-Allow-Origin"] = "*"
        abort(response)
    g.query = parsed.values


def query() -> Mapping[str, Any]:
    """The current request's query values, defaults filled in."""
    return g.query


def init_app(app: Flask) -> None:
    app.before_request(read_query)
