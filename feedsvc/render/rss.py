"""RSS 2.0, through feedgen, with Media RSS, Dublin Core and RFC 5005 paging links.

RSS cannot say whether a title is text or HTML, and feedparser (with the readers
built on it) reads channel and item titles and descriptions as HTML: those are
HTML-escaped before the XML writer escapes them again, and every ``&``, ``<`` and
``>`` is written as the hexadecimal reference the RSS Best Practices Profile asks for.
The polling interval is the channel's ``ttl`` and the syndication module's
``sy:updatePeriod``/``sy:updateFrequency``.
"""

from __future__ import annotations

from markupsafe import escape

from ..content.model import Article
from .items import ItemCache
from .page import LOGO_SIZE, FeedPage, author, item_link, permalink
from .xmlfeeds import (
    DC,
    FEEDSVC,
    MEDIA,
    RSS_LOCK,
    BuiltItem,
    add_media,
    as_html,
    generator,
    new_entry,
)

# The document has no CDATA sections or comments, so every "&amp;" lxml writes is one
# character, whatever element or attribute it is in.
_HEX_REFERENCES = ((b"&amp;", b"&#x26;"), (b"&lt;", b"&#x3C;"), (b"&gt;", b"&#x3E;"))


def update_schedule(seconds: int) -> tuple[str, int]:
    """sy:updatePeriod and sy:updateFrequency for a polling interval: the shortest
    period it fits in, and how many times a period, rounded down (never more often)."""
    for period, length in (("hourly", 3600), ("daily", 86400), ("weekly", 604800)):
        if seconds <= length:
            return period, max(1, length // max(seconds, 1))
    return "monthly", max(1, 2_592_000 // seconds)


def _rss_item(items: ItemCache, article: Article, creator: str) -> BuiltItem:
    fe = new_entry(MEDIA, DC, FEEDSVC)
    fe.title(as_html(article.title))
    links = [{"href": item_link(article)}]
    if article.images:
        # RSS allows one enclosure per item, so the rest go to media:content. Image
        # sizes in bytes are unknown; the RSS Board's profile says to write 0.
        first = article.images[0]
        links.append(
            {"href": first.url, "rel": "enclosure", "type": first.mime_type, "length": "0"}
        )
    fe.link(links)  # the alternate is the item's <link>, the enclosure its <enclosure>
    fe.guid(article.url, permalink=permalink(article))
    fe.pubDate(article.published)
    # RSS descriptions are HTML, so plain text is escaped once more: an excerpt
    # mentioning <script> shows those characters instead of being sanitised away.
    fe.description(str(escape(article.excerpt or article.title)))
    fe.content(items.html(article))
    fe.dc.dc_creator(creator)
    if article.topics:
        fe.category([{"term": topic} for topic in article.topics])
    add_media(fe, article)
    with RSS_LOCK:  # pubDate goes through setlocale()
        return BuiltItem(fe.rss_entry())


def render_rss(page: FeedPage, items: ItemCache) -> bytes:
    fg = generator(page)
    fg.title(as_html(page.title))
    fg.description(as_html(page.description))
    fg.link(href=page.url(), rel="self", type="application/rss+xml")
    # The channel <link> is whichever alternate link() came last: the HTML page.
    fg.link(href=page.home, rel="alternate")
    fg.feedsvc.paging = page.paging()
    fg.feedsvc.hubs = page.site.hubs
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.ttl(max(1, -(-page.site.poll_seconds // 60)))  # whole minutes, rounded up
    fg.feedsvc.update = update_schedule(page.site.poll_seconds)
    logo = page.group.logo
    if logo is not None:
        size = _rss_image_size(logo.width, logo.height)
        fg.image(url=logo.url, title=as_html(page.title), link=page.home, **size)
    else:
        size = {"width": str(LOGO_SIZE), "height": str(LOGO_SIZE)}
        fg.image(url=page.site.logo, title=as_html(page.title), link=page.home, **size)
    entries = []
    for article in page.items:
        creator, _ = author(page, article)
        entries.append(items.get(article, "rss", creator, _rss_item))
    fg.entry(entries)
    with RSS_LOCK:
        body = fg.rss_str(pretty=True)
    for named, hexadecimal in _HEX_REFERENCES:
        body = body.replace(named, hexadecimal)
    return body


def _rss_image_size(width: int | None, height: int | None) -> dict[str, str]:
    # RSS caps channel images at 144x400; leave larger sizes unsaid.
    if width and height and width <= 144 and height <= 400:
        return {"width": str(width), "height": str(height)}
    return {}
