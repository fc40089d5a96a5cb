"""Atom 1.0, through feedgen, with whole entry links (enclosures, related) and Media RSS."""

from __future__ import annotations

from ..content.model import Article
from .items import ItemCache
from .page import FeedPage, author, item_link
from .xmlfeeds import FEEDSVC, MEDIA, BuiltItem, add_media, generator, new_entry


def _atom_item(items: ItemCache, article: Article, by: tuple[str, str]) -> BuiltItem:
    fe = new_entry(MEDIA, FEEDSVC)
    fe.id(article.url)
    fe.title(article.title)
    fe.updated(article.published)
    fe.published(article.published)
    if article.excerpt:
        fe.summary(article.excerpt)
    fe.content(items.html(article), type="html")
    fe.author(name=by[0], uri=by[1])
    if article.topics:
        fe.category([{"term": topic, "label": topic} for topic in article.topics])
    # feedgen writes entry links without rel/type/title; the extension writes them.
    links = [{"rel": "alternate", "type": "text/html", "href": item_link(article)}]
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
    add_media(fe, article)
    return BuiltItem(fe.atom_entry())


def render_atom(page: FeedPage, items: ItemCache) -> bytes:
    fg = generator(page)
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
        entries.append(items.get(article, "atom", author(page, article), _atom_item))
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
