"""RSS 2.0, through feedgen, with Media RSS, Dublin Core and RFC 5005 paging links."""

from __future__ import annotations

from markupsafe import escape

from ..content.model import Article
from .items import ItemCache
from .page import FeedPage, author, item_link, permalink
from .xmlfeeds import DC, FEEDSVC, MEDIA, RSS_LOCK, BuiltItem, add_media, generator, new_entry


def _rss_item(items: ItemCache, article: Article, creator: str) -> BuiltItem:
    fe = new_entry(MEDIA, DC, FEEDSVC)
    fe.title(article.title)
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
        creator, _ = author(page, article)
        entries.append(items.get(article, "rss", creator, _rss_item))
    fg.entry(entries)
    with RSS_LOCK:
        return fg.rss_str(pretty=True)


def _rss_image_size(width: int | None, height: int | None) -> dict[str, str]:
    # RSS caps channel images at 144x400; leave larger sizes unsaid.
    if width and height and width <= 144 and height <= 400:
        return {"width": str(width), "height": str(height)}
    return {}
