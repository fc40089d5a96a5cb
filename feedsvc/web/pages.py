"""HTML pages, the directory documents and the embed assets.

``/`` lists every feed; ``/topics/<slug>/`` and ``/providers/<domain>/`` show one
feed's newest articles with its subscribe URLs and embed snippets; ``…/embed`` is
the same list for an iframe; ``/catalog.json`` and ``/feeds.opml`` list every feed
for programs; ``/embed.js`` is the script that embeds a feed in another site.

Everything goes through the feeds' render cache and :func:`feedsvc.web.responses.send`, so
pages get the same ETag, Last-Modified, Cache-Control, gzip and 304s as feeds.
Templates hold no inline script or style, so the pages work under a CSP of
``script-src 'self'; style-src 'self'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterator
from datetime import UTC, datetime
from importlib import resources

from flask import Blueprint, Flask, Response, abort, current_app
from jinja2 import Environment, PackageLoader, select_autoescape

from ..content.index import Snapshot
from ..render import directory, paths, urls
from ..render.cache import Rendered, feed_key
from ..render.directory import FORMAT_NAMES, FORMAT_TYPES, Listing
from ..render.page import FeedPage, Site, iso_date
from . import current, limits, routing
from .responses import send

bp = Blueprint("pages", __name__)

HOME_ARTICLES = 12
GROUP_ARTICLES = 20
FEED_VIEW_ARTICLES = 10
EMBED_DEFAULT = urls.EMBED_QUERY.defaults["limit"]
HTML = "text/html; charset=utf-8"
# Served by our own routes rather than Flask's static view, so they get the same
# caching headers and gzip as everything else.
MIMETYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

# Month names spelled here, not by strftime, which follows the process locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(value: datetime) -> str:
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def templates() -> Environment:
    """The Jinja environment of the pages: autoescaped, every link from the URL table."""
    env = Environment(
        loader=PackageLoader("feedsvc.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = _day
    env.filters["iso"] = iso_date
    env.globals.update(FORMAT_NAMES=FORMAT_NAMES, FORMAT_TYPES=FORMAT_TYPES, url=urls)
    return env


def _cached(
    key: tuple[Hashable, ...], build: Callable[[], bytes], updated: datetime | None, mimetype: str
) -> Response:
    """Cached bytes; ``updated`` None for what is made from the store (its date is the store's)."""
    rendered, _ = limits.cached(("pages", *key), lambda: Rendered.make(build(), updated, mimetype))
    return send(rendered)


def _html(template: str, **context: object) -> bytes:
    env: Environment = current_app.extensions["feedsvc.templates"]
    return env.get_template(template).render(**context).encode("utf-8")


def home() -> Response:
    return _directory(
        "home",
        lambda snapshot, site: _html(
            "home.html",
            site=site,
            main=Listing(snapshot.everything, site),
            topics=directory.topics(snapshot, site),
            providers=directory.providers(snapshot, site),
            articles=snapshot.articles[:HOME_ARTICLES],
        ),
        HTML,
    )


def _directory(name: str, build: Callable[[Snapshot, Site], bytes], mimetype: str) -> Response:
    """A page about the whole store: cached per store generation and site."""
    snapshot = current.store().snapshot
    site = current.site()
    return _cached(
        (name, snapshot.generation, site),
        lambda: build(snapshot, site),
        None,
        mimetype,
    )


def group_page(kind: str, slug: str) -> Response:
    group = current.group_or_404(kind, slug)
    site = current.site()
    entry = Listing(group, site)
    return _cached(
        ("group", kind, group.slug, group.version, site),
        lambda: _html(
            "group.html",
            site=site,
            entry=entry,
            articles=group.articles[:GROUP_ARTICLES],
            embed_limit=EMBED_DEFAULT,
        ),
        None,
        HTML,
    )


def embed_page(kind: str, slug: str) -> Response:
    """The feed's newest headlines for an iframe: no script, links open a new tab."""
    group = current.group_or_404(kind, slug)
    limit = routing.query()["limit"]
    site = current.site()
    return _cached(
        ("embed", kind, group.slug, group.version, limit, site),
        lambda: _html(
            "embed.html", site=site, entry=Listing(group, site), articles=group.articles[:limit]
        ),
        None,
        HTML,
    )


def feed_in_browser(page: FeedPage) -> Response:
    """The page a person sees on opening a feed URL in a browser (see :mod:`negotiation`)."""
    group = page.group
    return _cached(
        ("feed", *feed_key(page)),
        lambda: _html(
            "feed.html",
            site=page.site,
            page=page,
            entry=Listing(group, page.site),
            articles=page.items[:FEED_VIEW_ARTICLES],
        ),
        None,
        HTML,
    )


def catalog() -> Response:
    return _directory("catalog", directory.catalog_json, "application/json; charset=utf-8")


def opml() -> Response:
    return _directory("opml", directory.opml, "text/x-opml; charset=utf-8")


def asset(name: str) -> Response:
    path = resources.files("feedsvc.web").joinpath("static", name)
    # Assets change only with a release: the file's date, and a tag from its bytes.
    updated = datetime.fromtimestamp(int(os.stat(str(path)).st_mtime), UTC)
    mimetype = MIMETYPES[os.path.splitext(name)[1]]
    return _cached(("asset", name, updated), path.read_bytes, updated, mimetype)


# The site's icon and logo: the configured file, else the shipped one.
SITE_IMAGES = {"favicon.ico": "ICON", "logo.png": "LOGO"}


def site_image(image: str) -> Response:
    setting = SITE_IMAGES[image]
    path = current_app.config[setting] or str(resources.files("feedsvc.web") / "static" / image)
    try:
        updated = datetime.fromtimestamp(int(os.stat(path).st_mtime), UTC)
        with open(path, "rb") as handle:
            body = handle.read()
    except OSError:
        abort(404, f"The {setting.lower()} file is not readable.")
    mimetype = "image/png" if body.startswith(b"\x89PNG") else "image/x-icon"
    return _cached(("image", image, path, updated), lambda: body, updated, mimetype)


for _route, _view in (
    (urls.HOME, home),
    (urls.TOPIC_PAGE, group_page),
    (urls.PROVIDER_PAGE, group_page),
    (urls.TOPIC_EMBED, embed_page),
    (urls.PROVIDER_EMBED, embed_page),
    (urls.CATALOG, catalog),
    (urls.OPML, opml),
    (urls.ASSET, asset),
    (urls.SITE_IMAGE, site_image),
):
    routing.add(bp, _route, _view)


def page_paths(snapshot: Snapshot) -> Iterator[str]:
    yield urls.HOME.path()
    yield urls.CATALOG.path()
    yield urls.OPML.path()
    yield from (urls.ASSET.path(name=name) for name in urls.ASSETS)
    yield from (urls.SITE_IMAGE.path(image=image) for image in urls.SITE_IMAGES)
    for group in (*snapshot.topics.values(), *snapshot.providers.values()):
        yield urls.group_path(group)
        yield urls.embed_path(group)


def init_app(app: Flask) -> None:
    app.extensions["feedsvc.templates"] = templates()
    app.register_blueprint(bp)
    paths.register(app, page_paths)
