"""The feed formats: one builder per format turns a page of a Group into bytes.

RSS 2.0 (:mod:`.rss`) and Atom 1.0 (:mod:`.atom`) go through feedgen (with its Media
RSS extension and ours, :mod:`feedsvc.render.feedgen_ext`, for what it cannot write);
JSON Feed 1.1 (:mod:`.jsonfeed`) is written from the spec. Every builder is a pure
function of the store's content and the site settings: no clock, no randomness, so
the same store gives the same bytes on every worker and replica and ETags agree.
A new format is a module with a ``render_x(page, items)`` and a line in
:data:`FORMATS` (and its suffix in :data:`feedsvc.render.urls.FORMATS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import urls
from .atom import render_atom
from .items import ItemCache
from .jsonfeed import render_json
from .page import FeedPage
from .rss import render_rss


@dataclass(frozen=True, slots=True)
class Format:
    mimetype: str
    render: Callable[[FeedPage, ItemCache], bytes]


FORMATS: dict[str, Format] = {
    "rss": Format("application/rss+xml; charset=utf-8", render_rss),
    "atom": Format("application/atom+xml; charset=utf-8", render_atom),
    "json": Format("application/feed+json; charset=utf-8", render_json),
}
assert tuple(FORMATS) == urls.FORMATS, "each format in the URL table has one builder"


def render(page: FeedPage, items: ItemCache) -> bytes:
    """The page's bytes; ``items`` keeps what was built for each article for the next render."""
    return FORMATS[page.fmt].render(page, items)
