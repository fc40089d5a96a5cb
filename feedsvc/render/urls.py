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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import quote_plus, unquote_to_bytes

from ..content.index import Group
from ..content.words import words

if TYPE_CHECKING:  # compose.py builds its paths from this table
    from .compose import Composed

# Feed formats by their URL suffix; feeds.FORMATS has one builder for each.
FORMATS = ("rss", "atom", "json")
# Files served from feedsvc/web/static under the site's root.
ASSETS = ("pages.css", "pages.js", "embed.js")


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
}


class Param:
    """One query parameter: its name, its default, how a value is read and spelled."""

    name: str
    default: Any
    safe = ""  # characters the canonical spelling leaves unquoted

    def parse(self, raw: str) -> Any:
        """The value, or ValueError with the reason a client can act on."""
        raise NotImplementedError

    def spell(self, value: Any) -> str:
        """The value as the canonical query string writes it (before quoting)."""
        return str(value)


_NUMBER = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class Whole(Param):
    """A whole number in [low, high], written in plain digits."""

    name: str
    default: int
    low: int
    high: int

    def parse(self, raw: str) -> int:
        if not _NUMBER.fullmatch(raw) or not self.low <= int(raw) <= self.high:
            raise ValueError(f"'{self.name}' must be a whole number from {self.low} to {self.high}")
        return int(raw)


@dataclass(frozen=True, slots=True)
class Threshold(Param):
    """A lower bound on an article's field, a whole number in [low, high]; none by default."""

    name: str
    low: int
    high: int
    default: None = None

    def parse(self, raw: str) -> int | None:
        if not raw:
            return None  # a form's empty field: not given
        return Whole(self.name, 0, self.low, self.high).parse(raw)


@dataclass(frozen=True, slots=True)
class Words(Param):
    """Search words: folded, distinct, sorted (the order does not change what matches)."""

    name: str
    max_length: int
    max_words: int
    default: tuple[str, ...] = ()

    def parse(self, raw: str) -> tuple[str, ...]:
        if len(raw) > self.max_length:
            raise ValueError(f"'{self.name}' may be at most {self.max_length} characters long")
        found = tuple(sorted(set(words(raw))))
        if raw.strip() and not found:
            raise ValueError(f"'{self.name}' must contain a word (letters or digits)")
        if len(found) > self.max_words:
            raise ValueError(f"'{self.name}' may hold at most {self.max_words} words")
        return found

    def spell(self, value: tuple[str, ...]) -> str:
        return " ".join(value)


_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def _is_domain(text: str) -> bool:
    """Letters, digits, dots and dashes, not starting or ending with a dot or dash.

    Checked by hand, as search words are, so no user input meets a regular expression.
    """
    return (
        0 < len(text) <= 253
        and _DOMAIN_CHARS.issuperset(text)
        and text[0] not in ".-"
        and text[-1] not in ".-"
    )


@dataclass(frozen=True, slots=True)
class Domains(Param):
    """Provider domains, comma-separated: lower case, distinct, sorted."""

    name: str
    max_count: int
    default: tuple[str, ...] = ()
    safe = ","

    def parse(self, raw: str) -> tuple[str, ...]:
        given = [part.strip().lower() for part in raw.split(",") if part.strip()]
        if len(given) > self.max_count:
            raise ValueError(f"'{self.name}' may name at most {self.max_count} domains")
        for domain in given:
            if not _is_domain(domain):
                raise ValueError(f"'{self.name}' takes domains such as news.example.com")
        return tuple(sorted(set(given)))

    def spell(self, value: tuple[str, ...]) -> str:
        return ",".join(value)


@dataclass(frozen=True, slots=True)
class Name(Param):
    """One topic slug or provider domain (lower case); none by default."""

    name: str
    default: None = None

    def parse(self, raw: str) -> str | None:
        raw = raw.strip().lower()
        if not raw:
            return None
        if len(raw) > 200 or not _NAME_CHARS.issuperset(raw):
            raise ValueError(f"'{self.name}' takes one topic or provider name, as in its URL")
        return raw


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._~-")


@dataclass(frozen=True, slots=True)
class Flag(Param):
    """On when given as 1 (a checked box), off by default."""

    name: str
    default: bool = False

    def parse(self, raw: str) -> bool:
        if raw not in ("", "1"):
            raise ValueError(f"'{self.name}' is 1 or left out")
        return raw == "1"

    def spell(self, value: bool) -> str:
        return "1"


@dataclass(frozen=True, slots=True)
class Size(Param):
    """A number of items, one of a few sizes: any other whole number up to the largest is
    read as the next size up, so the canonical form redirects there. However clients
    spell it, a feed then has a few renders per page, not one per number."""

    name: str
    default: int
    sizes: tuple[int, ...]

    def parse(self, raw: str) -> int:
        if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= self.sizes[-1]:
            raise ValueError(f"'{self.name}' must be a whole number from 1 to {self.sizes[-1]}")
        wanted = int(raw)
        return next(size for size in self.sizes if size >= wanted)


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
# A digest is one item per day for 30 days: there is nothing to page through.
DIGEST_QUERY = Query(FILTERS)
FILTER_NAMES = tuple(param.name for param in FILTERS)
# A topic's or provider's page composes a feed from its form: another topic (a union
# on a topic's page, the topic on a provider's), a provider, digest or not, filters.
BUILD_QUERY = Query((Name("topic"), Name("provider"), Flag("digest"), *FILTERS))
EMBED_QUERY = Query((Size("limit", 5, tuple(size for size in PAGE_SIZES if size <= 50)),))


@dataclass(frozen=True)
class Route:
    """One kind of URL: a path template over :data:`SLOTS`, and the query it takes."""

    endpoint: str  # the Flask endpoint, "blueprint.view"
    template: str  # e.g. "/topics/{slug}/feed.{fmt}"
    query: Query = NO_QUERY
    defaults: Mapping[str, str] = field(default_factory=dict)  # extra view arguments
    group_kind: str | None = None  # the Group kind whose URLs this route gives
    group_slot: str | None = None  # the placeholder that holds the group's slug
    framed: bool = False  # an HTML page other sites may put in a frame

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
TOPIC_PAGE = Route(
    "pages.group_page",
    "/topics/{slug}/",
    BUILD_QUERY,
    defaults={"kind": "topic"},
    group_kind="topic",
    group_slot="slug",
)
PROVIDER_PAGE = Route(
    "pages.group_page",
    "/providers/{slug}/",
    BUILD_QUERY,
    defaults={"kind": "provider"},
    group_kind="provider",
    group_slot="slug",
)
TOPIC_EMBED = Route(
    "pages.embed_page",
    "/topics/{slug}/embed",
    EMBED_QUERY,
    defaults={"kind": "topic"},
    group_kind="topic",
    group_slot="slug",
    framed=True,
)
PROVIDER_EMBED = Route(
    "pages.embed_page",
    "/providers/{slug}/embed",
    EMBED_QUERY,
    defaults={"kind": "provider"},
    group_kind="provider",
    group_slot="slug",
    framed=True,
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
)


def _by_kind(*routes: Route) -> dict[str, Route]:
    """``routes`` by the group kind each one serves (every one of them serves one)."""
    by_kind: dict[str, Route] = {}
    for route in routes:
        assert route.group_kind is not None, route.endpoint
        by_kind[route.group_kind] = route
    return by_kind


# The routes that answer a group's feed, by the group's kind: what the fast path serves.
FEEDS = _by_kind(EVERYTHING_FEED, TOPIC_FEED, PROVIDER_FEED)
GROUP_PAGES = _by_kind(HOME, TOPIC_PAGE, PROVIDER_PAGE)
EMBEDS = _by_kind(TOPIC_EMBED, PROVIDER_EMBED)
BY_RULE: dict[str, Route] = {route.rule: route for route in ROUTES}


def route_of(rule: str | None) -> Route | None:
    """The table's route for a matched werkzeug rule string (None for others, e.g. /metrics)."""
    return None if rule is None else BY_RULE.get(rule)


# Every route that answers a feed, by (has topics, has a provider, is a digest).
FEED_ROUTES: dict[tuple[bool, bool, bool], Route] = {
    (False, False, False): EVERYTHING_FEED,
    (True, False, False): TOPIC_FEED,
    (False, True, False): PROVIDER_FEED,
    (True, True, False): TOPIC_PROVIDER_FEED,
    (False, False, True): EVERYTHING_DIGEST,
    (True, False, True): TOPIC_DIGEST,
    (False, True, True): PROVIDER_DIGEST,
    (True, True, True): TOPIC_PROVIDER_DIGEST,
}
PAGE_ROUTES: dict[tuple[bool, bool], Route] = {
    (False, False): HOME,
    (True, False): TOPIC_PAGE,
    (False, True): PROVIDER_PAGE,
    (True, True): TOPIC_PROVIDER_PAGE,
}
DIGESTS = tuple(route for key, route in FEED_ROUTES.items() if key[2])


def match_feed(path: str) -> tuple[Route, dict[str, str]] | None:
    """The feed route of ``path`` and its values, for paths spelled with no escapes."""
    for route in FEED_ROUTES.values():
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
