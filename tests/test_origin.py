"""Links, ids and redirects come from the canonical origin, never from whatever Host a client sends."""

from __future__ import annotations

import json

import listparser
import pytest
from conftest import SAMPLE

from feedsvc import create_app


def sample(**config):
    return create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0, **config})


PATHS = ["/feed.json", "/feeds.opml", "/topics/ai/feed.rss", "/", "/topics/ai/embed"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host", ["evil-cache.example", "a@evil.example", "localhost.evil.example"])
def test_an_unknown_host_is_refused_by_default(path, host):
    client = sample().test_client()
    assert client.get(path, headers={"Host": host}).status_code == 400
    # Answered twice: the second goes through the fast path when the first was cached.
    assert client.get(path, headers={"Host": host}).status_code == 400


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST:1"])
def test_loopback_names_work_out_of_the_box(host):
    response = sample().test_client().get("/feed.json", headers={"Host": host})
    assert response.status_code == 200
    assert json.loads(response.data)["feed_url"] == f"http://{host.lower()}/feed.json"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_answer_whatever_the_host(path):
    # A kubelet's probe carries the pod's IP as Host.
    assert sample().test_client().get(path, headers={"Host": "10.1.2.3:8000"}).status_code == 200


def test_the_allow_list_decides_which_hosts_are_served():
    client = sample(
        ALLOWED_HOSTS="feeds.example.com, .example.net, other.example:8080"
    ).test_client()
    for host, status in [
        ("feeds.example.com", 200),
        ("FEEDS.example.com:8443", 200),
        ("a.example.net", 200),
        ("example.net.evil", 400),
        ("other.example:8080", 200),
        ("other.example:8081", 400),
        ("localhost", 400),  # the default list is replaced, not extended
    ]:
        assert client.get("/feed.rss", headers={"Host": host}).status_code == status, host


def test_with_base_url_every_host_gets_the_same_links():
    client = sample(BASE_URL="https://feeds.example.com/").test_client()
    bodies = {client.get("/feeds.opml", headers={"Host": h}).data for h in ("a.example", "b.test")}
    assert len(bodies) == 1
    links = {feed.url for feed in listparser.parse(bodies.pop()).feeds}
    assert links and all(url.startswith("https://feeds.example.com/") for url in links)


@pytest.mark.parametrize("config", [{"BASE_URL": "https://feeds.example.com"}, {}])
def test_the_slash_redirect_points_at_the_canonical_origin(config):
    client = sample(**config).test_client()
    response = client.get("/topics/ai", headers={"Host": "localhost:5000"})
    assert response.status_code in (301, 308)
    expected = config.get("BASE_URL", "http://localhost:5000")
    assert response.headers["Location"] == f"{expected}/topics/ai/"


def test_the_slash_redirect_ignores_a_forged_host_when_base_url_is_set():
    client = sample(BASE_URL="https://feeds.example.com").test_client()
    response = client.get("/topics/ai", headers={"Host": "evil.example"})
    assert response.headers["Location"] == "https://feeds.example.com/topics/ai/"


@pytest.mark.parametrize("proto", ["javascript:alert(document.domain)//", "ftp", "data"])
@pytest.mark.parametrize("path", ["/feed.json", "/topics/ai/embed"])
def test_only_http_and_https_are_taken_from_x_forwarded_proto(proto, path):
    client = sample(PROXY_HOPS=1).test_client()
    response = client.get(path, headers={"X-Forwarded-Proto": proto})
    assert response.status_code == 400
    assert b"javascript" not in response.data


def test_a_forwarded_https_scheme_is_used():
    client = sample(PROXY_HOPS=1).test_client()
    response = client.get("/feed.json", headers={"X-Forwarded-Proto": "https"})
    assert json.loads(response.data)["home_page_url"].startswith("https://localhost")


def test_a_forwarded_host_must_be_allowed_too():
    client = sample(PROXY_HOPS=1).test_client()
    assert client.get("/feed.json", headers={"X-Forwarded-Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    "value", ["feeds.example.com", "javascript:alert(1)", "https://", "https://a@b"]
)
def test_a_base_url_that_is_no_origin_stops_the_start(value):
    with pytest.raises(ValueError, match="FEEDSVC_BASE_URL"):
        sample(BASE_URL=value)
