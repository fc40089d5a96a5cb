"""Every feed, in every format, as real readers parse it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import SECRET, article
from feedcheck import ATOM, FORMATS, MEDIA, MIMETYPES, check_feed, entry_ids, xml

SAMPLE_FEEDS = [
    "/feed.{fmt}",
    "/topics/ai/feed.{fmt}",
    "/topics/computer-vision/feed.{fmt}",
    "/providers/engadget.com/feed.{fmt}",
    "/providers/techcrunch.com/feed.{fmt}",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", SAMPLE_FEEDS)
def test_sample_feeds_parse_in_every_format(client, path, fmt):
    response = client.get(path.format(fmt=fmt))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == MIMETYPES[fmt]
    parsed = check_feed(fmt, response.data)
    assert entry_ids(fmt, parsed), "every sample feed has articles"


def test_sample_main_feed_as_a_reader_sees_it(client):
    parsed = check_feed("rss", client.get("/feed.rss").data)
    assert [e.link for e in parsed.entries] == [
        "https://www.engadget.com/clearview-ai-source-code-security-lapse-092558647.html",
        "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/",
    ]
    first = parsed.entries[0]
    assert first.title == "Server screw-up exposes Clearview’s facial recognition AI software"
    assert first.published_parsed[:6] == (2020, 4, 17, 9, 31, 0)
    assert first.enclosures[0].type == "image/jpeg"
    assert first.enclosures[0].href.startswith("https://o.aolcdn.com/images/dims?")
    assert [t.term for t in first.tags] == ["AI", "Computer Vision"]
    assert parsed.feed.updated_parsed[:6] == (2020, 4, 17, 9, 31, 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_secured_never_leaves_the_service(store_dir, fmt):
    store_dir.add("a.txt", article())
    store_dir.add("b.md", article(webUrl="https://news.example.com/2", topics=["Security"]))
    client = store_dir.app().test_client()
    paths = [
        f"/feed.{fmt}",
        f"/topics/ai/feed.{fmt}",
        f"/topics/security/feed.{fmt}",
        f"/providers/news.example.com/feed.{fmt}",
        f"/feed.{fmt}?limit=1&page=2",
    ]
    for path in paths:
        for encoding in ("identity", "gzip"):
            response = client.get(path, headers={"Accept-Encoding": encoding})
            assert response.status_code == 200
            body = response.get_data()
            if encoding == "gzip":
                import gzip

                body = gzip.decompress(body)
            assert SECRET.encode() not in body
            assert b"secured" not in body
            assert SECRET[:16].encode() not in body


def test_rss_enclosure_media_and_guid(store_dir):
    images = [
        {"url": "https://cdn.example.com/one.png", "width": 800, "height": 600, "title": "One"},
        {"url": "https://cdn.example.com/two.webp", "width": 400, "height": 300, "title": "Two"},
        {"url": "https://cdn.example.com/three", "title": "Three"},
    ]
    store_dir.add("a.txt", article(images=images))
    body = store_dir.app().test_client().get("/feed.rss").data
    item = xml(body).find("channel/item")
    # RSS allows one enclosure: the first image, length 0 for "unknown".
    enclosures = item.findall("enclosure")
    assert [(e.get("url"), e.get("length"), e.get("type")) for e in enclosures] == [
        ("https://cdn.example.com/one.png", "0", "image/png")
    ]
    contents = item.findall(f"{MEDIA}content")
    assert [c.get("url") for c in contents] == [i["url"] for i in images]
    assert [c.get("medium") for c in contents] == ["image"] * 3
    assert [c.get("type") for c in contents] == ["image/png", "image/webp", "image/jpeg"]
    assert [(c.get("width"), c.get("height")) for c in contents] == [
        ("800", "600"),
        ("400", "300"),
        (None, None),
    ]
    assert [c.findtext(f"{MEDIA}title") for c in contents] == ["One", "Two", "Three"]
    assert item.find(f"{MEDIA}group") is None
    thumbnails = item.findall(f"{MEDIA}thumbnail")
    assert [t.get("url") for t in thumbnails] == ["https://cdn.example.com/one.png"]
    guid = item.find("guid")
    assert guid.text == "https://news.example.com/articles/1"
    assert guid.get("isPermaLink") == "true"
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Example News"
    assert "None" not in body.decode()


def test_rss_channel_links_and_dates(store_dir):
    store_dir.add(
        "old.txt",
        article(webUrl="https://n.example.com/old", publishedDateTime="2023-01-01T00:00:00Z"),
    )
    store_dir.add(
        "new.txt",
        article(webUrl="https://n.example.com/new", publishedDateTime="2024-02-03T04:05:06Z"),
    )
    client = store_dir.app(BASE_URL="https://feeds.example.org/").test_client()
    channel = xml(client.get("/topics/ai/feed.rss").data).find("channel")
    assert channel.findtext("link") == "https://feeds.example.org/topics/ai/"
    self_links = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in self_links] == [
        "https://feeds.example.org/topics/ai/feed.rss"
    ]
    assert channel.findtext("lastBuildDate") == "Sat, 03 Feb 2024 04:05:06 +0000"
    assert channel.findtext("title") == "feedsvc: AI"
    assert channel.findtext("language") == "en"
    assert channel.findtext("generator") == "feedsvc"


def test_atom_entry_links_keep_rel_type_and_title(store_dir):
    images = [
        {"url": "https://cdn.example.com/one.gif", "title": "First"},
        {"url": "https://cdn.example.com/two.jpg"},
    ]
    store_dir.add("a.txt", article(images=images))
    body = store_dir.app().test_client().get("/feed.atom").data
    entry = xml(body).find(f"{ATOM}entry")
    links = [
        (link.get("rel"), link.get("type"), link.get("href"), link.get("title"))
        for link in entry.findall(f"{ATOM}link")
    ]
    assert links == [
        ("alternate", "text/html", "https://news.example.com/articles/1", None),
        ("enclosure", "image/gif", "https://cdn.example.com/one.gif", "First"),
        ("enclosure", "image/jpeg", "https://cdn.example.com/two.jpg", None),
        ("related", "text/html", "https://other.example.org/story", "Related story"),
    ]
    parsed = check_feed("atom", body)
    assert [e.href for e in parsed.entries[0].enclosures] == [i["url"] for i in images]
    assert parsed.entries[0].link == "https://news.example.com/articles/1"


def test_atom_authors_are_the_provider_or_the_site(store_dir):
    store_dir.add("a.txt", article())
    store_dir.add("b.txt", article(webUrl="https://n.example.com/no-provider", provider=None))
    parsed = check_feed("atom", store_dir.app(TITLE="Daily").test_client().get("/feed.atom").data)
    authors = {e.link: (e.author_detail.name, e.author_detail.href) for e in parsed.entries}
    assert authors["https://news.example.com/articles/1"] == (
        "Example News",
        "https://news.example.com",
    )
    assert authors["https://n.example.com/no-provider"] == ("Daily", "http://localhost/")


def test_provider_feeds_carry_the_logo(store_dir):
    store_dir.add("a.txt", article())
    client = store_dir.app().test_client()
    logo = "https://news.example.com/logo-50x50.png"
    rss = xml(client.get("/providers/news.example.com/feed.rss").data).find("channel/image")
    assert rss.findtext("url") == logo
    assert rss.findtext("link") == "http://localhost/providers/news.example.com/"
    atom = xml(client.get("/providers/news.example.com/feed.atom").data)
    assert atom.findtext(f"{ATOM}icon") == logo
    assert atom.findtext(f"{ATOM}logo") == logo
    feed = json.loads(client.get("/providers/news.example.com/feed.json").data)
    assert feed["icon"] == logo and feed["favicon"] == logo
    assert feed["items"][0]["authors"] == [
        {"name": "Example News", "url": "https://news.example.com", "avatar": logo}
    ]


def test_json_feed_items(store_dir):
    store_dir.add("a.txt", article())
    feed = json.loads(store_dir.app().test_client().get("/topics/ai/feed.json").data)
    item = feed["items"][0]
    assert item["id"] == item["url"] == "https://news.example.com/articles/1"
    assert item["image"] == "https://cdn.example.com/a.jpg"
    assert item["attachments"] == [
        {"url": "https://cdn.example.com/a.jpg", "mime_type": "image/jpeg", "title": "A picture"}
    ]
    assert item["tags"] == ["AI"]
    assert item["summary"] == "A short excerpt of the article."
    assert datetime.fromisoformat(item["date_published"]) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert feed["feed_url"] == "http://localhost/topics/ai/feed.json"
    assert feed["home_page_url"] == "http://localhost/topics/ai/"


@pytest.mark.parametrize("fmt", FORMATS)
def test_content_has_image_excerpt_and_related_coverage(store_dir, fmt):
    from lxml import html

    store_dir.add("a.txt", article())
    body = store_dir.app().test_client().get(f"/feed.{fmt}").data
    parsed = check_feed(fmt, body)
    content = (
        parsed["items"][0]["content_html"] if fmt == "json" else parsed.entries[0].content[0].value
    )
    doc = html.fromstring(content)
    assert doc.xpath("//img/@src") == ["https://cdn.example.com/a.jpg"]
    assert doc.xpath("//img/@alt") == ["A picture"]
    assert "A short excerpt of the article." in doc.text_content()
    assert doc.xpath("//li/a/@href") == ["https://other.example.org/story"]
    assert doc.xpath("//li/a/text()") == ["Related story"]


HOSTILE_TITLE = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"


@pytest.mark.parametrize("fmt", FORMATS)
def test_markup_in_store_text_stays_text(store_dir, fmt):
    from lxml import html

    store_dir.add("a.txt", article(title=HOSTILE_TITLE, excerpt=HOSTILE_TITLE))
    body = store_dir.app().test_client().get(f"/feed.{fmt}").data
    parsed = check_feed(fmt, body)
    if fmt == "json":
        title, content = parsed["items"][0]["title"], parsed["items"][0]["content_html"]
    else:
        title, content = parsed.entries[0].title, parsed.entries[0].content[0].value
    assert title == HOSTILE_TITLE
    doc = html.fromstring(f"<div>{content}</div>")
    assert not doc.xpath("//script") and not doc.xpath("//img[@onerror]")
    assert HOSTILE_TITLE in doc.text_content()
    if fmt == "rss":
        # The description is HTML: the excerpt is escaped so a reader shows it as written.
        assert (
            html.fromstring(f"<div>{parsed.entries[0].summary}</div>").text_content()
            == HOSTILE_TITLE
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_control_characters_are_stripped(store_dir, fmt):
    store_dir.add(
        "a.txt",
        article(
            title="Bell\x07 and\x1b escape\ufffe",
            excerpt="nul-ish\x0b\x0c text\x85",
            topics=["A\x01I"],
        ),
    )
    response = store_dir.app().test_client().get(f"/feed.{fmt}")
    assert response.status_code == 200
    parsed = check_feed(fmt, response.data)
    title = parsed["items"][0]["title"] if fmt == "json" else parsed.entries[0].title
    assert title == "Bell and escape"


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic_across_app_instances(store_dir, fmt):
    for n in range(5):
        store_dir.add_numbered(n, topics=["AI", f"T{n}"])
    first = store_dir.app().test_client().get(f"/feed.{fmt}")
    second = store_dir.app().test_client().get(f"/feed.{fmt}")
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]


def test_items_are_newest_first_with_stable_ties(store_dir):
    dates = [
        "2024-01-01T00:00:00Z",
        "2024-03-01T00:00:00+02:00",
        "2024-03-01T00:00:00Z",
        "2024-03-01T00:00:00Z",
    ]
    for n, date in enumerate(dates):
        store_dir.add_numbered(n, publishedDateTime=date)
    parsed = check_feed("json", store_dir.app().test_client().get("/feed.json").data)
    assert entry_ids("json", parsed) == [
        "https://n.example.com/2",
        "https://n.example.com/3",
        "https://n.example.com/1",
        "https://n.example.com/0",
    ]


def test_default_limit_is_50_and_limit_param_caps_items(store_dir):
    for n in range(60):
        store_dir.add_numbered(n, name=f"{n:02}.txt", publishedDateTime=f"2024-01-01T00:{n:02}:00Z")
    client = store_dir.app().test_client()
    assert len(check_feed("rss", client.get("/feed.rss").data).entries) == 50
    assert len(check_feed("atom", client.get("/feed.atom?limit=5").data).entries) == 5
    assert len(check_feed("json", client.get("/feed.json?limit=500").data)["items"]) == 60
    newest = check_feed("json", client.get("/feed.json?limit=1").data)["items"][0]["id"]
    assert newest == "https://n.example.com/59"


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=1&limit=x",
        "page=0",
        "page=x",
    ],
)
def test_bad_limits_are_400_with_a_reason(client, query):
    response = client.get(f"/feed.rss?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert ("limit" in response.text) or ("page" in response.text)


@pytest.mark.parametrize(
    "path",
    [
        "/topics/unknown/feed.rss",
        "/providers/unknown.example/feed.atom",
        "/feed.xml",
        "/topics/ai/feed.html",
        "/topics/ai/feed",
        "/providers/engadget.com/feed.JSON",
    ],
)
def test_unknown_topic_provider_or_format_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert len(response.text) < 200


@pytest.mark.parametrize(
    "path",
    [
        "/providers/Engadget.COM/feed.rss",
        "/topics/AI/feed.rss",
        "/topics/Computer-Vision/feed.json",
    ],
)
def test_slugs_and_domains_match_case_insensitively(client, path):
    assert client.get(path).status_code == 200


def test_base_url_comes_from_config_or_the_request(store_dir):
    store_dir.add("a.txt", article())
    configured = store_dir.app(BASE_URL="https://feeds.example.org").test_client()
    assert (
        json.loads(configured.get("/feed.json").data)["feed_url"]
        == "https://feeds.example.org/feed.json"
    )
    from_host = store_dir.app(ALLOWED_HOSTS="reader.test").test_client()
    feed = json.loads(from_host.get("/feed.json", base_url="http://reader.test:8080").data)
    assert feed["feed_url"] == "http://reader.test:8080/feed.json"


def test_empty_store_still_serves_valid_feeds(store_dir):
    client = store_dir.app().test_client()
    for fmt in FORMATS:
        response = client.get(f"/feed.{fmt}")
        assert response.status_code == 200
        check_feed(fmt, response.data)
