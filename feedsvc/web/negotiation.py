"""Feed or page: what a request for a feed URL gets.

A person who clicks a feed link should see a page that says what a feed is and how
to subscribe; every feed reader must still get the feed, byte for byte. XSLT and
CSS on XML cannot do this: browsers show ``application/rss+xml`` as source text and
ignore its stylesheet (measured in Chromium 156), and XSLT is being removed from
Chromium. So the feed URL answers with HTML only when both hold:

* the ``Accept`` header ranks ``text/html`` strictly above every feed type. A tie
  goes to the feed, and
* ``Sec-Fetch-Dest: document``: the browser is loading the URL as a page. Browsers
  set this header and scripts cannot; feed readers do not send it, so a reader
  whose ``Accept`` looks like a browser's still gets the feed.

What readers send (looked up in their sources and documentation):

* feedparser 6 (``feedparser/http.py`` ``ACCEPT_HEADER``): ``application/atom+xml,
  application/rdf+xml,application/rss+xml,application/x-netcdf,application/xml;q=0.9,
  text/xml;q=0.2,*/*;q=0.1``: feed types first.
* Miniflux 2 (``internal/reader/fetcher/request_builder.go``
  ``defaultAcceptHeader``): ``application/xml, application/atom+xml,
  application/rss+xml, application/rdf+xml, application/feed+json, text/html,
  */*;q=0.9``: ``text/html`` ties with the feed types, so the feed wins.
* NetNewsWire (``Modules/RSWeb/Sources/RSWeb/DownloadSession.swift``) sets only
  ``User-Agent`` and conditional-GET headers, so URLSession's default ``*/*`` goes.
* Feedly's fetcher (``Feedly/1.0 (+https://feedly.com/fetcher.html; …)``) does not
  document its ``Accept``; none, ``*/*`` and a browser-like value all get the feed
  here because it sends no ``Sec-Fetch-Dest``.

Responses from feed URLs carry ``Vary`` on both headers so caches keep the two apart.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

# Every type a feed reader may ask a feed URL for.
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/json",
)
VARY = ("Accept", "Sec-Fetch-Dest")


def wants_page(environ: Mapping[str, str]) -> bool:
    """True when a browser navigates to a feed URL and would rather have HTML.

    Takes the WSGI environ, so the fast path below Flask asks the same question.
    """
    if environ.get("HTTP_SEC_FETCH_DEST", "").strip().lower() != "document":
        return False
    return prefers_html(environ.get("HTTP_ACCEPT"))


@functools.lru_cache(maxsize=256)
def prefers_html(accept_header: str | None) -> bool:
    """True when ``Accept`` ranks text/html strictly above every feed type.

    Remembered per distinct value: each browser sends one.
    """
    accept = parse_accept_header(accept_header, MIMEAccept)
    html = accept.quality("text/html")
    return html > 0 and all(html > accept.quality(kind) for kind in FEED_TYPES)
