"""Helpers for the hardening tests: read every feed format back with real consumers."""

from __future__ import annotations

import json

import feedparser
from conftest import SECRET
from lxml import etree

FORMATS = ("rss", "atom", "json")
# Nothing derived from the encrypted payload may leave the service, not even its name.
LEAKS = ("secured", SECRET[:16], "bm9uY2U")


def assert_no_leak(text: str | bytes) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for leak in LEAKS:
        assert leak.lower() not in text.lower(), f"{leak!r} leaked"


def parse_feed(fmt: str, body: bytes) -> list[str]:
    """The item links of one feed body, after checking it parses as a reader would."""
    if fmt == "json":
        feed = json.loads(body)
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert isinstance(feed["title"], str) and feed["title"]
        for item in feed["items"]:
            assert isinstance(item["id"], str) and item["id"]
            assert any(key in item for key in ("content_html", "content_text"))
        return [item["url"] for item in feed["items"]]
    etree.fromstring(body)  # well-formed XML, or this raises
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    for entry in parsed.entries:
        assert entry.get("title")
        assert entry.get("published_parsed") or entry.get("updated_parsed")
    return [entry.link for entry in parsed.entries]


def read_all_feeds(client, prefix: str = "") -> dict[str, tuple[bytes, list[str]]]:
    """Every format of one feed: {fmt: (body, item links)}, each checked to be 200 and parseable."""
    out = {}
    for fmt in FORMATS:
        response = client.get(f"{prefix}/feed.{fmt}")
        assert response.status_code == 200, response.get_data(as_text=True)
        out[fmt] = (response.data, parse_feed(fmt, response.data))
    return out
