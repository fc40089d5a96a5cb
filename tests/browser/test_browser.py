"""The pages, the embed script and the browser view of feeds, in a real Chromium.

Two servers on 127.0.0.1: feedsvc, and a "host" site on another port (so another
origin) that embeds a feed with the script and with an iframe under a strict CSP
of its own. Screenshots go to artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from conftest import ROOT, StoreDir, article, run_server
from flask import Flask, Response

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

CHROMIUM = os.environ.get("FEEDSVC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts"
XSS = "<img src=x onerror=alert(1)>"
# What the CSP of feedsvc's own pages will be (set by the deployment, not by feedsvc).
PAGE_CSP = (
    "default-src 'none'; img-src https: http: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
# Records what a page's CSP blocked; injected by the browser, so no CSP blocks it.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def unavailable(reason: str):
    # CI must run these: a missing browser there is a failure, never a quiet skip.
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser tests cannot be skipped")
    pytest.skip(reason)


def png(width: int = 64, height: int = 48, rgb=(70, 120, 200)) -> bytes:
    """A solid-colour PNG, so thumbnails load without any network."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def host_app(state: dict) -> Flask:
    """Another site: embeds feedsvc's feed with the script and an iframe, under its own CSP."""
    app = Flask("host")

    @app.get("/")
    def page() -> Response:
        feeds = state["feeds"]
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A host site</title></head>
<body>
<h1>A site that embeds a feed</h1>
<h2>With the script</h2>
<script src="{feeds}/embed.js" data-feed="/topics/ai/feed.json" data-limit="3" async></script>
<h2>In a frame</h2>
<iframe src="{feeds}/topics/ai/embed?limit=2" title="AI headlines" width="420" height="300"></iframe>
</body></html>"""
        response = Response(body, mimetype="text/html")
        # No 'unsafe-inline' anywhere: the widget must do with loading its script and images.
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src {feeds}; connect-src {feeds}; frame-src {feeds}; "
            f"img-src 'self'; style-src 'self'; base-uri 'none'"
        )
        return response

    @app.get("/target")
    def target() -> Response:
        feeds = state["feeds"]
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host, own styles</title></head>
<body><aside id="here"></aside>
<script src="{feeds}/embed.js" data-feed="{feeds}/providers/news.example.com/feed.json"
 data-limit="2" data-target="here" data-css="none" async></script>
</body></html>"""
        return Response(body, mimetype="text/html")

    @app.get("/thumb.png")
    def thumb() -> Response:
        return Response(png(), mimetype="image/png")

    return app


def feed_app(tmp: Path, host: str):
    store = StoreDir(tmp / "store")
    for n in range(5):
        store.add(
            f"{n}.txt",
            article(
                title=f"Headline number {n}",
                webUrl=f"https://news.example.com/{n}",
                publishedDateTime=f"2024-05-0{n + 1}T10:00:00Z",
                topics=["AI", "Robots"] if n % 2 else ["AI"],
                images=[{"url": f"{host}/thumb.png", "title": f"Picture {n}"}],
            ),
        )
    store.add(
        "evil.txt",
        article(
            title=XSS,
            webUrl="https://news.example.com/evil",
            publishedDateTime="2024-05-09T10:00:00Z",
            images=[{"url": f"{host}/thumb.png", "title": XSS}],
        ),
    )
    app = store.app()

    @app.after_request
    def csp(response):
        # The planned CSP for feedsvc's HTML pages, to show the pages work under it.
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    return app


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """(feeds, host): base URLs of feedsvc and of the other site, two origins."""
    state: dict = {}
    with run_server(host_app(state)) as host:
        app = feed_app(tmp_path_factory.mktemp("browser"), host)
        with run_server(app) as feeds:
            state["feeds"] = feeds
            yield feeds, host


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def settle(page) -> None:
    page.wait_for_load_state("load")
    assert page.evaluate("window.__violations") == []
    assert page.errors == []
    assert page.dialogs == []


def test_home_lists_topics_and_announces_feeds(page, sites):
    feeds, _ = sites
    page.goto(feeds + "/")
    topics = page.locator("section[aria-labelledby=topics] ul.directory > li")
    assert topics.count() == 2
    assert (
        topics.first.get_by_role("link", name="AI", exact=True).get_attribute("href")
        == "/topics/ai/"
    )
    assert "6 articles" in topics.first.inner_text()
    links = page.locator("head link[rel=alternate]")
    assert sorted(links.evaluate_all("ls => ls.map(l => l.type)")) == [
        "application/atom+xml",
        "application/feed+json",
        "application/rss+xml",
    ]
    assert links.evaluate_all("ls => ls.map(l => l.href)")[0].startswith(feeds)
    # The XSS headline is text; its image never loaded from "x".
    assert page.get_by_role("link", name=XSS).count() == 1
    assert page.locator("img[src=x]").count() == 0
    # Stylesheet applied (served by feedsvc under style-src 'self').
    assert page.evaluate("getComputedStyle(document.querySelector('.cards')).display") == "grid"
    settle(page)
    page.screenshot(path=ARTIFACTS / "home.png", full_page=True)


def test_group_page_copy_buttons_and_snippet(page, sites):
    feeds, _ = sites
    page.goto(feeds + "/topics/ai/")
    # pages.js ran under script-src 'self' and revealed the copy buttons.
    assert page.locator("button.copy:visible").count() == 3
    snippet = page.locator("section[aria-labelledby=embed] pre code").first.inner_text()
    assert f'src="{feeds}/embed.js"' in snippet and 'data-feed="/topics/ai/feed.json"' in snippet
    settle(page)
    page.screenshot(path=ARTIFACTS / "topic.png", full_page=True)


def test_embed_script_on_another_origin_shows_the_feed(page, sites):
    feeds, host = sites
    cors = []
    page.on(
        "response",
        lambda r: (
            cors.append(
                (
                    r.request.all_headers().get("origin"),
                    r.headers.get("access-control-allow-origin"),
                )
            )
            if "/feed.json" in r.url
            else None
        ),
    )
    page.goto(host + "/")
    items = page.locator(".feedsvc-embed .feedsvc-item")
    items.nth(2).wait_for()
    assert items.count() == 3
    titles = page.locator(".feedsvc-embed .feedsvc-link").all_inner_texts()
    assert titles == [XSS, "Headline number 4", "Headline number 3"]
    hrefs = page.locator(".feedsvc-embed a.feedsvc-link").evaluate_all("as => as.map(a => a.href)")
    assert hrefs == [
        "https://news.example.com/evil",
        "https://news.example.com/4",
        "https://news.example.com/3",
    ]
    thumbs = page.locator(".feedsvc-embed img.feedsvc-thumb")
    thumbs.last.evaluate("img => img.decode()")
    assert thumbs.evaluate_all("is => is.map(i => i.naturalWidth)") == [64, 64, 64]
    assert thumbs.nth(1).get_attribute("alt") == "Picture 4"
    assert page.locator(".feedsvc-embed time").first.get_attribute("datetime") == (
        "2024-05-09T10:00:00.000Z"
    )
    # A real cross-origin read: the browser sent Origin and feedsvc allowed it.
    assert cors == [(host, "*")]
    # The hostile title is text: no element from it, no dialog, nothing blocked.
    assert page.locator(".feedsvc-embed img:not(.feedsvc-thumb)").count() == 0
    assert page.evaluate("window.__violations") == []
    # The default style applied through a constructed stylesheet, not inline style.
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.feedsvc-item')).display") == "flex"
    )
    # The iframe alternative shows the same feed.
    frame = page.frame_locator("iframe")
    frame.locator("article").nth(1).wait_for()
    assert frame.locator("article h2 a").all_inner_texts() == [XSS, "Headline number 4"]
    page.wait_for_timeout(200)  # a late alert() would land here
    settle(page)
    page.screenshot(path=ARTIFACTS / "embed.png", full_page=True)


def test_embed_script_fills_a_target_and_can_leave_styling_to_the_host(page, sites):
    _, host = sites
    page.goto(host + "/target")
    items = page.locator("#here.feedsvc-embed .feedsvc-item")
    items.nth(1).wait_for()
    assert items.count() == 2
    # No default style: the host's (here the browser's) rules apply untouched.
    assert page.evaluate("document.adoptedStyleSheets.length") == 0
    assert items.first.evaluate("li => getComputedStyle(li).display") == "list-item"
    settle(page)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_feed_opened_in_the_browser_shows_the_readable_view(page, sites, fmt):
    feeds, _ = sites
    url = f"{feeds}/topics/ai/feed.{fmt}"
    response = page.goto(url)
    assert response.headers["content-type"].startswith("text/html")
    assert "This is a feed" in page.locator("h1").inner_text()
    assert page.locator("#this-feed").input_value() == url
    assert page.locator("button.copy:visible").count() == 4
    # The same URL fetched by a script (as a web-based reader would) is the feed itself.
    fetched = page.evaluate(
        "async (u) => { const r = await fetch(u); return [r.headers.get('content-type'), (await r.text()).slice(0, 40)]; }",
        url,
    )
    assert not fetched[0].startswith("text/html")
    assert fetched[1].lstrip().startswith("{" if fmt == "json" else "<?xml")
    settle(page)
    page.screenshot(path=ARTIFACTS / f"feed-view-{fmt}.png", full_page=True)
