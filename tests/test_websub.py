"""WebSub in the app: settings, discovery links on every path, metrics, /readyz."""

from __future__ import annotations

import threading

import lxml.html
import pytest
from prometheus_client.parser import text_string_to_metric_families
from requests.utils import parse_header_links
from servers import metric_total
from test_fastpath import Counted, both_ways, fast_path_of
from websub_env import (
    BASE,
    TOPIC,
    websub_app,
)

# --- settings ---------------------------------------------------------------------------


def test_without_hubs_nothing_changes(store_dir):
    store_dir.add_numbered(1)
    client = store_dir.app().test_client()
    for path in ("/feed.atom", "/feed.rss", "/feed.json"):
        response = client.get(path)
        assert "Link" not in response.headers
        assert b"websub" not in response.data and b'"hubs"' not in response.data
    assert client.post("/websub", data={"hub.mode": "subscribe"}).status_code == 404
    assert client.get("/websub").status_code == 404
    assert "websub" not in client.get("/readyz").get_json()


@pytest.mark.parametrize(
    "config, named",
    [
        ({"BASE_URL": ""}, "BASE_URL"),
        ({"WEBSUB_DIR": ""}, "WEBSUB_DIR"),
        ({"WEBSUB_HUBS": "self,ftp://hub.example/"}, "WEBSUB_HUBS"),
        ({"WEBSUB_LEASE_MIN": 0}, "LEASE"),
        ({"WEBSUB_LEASE_SECONDS": 10**9}, "LEASE"),
    ],
)
def test_settings_that_cannot_work_stop_the_start(store_dir, tmp_path, config, named):
    with pytest.raises(ValueError, match=named):
        websub_app(store_dir, tmp_path, **config)


def test_an_external_hub_is_announced_and_no_endpoint_is_served(store_dir, tmp_path):
    app = websub_app(store_dir, tmp_path, WEBSUB_HUBS="https://hub.example/")
    client = app.test_client()
    assert client.get("/feed.json").get_json()["hubs"] == [
        {"type": "WebSub", "url": "https://hub.example/"}
    ]
    assert client.post("/websub", data={"hub.mode": "subscribe"}).status_code == 404


@pytest.mark.parametrize("fast_path", [True, False])
def test_links_on_200_and_304_from_both_paths(store_dir, tmp_path, fast_path):
    app = websub_app(
        store_dir, tmp_path, WEBSUB_HUBS="self,https://hub.example/", FAST_PATH=fast_path
    )
    client = app.test_client()
    client.get("/feed.rss")  # rendered into the cache: the fast path answers what follows
    for path in ("/feed.rss", "/feed.rss?limit=10", "/topics/ai/feed.json"):
        first = client.get(path)
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert (first.status_code, again.status_code) == (200, 304)
        for response in (first, again):
            links = parse_header_links(", ".join(response.headers.getlist("Link")))
            assert [(link["rel"], link["url"]) for link in links] == [
                ("hub", BASE + "/websub"),
                ("hub", "https://hub.example/"),
                ("self", BASE + path),
            ]


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/feed.atom", {}),
        ("/topics/ai/feed.rss", {"Accept-Encoding": "gzip"}),
        ("/feed.json", {"If-None-Match": "*"}),
    ],
)
def test_the_fast_path_answers_with_the_same_links_as_flask(store_dir, tmp_path, path, headers):
    app = websub_app(store_dir, tmp_path, WEBSUB_HUBS="self,https://hub.example/")
    fast_path = fast_path_of(app)
    fast_path.fallback = Counted(fast_path.fallback)
    flask, fast, answered = both_ways(app, path, headers=headers)
    assert fast == flask and answered
    assert sum(name == "Link" for name, _ in fast[1]) == 3


@pytest.mark.parametrize(
    "path",
    [
        "/topics/ai/providers/news.example.com/feed.rss",
        "/feed.atom?q=article",
        "/topics/ai/digest.json",
        "/feed.rss?min_quality=1",
    ],
)
def test_composed_feeds_name_no_hub(store_dir, tmp_path, path):
    """Only the groups' own feeds are the hub's topics; a composed one is polled."""
    app = websub_app(store_dir, tmp_path, WEBSUB_HUBS="self,https://hub.example/")
    fast_path = fast_path_of(app)
    fast_path.fallback = Counted(fast_path.fallback)
    path, _, query = path.partition("?")
    flask, fast, _ = both_ways(app, path, query=query)
    for status, headers, body in (flask, fast):
        assert status == "200 OK", (path, status)
        assert not any(name == "Link" for name, _ in headers)
        assert b"websub" not in body and b"hub.example" not in body


def test_pages_that_announce_feeds_announce_the_hub(store_dir, tmp_path):
    client = websub_app(store_dir, tmp_path).test_client()
    for path in ("/", "/topics/ai/", "/providers/news.example.com/"):
        head = lxml.html.fromstring(client.get(path).data).find("head")
        assert [link.get("href") for link in head.iter("link") if link.get("rel") == "hub"] == [
            BASE + "/websub"
        ]
        assert any(link.get("rel") == "alternate" for link in head.iter("link"))


def test_a_hub_request_before_the_store_is_loaded_is_a_503(store_dir, tmp_path, monkeypatch):
    app = websub_app(store_dir, tmp_path, BACKGROUND_LOAD=True)
    store = app.extensions["feedsvc.store"]
    loading = threading.Event()
    load = store.refresh
    monkeypatch.setattr(store, "refresh", lambda: (loading.wait(10), load())[1])  # a slow load
    try:
        response = app.test_client().post(
            "/websub",
            data={"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": "http://x.example/"},
        )
        assert response.status_code == 503 and "Retry-After" in response.headers
        assert not store.ready
    finally:
        loading.set()


# --- metrics and readiness --------------------------------------------------------------


def test_metrics_count_verifications_deliveries_and_latency(stepped):
    env = stepped()
    env.subscribe()
    env.edit()
    body = env.client.get("/metrics").get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert metric_total(samples, "feedsvc_websub_verifications_total", outcome="verified") == 1
    assert metric_total(samples, "feedsvc_websub_deliveries_total", outcome="delivered") == 1
    assert metric_total(samples, "feedsvc_websub_delivery_latency_seconds_count") == 1
    assert metric_total(samples, "feedsvc_websub_hub_requests_total", mode="subscribe") == 1
    assert metric_total(samples, "feedsvc_websub_subscriptions") == 1


def test_readyz_reports_the_hub(stepped):
    env = stepped()
    env.subscribe()
    env.step(60)
    state = env.client.get("/readyz").get_json()["websub"]
    assert state["hubs"] == [BASE + "/websub"] and state["self_hub"] is True
    assert state["subscriptions"] == 1 and state["storage"] == "ok"
    assert state["leader"]["this_process"] is True
