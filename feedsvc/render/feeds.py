"""Feed builders: one function per format turns a page of a Group into bytes.

RSS 2.0 and Atom 1.0 go through feedgen (with its Media RSS extension and ours,
:mod:`feedsvc.render.feedgen_ext`, for what it cannot write); JSON Feed 1.1 is written
from the spec. Every builder is a pure function of the store's content and the
site settings: no clock, no randomness, so the same store gives the same bytes on
every worker and replica and ETags agree.

Plain text (titles, excerpts, names) reaches a reader as the characters it is. RSS
has no way to say "this is text": readers, feedparser among them, read its titles
and descriptions as HTML, so those are HTML-escaped before the XML writer escapes
them again, and ``&``, ``<`` and ``>`` are written as the hexadecimal references the
RSS Best Practices Profile asks for. Atom says what its text is: plain ``text``
unless it holds ``&`` or ``<``, then escaped ``html``. JSON strings are exact.
"""

from __future__ import annotations

import copy
import html
import re
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
    poll_seconds: int = 900  # how often a reader should look (Cache-Control max-age)

    @property
    def icon(self) -> str:
        return self.base_url + urls.SITE_IMAGE.path(image="favicon.ico")

    @property
    def logo(self) -> str:
        return self.base_url + urls.SITE_IMAGE.path(image="logo.png")


# The shipped logo's size (feedsvc/web/static/logo.png), within RSS's 144x400.
LOGO_SIZE = 128


def update_schedule(seconds: int) -> tuple[str, int]:
    """sy:updatePeriod and sy:updateFrequency for a polling interval: the shortest
    period it fits in, and how many times a period, rounded down (never more often)."""
    for period, length in (("hourly", 3600), ("daily", 86400), ("weekly", 604800)):
        if seconds <= length:
            return period, max(1, length // max(seconds, 1))
    return "monthly", max(1, 2_592_000 // seconds)


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
        if self.group.kind == "topic":
            return f"The latest articles about {self.group.name} on {self.site.title}"
        if self.group.kind == "provider":
            return f"The latest articles from {self.group.name} on {self.site.title}"
        return self.site.description

    def url(self, page: int | None = None, fmt: str | None = None) -> str:
        """Absolute URL of this feed, of another page of it, or of it in another format."""
        page = self.page if page is None else page
        query = urls.FEED_QUERY.spell({"limit": self.limit, "page": page})
        suffix = f"?{query}" if query else ""
        return self.site.base_url + feed_path(self.group, fmt or self.fmt) + suffix

    @property
    def feed_id(self) -> str:
        """Stable across pages, limits and formats' query strings."""
        return self.site.base_url + feed_path(self.group, self.fmt)

    @property
    def home(self) -> str:
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


def _as_html(text: str) -> str:
    """Plain text as HTML that shows it: for elements readers take as HTML."""
    return html.escape(text, quote=False)


def _rss_item(article: Article, creator: str) -> _BuiltEntry:
    fe = _entry(_MEDIA, _DC, _FEEDSVC)
    fe.title(_as_html(article.title))
    links = [{"href": article.url}]
    if article.images:
        # RSS allows one enclosure per item, so the rest go to media:content. Image
        # sizes in bytes are unknown; the RSS Board's profile says to write 0.
        first = article.images[0]
        links.append(
            {"href": first.url, "rel": "enclosure", "type": first.mime_type, "length": "0"}
        )
    fe.link(links)  # the alternate is the item's <link>, the enclosure its <enclosure>
    fe.guid(article.url, permalink=True)
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


# Character references the RSS Profile recommends for & < > in text, which readers
# decode alike whether the text is plain or HTML. The document has no CDATA sections
# or comments, so every "&amp;" lxml writes is one character, whatever it is in.
_HEX_REFERENCES = ((b"&amp;", b"&#x26;"), (b"&lt;", b"&#x3C;"), (b"&gt;", b"&#x3E;"))


def render_rss(page: FeedPage) -> bytes:
    fg = _generator(page)
    fg.title(_as_html(page.title))
    fg.description(_as_html(page.description))
    fg.link(href=page.url(), rel="self", type="application/rss+xml")
    # The channel <link> is whichever alternate link() came last: the HTML page.
    fg.link(href=page.home, rel="alternate")
    fg.feedsvc.paging = page.paging()
    fg.docs("https://www.rssboard.org/rss-specification")
    # The polling interval, in the channel's words (minutes) and the syndication module's.
    fg.ttl(max(1, -(-page.site.poll_seconds // 60)))
    fg.feedsvc.update = update_schedule(page.site.poll_seconds)
    logo = page.group.logo
    if logo is not None:
        size = _rss_image_size(logo.width, logo.height)
        fg.image(url=logo.url, title=_as_html(page.title), link=page.home, **size)
    else:
        size = {"width": str(LOGO_SIZE), "height": str(LOGO_SIZE)}
        fg.image(url=page.site.logo, title=_as_html(page.title), link=page.home, **size)
    entries = []
    for article in page.items:
        creator, _ = _author(page, article)
        entries.append(_items.get(article, "rss", creator, _rss_item))
    fg.entry(entries)
    with _RSS_LOCK:
        body = fg.rss_str(pretty=True)
    for named, hexadecimal in _HEX_REFERENCES:
        body = body.replace(named, hexadecimal)
    return body


def _rss_image_size(width: int | None, height: int | None) -> dict[str, str]:
    # RSS caps channel images at 144x400; leave larger sizes unsaid.
    if width and height and width <= 144 and height <= 400:
        return {"width": str(width), "height": str(height)}
    return {}


def _atom_item(article: Article, author: tuple[str, str]) -> _BuiltEntry:
    fe = _entry(_MEDIA, _FEEDSVC)
    fe.id(article.url)
    fe.title(article.title)
    fe.updated(article.updated)
    fe.published(article.published)
    if article.excerpt:
        fe.summary(article.excerpt)
    fe.content(_html(article), type="html")
    fe.author(name=author[0], uri=author[1])
    if article.topics:
        fe.category([{"term": topic} | _label("label", topic) for topic in article.topics])
    # feedgen writes entry links without rel/type/title; the extension writes them.
    links = [{"rel": "alternate", "type": "text/html", "href": article.url}]
    links += [
        {"rel": "enclosure", "type": image.mime_type, "href": image.url}
        | _label("title", image.title)
        for image in article.images
    ]
    links += [
        {"rel": "related", "type": "text/html", "href": related.url}
        | _label("title", related.title)
        for related in article.related
    ]
    fe.feedsvc.links = _unique_links(links)
    _media(fe, article)
    return _BuiltEntry(_declare_text(fe.atom_entry()))


_END_TAG = re.compile(r"</\w+>")


def _label(name: str, text: str | None) -> dict[str, str]:
    """An optional label attribute, left out when the text holds what reads as an HTML
    end tag: an attribute cannot say it is text, and the same words are in the entry
    already (the category's term, media:title, the related list in the content)."""
    return {name: text} if text and not _END_TAG.search(text) else {}


_TEXT_CONSTRUCTS = frozenset({"title", "subtitle", "summary", "rights"})


def _declare_text(element: etree._Element) -> etree._Element:
    """Atom text constructs holding & or < become escaped ``type="html"``: as
    ``text`` they would read as undeclared markup to validators (and to some readers)."""
    for child in element:
        text = child.text or ""
        plain = child.tag in _TEXT_CONSTRUCTS and child.get("type", "text") == "text"
        if plain and ("<" in text or "&" in text):
            child.set("type", "html")
            child.text = _as_html(text)
    return element


def render_atom(page: FeedPage) -> bytes:
    fg = _generator(page)
    fg.subtitle(page.description)
    fg.link(href=page.url(), rel="self", type="application/atom+xml")
    fg.link(href=page.home, rel="alternate", type="text/html")
    for rel, href in page.paging():
        fg.link(href=href, rel=rel, type="application/atom+xml")
    fg.author(name=page.site.title, uri=page.home)
    logo = page.group.logo
    fg.icon(logo.url if logo is not None else page.site.icon)
    fg.logo(logo.url if logo is not None else page.site.logo)
    entries = []
    for article in page.items:
        author = _author(page, article)
        entries.append(_items.get(article, "atom", author, _atom_item))
    fg.entry(entries)
    feed, doc = fg._create_atom()  # atom_str() without the chance to declare text types
    _declare_text(feed)
    return etree.tostring(doc, pretty_print=True, encoding="UTF-8", xml_declaration=True)


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
        "url": article.url,
        "title": article.title,
        "content_html": _html(article),
    }
    if article.excerpt:
        item["summary"] = article.excerpt
    if article.images:
        item["image"] = article.images[0].url
    item["date_published"] = iso_date(article.published)
    item["date_modified"] = iso_date(article.updated)
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
    feed["icon"] = logo.url if logo is not None else page.site.logo
    feed["favicon"] = logo.url if logo is not None else page.site.icon
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
