"""/feeds.opml read by a real OPML consumer (listparser), and /catalog.json."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import feedparser
import listparser
import pytest
from conftest import article
from lxml import etree

FORMATS = ("rss", "atom", "json")


@pytest.fixture
def mixed_app(store_dir):
    store_dir.add(
        "a.txt",
        article(
            webUrl="https://a.example.com/1",
            topics=["AI", "Zebras & Co"],
            publishedDateTime="2024-05-02T10:00:00Z",
        ),
    )
    store_dir.add(
        "b.txt",
        article(
            webUrl="https://b.example.org/2",
            topics=["ai", "C++"],
            provider={"name": "Bee <News>", "domain": "b.example.org"},
            publishedDateTime="2024-05-03T10:00:00Z",
        ),
    )
    return store_dir.app()


def local_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "localhost", url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_opml_imports_every_feed_grouped(mixed_app):
    client = mixed_app.test_client()
    response = client.get("/feeds.opml")
    assert response.status_code == 200
    parsed = listparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.meta.title
    snapshot = mixed_app.extensions["feedsvc.store"].snapshot
    by_folder: dict[str, set[str]] = {}
    for feed in parsed.feeds:
        folder = feed.categories[0][0] if feed.categories else ""
        by_folder.setdefault(folder, set()).add(feed.title)
        # Every listed URL is a feed a reader can parse.
        body = client.get(local_path(feed.url)).data
        assert feedparser.parse(body).entries, feed.url
    assert by_folder == {
        "": {"feedsvc"},
        "Topics": {g.name for g in snapshot.topics.values()},
        "Providers": {g.name for g in snapshot.providers.values()},
    }
    assert "Bee <News>" in by_folder["Providers"]


def test_opml_is_opml_2(client):
    root = etree.fromstring(client.get("/feeds.opml").data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    for outline in root.iter("outline"):
        if outline.get("xmlUrl"):
            assert outline.get("type") == "rss"
            assert outline.get("text") and outline.get("htmlUrl")


def test_catalog_lists_topics_and_providers_with_working_urls(mixed_app):
    client = mixed_app.test_client()
    response = client.get("/catalog.json")
    assert response.mimetype == "application/json"
    catalog = json.loads(response.data)
    snapshot = mixed_app.extensions["feedsvc.store"].snapshot
    for kind, groups in (("topics", snapshot.topics), ("providers", snapshot.providers)):
        entries = catalog[kind]
        assert [e["name"].casefold() for e in entries] == sorted(
            e["name"].casefold() for e in entries
        )
        assert {e["slug"] for e in entries} == set(groups)
        for entry in entries:
            group = groups[entry["slug"]]
            assert entry["name"] == group.name
            assert entry["count"] == len(group.articles)
            newest = group.articles[0].published  # the newest article, not the newest edit
            assert entry["newest"] == newest.isoformat().replace("+00:00", "Z")
            assert client.get(local_path(entry["page_url"])).status_code == 200
            assert set(entry["feeds"]) == set(FORMATS)
            for fmt, url in entry["feeds"].items():
                feed = client.get(local_path(url))
                assert feed.status_code == 200
                assert feed.mimetype == catalog["formats"][fmt]["type"]
    ai = next(e for e in catalog["topics"] if e["slug"] == "ai")
    assert ai["count"] == 2 and ai["newest"] == "2024-05-03T10:00:00Z"
    assert catalog["everything"]["count"] == 2


def test_directory_uses_the_configured_base_url(store_dir):
    store_dir.add("a.txt", article())
    client = store_dir.app(BASE_URL="https://feeds.example").test_client()
    urls = [f.url for f in listparser.parse(client.get("/feeds.opml").data).feeds]
    assert urls and all(u.startswith("https://feeds.example/") for u in urls)
    catalog = json.loads(client.get("/catalog.json").data)
    assert catalog["topics"][0]["feeds"]["json"] == "https://feeds.example/topics/ai/feed.json"
