"""One client cannot make the service render without end, nor poll one feed in full without end."""

from __future__ import annotations

import pytest
from conftest import SAMPLE, StoreDir
from feedcheck import parse_feed

from feedsvc import create_app
from feedsvc.render import urls

CLIENT = {"REMOTE_ADDR": "203.0.113.7"}
OTHER = {"REMOTE_ADDR": "198.51.100.9"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Ten articles: ten pages of one."""
    store = StoreDir(tmp_path_factory.mktemp("limits") / "store")
    for n in range(10):
        store.add_numbered(n, topics=["AI"], publishedDateTime=f"2024-01-01T00:{n:02}:00Z")
    return store


def limited(store, **config):
    """The app with its budgets on a clock the test moves."""
    app = create_app({"CONTENT_DIR": str(store.root), "RELOAD_INTERVAL": 0, **config})
    clock = Clock()
    limits = app.extensions["feedsvc.limits"]
    limits.renders.clock = limits.polls.clock = clock
    return app, clock


# --- limits that cannot multiply renders ----------------------------------------------------


@pytest.mark.parametrize(("asked", "served"), [(4, 5), (7, 10), (51, 100), (499, 500), (30, 50)])
def test_a_page_size_between_sizes_redirects_to_the_next_size(asked, served):
    client = create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0}).test_client()
    response = client.get(f"/feed.rss?limit={asked}")
    assert response.status_code == 301
    canonical = "" if served == 50 else f"?limit={served}"
    assert response.headers["Location"] == f"/feed.rss{canonical}"


def test_every_limit_a_client_may_ask_for_is_one_of_a_few_renders():
    client = create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0}).test_client()
    cache = client.application.extensions["feedsvc.render_cache"]
    for limit in range(1, 501):
        client.get(f"/feed.json?limit={limit}", follow_redirects=True)
    assert cache.misses <= len(urls.PAGE_SIZES)


# --- a budget for uncached renders --------------------------------------------------------------


def test_a_client_past_its_render_budget_gets_429_until_it_refills(store):
    app, clock = limited(store, RENDER_RATE=1.0, RENDER_BURST=3)
    client = app.test_client()
    pages = [f"/feed.rss?limit=1&page={n}" for n in range(2, 7)]
    assert [client.get(p, environ_base=CLIENT).status_code for p in pages[:3]] == [200] * 3
    refused = client.get(pages[3], environ_base=CLIENT)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    # What is cached is still served, to this client too; another client has its own budget.
    assert client.get(pages[0], environ_base=CLIENT).status_code == 200
    assert client.get(pages[3], environ_base=OTHER).status_code == 200
    clock.now += 1.0
    assert client.get(pages[4], environ_base=CLIENT).status_code == 200


def test_pages_count_against_the_same_budget(store):
    app, _ = limited(store, RENDER_RATE=1.0, RENDER_BURST=2)
    client = app.test_client()
    statuses = [
        client.get(path, environ_base=CLIENT).status_code
        for path in ("/", "/topics/ai/", "/providers/news.example.com/", "/feeds.opml")
    ]
    assert statuses == [200, 200, 429, 429]


def test_loopback_and_a_zero_rate_are_not_limited(store):
    app, _ = limited(store, RENDER_RATE=1.0, RENDER_BURST=1)
    client = app.test_client()
    assert {client.get(f"/feed.rss?limit=1&page={n}").status_code for n in range(2, 9)} == {200}
    app, _ = limited(store, RENDER_RATE=0, RENDER_BURST=1)
    client = app.test_client()
    statuses = {
        client.get(f"/feed.rss?limit=1&page={n}", environ_base=CLIENT).status_code
        for n in range(2, 9)
    }
    assert statuses == {200}


# --- polling one feed in full, far faster than it changes -------------------------------------


def test_a_client_refetching_a_feed_in_full_gets_429_with_retry_after(store):
    app, clock = limited(store, POLL_LIMIT=5, MAX_AGE=60)
    client = app.test_client()
    client.get("/feed.rss", environ_base=OTHER)  # cached: the fast path answers from here on
    statuses = [client.get("/feed.rss", environ_base=CLIENT).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    refused = client.get("/feed.rss", environ_base=CLIENT)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 12  # one fetch comes back every 12 s
    assert refused.headers["Cache-Control"] == "no-store"
    # Other feeds, and other clients, are not held back.
    assert client.get("/feed.atom", environ_base=CLIENT).status_code == 200
    assert client.get("/feed.rss", environ_base=OTHER).status_code == 200
    clock.now += 12
    assert client.get("/feed.rss", environ_base=CLIENT).status_code == 200


def test_conditional_requests_are_never_refused(store):
    app, _ = limited(store, POLL_LIMIT=2, MAX_AGE=60)
    client = app.test_client()
    etag = client.get("/feed.rss", environ_base=CLIENT).headers["ETag"]
    statuses = {
        client.get("/feed.rss", environ_base=CLIENT, headers={"If-None-Match": etag}).status_code
        for _ in range(100)
    }
    assert statuses == {304}


def test_a_reader_polling_at_the_interval_is_never_refused(store):
    app, clock = limited(store, POLL_LIMIT=2, MAX_AGE=60)
    client = app.test_client()
    for _ in range(50):
        response = client.get("/feed.json", environ_base=CLIENT)
        assert response.status_code == 200
        parse_feed("json", response.data)
        clock.now += 30  # twice as often as max-age says, still within the limit


def test_the_fast_path_and_flask_count_a_poll_once(store):
    """A miss goes on to Flask after the fast path counted it: it must not count twice."""
    app, _ = limited(store, POLL_LIMIT=3, MAX_AGE=60)
    client = app.test_client()
    statuses = [client.get(f"/feed.rss?limit={n}", environ_base=CLIENT).status_code for n in (1,)]
    statuses += [client.get("/feed.rss?limit=1", environ_base=CLIENT).status_code for _ in range(3)]
    assert statuses == [200, 200, 200, 429]
