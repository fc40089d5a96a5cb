"""What RSS 2.0 and Atom 1.0 share: feedgen set up once, and items built once.

feedgen's quirks stay here and in :mod:`feedsvc.render.feedgen_ext`: extensions
registered by class, a prebuilt item appended as a copy, media:content without a
media:group.
"""

from __future__ import annotations

import copy
import threading

from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from ..content.model import Article
from .feedgen_ext import FeedsvcEntryExtension, FeedsvcExtension
from .page import FeedPage

# feedgen formats RSS dates under locale.setlocale(), which is process-wide; one
# RSS render at a time keeps another thread from seeing a half-switched locale.
RSS_LOCK = threading.Lock()


def generator(page: FeedPage) -> FeedGenerator:
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


class BuiltItem(FeedEntry):
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


def new_entry(*extensions: tuple[str, type, bool]) -> FeedEntry:
    """A FeedEntry with the feed's entry extensions, in the feed's order."""
    fe = FeedEntry()
    for name, cls, atom in extensions:
        fe.register_extension(name, cls, atom=atom)
    return fe


MEDIA = ("media", MediaEntryExtension, True)
DC = ("dc", DcEntryExtension, False)
FEEDSVC = ("feedsvc", FeedsvcEntryExtension, True)


def add_media(fe: FeedEntry, article: Article) -> None:
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
