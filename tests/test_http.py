"""Speaking HTTP like a good feed publisher: validators, 304s, gzip, CORS, paging, freshness."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from conftest import article
from feedcheck import ATOM, FORMATS, check_feed, xml


@pytest.fixture
def store_client(store_dir):
    store_dir.add(
        "a.txt", article(webUrl="https://n.example.com/a", publishedDateTime="2024-05-01T10:00:00Z")
    )
    store_dir.add(
        "b.txt", article(webUrl="https://n.example.com/b", publishedDateTime="2024-04-01T10:00:00Z")
    )
    return store_dir.app().test_client()


@pytest.mark.parametrize("fmt", FORMATS)
def test_validators_and_caching_headers(store_client, fmt):
    response = store_client.get(f"/feed.{fmt}")
    etag, weak = response.get_etag()
    assert etag and not weak
    assert (
        parsedate_to_datetime(response.headers["Last-Modified"]).isoformat()
        == "2024-05-01T10:00:00+00:00"
    )
    cache_control = response.cache_control
    assert cache_control.public and cache_control.max_age == 60
    assert cache_control.stale_while_revalidate == 300 and cache_control.stale_if_error == 86400
    assert "Accept-Encoding" in response.vary
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert {"ETag", "Last-Modified"} <= {
        h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_if_none_match_gives_304_without_body(store_client, fmt):
    first = store_client.get(f"/feed.{fmt}")
    again = store_client.get(f"/feed.{fmt}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.cache_control.max_age == 60


def test_if_modified_since(store_client):
    last_modified = store_client.get("/feed.rss").headers["Last-Modified"]
    assert (
        store_client.get("/feed.rss", headers={"If-Modified-Since": last_modified}).status_code
        == 304
    )
    earlier = format_datetime(parsedate_to_datetime(last_modified).replace(year=2023), usegmt=True)
    assert store_client.get("/feed.rss", headers={"If-Modified-Since": earlier}).status_code == 200


@pytest.mark.parametrize("header", ['"nope"', "*-not-a-tag", "W/", '"a", "b"', "", "garbage date"])
def test_bogus_validators_get_the_feed(store_client, header):
    response = store_client.get(
        "/feed.atom", headers={"If-None-Match": header, "If-Modified-Since": header}
    )
    assert response.status_code == 200
    check_feed("atom", response.data)


def test_a_changed_feed_is_sent_again(store_dir):
    store_dir.add("a.txt", article())
    app = store_dir.app()
    client = app.test_client()
    etag = client.get("/feed.rss").headers["ETag"]
    store_dir.add(
        "b.txt",
        article(webUrl="https://n.example.com/new", publishedDateTime="2025-01-01T00:00:00Z"),
    )
    app.extensions["feedsvc.store"].refresh()
    response = client.get("/feed.rss", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert len(check_feed("rss", response.data).entries) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_gzip_is_served_when_accepted_and_decompresses_to_the_same_feed(store_client, fmt):
    plain = store_client.get(f"/feed.{fmt}", headers={"Accept-Encoding": "identity"})
    zipped = store_client.get(f"/feed.{fmt}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data)
    refused = store_client.get(f"/feed.{fmt}", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "Content-Encoding" not in refused.headers


def test_gzip_revalidates_with_its_own_tag(store_client):
    zipped = store_client.get("/feed.json", headers={"Accept-Encoding": "gzip"})
    again = store_client.get(
        "/feed.json", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("fmt", FORMATS)
def test_head_has_the_headers_and_no_body(store_client, fmt):
    get = store_client.get(f"/feed.{fmt}")
    head = store_client.head(f"/feed.{fmt}")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


def test_etags_agree_across_app_instances(store_dir):
    store_dir.add("a.txt", article())
    tags = {
        store_dir.app().test_client().get(f"/topics/ai/feed.{fmt}").headers["ETag"]
        for fmt in FORMATS
        for _ in range(2)
    }
    assert len(tags) == 3


def test_pages_link_with_rfc5005_and_json_next_url(store_dir):
    for n in range(5):
        store_dir.add_numbered(n, publishedDateTime=f"2024-01-0{n + 1}T00:00:00Z")
    client = store_dir.app(BASE_URL="https://f.example").test_client()
    seen = []
    url = "/feed.json?limit=2"
    while url:
        feed = json.loads(client.get(url).data)
        seen += [item["id"] for item in feed["items"]]
        url = feed.get("next_url", "").removeprefix("https://f.example")
    assert seen == [f"https://n.example.com/{n}" for n in (4, 3, 2, 1, 0)]

    atom = xml(client.get("/feed.atom?limit=2&page=2").data)
    links = {link.get("rel"): link.get("href") for link in atom.findall(f"{ATOM}link")}
    assert links["self"] == "https://f.example/feed.atom?limit=2&page=2"
    assert links["first"] == "https://f.example/feed.atom?limit=2"
    assert links["previous"] == "https://f.example/feed.atom?limit=2"
    assert links["next"] == "https://f.example/feed.atom?limit=2&page=3"
    rss = xml(client.get("/feed.rss?limit=2&page=3").data).find("channel")
    rss_links = {link.get("rel"): link.get("href") for link in rss.findall(f"{ATOM}link")}
    assert rss_links["previous"] == "https://f.example/feed.rss?limit=2&page=2"
    assert "next" not in rss_links
    check_feed("rss", client.get("/feed.rss?limit=2&page=3").data)
    assert client.get("/feed.rss?limit=2&page=4").status_code == 404
    assert client.get("/feed.rss?page=2").status_code == 404


def test_concurrent_requests_render_a_feed_once(store_dir, monkeypatch):
    from feedsvc.render import feeds

    store_dir.add("a.txt", article())
    app = store_dir.app()
    calls = []
    real = feeds.FORMATS["atom"].render

    def slow_render(page, items):
        calls.append(page)
        time.sleep(0.2)
        return real(page, items)

    monkeypatch.setitem(
        feeds.FORMATS, "atom", feeds.Format(feeds.FORMATS["atom"].mimetype, slow_render)
    )
    results = []

    def fetch():
        results.append(app.test_client().get("/feed.atom"))

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert len({r.data for r in results}) == 1 and all(r.status_code == 200 for r in results)


def test_rss_renders_are_safe_under_threads(store_dir):
    """feedgen switches the process locale while formatting RSS dates."""
    for n in range(20):
        store_dir.add_numbered(n, topics=[f"Topic {n}"])
    app = store_dir.app()
    bodies: dict[str, set[bytes]] = {}

    def fetch(n):
        for _ in range(3):
            app.extensions["feedsvc.render_cache"].clear()
            data = app.test_client().get(f"/topics/topic-{n}/feed.rss").data
            bodies.setdefault(n, set()).add(data)

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(len(found) == 1 for found in bodies.values())
    for found in bodies.values():
        check_feed("rss", next(iter(found)))


def test_edits_show_up_without_a_restart(store_dir):
    path = store_dir.add("a.txt", article(title="Before"))
    app = store_dir.app(RELOAD_INTERVAL=0.1)
    client = app.test_client()
    assert check_feed("json", client.get("/feed.json").data)["items"][0]["title"] == "Before"
    store_dir.add("a.txt", article(title="After"))
    os.utime(path, ns=(10**18, 10**18))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if check_feed("json", client.get("/feed.json").data)["items"][0]["title"] == "After":
            break
        time.sleep(0.05)
    else:
        pytest.fail("the edit did not show within 10 s")


def test_render_cache_is_bounded_by_bytes(store_dir):
    for n in range(30):
        store_dir.add_numbered(n, topics=[f"T{n}"])
    app = store_dir.app(CACHE_MAX_BYTES=40_000)
    client = app.test_client()
    for n in range(30):
        for fmt in FORMATS:
            assert client.get(f"/topics/t{n}/feed.{fmt}").status_code == 200
    cache = app.extensions["feedsvc.render_cache"]
    assert 0 < cache.currsize <= 40_000


def test_cors_preflight_allows_conditional_requests(store_client):
    response = store_client.options(
        "/feed.json",
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "if-none-match" in response.headers["Access-Control-Allow-Headers"].lower()
