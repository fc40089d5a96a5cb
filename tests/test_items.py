"""The per-article item cache: reused items never carry another page's or an old edit's content."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from feedcheck import FORMATS, check_feed

from feedsvc import create_app
from feedsvc.content.index import Group
from feedsvc.content.model import Article, Image, Provider, Related
from feedsvc.content.store import Store
from feedsvc.render import feeds
from feedsvc.render.items import ITEM_CACHE_SIZE, ItemCache
from feedsvc.render.page import FeedPage, Site

SITE_A = Site("Site A", "All of A", "en", "https://a.example")
SITE_B = Site("Site B <&>", "All of B", "de", "http://b.example/sub")


ITEMS = ItemCache(ITEM_CACHE_SIZE)  # what one app keeps, shared by this module's renders


@pytest.fixture(autouse=True)
def _cold_items():
    ITEMS.clear()
    yield
    ITEMS.clear()


def make_article(**fields) -> Article:
    values = {
        "url": "https://news.example.com/story",
        "title": "First title",
        "published": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        "source": "story.txt",
        "excerpt": "First excerpt",
        "topics": ("AI",),
        "images": (Image("https://cdn.example.com/a.png", "image/png", 640, 480, "A"),),
        "related": (Related("Elsewhere", "https://other.example/x", "Other"),),
    }
    return Article(**(values | fields))


def render(site: Site, group: Group, fmt: str) -> bytes:
    return feeds.render(FeedPage(site, group, fmt, 50), ITEMS)


def authors(fmt: str, body: bytes) -> list[tuple[str, str | None]]:
    parsed = check_feed(fmt, body)
    if fmt == "json":
        return [(a["name"], a.get("url")) for item in parsed["items"] for a in item["authors"]]
    if fmt == "rss":
        return [(entry.author, None) for entry in parsed.entries]
    return [(entry.author_detail.name, entry.author_detail.href) for entry in parsed.entries]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_article_without_provider_names_each_site_and_feed_it_appears_in(fmt):
    story = make_article()
    everything = Group("all", "", "", (story,))
    topic = Group("topic", "ai", "AI", (story,))
    seen = {
        (site.title, group.kind): authors(fmt, render(site, group, fmt))
        for site in (SITE_A, SITE_B)
        for group in (everything, topic)
    }
    home = {"all": "/", "topic": "/topics/ai/"}
    for (title, kind), found in seen.items():
        base = SITE_A.base_url if title == SITE_A.title else SITE_B.base_url
        uri = None if fmt == "rss" else base + home[kind]
        assert found == [(title, uri)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_article_with_a_provider_is_the_providers_everywhere(fmt):
    story = make_article(provider=Provider("Engadget", "engadget.com"))
    group = Group("all", "", "", (story,))
    for site in (SITE_A, SITE_B):
        uri = None if fmt == "rss" else "https://engadget.com"
        assert authors(fmt, render(site, group, fmt)) == [("Engadget", uri)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_edited_article_renders_its_new_content(fmt):
    old = make_article()
    first = render(SITE_A, Group("all", "", "", (old,)), fmt)
    new = dataclasses.replace(
        old,
        title="Second title",
        excerpt="Second excerpt",
        images=(Image("https://cdn.example.com/b.jpg", "image/jpeg", 10, 10, "B"),),
        related=(),
    )
    second = render(SITE_A, Group("all", "", "", (new,)), fmt)
    for gone in (b"First title", b"First excerpt", b"a.png", b"Elsewhere"):
        assert gone in first
        assert gone not in second
    for added in (b"Second title", b"Second excerpt", b"b.jpg"):
        assert added in second
    # The old object, still shown by an older snapshot's feeds, keeps its own items.
    assert render(SITE_A, Group("all", "", "", (old,)), fmt) == first


def test_the_cache_stays_within_its_bound():
    cache = ItemCache(3)
    stories = [make_article(url=f"https://news.example.com/{n}") for n in range(5)]
    built = [cache.get(story, "html", None, lambda c, a, _: a.url) for story in stories]
    assert built == [story.url for story in stories]
    assert len(cache) == 3
    # The newest stay; the oldest are built again.
    calls = []
    cache.get(stories[4], "html", None, lambda c, a, _: calls.append(a) or a.url)
    cache.get(stories[0], "html", None, lambda c, a, _: calls.append(a) or a.url)
    assert calls == [stories[0]]


def test_each_app_keeps_its_own_items():
    first = create_app({"CONTENT_DIR": "content", "RELOAD_INTERVAL": 0})
    second = create_app({"CONTENT_DIR": "content", "RELOAD_INTERVAL": 0})
    assert first.test_client().get("/feed.rss").status_code == 200
    assert len(first.extensions["feedsvc.items"]) > 0
    assert len(second.extensions["feedsvc.items"]) == 0


@pytest.mark.parametrize("folder", ["content", "tests/fixtures/hostile"])
def test_reused_items_give_the_same_bytes_as_items_built_afresh(folder):
    snapshot = Store(folder, workers=1).refresh()
    groups = snapshot.groups
    pages = [
        FeedPage(site, group, fmt, limit)
        for site in (SITE_A, SITE_B)
        for group in groups
        for fmt in FORMATS
        for limit in (50, 1)
    ]
    fresh = []
    for page in pages:
        fresh.append(feeds.render(page, ItemCache(ITEM_CACHE_SIZE)))
    reused = [feeds.render(page, ITEMS) for page in pages]
    assert reused == fresh


def test_threads_sharing_items_render_the_same_bytes():
    snapshot = Store("content", workers=1).refresh()
    groups = snapshot.groups
    pages = [
        FeedPage(site, g, fmt, 50) for site in (SITE_A, SITE_B) for g in groups for fmt in FORMATS
    ]
    expected = [feeds.render(page, ITEMS) for page in pages]

    def work(_: int) -> bool:
        bodies = zip(pages, expected, strict=True)
        return all(feeds.render(page, ITEMS) == body for page, body in bodies)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            ITEMS.clear()
            assert all(pool.map(work, range(16)))
