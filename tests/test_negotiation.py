"""Feed URLs: feed readers get the feed byte for byte; browsers get a page about it."""

from __future__ import annotations

import feedparser
import pytest
from feedparser.http import ACCEPT_HEADER as FEEDPARSER_ACCEPT
from lxml import html

# What Chromium 156 sends on navigation (measured with the browser tests' Chromium).
CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SAFARI = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# Sources are cited in feedsvc/web/negotiation.py.
MINIFLUX = (
    "application/xml, application/atom+xml, application/rss+xml, application/rdf+xml, "
    "application/feed+json, text/html, */*;q=0.9"
)

READERS = {
    "feedparser": {"Accept": FEEDPARSER_ACCEPT},
    "miniflux": {"Accept": MINIFLUX},
    "netnewswire": {"Accept": "*/*"},
    "feedly, no Accept": {},
    "feedly, */*": {"Accept": "*/*"},
    "browser-like Accept, no Sec-Fetch": {"Accept": CHROME},
    "embed script fetch()": {"Accept": "application/feed+json", "Sec-Fetch-Dest": "empty"},
    "browser fetch() of */*": {"Accept": "*/*", "Sec-Fetch-Dest": "empty"},
    "frame asking feed first": {
        "Accept": "application/rss+xml, text/html;q=0.5",
        "Sec-Fetch-Dest": "document",
    },
}
BROWSERS = {
    "chromium": CHROME,
    "firefox": FIREFOX,
    "safari": SAFARI,
}
FEEDS = ["/feed.rss", "/topics/ai/feed.atom", "/providers/engadget.com/feed.json"]


@pytest.mark.parametrize("path", FEEDS)
@pytest.mark.parametrize("headers", READERS.values(), ids=READERS.keys())
def test_readers_get_the_exact_feed(client, path, headers):
    plain = client.get(path)
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert response.data == plain.data
    assert response.headers["Content-Type"] == plain.headers["Content-Type"]
    assert response.headers["ETag"] == plain.headers["ETag"]
    assert {"Accept", "Sec-Fetch-Dest"} <= set(response.vary)


@pytest.mark.parametrize("path", FEEDS)
@pytest.mark.parametrize("accept", BROWSERS.values(), ids=BROWSERS.keys())
def test_browsers_get_a_page_about_the_feed(client, path, accept):
    response = client.get(path, headers={"Accept": accept, "Sec-Fetch-Dest": "document"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert {"Accept", "Sec-Fetch-Dest"} <= set(response.vary)
    assert response.headers["ETag"] != client.get(path).headers["ETag"]
    doc = html.fromstring(response.data)
    assert "This is a feed" in doc.findtext(".//h1")
    address = doc.get_element_by_id("this-feed").get("value")
    assert address == f"http://localhost{path}"
    assert doc.xpath("//link[@rel='canonical']/@href")
    # The page is cached and conditional like the feed.
    again = client.get(
        path,
        headers={
            "Accept": accept,
            "Sec-Fetch-Dest": "document",
            "If-None-Match": response.headers["ETag"],
        },
    )
    assert again.status_code == 304


def test_unknown_pages_of_a_feed_stay_404_for_browsers(client):
    response = client.get(
        "/feed.rss?page=99", headers={"Accept": CHROME, "Sec-Fetch-Dest": "document"}
    )
    assert response.status_code == 404


@pytest.mark.integration
@pytest.mark.parametrize("path", FEEDS[:2])
def test_feedparser_fetching_over_http_gets_the_feed(sample_app, serve, path):
    with serve(sample_app) as base:
        parsed = feedparser.parse(base + path)
    assert parsed.status == 200
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version in ("rss20", "atom10")
    assert parsed.entries
