"""The URL table: routes, builders and the canonical query form, through real requests."""

from __future__ import annotations

import feedparser
import pytest
from conftest import SAMPLE
from feedcheck import parse_feed

from feedsvc import create_app
from feedsvc.render import urls


@pytest.fixture(scope="module")
def app():
    return create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0})


@pytest.fixture
def client(app):
    return app.test_client()


def test_every_table_route_is_a_flask_rule_with_its_endpoint(app):
    rules = {(rule.rule, rule.endpoint) for rule in app.url_map.iter_rules()}
    for route in urls.ROUTES:
        assert (route.rule, route.endpoint) in rules


def test_the_route_name_is_what_logs_and_metrics_show(app):
    from feedsvc.web.logs import _route_of

    for route in urls.ROUTES:
        assert route.name == _route_of(route.rule)


@pytest.mark.parametrize("group_kind", ["all", "topic", "provider"])
@pytest.mark.parametrize("fmt", urls.FORMATS)
def test_built_feed_paths_are_served_and_matched_by_the_fast_path(app, client, group_kind, fmt):
    snapshot = app.extensions["feedsvc.store"].snapshot
    group = next(g for g in snapshot.groups if g.kind == group_kind)
    path = urls.feed_path(group, fmt)
    response = client.get(path)
    assert response.status_code == 200
    parse_feed(fmt, response.data)
    route, values = urls.match_feed(path)
    assert route is urls.FEEDS[group_kind] and values["fmt"] == fmt
    assert route.path_of(group, fmt=fmt) == path


@pytest.mark.parametrize(
    "path", ["/feed.xml", "/topics/a b/feed.rss", "/topics/%41/feed.rss", "/feed.rss/"]
)
def test_the_fast_path_matcher_leaves_anything_else_to_flask(path):
    assert urls.match_feed(path) is None


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("page=2&limit=1", "limit=1&page=2"),  # another order
        ("limit=50", ""),  # a default spelled out
        ("page=1", ""),
        ("limit=050", ""),
        ("limit=%31", "limit=1"),  # an escape where none is needed
        ("limit=1&utm_source=x", "limit=1"),  # an unknown parameter
        ("limit=1&limit=2", "limit=1"),  # repeated: the first counts
        ("&limit=1&", "limit=1"),
    ],
)
def test_other_spellings_redirect_permanently_to_the_canonical_url(client, query, canonical):
    response = client.get(f"/topics/ai/feed.atom?{query}")
    assert response.status_code == 301
    expected = "/topics/ai/feed.atom" + (f"?{canonical}" if canonical else "")
    assert response.headers["Location"] == expected
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    followed = client.get(response.headers["Location"])
    assert followed.status_code == 200
    parse_feed("atom", followed.data)


def test_the_canonical_url_is_answered_as_is_and_is_the_self_link(client):
    response = client.get("/feed.atom?limit=1&page=2")
    assert response.status_code == 200
    feed = feedparser.parse(response.data)
    selfs = [link["href"] for link in feed.feed.links if link["rel"] == "self"]
    assert selfs == ["http://localhost/feed.atom?limit=1&page=2"]


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/?utm_source=x", "/"),
        ("/feeds.opml?x=1", "/feeds.opml"),
        ("/topics/ai/embed?limit=5", "/topics/ai/embed"),
        ("/topics/ai/embed?x=1&limit=3", "/topics/ai/embed?limit=3"),
    ],
)
def test_pages_have_a_canonical_query_too(client, path, canonical):
    response = client.get(path)
    assert response.status_code == 301
    assert response.headers["Location"] == canonical
    assert client.get(canonical).status_code == 200


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "page=x", "limit=1&limit=x", "limit="])
def test_malformed_values_stay_a_400_that_says_why(client, query):
    response = client.get(f"/feed.rss?{query}")
    assert response.status_code == 400
    assert "whole number" in response.text


def test_a_redirect_keeps_the_request_id(client):
    response = client.get("/feed.rss?page=1", headers={"X-Request-ID": "r-42"})
    assert response.status_code == 301 and response.headers["X-Request-ID"] == "r-42"


def test_a_new_parameter_is_one_entry_in_a_query():
    paging = [param for param in urls.FEED_QUERY.params if param.name in ("limit", "page")]
    query = urls.Query((*paging, urls.Whole("min_quality", 0, 0, 1000)))
    parsed = query.read("min_quality=5&limit=3")
    assert dict(parsed.values) == {"limit": 3, "page": 1, "min_quality": 5}
    assert parsed.canonical == "limit=3&min_quality=5" and parsed.error is None
    assert query.read("limit=3&min_quality=5").canonical is None
    assert "min_quality" in query.read("min_quality=1001").error


def test_a_new_route_kind_gets_its_rule_matcher_and_builder_from_its_template():
    route = urls.Route(
        "feeds.topic_of_provider",
        "/topics/{slug}/providers/{domain}/feed.{fmt}",
        urls.FEED_QUERY,
    )
    assert route.rule == "/topics/<slug>/providers/<domain>/feed.<any(rss, atom, json):fmt>"
    assert route.name == "/topics/<slug>/providers/<domain>/feed.<fmt>"
    path = route.path(slug="ai", domain="example.com", fmt="json")
    assert path == "/topics/ai/providers/example.com/feed.json"
    assert route.match(path) == {"slug": "ai", "domain": "example.com", "fmt": "json"}
    assert route.url("https://f.example", {"slug": "ai", "domain": "d", "fmt": "rss"}, {"page": 2})
    assert route.url("https://f.example", {"slug": "a", "domain": "d", "fmt": "rss"}, {}) == (
        "https://f.example/topics/a/providers/d/feed.rss"
    )


def test_a_feed_route_may_find_its_group_its_own_way(app):
    snapshot = app.extensions["feedsvc.store"].snapshot
    asked = []

    def newest_topic(snapshot, values):
        asked.append(dict(values))
        return next(iter(snapshot.topics.values()), None)

    route = urls.Route("feeds.newest", "/newest/feed.{fmt}", urls.FEED_QUERY, resolve=newest_topic)
    values = route.match("/newest/feed.json")
    assert route.group_in(snapshot, values) is next(iter(snapshot.topics.values()))
    assert asked == [{"fmt": "json"}]
    assert urls.TOPIC_FEED.group_in(snapshot, {"slug": "AI", "fmt": "rss"}).slug == "ai"
    assert urls.TOPIC_FEED.group_in(snapshot, {"slug": "nowhere", "fmt": "rss"}) is None
