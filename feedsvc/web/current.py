"""The current app's state, for views and pages: store, caches, site settings.

Everything here is per app (``app.extensions``), set up by each owner's ``init_app``;
this module only looks it up, so views and pages need not know each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, current_app, request

from ..content.index import Group
from ..content.store import Store
from ..render.cache import RenderCache
from ..render.items import ItemCache
from ..render.page import Site


def store() -> Store:
    return current_app.extensions["feedsvc.store"]


def render_cache() -> RenderCache:
    return current_app.extensions["feedsvc.render_cache"]


def items() -> ItemCache:
    return current_app.extensions["feedsvc.items"]


def site() -> Site:
    """The site settings, with the base URL from BASE_URL or else the request's host."""
    config = current_app.config
    return site_of(config, config["BASE_URL"] or request.host_url.rstrip("/"))


def site_of(config: Mapping, base_url: str) -> Site:
    return Site(config["TITLE"], config["DESCRIPTION"], config["LANGUAGE"], base_url)


def group_or_404(kind: str, slug: str) -> Group:
    group = store().snapshot.group(kind, slug)
    if group is None:
        abort(404, f"No such {kind}.")
    return group
