"""Security headers: nosniff everywhere, a strict CSP on HTML, framing only for embeds."""

from __future__ import annotations

import pytest
from conftest import SAMPLE

from feedsvc import create_app
from feedsvc.web.security import ALWAYS


@pytest.fixture(scope="module")
def client():
    return create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0}).test_client()


def policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.partition(" ")[2] for d in header.split("; ")}


@pytest.mark.parametrize(
    "path",
    ["/feed.rss", "/topics/ai/feed.json", "/", "/catalog.json", "/embed.js", "/nowhere",
     "/feed.rss?limit=0", "/feed.rss?page=1", "/healthz", "/metrics"],
)  # fmt: skip
def test_every_response_carries_the_always_headers(client, path):
    response = client.get(path)
    for name, value in ALWAYS:
        assert response.headers[name] == value


@pytest.mark.parametrize("path", ["/feed.rss", "/catalog.json", "/feeds.opml", "/embed.js"])
def test_data_gets_no_page_policy(client, path):
    response = client.get(path)
    assert "Content-Security-Policy" not in response.headers
    assert "X-Frame-Options" not in response.headers


@pytest.mark.parametrize("path", ["/", "/topics/ai/", "/providers/techcrunch.com/"])
def test_pages_load_only_their_own_script_and_may_not_be_framed(client, path):
    response = client.get(path)
    assert response.mimetype == "text/html"
    rules = policy(response)
    assert rules["default-src"] == "'none'"
    assert rules["script-src"] == "'self'" and rules["style-src"] == "'self'"
    assert rules["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/topics/ai/embed", "/providers/techcrunch.com/embed"])
def test_embeds_keep_the_policy_but_may_be_framed(client, path):
    response = client.get(path)
    rules = policy(response)
    assert rules["script-src"] == "'self'"
    assert "frame-ancestors" not in rules
    assert "X-Frame-Options" not in response.headers


def test_a_feed_opened_in_a_browser_is_a_page_with_the_page_policy(client):
    headers = {"Accept": "text/html", "Sec-Fetch-Dest": "document"}
    response = client.get("/feed.rss", headers=headers)
    assert response.mimetype == "text/html"
    assert policy(response)["frame-ancestors"] == "'none'"
