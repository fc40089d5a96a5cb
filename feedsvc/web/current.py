"""The current app's state, for views and pages: store, caches, site settings.

Everything here is per app (``app.extensions``), set up by each owner's ``init_app``;
this module only looks it up, so views and pages need not know each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, current_app

from ..content.index import Group
from ..content.store import Store
from ..render.cache import RenderCache
from ..render.items import ItemCache
from ..render.page import Site
from . import origin


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
    return Site(config["TITLE"], config["DESCRIPTION"], config["LANGUAGE"], base_url)


def group_or_404(kind: str, slug: str) -> Group:
    group = store().snapshot.group(kind, slug)
    if group is None:
        abort(404, f"No such {kind}.")
    return group
