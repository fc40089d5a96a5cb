"""Cached feeds answered below Flask: the same answer, log line and metrics as through Flask."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from conftest import SAMPLE, article, json_log
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import EnvironBuilder, run_wsgi_app

from feedsvc import create_app
from feedsvc.web import hooks
from feedsvc.web.fastpath import FastPath

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Counted:
    """Wraps the fast path's fallback to tell which requests Flask answered."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.fallback(environ, start_response)


def fast_path_of(app) -> FastPath:
    layer = app.wsgi_app
    while not isinstance(layer, FastPath):
        layer = layer.app  # ProxyFix
    return layer


@pytest.fixture
def app():
    app = create_app(
        {
            "CONTENT_DIR": str(SAMPLE),
            "RELOAD_INTERVAL": 0,
            "ALLOWED_HOSTS": "localhost, .example.org",
        }
    )
    fast = fast_path_of(app)
    fast.fallback = Counted(fast.fallback)
    return app


def call(app, path, *, fast: bool, method="GET", headers=None, query="", **environ):
    app.config["FAST_PATH"] = fast
    env = EnvironBuilder(
        path=path, method=method, headers=headers or {}, query_string=query
    ).get_environ()
    env.update(environ)
    body, status, response_headers = run_wsgi_app(app, env, buffered=True)
    return status, list(response_headers.items()), b"".join(body)


def normalised(headers: list, request_id_sent: str | None) -> list:
    """Headers with the values that change by the second or per request made comparable."""
    out = []
    for name, value in headers:
        if name == "Date":
            assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", value)
            value = "<date>"
        elif name == "X-Request-ID" and value != request_id_sent:
            assert re.fullmatch(r"[0-9a-f]{32}", value)
            value = "<fresh id>"
        out.append((name, value))
    return out


def both_ways(app, path, **request) -> tuple[tuple, tuple, bool]:
    """(Flask's answer, the fast path's answer, whether the fast path answered itself)."""
    call(app, path, fast=False, **request)  # renders and caches, as a first request would
    given = (request.get("headers") or {}).get("X-Request-ID")
    flask_status, flask_headers, flask_body = call(app, path, fast=False, **request)
    counted = fast_path_of(app).fallback
    before = counted.calls
    fast_status, fast_headers, fast_body = call(app, path, fast=True, **request)
    answered = counted.calls == before
    return (
        (flask_status, normalised(flask_headers, given), flask_body),
        (fast_status, normalised(fast_headers, given), fast_body),
        answered,
    )


def etag_of(app, path, **request) -> str:
    return dict(call(app, path, fast=False, **request)[1])["ETag"]


# (path, request) pairs the fast path answers itself.
ANSWERED = [
    ("/feed.rss", {}),
    ("/feed.atom", {}),
    ("/feed.json", {}),
    ("/feed.rss", {"method": "HEAD"}),
    ("/feed.json", {"method": "HEAD", "headers": {"Accept-Encoding": "gzip"}}),
    ("/feed.rss", {"headers": {"Accept-Encoding": "gzip, deflate, br"}}),
    ("/feed.rss", {"headers": {"Accept-Encoding": "gzip;q=0, identity"}}),
    ("/feed.rss", {"headers": {"If-None-Match": '"not-it"'}}),
    ("/feed.rss", {"headers": {"If-None-Match": "*"}}),
    ("/feed.rss", {"headers": {"If-None-Match": "garbage"}}),
    ("/feed.rss", {"headers": {"If-None-Match": ", ".join(f'"tag-{n}"' for n in range(40))}}),
    ("/feed.rss", {"headers": {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}}),
    ("/feed.rss", {"headers": {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}}),
    ("/feed.rss", {"headers": {"If-Modified-Since": "not a date"}}),
    (
        "/feed.rss",
        {"headers": {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT", "If-None-Match": '"x"'}},
    ),
    ("/feed.atom", {"headers": {"Accept": BROWSER_ACCEPT}}),  # no Sec-Fetch-Dest: a reader
    ("/feed.atom", {"headers": {"Accept": "*/*", "Sec-Fetch-Dest": "document"}}),
    ("/feed.atom", {"headers": {"Accept": BROWSER_ACCEPT, "Sec-Fetch-Dest": "empty"}}),
    ("/feed.rss", {"headers": {"X-Request-ID": "edge.7f3a:0001"}}),
    ("/feed.rss", {"headers": {"X-Request-ID": "two words"}}),
    ("/feed.rss", {"headers": {"X-Request-ID": "x" * 129}}),
    ("/feed.rss", {"query": "limit=1"}),
    ("/feed.rss", {"query": "limit=1&page=2"}),
    ("/topics/ai/feed.rss", {}),
    ("/topics/AI/feed.atom", {}),
    ("/topics/ai-1bef26c3/feed.json", {}),  # an alias of the topic
    ("/providers/techcrunch.com/feed.rss", {"headers": {"Accept-Encoding": "gzip"}}),
    ("/feed.rss", {"headers": {"Host": "feeds.example.org:8080"}}),
    ("/feed.rss", {"headers": {"Host": "Feeds.Example.org:443"}, "wsgi.url_scheme": "https"}),
]

# (path, request) pairs left to Flask, which must still get the same answer.
LEFT_TO_FLASK = [
    ("/feed.atom", {"headers": {"Accept": BROWSER_ACCEPT, "Sec-Fetch-Dest": "document"}}),
    ("/feed.rss", {"query": "limit=0"}),
    ("/feed.rss", {"query": "limit=501"}),
    ("/feed.rss", {"query": "limit=abc"}),
    ("/feed.rss", {"query": "limit=1&limit=2"}),  # not canonical: Flask's 301
    ("/feed.json", {"query": "page=2&limit=1"}),
    ("/feed.rss", {"query": "limit=050"}),
    ("/feed.rss", {"query": "page=1"}),
    ("/feed.rss", {"query": "page=100001"}),
    ("/feed.rss", {"query": "limit=1&page=3"}),  # past the last page: 404
    ("/feed.rss", {"query": "utm_source=x"}),
    ("/feed.rss", {"query": "limit=1;page=2"}),
    ("/feed.rss", {"query": "limit=%31"}),
    ("/feed.rss", {"headers": {"If-Match": '"x"'}}),
    ("/feed.rss", {"headers": {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}}),
    ("/feed.rss", {"headers": {"Range": "bytes=0-10"}}),
    ("/feed.rss", {"method": "POST"}),
    ("/feed.rss", {"method": "OPTIONS"}),
    ("/feed.rss/", {}),
    ("/feed.xml", {}),
    ("/topics/nowhere/feed.rss", {}),
    ("/providers/nowhere.example/feed.rss", {}),
    ("/topics/ai/feed.rss", {"headers": {"Host": "bad host"}}),
]


@pytest.mark.parametrize(("path", "request_"), ANSWERED, ids=repr)
def test_cached_feeds_are_answered_below_flask_exactly_as_flask_answers(app, path, request_):
    flask, fast, answered = both_ways(app, path, **request_)
    assert fast == flask
    assert answered, "the fast path handed this request to Flask"


@pytest.mark.parametrize("encoding", ["", "gzip"])
@pytest.mark.parametrize("form", ["exact", "weak", "in a list", "in a long list", "star"])
def test_conditional_requests_get_the_same_304(app, encoding, form):
    headers = {"Accept-Encoding": encoding} if encoding else {}
    etag = etag_of(app, "/feed.atom", headers=headers)
    others = ", ".join(f'"tag-{n}"' for n in range(40))
    inm = {
        "exact": etag,
        "weak": f"W/{etag}",
        "in a list": f'"other", {etag}',
        "in a long list": f"{others}, {etag}",
        "star": "*",
    }[form]
    flask, fast, answered = both_ways(app, "/feed.atom", headers={**headers, "If-None-Match": inm})
    assert flask[0] == "304 NOT MODIFIED" and flask[2] == b""
    assert fast == flask and answered


def test_the_plain_tag_does_not_validate_the_gzip_variant(app):
    etag = etag_of(app, "/feed.rss")
    headers = {"Accept-Encoding": "gzip", "If-None-Match": etag}
    flask, fast, answered = both_ways(app, "/feed.rss", headers=headers)
    assert flask[0] == "200 OK"
    assert fast == flask and answered


def test_if_modified_since_at_last_modified_is_a_304(app):
    last_modified = dict(call(app, "/feed.json", fast=False)[1])["Last-Modified"]
    flask, fast, answered = both_ways(
        app, "/feed.json", method="HEAD", headers={"If-Modified-Since": last_modified}
    )
    assert flask[0] == "304 NOT MODIFIED"
    assert fast == flask and answered


@pytest.mark.parametrize(("path", "request_"), LEFT_TO_FLASK, ids=repr)
def test_everything_else_is_left_to_flask(app, path, request_):
    flask, fast, answered = both_ways(app, path, **request_)
    assert fast == flask
    assert not answered


def test_a_browser_navigation_still_gets_the_page(app):
    headers = {"Accept": BROWSER_ACCEPT, "Sec-Fetch-Dest": "document"}
    status, response_headers, body = call(app, "/feed.rss", fast=True, headers=headers)
    assert status == "200 OK"
    assert dict(response_headers)["Content-Type"].startswith("text/html")


def test_bad_input_is_still_a_4xx(app):
    for query in ("limit=0", "limit=1&limit=x", "page=x"):
        assert call(app, "/feed.rss", fast=True, query=query)[0].startswith("400")
    assert call(app, "/topics/nowhere/feed.rss", fast=True)[0].startswith("404")
    assert call(app, "/feed.rss", fast=True, method="DELETE")[0].startswith("405")


def test_a_cache_miss_goes_through_flask_and_the_next_request_does_not(app):
    counted = fast_path_of(app).fallback
    call(app, "/feed.rss", fast=True, query="limit=2")
    assert counted.calls == 1
    call(app, "/feed.rss", fast=True, query="limit=2")
    assert counted.calls == 1


def test_an_edit_is_served_at_once(store_dir):
    store_dir.add("a.md", article(title="Before the edit"))
    app = store_dir.app()
    fast_path_of(app).fallback = counted = Counted(fast_path_of(app).fallback)
    first = call(app, "/feed.rss", fast=True)
    assert b"Before the edit" in call(app, "/feed.rss", fast=True)[2]
    calls = counted.calls
    store_dir.add("a.md", article(title="After the edit"))
    app.extensions["feedsvc.store"].refresh()
    headers = {"If-None-Match": dict(first[1])["ETag"]}
    status, response_headers, body = call(app, "/feed.rss", fast=True, headers=headers)
    assert status == "200 OK" and b"After the edit" in body  # rendered anew, by Flask
    assert counted.calls == calls + 1
    again = call(app, "/feed.rss", fast=True)
    assert b"After the edit" in again[2] and counted.calls == calls + 1  # and now cached
    assert dict(again[1])["ETag"] == dict(response_headers)["ETag"] != headers["If-None-Match"]


def test_forwarded_hosts_reach_the_fast_path(store_dir):
    store_dir.add("a.md", article())
    app = store_dir.app(PROXY_HOPS=1, ALLOWED_HOSTS="public.example.net")
    fast_path_of(app).fallback = Counted(fast_path_of(app).fallback)
    headers = {"X-Forwarded-Host": "public.example.net", "X-Forwarded-Proto": "https"}
    flask, fast, answered = both_ways(app, "/feed.atom", headers=headers)
    assert fast == flask and answered
    assert b"https://public.example.net/" in fast[2]
    assert b"https://public.example.net/" not in call(app, "/feed.atom", fast=True)[2]


def test_base_url_gives_one_answer_whatever_the_host(store_dir):
    store_dir.add("a.md", article())
    app = store_dir.app(BASE_URL="https://feeds.example.com/")
    fast_path_of(app).fallback = counted = Counted(fast_path_of(app).fallback)
    call(app, "/feed.rss", fast=True)
    for host in ("a.example", "bad host", "b.example:8080"):
        body = call(app, "/feed.rss", fast=True, headers={"Host": host})[2]
        assert b"https://feeds.example.com/" in body
    assert counted.calls == 1


def test_request_hooks_run_on_both_paths(app):
    """A hook registered once on the app runs for requests either path answers."""
    call(app, "/feed.rss", fast=True)
    ran = []
    hooks.add(app, lambda: ran.append(True))
    call(app, "/feed.rss", fast=True)
    assert fast_path_of(app).fallback.calls == 1 and ran == [True]
    call(app, "/feed.rss", fast=False)
    assert ran == [True, True]


def test_the_reloader_is_kept_running_by_every_request(app):
    assert app.extensions["feedsvc.reloader"].ensure_running in hooks.hooks_of(app)


@pytest.fixture
def log_lines():
    with json_log(logging.INFO) as stream:

        def read() -> list[list]:
            lines = stream.getvalue().splitlines()
            stream.seek(0)
            stream.truncate()
            return [json.loads(line, object_pairs_hook=list) for line in lines]

        yield read


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"method": "HEAD"},
        {"headers": {"Accept-Encoding": "gzip"}},
        {"headers": {"X-Request-ID": "abc-123"}},
        {"headers": {"If-None-Match": "*"}},
        {"query": "limit=1&page=2"},
    ],
    ids=repr,
)
def test_fast_path_requests_log_the_same_line(app, log_lines, request_):
    path = "/topics/ai/feed.atom"
    call(app, path, fast=True, **request_)
    log_lines()
    call(app, path, fast=False, **request_)
    call(app, path, fast=True, **request_)
    assert fast_path_of(app).fallback.calls == 2
    flask, fast = log_lines()
    assert [name for name, _ in fast] == [name for name, _ in flask]  # same fields, same order
    flask, fast = dict(flask), dict(fast)
    for line in (flask, fast):
        assert line.pop("time") and line.pop("duration_ms") >= 0
        if "X-Request-ID" not in request_.get("headers", {}):
            assert re.fullmatch(r"[0-9a-f]{32}", line.pop("request_id"))
    assert fast == flask
    assert fast["cache"] == "hit" and fast["route"] == "/topics/<slug>/feed.<fmt>"


def test_request_log_off_is_honoured(app, log_lines):
    app.config["REQUEST_LOG"] = False
    call(app, "/feed.rss", fast=True)
    status, headers, _ = call(app, "/feed.rss", fast=True, headers={"X-Request-ID": "r-1"})
    assert status == "200 OK" and ("X-Request-ID", "r-1") in headers
    assert log_lines() == []


def counters(app) -> dict:
    """Every sample of the app's metrics but the latency sums and buckets (timing differs)."""
    text = call(app, "/metrics", fast=True, REMOTE_ADDR="127.0.0.1")[2].decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            if family.name.startswith("feedsvc_http_request_duration") and not sample.name.endswith(
                "_count"
            ):
                continue
            if family.name.startswith("feedsvc_store"):
                continue
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_fast_path_requests_are_counted_as_flask_counts_them():
    requests = [
        ("/feed.rss", {}),
        ("/feed.rss", {}),
        ("/feed.rss", {"headers": {"If-None-Match": "*"}}),
        ("/feed.rss", {"method": "HEAD", "headers": {"If-None-Match": "*"}}),
        ("/topics/ai/feed.json", {"headers": {"Accept-Encoding": "gzip"}}),
        ("/topics/ai/feed.json", {"headers": {"Accept-Encoding": "gzip"}}),
        ("/providers/engadget.com/feed.atom", {"query": "limit=1"}),
        ("/providers/engadget.com/feed.atom", {"query": "limit=1"}),
    ]
    seen = {}
    for fast in (False, True):
        app = create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0})
        for path, request_ in requests:
            call(app, path, fast=fast, **request_)
        seen[fast] = counters(app)
    assert seen[True] == seen[False]
    assert seen[True][("feedsvc_http_not_modified_total", (("route", "/feed.<fmt>"),))] == 2
    assert seen[True][("feedsvc_render_cache_lookups_total", (("outcome", "hit"),))] == 5


def test_a_failure_in_the_fast_path_is_answered_by_flask(app, monkeypatch, caplog):
    call(app, "/feed.rss", fast=True)

    def broken(*args):
        raise OSError("metrics folder gone")

    monkeypatch.setattr(app.extensions["feedsvc.metrics"], "observe_feed", broken)
    status, headers, body = call(app, "/feed.rss", fast=True)
    assert status == "200 OK" and body.startswith(b"<?xml")
    assert fast_path_of(app).fallback.calls == 2
    assert "fast path failed" in caplog.text


def test_the_background_loader_is_asked_by_every_request(store_dir):
    store_dir.add("a.md", article())
    app = store_dir.app(BACKGROUND_LOAD=True)
    assert app.extensions["feedsvc.loader"].ensure_started in hooks.hooks_of(app)
    store = app.extensions["feedsvc.store"]
    fast_path_of(app).fallback = counted = Counted(fast_path_of(app).fallback)
    call(app, "/feed.rss", fast=True)  # the first request starts the load
    deadline = time.monotonic() + 10
    while not store.ready and time.monotonic() < deadline:
        time.sleep(0.02)
    call(app, "/feed.rss", fast=True)  # rendered and cached through Flask
    calls = counted.calls
    assert call(app, "/feed.rss", fast=True)[0] == "200 OK"
    assert counted.calls == calls
