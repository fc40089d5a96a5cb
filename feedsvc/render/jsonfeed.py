"""JSON Feed 1.1, written from the spec (https://jsonfeed.org/version/1.1)."""

from __future__ import annotations

import orjson

from ..content.model import Article
from .items import ItemCache
from .page import FeedPage, author, iso_date, item_link

JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"


def _json_item(items: ItemCache, article: Article, by: tuple[str, str]) -> dict:
    name, uri = by
    writer = {"name": name, "url": uri}
    if article.provider is not None and article.provider.logo is not None:
        writer["avatar"] = article.provider.logo.url
    item: dict = {
        "id": article.url,
        "url": item_link(article),
        "title": article.title,
        "content_html": items.html(article),
    }
    if article.excerpt:
        item["summary"] = article.excerpt
    if article.images:
        item["image"] = article.images[0].url
    item["date_published"] = iso_date(article.published)
    item["date_modified"] = iso_date(article.updated)
    item["authors"] = [writer]
    if article.topics:
        item["tags"] = list(article.topics)
    if article.images:
        item["attachments"] = [
            {"url": image.url, "mime_type": image.mime_type}
            | ({"title": image.title} if image.title else {})
            for image in article.images
        ]
    return item


def render_json(page: FeedPage, items: ItemCache) -> bytes:
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
    if page.site.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in page.site.hubs]
    # Cached items are shared between renders: orjson only reads them.
    feed["items"] = [
        items.get(article, "json", author(page, article), _json_item) for article in page.items
    ]
    # orjson: the standard encoder falls back to pure Python when indenting.
    return orjson.dumps(feed, option=orjson.OPT_INDENT_2) + b"\n"
