"""The URL table: every kind of URL the service answers, and its query parameters, once.

A :class:`Route` is a path template such as ``/topics/{slug}/feed.{fmt}`` with the
query it takes. From it come the Flask rule (:attr:`Route.rule`), the fast path's
matcher (:meth:`Route.match`), the paths that feeds, pages, templates and the export
link to (:meth:`Route.path`) and the route name logs and metrics use
(:attr:`Route.name`). A new kind of URL is a new Route in :data:`ROUTES`; a new
placeholder a new :class:`Slot`; a new query parameter a new :class:`Param` in a
:class:`Query`.

A query string has one canonical spelling: the declared parameters in declared
order, each once, defaults left out, values spelled by :meth:`Param.spell`. Anything
else that parses is answered with a redirect there (:attr:`Parsed.canonical`), so a
feed's self link is its location and caches keep one copy; a malformed value is an
error that says why (:attr:`Parsed.error`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import quote_plus, unquote_to_bytes

from ..content.index import Group, Snapshot
from .params import Domains, Flag, Name, Param, Size, Threshold, Whole, Words

if TYPE_CHECKING:  # compose.py builds its paths from this table
    from .compose import Composed

# Feed formats by their URL suffix; feeds.FORMATS has one builder for each.
FORMATS = ("rss", "atom", "json")
# Files served from feedsvc/web/static under the site's root.
ASSETS = ("pages.css", "pages.js", "embed.js")
# The site's icon and logo (their files are settings, with shipped defaults).
SITE_IMAGES = ("favicon.ico", "logo.png")


@dataclass(frozen=True, slots=True)
class Slot:
    """A placeholder in a path template: its Flask converter and the fast path's pattern.

    The pattern accepts only characters that need no percent-decoding, so a match is
    the value as Flask would pass it; anything else is left to Flask's routing.
    """

    converter: str  # "" for Flask's default (one path segment)
    pattern: str


def _any(names: tuple[str, ...]) -> Slot:
    converter = "any(" + ", ".join(f'"{name}"' if "." in name else name for name in names) + ")"
    return Slot(converter, "|".join(re.escape(name) for name in names))


_SEGMENT = Slot("", r"[A-Za-z0-9._~-]{1,200}")
# A topic's slug, or several joined by "+" (a union): Flask's default converter
# takes "+" in a segment already; the fast path's pattern is widened to match.
MAX_TERMS = 10
_ONE = r"[A-Za-z0-9._~-]{1,200}"
_TERMS = Slot("", rf"{_ONE}(?:\+{_ONE}){{0,{MAX_TERMS - 1}}}")
SLOTS: dict[str, Slot] = {
    "fmt": _any(FORMATS),
    "slug": _TERMS,
    "domain": _SEGMENT,
    "name": _any(ASSETS),
    "image": _any(SITE_IMAGES),
}


class Parsed(NamedTuple):
    """A query string read against a :class:`Query`."""

    values: Mapping[str, Any]  # every declared parameter, defaults filled in
    canonical: str | None  # the canonical query string, when the request spelled another
    error: str | None  # why the query cannot be answered (a 400)


@dataclass(frozen=True)
class Query:
    """The parameters a route takes, in canonical order."""

    params: tuple[Param, ...] = ()

    @property
    def defaults(self) -> dict[str, Any]:
        return {param.name: param.default for param in self.params}

    def spell(self, values: Mapping[str, Any]) -> str:
        """The canonical query string (no ``?``) of ``values``; missing names take defaults."""
        pairs = []
        for param in self.params:
            value = values.get(param.name, param.default)
            if value != param.default:
                pairs.append(f"{param.name}={quote_plus(param.spell(value), safe=param.safe)}")
        return "&".join(pairs)

    def read(self, query_string: str) -> Parsed:
        """Read a WSGI ``QUERY_STRING`` (its bytes as latin-1, as PEP 3333 passes them)."""
        if not query_string:
            return Parsed(self._default_values, None, None)
        return _read(self, query_string)

    @functools.cached_property
    def _default_values(self) -> Mapping[str, Any]:
        return MappingProxyType(self.defaults)


@functools.lru_cache(maxsize=4096)
def _read(query: Query, query_string: str) -> Parsed:
    # Remembered per distinct string: readers poll the same few URLs.
    given: dict[str, list[str]] = {}
    try:
        for pair in query_string.split("&"):
            name, _, value = pair.partition("=")
            given.setdefault(_decode(name), []).append(_decode(value))
    except UnicodeError:
        return Parsed(query.defaults, None, "The query string is not valid UTF-8.")
    values = {}
    for param in query.params:
        raws = given.get(param.name)
        if not raws:
            values[param.name] = param.default
            continue
        try:
            # Repeated: the first value counts, as werkzeug's args.get reads it.
            values[param.name], *_ = [param.parse(raw) for raw in raws]
        except ValueError as error:
            return Parsed(query.defaults, None, str(error))
    canonical = query.spell(values)
    return Parsed(MappingProxyType(values), None if canonical == query_string else canonical, None)


def _decode(text: str) -> str:
    return unquote_to_bytes(text.replace("+", " ").encode("latin-1")).decode("utf-8")


NO_QUERY = Query()
# What any feed may be narrowed by (render/compose.py builds such feeds).
FILTERS = (
    Threshold("min_quality", 0, 100_000),
    Threshold("min_heat", 0, 100_000),
    Words("q", max_length=200, max_words=8),
    Domains("exclude", max_count=20),
)
# Items per page: the sizes readers ask for, small ones for tests and previews.
PAGE_SIZES = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500)
FEED_QUERY = Query((*FILTERS, Size("limit", 50, PAGE_SIZES), Whole("page", 1, 1, 100_000)))
DIGEST_QUERY = Query(FILTERS)  # one item a day for 30 days: nothing to page through
# A topic's or provider's page composes a feed from its form (see pages.composed_page).
BUILD_QUERY = Query((Name("topic"), Name("provider"), Flag("digest"), *FILTERS))
EMBED_QUERY = Query((Size("limit", 5, tuple(size for size in PAGE_SIZES if size <= 50)),))


# Finds the group a feed route's values name; composed feeds build theirs from the snapshot.
Resolver = Callable[[Snapshot, Mapping[str, str]], "Group | None"]


@dataclass(frozen=True, eq=False)
class Route:
    """One kind of URL: a path template over :data:`SLOTS`, and the query it takes."""

    endpoint: str  # the Flask endpoint, "blueprint.view"
    template: str  # e.g. "/topics/{slug}/feed.{fmt}"
    query: Query = NO_QUERY
    defaults: Mapping[str, str] = field(default_factory=dict)  # extra view arguments
    group_kind: str | None = None  # the Group kind whose URLs this route gives
    group_slot: str | None = None  # the placeholder that holds the group's slug
    framed: bool = False  # an HTML page other sites may put in a frame
    resolve: Resolver | None = None  # else the group is (group_kind, the group_slot value)

    @functools.cached_property
    def slots(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.template))

    @functools.cached_property
    def rule(self) -> str:
        """The Flask/werkzeug rule, e.g. ``/topics/<slug>/feed.<any(rss, atom, json):fmt>``."""

        def placeholder(match: re.Match) -> str:
            converter = SLOTS[match[1]].converter
            return f"<{converter}:{match[1]}>" if converter else f"<{match[1]}>"

        return re.sub(r"{(\w+)}", placeholder, self.template)

    @functools.cached_property
    def name(self) -> str:
        """The route's name in logs and metrics, e.g. ``/topics/<slug>/feed.<fmt>``."""
        return re.sub(r"{(\w+)}", r"<\1>", self.template)

    @functools.cached_property
    def _pattern(self) -> re.Pattern:
        parts = re.split(r"{(\w+)}", self.template)
        regex = "".join(
            f"(?P<{part}>{SLOTS[part].pattern})" if odd else re.escape(part)
            for odd, part in ((i % 2, part) for i, part in enumerate(parts))
        )
        return re.compile(regex)

    def match(self, path: str) -> dict[str, str] | None:
        """The placeholders' values if ``path`` is this route's, spelled with no escapes."""
        found = self._pattern.fullmatch(path)
        return None if found is None else found.groupdict()

    def path(self, **values: Any) -> str:
        return self.template.format(**values)

    def path_of(self, group: Group, **values: Any) -> str:
        """This route's path for ``group`` (its slug fills :attr:`group_slot`)."""
        if self.group_slot is not None:
            values[self.group_slot] = group.slug
        return self.template.format(**values)

    def group_in(self, snapshot: Snapshot, values: Mapping[str, str]) -> Group | None:
        """The group this route's values name in ``snapshot``, or None."""
        if self.resolve is not None:
            return self.resolve(snapshot, values)
        slug = values.get(self.group_slot, "") if self.group_slot else ""
        return snapshot.group(self.group_kind or "", slug)

    def url(self, base_url: str, values: Mapping[str, Any], query: Mapping[str, Any]) -> str:
        """An absolute URL with its query in canonical form."""
        spelled = self.query.spell(query)
        return base_url + self.path(**values) + (f"?{spelled}" if spelled else "")


EVERYTHING_FEED = Route("feeds.everything", "/feed.{fmt}", FEED_QUERY, group_kind="all")
TOPIC_FEED = Route(
    "feeds.topic", "/topics/{slug}/feed.{fmt}", FEED_QUERY, group_kind="topic", group_slot="slug"
)
PROVIDER_FEED = Route(
    "feeds.provider",
    "/providers/{domain}/feed.{fmt}",
    FEED_QUERY,
    group_kind="provider",
    group_slot="domain",
)
HOME = Route("pages.home", "/", group_kind="all")


def _on_group(endpoint: str, kind: str, rule: str, query: Query, framed: bool = False) -> Route:
    """A page or embed route of one topic or provider, its slug in the path."""
    return Route(
        endpoint,
        rule,
        query,
        defaults={"kind": kind},
        group_kind=kind,
        group_slot="slug",
        framed=framed,
    )


TOPIC_PAGE = _on_group("pages.group_page", "topic", "/topics/{slug}/", BUILD_QUERY)
PROVIDER_PAGE = _on_group("pages.group_page", "provider", "/providers/{slug}/", BUILD_QUERY)
TOPIC_EMBED = _on_group("pages.embed_page", "topic", "/topics/{slug}/embed", EMBED_QUERY, True)
PROVIDER_EMBED = _on_group(
    "pages.embed_page", "provider", "/providers/{slug}/embed", EMBED_QUERY, True
)
# Composed feeds: a topic (or union) within a provider, and the daily digests. A union
# alone is TOPIC_FEED with "+" in its slug; filters are query parameters of any feed.
TOPIC_PROVIDER_FEED = Route(
    "feeds.topic_provider", "/topics/{slug}/providers/{domain}/feed.{fmt}", FEED_QUERY
)
TOPIC_PROVIDER_PAGE = Route(
    "pages.topic_provider_page", "/topics/{slug}/providers/{domain}/", BUILD_QUERY
)
EVERYTHING_DIGEST = Route("feeds.everything_digest", "/digest.{fmt}", DIGEST_QUERY)
TOPIC_DIGEST = Route("feeds.topic_digest", "/topics/{slug}/digest.{fmt}", DIGEST_QUERY)
PROVIDER_DIGEST = Route("feeds.provider_digest", "/providers/{domain}/digest.{fmt}", DIGEST_QUERY)
TOPIC_PROVIDER_DIGEST = Route(
    "feeds.topic_provider_digest", "/topics/{slug}/providers/{domain}/digest.{fmt}", DIGEST_QUERY
)
CATALOG = Route("pages.catalog", "/catalog.json")
OPML = Route("pages.opml", "/feeds.opml")
ASSET = Route("pages.asset", "/{name}")
# WebSub's built-in hub: POSTed to by subscribers and publishers (feedsvc/websub/hub.py).
HUB = Route("websub.endpoint", "/websub")
SITE_IMAGE = Route("pages.site_image", "/{image}")

ROUTES: tuple[Route, ...] = (
    EVERYTHING_FEED,
    TOPIC_FEED,
    PROVIDER_FEED,
    HOME,
    TOPIC_PAGE,
    PROVIDER_PAGE,
    TOPIC_EMBED,
    PROVIDER_EMBED,
    TOPIC_PROVIDER_FEED,
    TOPIC_PROVIDER_PAGE,
    EVERYTHING_DIGEST,
    TOPIC_DIGEST,
    PROVIDER_DIGEST,
    TOPIC_PROVIDER_DIGEST,
    CATALOG,
    OPML,
    ASSET,
    HUB,
    SITE_IMAGE,
)


def _by_kind(*routes: Route) -> dict[str, Route]:
    """``routes`` by the group kind each one serves (every one of them serves one)."""
    by_kind: dict[str, Route] = {}
    for route in routes:
        assert route.group_kind is not None, route.endpoint
        by_kind[route.group_kind] = route
    return by_kind


# Every route that answers a feed: views.py registers each, the fast path matches them
# in this order. A new kind of feed (composed, digest) goes here, with its ``resolve``.
FEED_ROUTES: tuple[Route, ...] = (
    EVERYTHING_FEED,
    TOPIC_FEED,
    PROVIDER_FEED,
    TOPIC_PROVIDER_FEED,
    EVERYTHING_DIGEST,
    TOPIC_DIGEST,
    PROVIDER_DIGEST,
    TOPIC_PROVIDER_DIGEST,
)
# The feed of each kind of snapshot group, for links to it.
FEEDS = _by_kind(EVERYTHING_FEED, TOPIC_FEED, PROVIDER_FEED)
GROUP_PAGES = _by_kind(HOME, TOPIC_PAGE, PROVIDER_PAGE)
EMBEDS = _by_kind(TOPIC_EMBED, PROVIDER_EMBED)
BY_RULE: dict[str, Route] = {route.rule: route for route in ROUTES}


def route_of(rule: str | None) -> Route | None:
    """The table's route for a matched werkzeug rule string (None for others, e.g. /metrics)."""
    return None if rule is None else BY_RULE.get(rule)


# The route of a composed feed, by its shape: (has topics, has a provider, is a digest).
FEED_SHAPES: dict[tuple[bool, bool, bool], Route] = {
    (False, False, False): EVERYTHING_FEED,
    (True, False, False): TOPIC_FEED,
    (False, True, False): PROVIDER_FEED,
    (True, True, False): TOPIC_PROVIDER_FEED,
    (False, False, True): EVERYTHING_DIGEST,
    (True, False, True): TOPIC_DIGEST,
    (False, True, True): PROVIDER_DIGEST,
    (True, True, True): TOPIC_PROVIDER_DIGEST,
}
PAGE_SHAPES: dict[tuple[bool, bool], Route] = {
    (False, False): HOME,
    (True, False): TOPIC_PAGE,
    (False, True): PROVIDER_PAGE,
    (True, True): TOPIC_PROVIDER_PAGE,
}
DIGESTS = tuple(route for key, route in FEED_SHAPES.items() if key[2])


def match_feed(path: str) -> tuple[Route, dict[str, str]] | None:
    """The feed route of ``path`` and its values, for paths spelled with no escapes."""
    for route in FEED_ROUTES:
        values = route.match(path)
        if values is not None:
            return route, values
    return None


def feed_path(group: Group, fmt: str) -> str:
    if group.kind == "composed":
        return cast("Composed", group).feed.path(fmt)
    return FEEDS[group.kind].path_of(group, fmt=fmt)


def group_path(group: Group) -> str:
    """The HTML page of a group, also the feeds' alternate link."""
    if group.kind == "composed":
        return cast("Composed", group).feed.home_path
    return GROUP_PAGES[group.kind].path_of(group)


def has_embed(group: Group) -> bool:
    return group.kind in EMBEDS


def embed_path(group: Group) -> str:
    return EMBEDS[group.kind].path_of(group)


def feed_paths(groups: tuple[Group, ...] | list[Group]) -> Iterator[str]:
    for group in groups:
        for fmt in FORMATS:
            yield feed_path(group, fmt)
