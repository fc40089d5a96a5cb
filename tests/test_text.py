"""Plain text reaches the reader exactly: titles, excerpts and names full of markup-like
characters read back as written in feedparser, in every format, and break none of the
W3C Feed Validator's plain-text rules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import article
from feedcheck import check_feed, plain_text_warnings, shown
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from feedsvc.content import clean
from feedsvc.content.index import EPOCH, Group
from feedsvc.content.model import Article
from feedsvc.render.feeds import render
from feedsvc.render.items import ITEM_CACHE_SIZE, ItemCache
from feedsvc.render.page import FeedPage, Site

HOSTILE = 'AT&T <b>not bold</b> & "quotes" — 5 < 6 > 4 &amp; done'
PROVIDER = "Ben & Jerry's <News>"
TOPIC = "R&D <Labs> 5 < 6"  # in RSS a category can only be text: no end tag here
DOMAIN = "benjerry.example.com"
FEEDS = ["/feed", f"/providers/{DOMAIN}/feed", "/topics/ai/feed"]
# Composed feeds name themselves from the same names: "AI from Ben & Jerry's <News>".
CHECKED = [*FEEDS, f"/topics/ai/providers/{DOMAIN}/feed"]


@pytest.fixture
def hostile_client(store_dir):
    store_dir.add(
        "a.txt",
        article(
            title=HOSTILE,
            excerpt=HOSTILE,
            topics=["AI", TOPIC],
            provider={"name": PROVIDER, "domain": DOMAIN},
            images=[{"url": "https://cdn.example.com/a.jpg", "title": HOSTILE}],
            related=[{"title": HOSTILE, "webUrl": "https://other.example.org/x"}],
        ),
    )
    return store_dir.app(BASE_URL="https://feeds.example").test_client()


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_plain_text_back_as_written(hostile_client, feed, fmt):
    parsed = check_feed(fmt, hostile_client.get(f"{feed}.{fmt}").data)
    entry = parsed.entries[0]
    assert shown(entry.title_detail) == HOSTILE
    assert shown(entry.summary_detail) == HOSTILE
    assert entry.author_detail.name == PROVIDER
    assert [tag.term for tag in entry.tags] == ["AI", TOPIC]
    if "providers" in feed:
        assert shown(parsed.feed.title_detail) == f"feedsvc: {PROVIDER}"
        assert shown(parsed.feed.subtitle_detail) == (
            f"The latest articles from {PROVIDER} on feedsvc"
        )


@pytest.mark.parametrize("feed", FEEDS)
def test_json_feed_strings_are_the_text(hostile_client, feed):
    document = json.loads(hostile_client.get(f"{feed}.json").data)
    item = document["items"][0]
    assert item["title"] == HOSTILE and item["summary"] == HOSTILE
    assert item["authors"][0]["name"] == PROVIDER
    assert item["tags"] == ["AI", TOPIC]
    if "providers" in feed:
        assert document["title"] == f"feedsvc: {PROVIDER}"


@pytest.mark.parametrize("feed", CHECKED)
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_no_plain_text_warning(hostile_client, feed, fmt):
    assert plain_text_warnings(fmt, hostile_client.get(f"{feed}.{fmt}").data) == []


def test_the_rules_catch_what_the_validator_warned_about_before():
    """The shapes the W3C validator warned on: single-escaped markup in an RSS title
    (ContainsHTML), named entities in RSS channel text (CharacterData), markup in an
    Atom text title (ContainsUndeclaredHTML)."""
    rss = (
        b"<rss version='2.0'><channel><title>Ben &amp; Jerry's &lt;News&gt;</title>"
        b"<item><title>AT&amp;T &lt;b&gt;not bold&lt;/b&gt;</title></item></channel></rss>"
    )
    assert len(plain_text_warnings("rss", rss)) == 2
    atom = b"<feed xmlns='http://www.w3.org/2005/Atom'><title>x &lt;b&gt;y&lt;/b&gt;</title></feed>"
    assert len(plain_text_warnings("atom", atom)) == 1


VALIDATOR = os.environ.get("FEEDSVC_FEEDVALIDATOR")  # a checkout of w3c/feedvalidator


@pytest.mark.skipif(not VALIDATOR, reason="set FEEDSVC_FEEDVALIDATOR to a feedvalidator checkout")
@pytest.mark.parametrize("feed", CHECKED)
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_the_w3c_validator_itself_finds_nothing(hostile_client, feed, fmt):
    sys.path.insert(0, str(Path(VALIDATOR) / "src"))
    import feedvalidator
    from feedvalidator import compatibility

    body = hostile_client.get(f"{feed}.{fmt}").data.decode()
    base = f"https://feeds.example{feed}.{fmt}"
    events = feedvalidator.validateString(body, firstOccurrenceOnly=1, base=base)["loggedEvents"]
    assert [type(e).__name__ for e in compatibility.AA(events)] == []


# Markup-like characters weighted in, beside any other printable text.
_MARKUPISH = st.sampled_from(["&", "<", ">", '"', "'", ";", "#", "/", "amp", "lt", "b", "x26"])
_PRINTABLE = st.characters(exclude_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"))
title_text = st.lists(st.one_of(_MARKUPISH, _PRINTABLE.map(str)), max_size=30).map("".join)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=title_text)
def test_any_title_reads_back_as_written(title):
    cleaned = clean.text(title)
    assume(cleaned is not None)
    item = Article(url="https://n.example.com/1", title=cleaned, published=EPOCH, source="a")
    group = Group("all", "", "", (item,))
    site = Site("feedsvc", "d", "en", "https://feeds.example")
    for fmt in ("rss", "atom"):
        body = render(FeedPage(site, group, fmt, 50), ItemCache(ITEM_CACHE_SIZE))
        entry = check_feed(fmt, body).entries[0]
        assert shown(entry.title_detail) == cleaned, (fmt, body)
        assert plain_text_warnings(fmt, body) == []
    document = render(FeedPage(site, group, "json", 50), ItemCache(ITEM_CACHE_SIZE))
    assert json.loads(document)["items"][0]["title"] == cleaned
