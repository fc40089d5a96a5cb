"""A feedgen extension for what feedgen 1.0 cannot write itself.

- Atom entry links: feedgen drops ``rel``, ``type``, ``title`` and ``length`` from
  every entry link (upstream issues #135 and #143), which would turn each enclosure
  into a second "alternate" link. This extension writes entry links whole.
- ``media:title`` inside ``media:content``: feedgen's media extension has no title.
- RFC 5005 paging links in RSS: feedgen writes only the ``self`` atom:link there.

Register it after feedgen's ``media`` extension: extensions run in registration
order, and the titles attach to the ``media:content`` elements that one wrote.
"""

from __future__ import annotations

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.util import xml_elem
from lxml.etree import _Element

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"


class FeedsvcExtension(BaseExtension):
    """Feed level: ``first``/``prev``/``next`` atom:links in the RSS channel."""

    def __init__(self) -> None:
        self.paging: list[tuple[str, str]] = []  # (rel, href)

    def extend_ns(self) -> dict[str, str]:
        return {}  # feedgen declares the atom prefix in RSS itself

    def extend_rss(self, feed: _Element) -> _Element:
        channel = feed[0]
        for rel, href in self.paging:
            xml_elem(f"{{{ATOM_NS}}}link", channel, rel=rel, href=href, type="application/rss+xml")
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
                xml_elem(f"{{{MEDIA_NS}}}title", content, type="plain").text = title
