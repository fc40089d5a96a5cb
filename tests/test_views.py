"""The feed views: one per route of the URL table, each grouping in each format."""

from __future__ import annotations

import pytest
from conftest import article
from feedcheck import FORMATS, MIMETYPES, check_feed, entry_ids, parse_feed

from feedsvc.render import urls


@pytest.fixture
def client(store_dir):
    store_dir.add("a.txt", article(webUrl="https://a.example/1", topics=["AI"]))
    store_dir.add(
        "b.txt",
        article(
            webUrl="https://b.example/2",
            topics=["Robotics"],
            provider={"name": "B News", "domain": "b.example"},
        ),
    )
    return store_dir.app().test_client()


def ids(client, path: str, fmt: str) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == MIMETYPES[fmt]
    return set(entry_ids(fmt, check_feed(fmt, response.data)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_grouping_holds_its_own_articles(client, fmt):
    assert ids(client, f"/feed.{fmt}", fmt) == {"https://a.example/1", "https://b.example/2"}
    assert ids(client, f"/topics/ai/feed.{fmt}", fmt) == {"https://a.example/1"}
    assert ids(client, f"/topics/robotics/feed.{fmt}", fmt) == {"https://b.example/2"}
    assert ids(client, f"/providers/b.example/feed.{fmt}", fmt) == {"https://b.example/2"}


def test_topic_slugs_match_whatever_the_case(client):
    assert ids(client, "/topics/AI/feed.json", "json") == {"https://a.example/1"}


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/feed.xml", None),  # an unknown format: routing's 404
        ("/topics/nowhere/feed.rss", "No such topic."),
        ("/providers/nowhere.example/feed.rss", "No such provider."),
        ("/feed.rss?limit=1&page=3", "No such page of this feed."),
    ],
)
def test_what_does_not_exist_is_a_404_that_says_why(client, path, why):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    if why:
        assert why in response.text


def test_page_one_of_an_empty_feed_exists(store_dir):
    client = store_dir.app().test_client()
    response = client.get("/feed.atom")
    assert response.status_code == 200
    assert parse_feed("atom", response.data) == []


def test_only_get_head_and_options_are_allowed(client):
    assert client.post("/feed.rss").status_code == 405
    assert client.head("/feed.rss").status_code == 200
    assert client.options("/feed.rss").status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_query_chooses_the_page(client, fmt):
    first = ids(client, f"/feed.{fmt}?limit=1", fmt)
    second = ids(client, f"/feed.{fmt}?limit=1&page=2", fmt)
    assert len(first) == len(second) == 1 and first != second


def test_a_second_request_is_a_render_cache_hit(client):
    cache = client.application.extensions["feedsvc.render_cache"]
    client.application.config["FAST_PATH"] = False  # count Flask's own lookups
    client.get("/feed.rss")
    hits = cache.hits
    client.get("/feed.rss")
    assert cache.hits == hits + 1


def test_every_feed_route_is_a_view(client):
    rules = {rule.rule for rule in client.application.url_map.iter_rules()}
    assert {route.rule for route in urls.FEEDS.values()} <= rules
