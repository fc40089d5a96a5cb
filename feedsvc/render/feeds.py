"""Feed builders: one function per format turns a page of a Group into bytes.

RSS 2.0 and Atom 1.0 go through feedgen (with its Media RSS extension and ours,
:mod:`feedsvc.render.feedgen_ext`, for what it cannot write); JSON Feed 1.1 is written
from the spec. Every builder is a pure function of the store's content and the
site settings: no clock, no randomness, so the same store gives the same bytes on
every worker and replica and ETags agree.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator
from lxml import etree
from markupsafe import escape

from .. import __version__
from ..content.index import Group
from ..content.model import Article
from . import urls
from .compose import Composed, DigestItem, digest_html
from .feedgen_ext import FeedsvcEntryExtension, FeedsvcExtension
from .urls import feed_path, group_path

JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"

# feedgen formats RSS dates under locale.setlocale(), which is process-wide; one
# RSS render at a time keeps another thread from seeing a half-switched locale.
_RSS_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Site:
    """The settings every feed shows: from the app's config."""

    title: str
    description: str
    language: str
    base_url: str  # absolute, no trailing slash


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One document to render: a page of a group's articles in one format."""

    site: Site
    group: Group
    fmt: str
    limit: int
    page: int = 1

    @property
    def items(self) -> tuple[Article, ...]:
        start = (self.page - 1) * self.limit
        return self.group.articles[start : start + self.limit]

    @property
    def exists(self) -> bool:
        return self.page == 1 or bool(self.items)

    @property
    def has_next(self) -> bool:
        return self.page * self.limit < len(self.group.articles)

    @property
    def title(self) -> str:
        return f"{self.site.title}: {self.group.name}" if self.group.name else self.site.title

    @property
    def description(self) -> str:
        if isinstance(self.group, Composed):
            return self.group.description
        if self.group.kind == "topic":
            return f"The latest articles about {self.group.name} on {self.site.title}"
        if self.group.kind == "provider":
            return f"The latest articles from {self.group.name} on {self.site.title}"
        return self.site.description

    def url(self, page: int | None = None, fmt: str | None = None) -> str:
        """Absolute URL of this feed, of another page of it, or of it in another format."""
        page = self.page if page is None else page
        fmt = fmt or self.fmt
        if isinstance(self.group, Composed):
            return self.site.base_url + self.group.feed.url(fmt, self.limit, page)
        query = urls.FEED_QUERY.spell({"limit": self.limit, "page": page})
        suffix = f"?{query}" if query else ""
        return self.site.base_url + feed_path(self.group, fmt) + suffix

    @property
    def feed_id(self) -> str:
        """Stable across pages and limits; a composed feed's own parameters are part of it."""
        if isinstance(self.group, Composed):
            return self.site.base_url + self.group.feed.url(self.fmt)
        return self.site.base_url + feed_path(self.group, self.fmt)

    @property
    def home(self) -> str:
        if isinstance(self.group, Composed):
            return self.site.base_url + self.group.feed.home_path
        return self.site.base_url + group_path(self.group)

    def paging(self) -> list[tuple[str, str]]:
        """RFC 5005 links: first always; previous and next where they exist."""
        links = [("first", self.url(page=1))]
        if self.page > 1:
            links.append(("previous", self.url(page=self.page - 1)))
        if self.has_next:
            links.append(("next", self.url(page=self.page + 1)))
        return links


DEFAULT_LIMIT = urls.FEED_QUERY.defaults["limit"]


def item_html(article: Article) -> str:
    """The item's content: first image, excerpt, and the related coverage list."""
    # Written out rather than templated: it runs for every item of every rendered feed,
    # and a template render cost more than all the rest of a JSON Feed.
    if isinstance(article, DigestItem):
        return digest_html(article)
    lines = []
    if article.images:
        image = article.images[0]
        size = f' width="{image.width}"' if image.width else ""
        size += f' height="{image.height}"' if image.height else ""
        lines.append(
            f'<p><img src="{escape(image.url)}" alt="{escape(image.title or "")}"{size}></p>'
        )
    if article.excerpt:
        lines.append(f"<p>{escape(article.excerpt)}</p>")
    if article.related:
        lines.append("<h3>Related coverage</h3>\n<ul>")
        for related in article.related:
            by = f" ({escape(related.provider)})" if related.provider else ""
            lines.append(
                f'<li><a href="{escape(related.url)}">{escape(related.title)}</a>{by}</li>'
            )
        lines.append("</ul>")
    on = f" on {escape(article.provider.name)}" if article.provider else ""
    lines.append(f'<p><a href="{escape(article.url)}">Read the full article{on}</a></p>')
    return "\n".join(lines)


def _link(article: Article) -> str:
    """Where an item links: the article, or for a digest day the feed's own page."""
    return article.link if isinstance(article, DigestItem) else article.url


def _author(page: FeedPage, article: Article) -> tuple[str, str]:
    """The provider, or the site itself when the article names none."""
    if article.provider is not None:
        return article.provider.name, article.provider.home or page.home
    return page.site.title, page.home


# --- Per-article work, done once per Article ------------------------------------


class _ItemCache:
    """What rendering made of recently shown articles: item HTML and built items.

    Keyed by the ``Article`` object itself (articles are immutable; an edit makes a
    new object, so it can never get an old item), checked by identity rather than
    by value because hashing a whole article costs more than a lookup should. The
    cache holds its articles, so an ``id`` is not reused while its entry lives.
    ``variant`` carries whatever the item takes from the page besides the article
    (the site and feed as author when the article names no provider), and is part
    of the key, so such an article shown in several feeds keeps one item for each.
    Bounded, oldest out.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[tuple[int, str, Any], tuple[Article, Any]] = {}
        self._lock = threading.Lock()

    def get(
        self, article: Article, kind: str, variant: Any, build: Callable[[Article, Any], Any]
    ) -> Any:
        """The cached value, or ``build(article, variant)`` remembered."""
        key = (id(article), kind, variant)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is article:
            return hit[1]
        value = build(article, variant)
        with self._lock:
            if key not in self._entries:
                while len(self._entries) >= self._size:
                    del self._entries[next(iter(self._entries))]
            self._entries[key] = (article, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# Four kinds per article (HTML, RSS item, Atom entry, JSON item): ~1,000 articles in
# all formats at ~20 KB each (mostly the lxml items), ~25 MB at most per process.
ITEM_CACHE_SIZE = 4096
_items = _ItemCache(ITEM_CACHE_SIZE)


def clear_item_cache() -> None:
    """Forget every built item: for benchmarks of the coldest render, and tests."""
    _items.clear()


def _html(article: Article) -> str:
    return _items.get(article, "html", None, lambda article, _: item_html(article))


# --- RSS 2.0 and Atom 1.0 (feedgen) ---------------------------------------------


def _generator(page: FeedPage) -> FeedGenerator:
    fg = FeedGenerator()
    # By class: load_extension() would look the modules up by name on every render.
    fg.register_extension("media", MediaExtension, MediaEntryExtension)
    fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False)
    fg.register_extension("feedsvc", FeedsvcExtension, FeedsvcEntryExtension)
    fg.id(page.feed_id)
    fg.title(page.title)
    fg.description(page.description)
    fg.language(page.site.language)
    # Not "now": the newest article's date, so unchanged content gives unchanged bytes.
    fg.updated(page.group.updated)
    fg.generator("feedsvc", version=__version__)
    return fg


class _BuiltEntry(FeedEntry):
    """An item feedgen has already built: each feed that shows it appends a copy.

    An article's item is the same in every feed, page and format variant that shows
    it, so feedgen builds it once (``rss_entry``/``atom_entry``, extensions
    included) and later renders copy the element, which lxml does in C.
    """

    def __init__(self, element: etree._Element) -> None:
        # No FeedEntry state: the feed only asks for the element and for extensions.
        self._element = element

    def register_extension(self, *args: object, **kwargs: object) -> None:
        """Its extensions already ran when the element was built."""

    def rss_entry(self, extensions: bool = True) -> etree._Element:
        return copy.deepcopy(self._element)

    def atom_entry(self, extensions: bool = True) -> etree._Element:
        return copy.deepcopy(self._element)


def _entry(*extensions: tuple[str, type, bool]) -> FeedEntry:
    """A FeedEntry with the feed's entry extensions, in the feed's order."""
    fe = FeedEntry()
    for name, cls, atom in extensions:
        fe.register_extension(name, cls, atom=atom)
    return fe


_MEDIA = ("media", MediaEntryExtension, True)
_DC = ("dc", DcEntryExtension, False)
_FEEDSVC = ("feedsvc", FeedsvcEntryExtension, True)


def _media(fe: FeedEntry, article: Article) -> None:
    # group=None keeps media:content directly in the item instead of a media:group,
    # which would claim the images are alternatives of one another.
    if not article.images:
        return
    contents = []
    for image in article.images:
        attrs = {"url": image.url, "medium": "image", "type": image.mime_type, "group": None}
        if image.width:
            attrs["width"] = str(image.width)
        if image.height:
            attrs["height"] = str(image.height)
        contents.append(attrs)
    fe.media.content(contents)  # one call: each call re-validates the whole list
    first = article.images[0]
    thumb = {"url": first.url, "group": None}
    if first.width and first.height:
        thumb.update(width=str(first.width), height=str(first.height))
    fe.media.thumbnail(thumb)
    fe.feedsvc.media_titles = [image.title for image in article.images]


def _rss_item(article: Article, creator: str) -> _BuiltEntry:
    fe = _entry(_MEDIA, _DC, _FEEDSVC)
    fe.title(article.title)
    links = [{"href": _link(article)}]
    if article.images:
        # RSS allows one enclosure per item, so the rest go to media:content. Image
        # sizes in bytes are unknown; the RSS Board's profile says to write 0.
        first = article.images[0]
        links.append(
            {"href": first.url, "rel": "enclosure", "type": first.mime_type, "length": "0"}
        )
    fe.link(links)  # the alternate is the item's <link>, the enclosure its <enclosure>
    # A digest's id names its day but is no page of its own: not a permalink.
    fe.guid(article.url, permalink=not isinstance(article, DigestItem))
    fe.pubDate(article.published)
    # RSS descriptions are HTML, so plain text is escaped once more: an excerpt
    # mentioning <script> shows those characters instead of being sanitised away.
    fe.description(str(escape(article.excerpt or article.title)))
    fe.content(_html(article))
    fe.dc.dc_creator(creator)
    if article.topics:
        fe.category([{"term": topic} for topic in article.topics])
    _media(fe, article)
    with _RSS_LOCK:  # pubDate goes through setlocale()
        return _BuiltEntry(fe.rss_entry())


def render_rss(page: FeedPage) -> bytes:
    fg = _generator(page)
    fg.link(href=page.url(), rel="self", type="application/rss+xml")
    # The channel <link> is whichever alternate link() came last: the HTML page.
    fg.link(href=page.home, rel="alternate")
    fg.feedsvc.paging = page.paging()
    fg.docs("https://www.rssboard.org/rss-specification")
    logo = page.group.logo
    if logo is not None:
        fg.image(
            url=logo.url,
            title=page.title,
            link=page.home,
            **_rss_image_size(logo.width, logo.height),
        )
    entries = []
    for article in page.items:
        creator, _ = _author(page, article)
        entries.append(_items.get(article, "rss", creator, _rss_item))
    fg.entry(entries)
    with _RSS_LOCK:
        return fg.rss_str(pretty=True)


def _rss_image_size(width: int | None, height: int | None) -> dict[str, str]:
    # RSS caps channel images at 144x400; leave larger sizes unsaid.
    if width and height and width <= 144 and height <= 400:
        return {"width": str(width), "height": str(height)}
    return {}


def _atom_item(article: Article, author: tuple[str, str]) -> _BuiltEntry:
    fe = _entry(_MEDIA, _FEEDSVC)
    fe.id(article.url)
    fe.title(article.title)
    fe.updated(article.published)
    fe.published(article.published)
    if article.excerpt:
        fe.summary(article.excerpt)
    fe.content(_html(article), type="html")
    fe.author(name=author[0], uri=author[1])
    if article.topics:
        fe.category([{"term": topic, "label": topic} for topic in article.topics])
    # feedgen writes entry links without rel/type/title; the extension writes them.
    links = [{"rel": "alternate", "type": "text/html", "href": _link(article)}]
    links += [
        {"rel": "enclosure", "type": image.mime_type, "href": image.url}
        | ({"title": image.title} if image.title else {})
        for image in article.images
    ]
    links += [
        {"rel": "related", "type": "text/html", "href": related.url, "title": related.title}
        for related in article.related
    ]
    fe.feedsvc.links = _unique_links(links)
    _media(fe, article)
    return _BuiltEntry(fe.atom_entry())


def render_atom(page: FeedPage) -> bytes:
    fg = _generator(page)
    fg.subtitle(page.description)
    fg.link(href=page.url(), rel="self", type="application/atom+xml")
    fg.link(href=page.home, rel="alternate", type="text/html")
    for rel, href in page.paging():
        fg.link(href=href, rel=rel, type="application/atom+xml")
    fg.author(name=page.site.title, uri=page.home)
    logo = page.group.logo
    if logo is not None:
        fg.icon(logo.url)
        fg.logo(logo.url)
    entries = []
    for article in page.items:
        author = _author(page, article)
        entries.append(_items.get(article, "atom", author, _atom_item))
    fg.entry(entries)
    return fg.atom_str(pretty=True)


def _unique_links(links: list[dict[str, str]]) -> list[dict[str, str]]:
    """One link per (rel, href): a store may list the same image or related story twice."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for link in links:
        key = (link["rel"], link["href"])
        if key not in seen:
            seen.add(key)
            unique.append(link)
    return unique


# --- JSON Feed 1.1 (by hand, from the spec) -------------------------------------


def iso_date(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as JSON Feed, the catalog and the pages write dates."""
    return value.isoformat().replace("+00:00", "Z")


def _json_item(article: Article, by: tuple[str, str]) -> dict:
    name, uri = by
    author = {"name": name, "url": uri}
    if article.provider is not None and article.provider.logo is not None:
        author["avatar"] = article.provider.logo.url
    item: dict = {
        "id": article.url,
        "url": _link(article),
        "title": article.title,
        "content_html": _html(article),
    }
    if article.excerpt:
        item["summary"] = article.excerpt
    if article.images:
        item["image"] = article.images[0].url
    item["date_published"] = iso_date(article.published)
    item["date_modified"] = iso_date(article.published)
    item["authors"] = [author]
    if article.topics:
        item["tags"] = list(article.topics)
    if article.images:
        item["attachments"] = [
            {"url": image.url, "mime_type": image.mime_type}
            | ({"title": image.title} if image.title else {})
            for image in article.images
        ]
    return item


def render_json(page: FeedPage) -> bytes:
    feed: dict = {
        "version": JSONFEED_VERSION,
        "title": page.title,
        "home_page_url": page.home,
        "feed_url": page.url(),
        "description": page.description,
        "language": page.site.language,
    }
    logo = page.group.logo
    if logo is not None:
        feed["icon"] = logo.url
        feed["favicon"] = logo.url
    feed["authors"] = [{"name": page.site.title, "url": page.home}]
    if page.has_next:
        feed["next_url"] = page.url(page=page.page + 1)
    # Cached items are shared between renders: orjson only reads them.
    feed["items"] = [
        _items.get(article, "json", _author(page, article), _json_item) for article in page.items
    ]
    # orjson: the standard encoder falls back to pure Python when indenting, which
    # made the encoding cost ten times the rest of the feed.
    return orjson.dumps(feed, option=orjson.OPT_INDENT_2) + b"\n"


@dataclass(frozen=True, slots=True)
class Format:
    mimetype: str
    render: Callable[[FeedPage], bytes]


FORMATS: dict[str, Format] = {
    "rss": Format("application/rss+xml; charset=utf-8", render_rss),
    "atom": Format("application/atom+xml; charset=utf-8", render_atom),
    "json": Format("application/feed+json; charset=utf-8", render_json),
}
assert tuple(FORMATS) == urls.FORMATS, "each format in the URL table has one builder"


def render(page: FeedPage) -> bytes:
    return FORMATS[page.fmt].render(page)
