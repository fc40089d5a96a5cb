"""A feedgen extension for what feedgen 1.0 cannot write itself.

- Atom entry links: feedgen drops ``rel``, ``type``, ``title`` and ``length`` from
  every entry link (upstream issues #135 and #143), which would turn each enclosure
  into a second "alternate" link. This extension writes entry links whole.
- ``media:title`` inside ``media:content``: feedgen's media extension has no title.
- RFC 5005 paging links and WebSub hub links in RSS: feedgen writes only the
  ``self`` atom:link there.
- ``sy:updatePeriod``/``sy:updateFrequency``: feedgen's syndication extension
  capitalises the element names (``sy:UpdatePeriod``), which readers do not know.

Register it after feedgen's ``media`` extension: extensions run in registration
order, and the titles attach to the ``media:content`` elements that one wrote.
"""

from __future__ import annotations

import html

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.util import xml_elem
from lxml.etree import _Element

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"


class FeedsvcExtension(BaseExtension):
    """Feed level: paging and ``hub`` atom:links and the polling interval in RSS."""

    def __init__(self) -> None:
        self.paging: list[tuple[str, str]] = []  # (rel, href)
        self.hubs: tuple[str, ...] = ()
        self.update: tuple[str, int] | None = None  # (sy:updatePeriod, sy:updateFrequency)

    def extend_ns(self) -> dict[str, str]:
        # feedgen declares the atom prefix in RSS itself.
        return {"sy": SY_NS} if self.update else {}

    def extend_rss(self, feed: _Element) -> _Element:
        channel = feed[0]
        for rel, href in self.paging:
            xml_elem(f"{{{ATOM_NS}}}link", channel, rel=rel, href=href, type="application/rss+xml")
        for href in self.hubs:
            xml_elem(f"{{{ATOM_NS}}}link", channel, rel="hub", href=href)
        if self.update:
            period, frequency = self.update
            xml_elem(f"{{{SY_NS}}}updatePeriod", channel).text = period
            xml_elem(f"{{{SY_NS}}}updateFrequency", channel).text = str(frequency)
        return feed


class FeedsvcEntryExtension(BaseEntryExtension):
    """Entry level: whole Atom links, and a title for each media:content."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []
        self.media_titles: list[str | None] = []

    def extend_atom(self, entry: _Element) -> _Element:
        for attrs in self.links:
            # The Atom document uses a default namespace, so its elements are unqualified.
            xml_elem("link", entry, **attrs)
        self._title_media(entry)
        return entry

    def extend_rss(self, item: _Element) -> _Element:
        self._title_media(item)
        return item

    def _title_media(self, element: _Element) -> None:
        contents = element.findall(f"{{{MEDIA_NS}}}content")
        for content, title in zip(contents, self.media_titles, strict=False):
            if title:
                plain = not _looks_like_markup(title)
                # Text with & or < reads as HTML to validators: say it, and escape it.
                xml_elem(
                    f"{{{MEDIA_NS}}}title", content, type="plain" if plain else "html"
                ).text = title if plain else html.escape(title, quote=False)


def _looks_like_markup(text: str) -> bool:
    return "<" in text or "&" in text
