"""Atom 1.0, through feedgen, with whole entry links (enclosures, related) and Media RSS.

Atom says what its text is: a text construct is plain ``text`` unless it holds ``&``
or ``<``, then escaped ``html``, since markup-like text in ``text`` reads as
undeclared HTML to validators.
"""

from __future__ import annotations

from lxml import etree

from ..content.model import Article
from .items import ItemCache
from .page import FeedPage, author, item_link
from .xmlfeeds import FEEDSVC, MEDIA, BuiltItem, add_media, as_html, generator, label, new_entry

_TEXT_CONSTRUCTS = frozenset({"title", "subtitle", "summary", "rights"})


def _atom_item(items: ItemCache, article: Article, by: tuple[str, str]) -> BuiltItem:
    fe = new_entry(MEDIA, FEEDSVC)
    fe.id(article.url)
    fe.title(article.title)
    fe.updated(article.updated)
    fe.published(article.published)
    if article.excerpt:
        fe.summary(article.excerpt)
    fe.content(items.html(article), type="html")
    fe.author(name=by[0], uri=by[1])
    if article.topics:
        fe.category([{"term": topic} | label("label", topic) for topic in article.topics])
    # feedgen writes entry links without rel/type/title; the extension writes them.
    links = [{"rel": "alternate", "type": "text/html", "href": item_link(article)}]
    links += [
        {"rel": "enclosure", "type": image.mime_type, "href": image.url}
        | label("title", image.title)
        for image in article.images
    ]
    links += [
        {"rel": "related", "type": "text/html", "href": related.url} | label("title", related.title)
        for related in article.related
    ]
    fe.feedsvc.links = _unique_links(links)
    add_media(fe, article)
    return BuiltItem(_declare_text(fe.atom_entry()))


def _declare_text(element: etree._Element) -> etree._Element:
    """The element's text constructs that hold & or <, as escaped ``type="html"``."""
    for child in element:
        text = child.text or ""
        plain = child.tag in _TEXT_CONSTRUCTS and child.get("type", "text") == "text"
        if plain and ("<" in text or "&" in text):
            child.set("type", "html")
            child.text = as_html(text)
    return element


def render_atom(page: FeedPage, items: ItemCache) -> bytes:
    fg = generator(page)
    fg.subtitle(page.description)
    fg.link(href=page.url(), rel="self", type="application/atom+xml")
    fg.link(href=page.home, rel="alternate", type="text/html")
    for rel, href in page.paging():
        fg.link(href=href, rel=rel, type="application/atom+xml")
    for hub in page.site.hubs:
        fg.link(href=hub, rel="hub")  # WebSub discovery; rel=self is the link above
    fg.author(name=page.site.title, uri=page.home)
    logo = page.group.logo
    fg.icon(logo.url if logo is not None else page.site.icon)
    fg.logo(logo.url if logo is not None else page.site.logo)
    entries = []
    for article in page.items:
        entries.append(items.get(article, "atom", author(page, article), _atom_item))
    fg.entry(entries)
    feed, doc = fg._create_atom()  # atom_str(), with the chance to declare text types
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
