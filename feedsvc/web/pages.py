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
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, redirect, request
from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.wrappers import Response as BaseResponse

from ..content.index import Group, Snapshot
from ..content.select import Spec
from ..render import compose, directory, paths, urls
from ..render.cache import Rendered, feed_key
from ..render.directory import FORMAT_NAMES, FORMAT_TYPES, Listing
from ..render.page import FeedPage, Site, iso_date
from . import composed, current, limits, routing
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


def group_page(kind: str, slug: str) -> BaseResponse:
    if kind == "topic" and "+" in slug:
        return composed_page(slug=slug)
    group = current.group_or_404(kind, slug)
    snapshot = current.store().snapshot
    site = current.site()
    entry = Listing(group, site)
    query = routing.query()
    built = _built(
        snapshot,
        site,
        [group] if kind == "topic" else [],
        group if kind == "provider" else None,
        query,
    )
    return _cached(
        ("group", kind, group.slug, group.version, site, urls.BUILD_QUERY.spell(query)),
        lambda: _html(
            "group.html",
            site=site,
            entry=entry,
            articles=group.articles[:GROUP_ARTICLES],
            embed_limit=EMBED_DEFAULT,
            form=_form(snapshot, group),
            built=built,
            query=query,
        ),
        None,
        HTML,
    )


FORM_CHOICES = 40  # topics or providers offered in a form's menus, the most used first


@dataclass(frozen=True, slots=True)
class Built:
    """A feed the page's form composed: its title, URLs and snippets' paths."""

    title: str
    urls: dict[str, str]
    json_path: str
    page_url: str


def _built(
    snapshot: Snapshot,
    site: Site,
    topics: list[Group],
    provider: Group | None,
    query: Mapping[str, Any],
) -> Built | None:
    """What the form's values compose with the page's own topics or provider, if any."""
    if all(query.get(param.name) == param.default for param in urls.BUILD_QUERY.params):
        return None
    topics = list(topics)
    if query["topic"] is not None:
        topic = snapshot.group("topic", query["topic"])
        if topic is None:
            abort(404, "No such topic.")
        topics.append(topic)
    if query["provider"] is not None:
        if provider is not None:
            abort(400, "This page is one provider's already: 'provider' cannot be added.")
        provider = snapshot.group("provider", query["provider"])
        if provider is None:
            abort(404, "No such provider.")
    if len(topics) > urls.MAX_TERMS:
        abort(400, f"A feed may combine at most {urls.MAX_TERMS} topics.")
    spec = Spec(
        topics=tuple(sorted({topic.slug for topic in topics})),
        provider=provider.slug if provider is not None else None,
        min_quality=query["min_quality"],
        min_heat=query["min_heat"],
        words=query["q"],
        exclude=query["exclude"],
    )
    feed = compose.Feed(spec, query["digest"])
    name = compose.title(snapshot, feed)
    return Built(
        title=f"{site.title}: {name}" if name else site.title,
        urls={fmt: site.base_url + feed.url(fmt) for fmt in urls.FORMATS},
        json_path=feed.url("json"),
        page_url=site.base_url + feed.home_path,
    )


def _form(snapshot: Snapshot, group: Group) -> dict[str, list[Group]]:
    """The menus of a page's form: the topics and providers its articles share most."""
    topics: Counter[str] = Counter()
    providers: Counter[str] = Counter()
    for article in group.articles:
        topics.update(article.topics)
        if article.provider is not None and article.provider.domain:
            providers[article.provider.domain] += 1
    menus: dict[str, list[Group]] = {}
    if group.kind == "topic":
        names = [snapshot.group("topic", name) for name, _ in topics.most_common(FORM_CHOICES + 1)]
        menus["topic"] = [g for g in names if g is not None and g.slug != group.slug][:FORM_CHOICES]
        menus["provider"] = [
            snapshot.providers[domain] for domain, _ in providers.most_common(FORM_CHOICES)
        ]
    else:
        names = [snapshot.group("topic", name) for name, _ in topics.most_common(FORM_CHOICES)]
        menus["topic"] = [g for g in names if g is not None]
    return menus


def topic_provider_page(slug: str, domain: str) -> BaseResponse:
    return composed_page(slug=slug, domain=domain)


def composed_page(**values: str) -> BaseResponse:
    """The page of a union of topics, or of topics within a provider: its newest
    articles and subscribe snippets, like a topic's page."""
    snapshot = current.store().snapshot
    route = urls.TOPIC_PROVIDER_FEED if "domain" in values else urls.TOPIC_FEED
    try:
        target = composed.feed_target(snapshot, route, {**values, "fmt": "rss"}, {})
    except composed.BadFeed as bad:
        abort(bad.status, str(bad))
    if target.feed is not None:
        home = target.feed.home_path
    else:
        assert target.group is not None
        home = urls.group_path(target.group)  # a "union" of one topic
    query = routing.query()
    spelled = urls.BUILD_QUERY.spell(query)
    if request.path != home:
        return redirect(request.script_root + home + (f"?{spelled}" if spelled else ""), 301)
    feed = target.feed
    assert feed is not None
    site = current.site()
    version = max(group.version for group in target.bases)
    topics = [snapshot.topics[slug] for slug in feed.spec.topics]
    provider = snapshot.providers[feed.spec.provider] if feed.spec.provider else None
    built = _built(snapshot, site, topics, provider, query)

    def build() -> bytes:
        # Every match, for the count; cached until a group it draws from changes.
        need = len(snapshot.articles)
        group = compose.compose(
            snapshot, feed, need, site.title, site.base_url, date.min, current.items()
        )
        assert group is not None
        return _html(
            "group.html",
            site=site,
            entry=Listing(group, site),
            articles=group.articles[:GROUP_ARTICLES],
            embed_limit=EMBED_DEFAULT,
            form=None,
            built=built,
        )

    updated = max(group.updated for group in target.bases)
    return _cached(("composed", feed.key, version, site, spelled), build, updated, HTML)


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
    (urls.TOPIC_PROVIDER_PAGE, topic_provider_page),
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
