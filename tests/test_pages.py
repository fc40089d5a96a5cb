"""HTML pages: content parsed back with lxml, caching headers, and CSP-friendly markup."""

from __future__ import annotations

import gzip

import pytest
from conftest import article
from lxml import html

from feedsvc import create_app
from feedsvc.render.paths import all_paths

XSS = "<img src=x onerror=alert(1)>"
PAGES = [
    "/",
    "/topics/ai/",
    "/topics/computer-vision/",
    "/providers/engadget.com/",
    "/topics/ai/embed",
    "/providers/techcrunch.com/embed",
]
FEED_TYPES = {
    "application/rss+xml": "feed.rss",
    "application/atom+xml": "feed.atom",
    "application/feed+json": "feed.json",
}


def parse(response):
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/html"
    return html.fromstring(response.data)


def alternates(doc) -> dict[str, str]:
    return {
        link.get("type"): link.get("href") for link in doc.xpath("//head/link[@rel='alternate']")
    }


@pytest.fixture
def xss_app(store_dir):
    store_dir.add(
        "evil.txt",
        article(
            title=XSS,
            excerpt=f"Excerpt {XSS}",
            topics=[XSS, "AI"],
            webUrl="https://news.example.com/evil",
            images=[{"url": "https://cdn.example.com/e.jpg", "title": f"Alt {XSS}"}],
        ),
    )
    store_dir.add("plain.txt", article(webUrl="https://news.example.com/plain"))
    return store_dir.app()


def test_home_lists_every_topic_and_provider_with_counts_and_feeds(client, sample_app):
    doc = parse(client.get("/"))
    snapshot = sample_app.extensions["feedsvc.store"].snapshot
    items = doc.xpath("//ul[@class='directory']/li")
    assert len(items) == len(snapshot.topics) + len(snapshot.providers)
    for group in [*snapshot.topics.values(), *snapshot.providers.values()]:
        base = f"/{'topics' if group.kind == 'topic' else 'providers'}/{group.slug}/"
        (item,) = [li for li in items if li.xpath(f"a[@href='{base}']")]
        assert item.findtext("a") == group.name
        count = len(group.articles)
        assert (
            item.findtext("span[@class='count']") == f"{count} article{'' if count == 1 else 's'}"
        )
        feeds = set(item.xpath(".//span[@class='formats']/a/@href"))
        assert feeds == {base + name for name in FEED_TYPES.values()}
        for href in feeds:
            assert client.get(href).status_code == 200
    newest = doc.xpath("//section[@aria-labelledby='newest']//article//h3/a/@href")
    assert newest == [a.url for a in snapshot.articles[:12]]


def test_home_announces_the_main_feeds(client):
    links = alternates(parse(client.get("/")))
    assert links == {kind: f"http://localhost/{name}" for kind, name in FEED_TYPES.items()}


@pytest.mark.parametrize("path", ["/topics/ai/", "/providers/engadget.com/"])
def test_group_page_announces_its_feeds_and_offers_subscribe_and_embed(client, path):
    doc = parse(client.get(path))
    expected = {kind: f"http://localhost{path}{name}" for kind, name in FEED_TYPES.items()}
    assert alternates(doc) == expected
    assert set(doc.xpath("//ul[@class='subscribe']//input[@readonly]/@value")) == set(
        expected.values()
    )
    snippets = [
        code.text_content() for code in doc.xpath("//section[@aria-labelledby='embed']//pre/code")
    ]
    script = html.fragment_fromstring(snippets[0])
    assert script.tag == "script"
    assert script.get("src") == "http://localhost/embed.js"
    assert script.get("data-feed") == f"{path}feed.json"
    assert script.get("async") is not None
    frame = html.fragment_fromstring(snippets[1])
    assert frame.get("src").startswith(f"http://localhost{path}embed")


def test_group_page_shows_articles_with_image_alt_provider_and_date(client, sample_app):
    group = sample_app.extensions["feedsvc.store"].snapshot.group("topic", "ai")
    doc = parse(client.get("/topics/ai/"))
    cards = doc.xpath("//section[@aria-labelledby='articles']//article")
    assert len(cards) == len(group.articles)
    for card, item in zip(cards, group.articles, strict=True):
        assert card.xpath(".//h3/a/@href") == [item.url]
        assert card.findtext(".//h3/a") == item.title
        img = card.find(".//img")
        assert img.get("src") == item.images[0].url
        assert img.get("alt") == (item.images[0].title or "")
        assert card.xpath(".//time/@datetime")[0].startswith(item.published.date().isoformat())
        assert item.provider.name in card.findtext(".//p[@class='meta']/a")


def test_hostile_text_is_escaped_everywhere(xss_app):
    client = xss_app.test_client()
    snapshot = xss_app.extensions["feedsvc.store"].snapshot
    evil_topic = next(g for g in snapshot.topics.values() if g.name == XSS)
    for path in ["/", f"/topics/{evil_topic.slug}/", "/topics/ai/", "/topics/ai/embed"]:
        doc = parse(client.get(path))
        assert not doc.xpath("//img[@src='x']"), path
        assert not doc.xpath("//@onerror"), path
        assert XSS in doc.text_content(), path
        assert f"Alt {XSS}" in doc.xpath("//img/@alt"), path


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_no_inline_script_or_style(client, path):
    doc = parse(client.get(path))
    assert not doc.xpath("//style | //@style"), "inline style breaks style-src 'self'"
    assert all(script.get("src") for script in doc.xpath("//script")), "inline script"
    assert not [a for a in doc.xpath("//@*") if a.attrname.startswith("on")]
    for href in doc.xpath("//link[@rel='stylesheet']/@href | //script/@src"):
        assert href.startswith("/"), href
        assert client.get(href).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_accessible_basics(client, path):
    doc = parse(client.get(path))
    assert doc.get("lang") == "en"
    assert doc.findtext(".//title")
    assert len(doc.xpath("//h1")) == 1
    assert doc.xpath("//main")
    assert all(img.get("alt") is not None for img in doc.xpath("//img"))
    for field in doc.xpath("//input"):
        assert doc.xpath(f"//label[@for='{field.get('id')}']"), "input without a label"


@pytest.mark.parametrize(
    "path", [*PAGES, "/feeds.opml", "/catalog.json", "/embed.js", "/pages.css", "/pages.js"]
)
def test_pages_are_cached_and_conditional_like_feeds(client, path):
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    assert first.cache_control.public and first.cache_control.max_age == 900
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data
    assert zipped.headers["ETag"] != first.headers["ETag"]


def test_same_store_gives_same_bytes(store_dir):
    for n in range(3):
        store_dir.add(f"{n}.txt", article(webUrl=f"https://news.example.com/{n}", topics=[f"T{n}"]))
    first, second = store_dir.app(), store_dir.app()
    paths = list(all_paths(first, first.extensions["feedsvc.store"].snapshot))
    assert "/topics/t1/" in paths and "/feeds.opml" in paths
    for path in paths:
        a, b = first.test_client().get(path), second.test_client().get(path)
        assert a.status_code == 200, path
        assert a.data == b.data, path
        assert a.headers["ETag"] == b.headers["ETag"], path


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/topics/nope/", 404),
        ("/providers/nope.example/", 404),
        ("/topics/nope/embed", 404),
        ("/topics/ai/embed?limit=0", 400),
        ("/topics/ai/embed?limit=51", 400),
        ("/nope.js", 404),
    ],
)
def test_bad_requests(client, path, status):
    assert client.get(path).status_code == status


@pytest.mark.parametrize("limit", [1, 2])
def test_embed_page_limit_and_links_open_outside_the_frame(store_dir, limit):
    for n in range(3):
        store_dir.add(f"{n}.txt", article(webUrl=f"https://news.example.com/{n}"))
    doc = parse(store_dir.app().test_client().get(f"/topics/ai/embed?limit={limit}"))
    assert len(doc.xpath("//article")) == limit
    assert not doc.xpath("//script")
    for link in doc.xpath("//a"):
        assert link.get("target") == "_blank" and link.get("rel") == "noopener"


def test_empty_store_still_has_pages(store_dir):
    store_dir.root.mkdir(parents=True, exist_ok=True)
    app = create_app({"CONTENT_DIR": str(store_dir.root), "RELOAD_INTERVAL": 0})
    doc = parse(app.test_client().get("/"))
    assert "No topics yet." in doc.text_content()


def test_embed_script_never_parses_feed_data_as_html(client):
    script = client.get("/embed.js").get_data(as_text=True)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert "textContent" in script


@pytest.mark.parametrize("path", [*PAGES, "/topics/ai/providers/techcrunch.com/"])
def test_every_url_a_page_shows_answers_directly(client, path):
    """Links, forms and the snippets to paste all name canonical URLs: no 301 on the way."""
    doc = parse(client.get(path))
    base = "http://localhost"
    shown = {u for attr in ("href", "src", "action") for u in doc.xpath(f"//@{attr}")}
    for snippet in doc.xpath("//pre/code/text()"):
        shown |= set(html.fromstring(snippet).xpath("//@src | //@href | //@data-feed"))
    local = {u.removeprefix(base) for u in shown if u.startswith(("/", base))}
    assert any("embed" in u for u in local) or "embed" in path or path == "/"
    for url in sorted(local):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.location)
