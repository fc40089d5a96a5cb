"""Hostile requests get a 4xx or the normal answer: never a 5xx, never a stack trace."""

from __future__ import annotations

import gzip
import re

import pytest
from conftest import SAMPLE
from feedcheck import parse_feed
from servers import gunicorn, raw_request

from feedsvc.render import urls

TRAVERSALS = [
    "/topics/../../etc/passwd",
    "/topics/../../etc/passwd/feed.rss",
    "/topics/..%2f..%2fetc%2fpasswd/feed.rss",
    "/topics/%2e%2e/%2e%2e/etc/passwd",
    "/providers/..%5c..%5cwindows/feed.atom",
    "/topics/ai%00/feed.rss",
    "/feed.rss%00.html",
    "/feed.%00",
    "/%00",
    "/topics/%ff%fe/feed.json",
    "/topics/" + "a" * 10_000 + "/feed.rss",
    "/" + "x/" * 5_000,
    "/providers/engadget.com/feed.rss/../../../../etc/passwd",
    "//etc/passwd",
    "/static/../../../../etc/passwd",
]


def assert_clean_error(response) -> None:
    body = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, body[:200])
    assert "Traceback" not in body and 'File "' not in body
    assert len(body) < 1000


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_not_found(client, path):
    response = client.get(path)
    assert_clean_error(response)
    assert "root:" not in response.get_data(as_text=True)


def test_encoded_slash_is_a_slash(client):
    """WSGI hands the app a decoded path: ``%2f`` routes like ``/``, to the normal answer."""
    response = client.get("/topics/ai%2ffeed.rss")
    assert response.status_code == 200
    parse_feed("rss", response.data)


QUERIES = {
    # query string → expected status
    "limit=abc": 400,
    "limit=0": 400,
    "limit=501": 400,
    "limit=-1": 400,
    "limit=1e3": 400,
    "limit=%EF%BC%99": 400,  # a full-width digit nine
    "limit=%00": 400,
    "limit=1&limit=2": 301,
    "limit=" + "9" * 10_000: 400,
    "limit=": 400,
    "page=0": 400,
    "page=99999": 404,
    "limit=5": 200,
    "limit=500": 200,
    "unknown=1&unknown=2&x[]=y": 301,
    "&&&==&": 301,
    "%zz=%zz": 301,
    "a=" + "b" * 20_000: 301,
    "&".join(f"p{i}=1" for i in range(2_000)): 301,
}


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q[:30])
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_bad_and_repeated_query_parameters(client, query, fmt):
    response = client.get(f"/feed.{fmt}?{query}")
    assert response.status_code == QUERIES[query]
    if response.status_code == 301:  # to the canonical spelling, which is served
        response = client.get(response.headers["Location"])
        assert response.status_code == 200
    if response.status_code == 200:
        parse_feed(fmt, response.data)
    else:
        assert_clean_error(response)


@pytest.mark.parametrize("path", ["/feed.rss", "/topics/ai", "/"])
@pytest.mark.parametrize("query", ["limit=\n", "a=\r\nSet-Cookie: x=1", "x=\x00"])
def test_raw_control_characters_in_the_query_are_a_400(client, path, query):
    # /topics/ai would otherwise redirect to /topics/ai/ with the query in Location.
    response = client.get(path, environ_overrides={"QUERY_STRING": query})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert_clean_error(response)


@pytest.mark.parametrize("query", [b"limit=\x80", b"x=\xff\xfe", b"%ff=1&limit=5\xc3"])
def test_query_bytes_that_are_not_utf8_are_a_400(client, query):
    response = client.get("/feed.json", environ_overrides={"QUERY_STRING": query.decode("latin-1")})
    assert response.status_code == 400
    assert "UTF-8" in response.get_data(as_text=True)
    assert_clean_error(response)


CONDITIONAL_HEADERS = [
    {"If-None-Match": '"'},
    {"If-None-Match": "W/"},
    {"If-None-Match": "*"},
    {"If-None-Match": '"a", W/"b", , ,"'},
    {"If-None-Match": "x" * 8000},
    {"If-None-Match": '"\x00"'},
    {"If-Modified-Since": "yesterday"},
    {"If-Modified-Since": "Mon, 99 Foo 99999 99:99:99 GMT"},
    {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"If-Modified-Since": "-1"},
    {"If-Modified-Since": "0"},
    {"If-None-Match": '"nope"', "If-Modified-Since": "garbage"},
    {"If-Range": "junk", "Range": "bytes=0-10"},
    {"Range": "bytes=99999999-"},
    {"Range": "bytes=-0"},
    {"Range": "lines=1-2"},
]


@pytest.mark.parametrize("headers", CONDITIONAL_HEADERS, ids=lambda h: repr(h)[:40])
def test_bogus_conditional_headers(client, headers):
    response = client.get("/feed.atom", headers=headers)
    assert response.status_code in (200, 206, 304, 412, 416), response.status_code
    if response.status_code == 200:
        parse_feed("atom", response.data)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "BREW"])
def test_unknown_methods_are_refused(client, method):
    response = client.open("/feed.rss", method=method)
    assert response.status_code in (405, 501)
    assert_clean_error(response)


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_safe_methods_are_answered(client, method):
    assert client.open("/feed.rss", method=method).status_code == 200


ENCODINGS = [
    "gzip;q=abc",
    "gzip;q=0",
    "gzip;q=1e999",
    "gzip;q=-1",
    "*",
    "*;q=0",
    "identity;q=0",
    "identity;q=0, *;q=0",
    "br, zstd, compress",
    "GZIP",
    ",,,;;;===",
    "gzip, " * 2000,
    "\x00",
]


@pytest.mark.parametrize("encoding", ENCODINGS, ids=lambda e: repr(e)[:30])
def test_odd_accept_encoding(client, encoding):
    response = client.get("/feed.json", headers={"Accept-Encoding": encoding})
    assert response.status_code in (200, 406), response.status_code
    if response.status_code == 200:
        body = response.data
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        parse_feed("json", body)


@pytest.mark.parametrize("host", ["evil.example/<script>", 'a"b', "x" * 300, "[::1]:99999"])
def test_odd_host_header(client, host):
    response = client.get("/feed.rss", headers={"Host": host})
    assert response.status_code < 500
    if response.status_code == 200:
        assert b"<script>" not in response.data
        parse_feed("rss", response.data)


# --- security headers ---------------------------------------------------------------


@pytest.fixture
def html_app(sample_app):
    """The app plus two HTML pages, as the site's pages and embed page will be served."""
    sample_app.add_url_rule("/topics/<slug>/", "page", lambda slug: "<p>page</p>")
    sample_app.add_url_rule("/topics/<slug>/embed", "embed", lambda slug: "<p>embed</p>")
    return sample_app


@pytest.mark.parametrize(
    "path", ["/feed.rss", "/feed.json", "/topics/ai/feed.atom", "/nope", "/feed.rss?limit=x"]
)
def test_every_response_has_nosniff(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Content-Security-Policy" not in response.headers  # not HTML
    assert "X-Frame-Options" not in response.headers


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(
        (part.split(" ", 1) + [""])[:2] for part in (p.strip() for p in policy.split(";")) if part
    )


def test_html_pages_get_a_strict_policy_and_no_framing(html_app):
    response = html_app.test_client().get("/topics/ai/")
    assert response.mimetype == "text/html"
    policy = csp(response)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_embed_pages_stay_frameable(html_app):
    response = html_app.test_client().get("/topics/ai/embed")
    policy = csp(response)
    assert "frame-ancestors" not in policy
    assert policy["script-src"] == "'self'"
    assert "X-Frame-Options" not in response.headers


def test_only_the_embed_routes_may_be_framed():
    framed = {route.template for route in urls.ROUTES if route.framed}
    assert framed == {"/topics/{slug}/embed", "/providers/{slug}/embed"}


# --- through a real gunicorn ----------------------------------------------------------

STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")

RAW_REQUESTS = {
    "normal": b"GET /feed.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "traversal": b"GET /topics/../../etc/passwd HTTP/1.0\r\n\r\n",
    "encoded traversal": b"GET /topics/..%2f..%2fetc%2fpasswd/feed.rss HTTP/1.0\r\n\r\n",
    "nul in path": b"GET /feed.rss%00 HTTP/1.0\r\n\r\n",
    "raw nul in path": b"GET /feed\x00.rss HTTP/1.0\r\n\r\n",
    "raw high bytes": b"GET /topics/\xff\xfe/feed.rss HTTP/1.0\r\n\r\n",
    "raw high bytes in query": b"GET /feed.rss?limit=\x80 HTTP/1.0\r\n\r\n",
    "overlong line": b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "overlong query": b"GET /feed.rss?" + b"a=b&" * 3_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "too many headers": b"GET /feed.rss HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: y\r\n" % i for i in range(300))
    + b"\r\n",
    "huge header": b"GET /feed.rss HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 20_000 + b"\r\n\r\n",
    "garbage": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64,
    "no version": b"GET /feed.rss\r\n\r\n",
    "bad version": b"GET /feed.rss HTTP/9.9\r\nHost: x\r\n\r\n",
    "bad method": b"G@T /feed.rss HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown method": b"BREW /feed.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "bad header name": b"GET /feed.rss HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
    "negative length": b"GET /feed.rss HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "two lengths": b"POST /feed.rss HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
    b"Content-Length: 2\r\n\r\nab",
    "bad chunking": b"POST /feed.rss HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\n",
    "absolute uri": b"GET http://evil.example/feed.json HTTP/1.1\r\nHost: x\r\n"
    b"Connection: close\r\n\r\n",
    "bogus conditionals": b'GET /feed.atom HTTP/1.1\r\nHost: x\r\nIf-None-Match: "\r\n'
    b"If-Modified-Since: Mon, 99 Foo 99999\r\nAccept-Encoding: gzip;q=zz\r\n"
    b"Connection: close\r\n\r\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    with gunicorn(
        SAMPLE,
        log,
        workers=1,
        env={"FEEDSVC_RELOAD_INTERVAL": "0", "FEEDSVC_ALLOWED_HOSTS": "x, 127.0.0.1"},
    ) as live:
        yield live


@pytest.mark.integration
@pytest.mark.parametrize("name", RAW_REQUESTS)
def test_malformed_requests_through_gunicorn(server, name):
    reply = raw_request(server.port, RAW_REQUESTS[name])
    if not reply:
        return  # closing the connection on bytes that are not HTTP is a fine answer
    match = STATUS.match(reply)
    assert match, reply[:200]
    status = int(match.group(1))
    assert status < 500, reply[:300]
    assert b"Traceback" not in reply
    if name in ("normal", "absolute uri", "bogus conditionals"):
        assert status == 200
    if name == "traversal":
        assert status == 404 and b"root:" not in reply


@pytest.mark.integration
def test_gunicorn_log_has_no_traceback(server):
    for request in RAW_REQUESTS.values():
        raw_request(server.port, request)
    log = "\n".join(server.log_lines())
    assert "Traceback" not in log and "Internal Server Error" not in log
