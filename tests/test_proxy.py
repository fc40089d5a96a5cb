"""nginx (deploy/nginx/) caching in front of two feedsvc replicas on one store, on loopback.

bench/scaleout.py runs the same set-up by hand and adds the throughput measurement.
"""

from __future__ import annotations

import gzip
import os
import shutil
import time

import listparser
import pytest
from conftest import SAMPLE, article, front_matter
from servers import get, gunicorn, metric_total, nginx, nginx_binary, scrape

pytestmark = [pytest.mark.integration, pytest.mark.slow]

if nginx_binary() is None and not os.environ.get("CI"):
    pytest.skip("nginx is not installed (CI installs it)", allow_module_level=True)

MAX_AGE = 1
RELOAD_INTERVAL = 0.2


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxy")
    store = root / "store"
    shutil.copytree(SAMPLE, store)
    (store / "edited.md").write_text(front_matter(article(title="Before the edit")))
    env = {
        "FEEDSVC_MAX_AGE": str(MAX_AGE),
        "FEEDSVC_RELOAD_INTERVAL": str(RELOAD_INTERVAL),
        # As deployed behind the template: one trusted hop, the public names listed.
        "FEEDSVC_PROXY_HOPS": "1",
        "FEEDSVC_ALLOWED_HOSTS": "127.0.0.1, feeds.example.com",
    }
    with (
        gunicorn(store, root / "a.log", workers=1, env=env) as a,
        gunicorn(store, root / "b.log", workers=1, env=env) as b,
        nginx([a.url.removeprefix("http://"), b.url.removeprefix("http://")]) as proxy,
    ):
        yield proxy, [a, b], store


def backend_total(backends, name: str, **labels: str) -> float:
    return sum(metric_total(scrape(b.url), name, **labels) for b in backends)


def feed_requests(backends, fmt: str) -> float:
    return backend_total(backends, "feedsvc_http_requests_total", route="/feed.<fmt>", format=fmt)


def test_repeat_requests_are_served_by_the_cache(deployment):
    proxy, backends, _ = deployment
    before = feed_requests(backends, "rss")
    statuses = [get(proxy.url + "/feed.rss")[1]["X-Cache-Status"] for _ in range(20)]
    assert statuses[0] == "MISS"
    assert set(statuses[1:]) == {"HIT"}
    assert feed_requests(backends, "rss") - before == 1


def test_expired_entries_are_revalidated_with_a_304(deployment):
    proxy, backends, _ = deployment
    _, first, body = get(proxy.url + "/feed.atom")
    before = backend_total(backends, "feedsvc_http_not_modified_total")
    # nginx keeps whole seconds: an entry with max-age=1 expires one to two seconds on.
    # Until then each request is a HIT that no replica sees; the first one after is the test.
    deadline = time.monotonic() + MAX_AGE + 3.0
    while True:
        status, headers, again = get(proxy.url + "/feed.atom")
        if headers["X-Cache-Status"] != "HIT" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (status, headers["X-Cache-Status"]) == (200, "REVALIDATED")
    assert again == body and headers["ETag"] == first["ETag"]
    assert backend_total(backends, "feedsvc_http_not_modified_total") - before == 1


def test_the_cache_answers_conditional_requests_itself(deployment):
    proxy, backends, _ = deployment
    _, headers, _ = get(proxy.url + "/feed.json")
    before = feed_requests(backends, "json")
    status, answer, body = get(proxy.url + "/feed.json", {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert answer["X-Cache-Status"] == "HIT"
    assert feed_requests(backends, "json") == before


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom", "/topics/ai/feed.json"])
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_replicas_give_identical_etags(deployment, path, encoding):
    _, backends, _ = deployment
    # The proxy sends its own Host to every replica; links (so bytes and tags) follow it.
    headers = {"Accept-Encoding": encoding, "Host": "feeds.example.com"}
    answers = [get(b.url + path, headers) for b in backends]
    assert [a[0] for a in answers] == [200, 200]
    assert answers[0][1]["ETag"] == answers[1][1]["ETag"]
    assert answers[0][2] == answers[1][2]


def test_an_edit_is_served_within_max_age(deployment):
    proxy, _, store = deployment
    assert b"Before the edit" in get(proxy.url + "/providers/news.example.com/feed.rss")[2]
    (store / "edited.md").write_text(front_matter(article(title="After the edit")))
    edited = time.monotonic()
    # The replicas notice within RELOAD_INTERVAL; the cache lets go within MAX_AGE.
    limit = MAX_AGE + RELOAD_INTERVAL + 1.0
    while time.monotonic() - edited < limit:
        if b"After the edit" in get(proxy.url + "/providers/news.example.com/feed.rss")[2]:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the edit was not served within {limit} s")


def test_request_ids_pass_through_and_are_not_replayed_from_the_cache(deployment):
    proxy, backends, _ = deployment
    get(proxy.url + "/topics/ai/feed.rss")  # fill the cache
    ids = [
        get(proxy.url + "/topics/ai/feed.rss", {"X-Request-ID": f"client-{n}"})[1]["X-Request-ID"]
        for n in range(3)
    ]
    assert ids == ["client-0", "client-1", "client-2"]


BROWSER = {
    "Sec-Fetch-Dest": "document",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}


def test_the_cache_keeps_apart_what_vary_names(deployment):
    proxy, _, _ = deployment
    path = proxy.url + "/topics/ai/feed.json"
    for _ in range(2):  # the second round comes from the cache
        _, feed, feed_body = get(path, {"Accept": "text/html,*/*"})
        _, page, page_body = get(path, BROWSER)
        _, zipped, zipped_body = get(path, {"Accept-Encoding": "gzip"})
        _, plain, plain_body = get(path)
    assert feed["Content-Type"].startswith("application/feed+json") and feed_body == plain_body
    assert page["Content-Type"].startswith("text/html") and b"<html" in page_body
    assert zipped["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain
    assert gzip.decompress(zipped_body) == plain_body
    assert {feed["X-Cache-Status"], page["X-Cache-Status"], zipped["X-Cache-Status"]} == {"HIT"}
    assert "Accept" in page["Vary"] and "Accept-Encoding" in plain["Vary"]  # still sent on


def test_a_foreign_host_cannot_poison_the_cache(deployment):
    proxy, _, _ = deployment
    status, _, _ = get(proxy.url + "/feeds.opml", {"Host": "evil-cache.example"})
    assert status == 400
    for _ in range(2):  # filled, then a hit
        status, headers, body = get(proxy.url + "/feeds.opml")
        assert status == 200 and b"evil-cache" not in body
    assert headers["X-Cache-Status"] == "HIT"
    links = {feed.url for feed in listparser.parse(body).feeds}
    assert links and all(url.startswith("http://127.0.0.1:") for url in links)


FORGED = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "javascript:alert(document.domain)//",
    "X-Forwarded-Port": "1",
    "X-Forwarded-Prefix": "/evil",
    "Forwarded": "host=evil.example;proto=javascript",
}


@pytest.mark.parametrize("path", ["/topics/ai/embed", "/providers/techcrunch.com/feed.json"])
def test_the_clients_forwarded_headers_are_replaced(deployment, path):
    proxy, _, _ = deployment
    status, _, body = get(proxy.url + path + "?from=forged", FORGED)
    assert status in (200, 301, 400)  # whatever the query says, never the forged origin
    status, _, body = get(proxy.url + path, FORGED)
    assert status == 200
    assert b"evil.example" not in body and b"/evil" not in body and b"javascript:" not in body
    assert f"http://127.0.0.1:{proxy.port}/".encode() in body


@pytest.mark.parametrize(
    "spellings",
    [["gzip", "gzip, deflate", "deflate, gzip, br", "br,gzip"], ["", "identity", "br", "deflate"]],
)
def test_the_cache_key_holds_the_encoding_normalised(deployment, spellings):
    proxy, _, _ = deployment
    path = proxy.url + "/topics/ai/feed.atom"
    get(path, {"Accept-Encoding": "gzip, deflate, br, zstd"})  # a hit for the gzip spellings
    get(path, {"Accept-Encoding": "identity"})  # and for the others
    answers = [get(path, {"Accept-Encoding": value}) for value in spellings]
    assert {headers["X-Cache-Status"] for _, headers, _ in answers} == {"HIT"}
    zipped = {headers.get("Content-Encoding") for _, headers, _ in answers}
    assert zipped == ({"gzip"} if spellings[0] == "gzip" else {None})
