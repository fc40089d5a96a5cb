"""The current app's state, for views and pages: store, caches, site settings.

Everything here is per app (``app.extensions``), set up by each owner's ``init_app``;
this module only looks it up, so views and pages need not know each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, current_app, redirect, request

from ..content.index import Group, Snapshot
from ..content.store import Store
from ..render import urls
from ..render.cache import RenderCache
from ..render.items import ItemCache
from ..render.page import Site
from . import discovery, origin


def store() -> Store:
    return current_app.extensions["feedsvc.store"]


def render_cache() -> RenderCache:
    return current_app.extensions["feedsvc.render_cache"]


def items() -> ItemCache:
    return current_app.extensions["feedsvc.items"]


def site() -> Site:
    """The site settings, with the request's canonical base URL (see :mod:`.origin`)."""
    return site_of(current_app.config, origin.base_url())


def site_of(config: Mapping, base_url: str) -> Site:
    return Site(
        config["TITLE"],
        config["DESCRIPTION"],
        config["LANGUAGE"],
        base_url,
        discovery.hubs_of(config),
        config["MAX_AGE"],
    )


def group_or_404(kind: str, slug: str) -> Group:
    """The group, a 301 to where a topic's slug moved, or a 404."""
    snapshot = store().snapshot
    group = snapshot.group(kind, slug)
    if group is None:
        redirect_moved_topic(snapshot, kind, slug)
        abort(404, f"No such {kind}.")
    return group


def redirect_moved_topic(snapshot: Snapshot, kind: str, slug: str) -> None:
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
