"""Per-article work, done once per Article and kept per app: item HTML and built items.

An article's item is the same in every feed, page and format variant that shows it,
so each app keeps what rendering made of recently shown articles in an
:class:`ItemCache` (``app.extensions["feedsvc.items"]``) and renderers take it as an
argument.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from markupsafe import escape

from ..content.model import Article
from .compose import DigestItem, digest_html

Builder = Callable[["ItemCache", Article, Any], Any]
# Four kinds per article (HTML, RSS item, Atom entry, JSON item): ~1,000 articles in
# all formats at ~20 KB each (mostly the lxml items), ~25 MB at most per process.
ITEM_CACHE_SIZE = 4096


class ItemCache:
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

    def get(self, article: Article, kind: str, variant: Any, build: Builder) -> Any:
        """The cached value, or ``build(self, article, variant)`` remembered."""
        key = (id(article), kind, variant)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is article:
            return hit[1]
        value = build(self, article, variant)
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

    def html(self, article: Article) -> str:
        """The article's item HTML, shared by every format."""
        return self.get(article, "html", None, _build_html)


def item_html(article: Article) -> str:
    """The item's content: first image, excerpt, and the related coverage list."""
    # Written out rather than templated: it runs for every item of every rendered feed,
    # and a template render costs more than all the rest of a JSON Feed.
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


def _build_html(items: ItemCache, article: Article, variant: None) -> str:
    return item_html(article)


def init_app(app: Flask) -> ItemCache:
    items = ItemCache(ITEM_CACHE_SIZE)
    app.extensions["feedsvc.items"] = items
    return items
