"""The directory of feeds: every topic and provider with its counts and URLs.

One listing feeds three documents: the home page, ``/catalog.json`` for sites that
build their own pickers, and ``/feeds.opml`` for readers that import feeds in bulk.
Every value comes from the snapshot and the site settings, never the clock, so the
same store gives the same bytes on every worker.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import format_datetime

from ..content.index import Group, Snapshot
from .compose import Composed
from .feeds import FORMATS
from .page import FeedPage, Site, iso_date
from .urls import feed_path, group_path

FORMAT_NAMES = {"rss": "RSS 2.0", "atom": "Atom 1.0", "json": "JSON Feed 1.1"}
# What each format is announced as in <link rel="alternate"> and in the catalog.
FORMAT_TYPES = {fmt: spec.mimetype.split(";")[0] for fmt, spec in FORMATS.items()}


@dataclass(frozen=True, slots=True)
class Listing:
    """One feed of the directory: a group with its absolute URLs."""

    group: Group
    site: Site

    @property
    def name(self) -> str:
        return self.group.name or self.site.title

    @property
    def count(self) -> int:
        return len(self.group.articles)

    @property
    def page_url(self) -> str:
        return self.site.base_url + group_path(self.group)

    @property
    def title(self) -> str:
        return FeedPage(self.site, self.group, "rss", 1).title

    @property
    def description(self) -> str:
        return FeedPage(self.site, self.group, "rss", 1).description

    def feed_path(self, fmt: str) -> str:
        """The feed's path, and a composed feed's query string."""
        if isinstance(self.group, Composed):
            return self.group.feed.url(fmt)
        return feed_path(self.group, fmt)

    def feed_url(self, fmt: str) -> str:
        return self.site.base_url + self.feed_path(fmt)

    @property
    def feed_urls(self) -> dict[str, str]:
        return {fmt: self.feed_url(fmt) for fmt in FORMATS}


def _by_name(group: Group) -> tuple[str, str]:
    return (group.name.casefold(), group.slug)


def topics(snapshot: Snapshot, site: Site) -> list[Listing]:
    return [Listing(g, site) for g in sorted(snapshot.topics.values(), key=_by_name)]


def providers(snapshot: Snapshot, site: Site) -> list[Listing]:
    return [Listing(g, site) for g in sorted(snapshot.providers.values(), key=_by_name)]


def _catalog_entry(entry: Listing) -> dict:
    return {
        "name": entry.name,
        "slug": entry.group.slug,
        "count": entry.count,
        "newest": iso_date(entry.group.articles[0].published) if entry.count else None,
        "page_url": entry.page_url,
        "feeds": entry.feed_urls,
    }


def catalog_json(snapshot: Snapshot, site: Site) -> bytes:
    everything = Listing(snapshot.everything, site)
    catalog = {
        "title": site.title,
        "description": site.description,
        "home_page_url": everything.page_url,
        "formats": {fmt: {"name": FORMAT_NAMES[fmt], "type": FORMAT_TYPES[fmt]} for fmt in FORMATS},
        "everything": _catalog_entry(everything),
        "topics": [_catalog_entry(e) for e in topics(snapshot, site)],
        "providers": [_catalog_entry(e) for e in providers(snapshot, site)],
    }
    return json.dumps(catalog, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


# OPML 2.0 (http://opml.org/spec2.opml): a subscription list is outlines with
# type="rss" (used for Atom too), xmlUrl and htmlUrl; folders are plain outlines.
OPML_FORMAT = "rss"  # the format every reader that imports OPML understands


def _feed_outline(parent: ET.Element, entry: Listing) -> None:
    ET.SubElement(
        parent,
        "outline",
        {
            "type": "rss",
            "text": entry.name,
            "title": entry.title,
            "description": entry.description,
            "xmlUrl": entry.feed_url(OPML_FORMAT),
            "htmlUrl": entry.page_url,
            "language": entry.site.language,
            "version": "RSS2",
        },
    )


def opml(snapshot: Snapshot, site: Site) -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{site.title}: all feeds"
    if snapshot.articles:
        # Not "now": the newest article's date, so the same store gives the same bytes.
        modified = format_datetime(snapshot.everything.updated, usegmt=True)
        ET.SubElement(head, "dateModified").text = modified
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    _feed_outline(body, Listing(snapshot.everything, site))
    for label, entries in (
        ("Topics", topics(snapshot, site)),
        ("Providers", providers(snapshot, site)),
    ):
        if entries:
            folder = ET.SubElement(body, "outline", text=label, title=label)
            for entry in entries:
                _feed_outline(folder, entry)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
