"""Feeds people build: topic within provider, unions, thresholds, search, exclusion, digests."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import lxml.html
import pytest
from conftest import StoreDir, article
from feedcheck import ATOM, FORMATS, assert_no_leak, check_feed, entry_ids, xml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fastpath import Counted, both_ways, fast_path_of

from feedsvc.content.words import article_words, words

TECHCRUNCH = {"name": "TechCrunch", "domain": "techcrunch.com"}
VERGE = {"name": "The Verge", "domain": "verge.com"}
# Number → (fields): five articles over four UTC days, 1–5 May 2024.
ARTICLES = {
    1: dict(
        title="Clearview fined again",
        topics=["AI"],
        provider=TECHCRUNCH,
        quality=120,
        heat=50,
        publishedDateTime="2024-05-01T10:00:00Z",
    ),
    2: dict(
        title="Robots sort parcels",
        topics=["Robotics"],
        provider=TECHCRUNCH,
        quality=80,
        heat=90,
        publishedDateTime="2024-05-01T12:00:00Z",
    ),
    3: dict(
        title="A robot that learns: Café naïve study",
        topics=["AI", "Robotics"],
        provider=VERGE,
        quality=100,
        heat=10,
        publishedDateTime="2024-05-02T09:00:00Z",
    ),
    4: dict(
        title="Models and data",
        topics=["AI"],
        provider=VERGE,
        quality=None,
        heat=None,
        publishedDateTime="2024-05-03T08:00:00Z",
    ),
    5: dict(
        title="Privacy rules",
        topics=["Privacy"],
        provider=VERGE,
        quality=60,
        heat=60,
        publishedDateTime="2024-05-03T18:00:00Z",
    ),
}
NOW = datetime(2024, 5, 5, 6, tzinfo=UTC).timestamp()  # closed days: 1–4 May


def url(n: int) -> str:
    return f"https://n.example.com/{n}"


def digest_id(home: str, day: str) -> str:
    return f"http://localhost{home}digest/2024-05-{day}"


def fill(store: StoreDir) -> None:
    for n, fields in ARTICLES.items():
        store.add_numbered(n, **fields)


@pytest.fixture
def composed_app(store_dir):
    fill(store_dir)
    return store_dir.app(CLOCK=lambda: NOW)


@pytest.fixture
def client(composed_app):
    return composed_app.test_client()


# (path without format, title after "feedsvc: ", item ids newest first)
KINDS = [
    ("/topics/ai/providers/techcrunch.com/feed", "AI from TechCrunch", [url(1)]),
    ("/topics/ai+robotics/feed", "AI or Robotics", [url(4), url(3), url(2), url(1)]),
    ("/topics/ai+robotics/feed?min_quality=100", "AI or Robotics, quality ≥ 100", [url(3), url(1)]),
    ("/feed?min_heat=60", "Everything, heat ≥ 60", [url(5), url(2)]),
    ("/feed?q=clearview", "Everything matching “clearview”", [url(1)]),
    ("/topics/ai/feed?q=cafe+naive", "AI matching “cafe naive”", [url(3)]),
    (
        "/feed?exclude=techcrunch.com",
        "Everything, not from techcrunch.com",
        [url(5), url(4), url(3)],
    ),
    (
        "/topics/ai/digest",
        "Daily digest: AI",
        [digest_id("/topics/ai/", d) for d in ("03", "02", "01")],
    ),
    (
        "/providers/techcrunch.com/digest",
        "Daily digest: TechCrunch",
        [digest_id("/providers/techcrunch.com/", "01")],
    ),
    ("/digest", "Daily digest", [digest_id("/", d) for d in ("03", "02", "01")]),
    (
        "/topics/ai/providers/verge.com/digest?min_quality=1",
        "Daily digest: AI from The Verge, quality ≥ 1",
        [digest_id("/topics/ai/providers/verge.com/", "02")],
    ),
]


def with_format(path: str, fmt: str) -> str:
    base, _, query = path.partition("?")
    return f"{base}.{fmt}" + (f"?{query}" if query else "")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("path", "title", "ids"), KINDS, ids=[k[0] for k in KINDS])
def test_each_kind_parses_back_in_each_format(client, path, title, ids, fmt):
    target = with_format(path, fmt)
    response = client.get(target)
    assert response.status_code == 200, response.get_data(as_text=True)
    parsed = check_feed(fmt, response.data)  # feedparser without bozo, lxml, JSON Feed rules
    assert entry_ids(fmt, parsed) == ids
    assert_no_leak(response.data)
    if fmt == "json":
        assert parsed["title"] == f"feedsvc: {title}"
        assert parsed["feed_url"] == f"http://localhost{target}"
        return
    assert parsed.feed.title == f"feedsvc: {title}"
    # The self link is the canonical URL the request used.
    root = xml(response.data)
    selves = [link.get("href") for link in root.iter(f"{ATOM}link") if link.get("rel") == "self"]
    assert selves == [f"http://localhost{target}"]


def test_a_digest_item_lists_its_days_top_articles_with_links_and_images(client):
    feed = json.loads(client.get("/digest.json").data)
    first_of_may = next(item for item in feed["items"] if item["id"].endswith("2024-05-01"))
    html = lxml.html.fragment_fromstring(first_of_may["content_html"], create_parent="div")
    links = [a.get("href") for a in html.iter("a")]
    assert links == [url(2), url(1)]  # heat 90 before heat 50
    assert [img.get("src") for img in html.iter("img")] == ["https://cdn.example.com/a.jpg"] * 2
    assert first_of_may["date_published"] == "2024-05-02T00:00:00Z"  # the day closed then
    assert first_of_may["image"] == "https://cdn.example.com/a.jpg"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/topics/robotics+ai/feed.rss", "/topics/ai+robotics/feed.rss"),
        ("/topics/ai+ai/feed.rss", "/topics/ai/feed.rss"),
        (
            "/topics/AI/providers/techcrunch.com/feed.atom",
            "/topics/ai/providers/techcrunch.com/feed.atom",
        ),
        ("/feed.rss?q=CLEARVIEW", "/feed.rss?q=clearview"),
        ("/feed.rss?q=fined+Clearview", "/feed.rss?q=clearview+fined"),
        ("/feed.rss?q=caf%C3%A9", "/feed.rss?q=cafe"),
        (
            "/feed.rss?exclude=Verge.com,techcrunch.com,verge.com",
            "/feed.rss?exclude=techcrunch.com,verge.com",
        ),
        ("/feed.rss?q=data&min_quality=5", "/feed.rss?min_quality=5&q=data"),
        ("/feed.rss?min_quality=5&page=1", "/feed.rss?min_quality=5"),
        ("/feed.rss?q=", "/feed.rss"),
        ("/digest.rss?limit=5", "/digest.rss"),
        (
            "/topics/robotics+ai/feed.json?min_heat=1&q=robot",
            "/topics/ai+robotics/feed.json?min_heat=1&q=robot",
        ),
        ("/topics/robotics+ai/", "/topics/ai+robotics/"),
    ],
)
def test_other_spellings_redirect_to_the_canonical_form(client, path, location):
    response = client.get(path)
    assert response.status_code == 301
    assert response.headers["Location"] == location
    if "?" not in location or location.count("?") == 1:
        assert client.get(location).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/feed.rss?min_quality=-1",
        "/feed.rss?min_quality=abc",
        "/feed.rss?min_heat=1000001",
        "/feed.rss?q=" + "a" * 201,
        "/feed.rss?q=!!!",
        "/feed.rss?q=" + "+".join(f"w{n}" for n in range(9)),
        "/feed.rss?exclude=" + ",".join(f"d{n}.com" for n in range(21)),
        "/feed.rss?exclude=bad_domain!",
        "/topics/" + "+".join(["ai"] * 11) + "/feed.rss",
    ],
)
def test_out_of_bounds_parameters_are_a_400_with_a_reason(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert len(response.get_data(as_text=True)) > len("400 Bad Request")


@pytest.mark.parametrize(
    "path",
    [
        "/topics/ai+nope/feed.rss",
        "/topics/ai/providers/nope.com/feed.rss",
        "/providers/nope.com/digest.rss",
        "/topics/ai+robotics/feed.rss?page=2",
        "/topics/ai+nope/",
    ],
)
def test_what_does_not_exist_is_a_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(("path", "_title", "_ids"), KINDS, ids=[k[0] for k in KINDS])
def test_each_kind_keeps_the_validator_rules(client, path, _title, _ids):
    target = with_format(path, "atom")
    first = client.get(target)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"].startswith("public")
    assert client.get(target, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(target, headers={"If-Modified-Since": modified}).status_code == 304
    gzipped = client.get(target, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["ETag"] != etag  # each encoding its own strong tag
    assert client.get(target).headers["ETag"] == etag  # the same bytes again


def test_the_fast_path_answers_cached_composed_feeds_as_flask_does(composed_app):
    fast = fast_path_of(composed_app)
    fast.fallback = Counted(fast.fallback)
    for path, _, _ in KINDS:
        target, _, query = with_format(path, "rss").partition("?")
        flask, answer, answered = both_ways(composed_app, target, query=query)
        assert answered, path
        assert answer == flask


def test_replicas_agree_on_bytes_and_tags(store_dir, tmp_path):
    fill(store_dir)
    one, two = (store_dir.app(CLOCK=lambda: NOW).test_client() for _ in range(2))
    for path, _, _ in KINDS:
        target = with_format(path, "json")
        first, second = one.get(target), two.get(target)
        assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]


def test_a_digest_day_changes_only_with_an_article_of_that_day(store_dir):
    fill(store_dir)
    app = store_dir.app(CLOCK=lambda: NOW)
    client = app.test_client()

    def items() -> dict[str, tuple]:
        parsed = check_feed("atom", client.get("/topics/ai/digest.atom").data)
        return {e.id: (e.title, e.content[0].value, e.updated) for e in parsed.entries}

    before = items()
    etag = client.get("/topics/ai/digest.atom").headers["ETag"]
    # An article today (not a closed day) and an edit on another topic change nothing.
    store_dir.add_numbered(6, topics=["AI"], publishedDateTime="2024-05-05T01:00:00Z")
    store_dir.add_numbered(5, **{**ARTICLES[5], "title": "Privacy rules, revised"})
    app.extensions["feedsvc.store"].refresh()
    assert items() == before
    assert client.get("/topics/ai/digest.atom").headers["ETag"] == etag
    # An edit on 3 May changes that day's item and no other.
    store_dir.add_numbered(4, **{**ARTICLES[4], "title": "Models, data and more"})
    app.extensions["feedsvc.store"].refresh()
    after = items()
    changed = {day for day in before if before[day] != after[day]}
    assert changed == {digest_id("/topics/ai/", "03")}
    assert "Models, data and more" in after[digest_id("/topics/ai/", "03")][1]
    # A later edit of that day's article moves the item's updated date forward.
    edited = {**ARTICLES[4], "title": "Models, data and still more"}
    store_dir.add("4.txt", article(webUrl=url(4), **edited), mtime=time.time() + 10)
    app.extensions["feedsvc.store"].refresh()
    again = items()[digest_id("/topics/ai/", "03")]
    assert again[2] > after[digest_id("/topics/ai/", "03")][2]


EMPTY = [
    ("/feed?q=nothingmatchesthis", "", []),
    ("/providers/techcrunch.com/digest?min_heat=100000", "", []),
]


@pytest.mark.parametrize(
    ("path", "_title", "_ids"), KINDS + EMPTY, ids=[k[0] for k in KINDS + EMPTY]
)
def test_a_composed_feed_is_as_new_as_its_newest_item(client, path, _title, _ids):
    """Atom's feed updated and RSS's lastBuildDate: the newest item's; an empty feed
    still gives a date the validator finds plausible (its bases', or the digest's day)."""
    atom = check_feed("atom", client.get(with_format(path, "atom")).data)
    rss = check_feed("rss", client.get(with_format(path, "rss")).data)
    newest = max((e.updated_parsed for e in atom.entries), default=None)
    if newest is not None:
        assert atom.feed.updated_parsed == newest
    assert atom.feed.updated_parsed >= datetime(2024, 5, 1, tzinfo=UTC).timetuple()
    assert rss.feed.updated_parsed == atom.feed.updated_parsed


def test_midnight_closes_a_day_into_the_digest(store_dir):
    fill(store_dir)
    now = [NOW]
    client = store_dir.app(CLOCK=lambda: now[0]).test_client()
    store_dir.add_numbered(6, topics=["AI"], publishedDateTime="2024-05-05T01:00:00Z")
    client.application.extensions["feedsvc.store"].refresh()
    before = entry_ids("json", json.loads(client.get("/topics/ai/digest.json").data))
    now[0] += 86400
    after = entry_ids("json", json.loads(client.get("/topics/ai/digest.json").data))
    assert after == [digest_id("/topics/ai/", "05"), *before]


def test_composed_pages_show_the_feed_and_its_snippets(client):
    page = client.get("/topics/ai/providers/techcrunch.com/")
    assert page.status_code == 200
    root = lxml.html.document_fromstring(page.data)
    alternates = [link.get("href") for link in root.iter("link") if link.get("rel") == "alternate"]
    assert "http://localhost/topics/ai/providers/techcrunch.com/feed.rss" in alternates
    assert "Clearview fined again" in page.get_data(as_text=True)
    union = client.get("/topics/ai+robotics/")
    assert union.status_code == 200 and "AI or Robotics" in union.get_data(as_text=True)


# --- Thresholds and search against a brute force over the same store -----------------


@cache
def _fixed_store(root: str):
    """One app over a generated store, shared by the property test's examples."""
    store = StoreDir(Path(root))
    vocabulary = ["data", "Model", "café", "robot", "naïve", "Clearview", "東京"]
    for n in range(60):
        store.add_numbered(
            n,
            title=" ".join(vocabulary[(n * k) % len(vocabulary)] for k in (1, 3)),
            excerpt=vocabulary[n % len(vocabulary)] if n % 3 else None,
            topics=["AI"] if n % 2 else ["Robotics"],
            provider=TECHCRUNCH if n % 4 else VERGE,
            quality=None if n % 5 == 0 else n * 2,
            heat=None if n % 7 == 0 else 100 - n,
            publishedDateTime=f"2024-05-{1 + n % 20:02d}T{n % 24:02d}:00:00Z",
        )
    app = store.app(CLOCK=lambda: NOW)
    return app, app.extensions["feedsvc.store"].snapshot


@pytest.mark.slow
@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    min_quality=st.none() | st.integers(0, 130),
    min_heat=st.none() | st.integers(0, 110),
    query=st.lists(
        st.sampled_from(["data", "MODEL", "cafe", "Robot", "naive", "東京"]), max_size=2
    ),
    exclude=st.booleans(),
    topic=st.sampled_from(["", "/topics/ai", "/topics/ai+robotics"]),
)
def test_thresholds_and_search_match_a_brute_force_filter(
    tmp_path_factory, min_quality, min_heat, query, exclude, topic
):
    app, snapshot = _fixed_store(str(tmp_path_factory.getbasetemp() / "fixed"))
    params = {"min_quality": min_quality, "min_heat": min_heat, "q": " ".join(query)}
    if exclude:
        params["exclude"] = "verge.com"
    client = app.test_client()
    given_params = {k: v for k, v in params.items() if v is not None and v != ""}
    response = client.get(f"{topic}/feed.json", query_string=given_params, follow_redirects=True)
    assert response.status_code == 200
    got = [item["id"] for item in json.loads(response.data)["items"]]
    wanted_words = set(words(" ".join(query)))
    expected = [
        a.url
        for a in snapshot.articles
        if (not topic or topic == "/topics/ai+robotics" or "AI" in a.topics)
        and (min_quality is None or (a.quality is not None and a.quality >= min_quality))
        and (min_heat is None or (a.heat is not None and a.heat >= min_heat))
        and not (exclude and a.provider.domain == "verge.com")
        and wanted_words <= article_words(a)
    ]
    assert got == expected[:50]


# --- The form on topic and provider pages --------------------------------------------


def submit(client, page: str, **fields: str):
    """Fill in the page's feed form and send it as a browser does (GET, no script)."""
    doc = lxml.html.document_fromstring(client.get(page).data)
    (form,) = doc.xpath("//form[@class='builder']")
    assert form.method == "GET" and not doc.xpath("//form//@onsubmit")
    for name, value in fields.items():
        form.fields[name] = value

    def open_http(method, url, values):
        response = client.get(url, query_string=values, follow_redirects=True)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    return lxml.html.submit_form(form, open_http=open_http)


@pytest.mark.parametrize(
    ("page", "fields", "title", "path", "ids"),
    [
        (
            "/topics/ai/",
            {"provider": "techcrunch.com"},
            "AI from TechCrunch",
            "/topics/ai/providers/techcrunch.com/feed",
            [url(1)],
        ),
        (
            "/topics/ai/",
            {"topic": "robotics", "min_quality": "100"},
            "AI or Robotics, quality ≥ 100",
            "/topics/ai+robotics/feed?min_quality=100",
            [url(3), url(1)],
        ),
        (
            "/providers/verge.com/",
            {"topic": "ai", "q": "Café"},
            "AI from The Verge matching “cafe”",
            "/topics/ai/providers/verge.com/feed?q=cafe",
            [url(3)],
        ),
        (
            "/topics/ai/",
            {"digest": "1"},
            "Daily digest: AI",
            "/topics/ai/digest",
            [digest_id("/topics/ai/", d) for d in ("03", "02", "01")],
        ),
    ],
)
def test_the_page_form_composes_the_feed_and_its_snippets(client, page, fields, title, path, ids):
    response = submit(client, page, **fields)
    doc = lxml.html.document_fromstring(response.data)
    (section,) = doc.xpath("//section[@class='built']")
    assert section.findtext(".//h2") == f"feedsvc: {title}"
    subscribe = section.xpath(".//ul[@class='subscribe']//input/@value")
    assert subscribe == [f"http://localhost{with_format(path, fmt)}" for fmt in FORMATS]
    for fmt, address in zip(FORMATS, subscribe, strict=True):
        feed = client.get(address.removeprefix("http://localhost"))
        assert entry_ids(fmt, check_feed(fmt, feed.data)) == ids
    script = lxml.html.fragment_fromstring(section.xpath(".//pre/code")[0].text_content())
    assert script.get("data-feed") == with_format(path, "json")
    # The form shows what was asked (in canonical form), ready to change.
    (form,) = doc.xpath("//form[@class='builder']")
    for name, value in fields.items():
        assert words(form.fields[name]) == words(value)


def test_the_form_offers_the_pages_own_topics_and_providers(client):
    doc = lxml.html.document_fromstring(client.get("/providers/verge.com/").data)
    (form,) = doc.xpath("//form[@class='builder']")
    assert set(form.inputs["topic"].value_options) == {"", "ai", "robotics", "privacy"}
    assert "provider" not in form.inputs
    doc = lxml.html.document_fromstring(client.get("/topics/ai/").data)
    (form,) = doc.xpath("//form[@class='builder']")
    assert set(form.inputs["provider"].value_options) == {"", "techcrunch.com", "verge.com"}
    assert set(form.inputs["topic"].value_options) == {"", "robotics"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_digest_ids_are_not_permalinks_and_items_link_to_a_page_that_exists(client, fmt):
    body = client.get(f"/topics/ai/digest.{fmt}").data
    parsed = check_feed(fmt, body)
    if fmt == "json":
        links = [item["url"] for item in parsed["items"]]
    else:
        links = [entry.link for entry in parsed.entries]
    assert set(links) == {"http://localhost/topics/ai/"}
    assert client.get("/topics/ai/").status_code == 200
    if fmt == "rss":
        guids = xml(body).findall(".//item/guid")
        assert guids and all(guid.get("isPermaLink") == "false" for guid in guids)


def test_cycling_search_values_keeps_the_render_cache_within_its_bytes(store_dir):
    fill(store_dir)
    app = store_dir.app(CLOCK=lambda: NOW, CACHE_MAX_BYTES=64 * 1024)
    client = app.test_client()
    cache = app.extensions["feedsvc.render_cache"]
    for n in range(60):  # every value a new render: 60 feeds of a few KB each
        response = client.get("/feed.atom", query_string={"q": f"robot w{n}"})
        assert response.status_code == 200
        assert cache.currsize <= 64 * 1024
    assert cache.misses >= 60
    # What cycling pushed out is rendered again on demand, the same bytes.
    first = client.get("/topics/ai/digest.json")
    for n in range(60, 120):
        client.get("/feed.atom", query_string={"q": f"robot w{n}"})
    again = client.get("/topics/ai/digest.json")
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]


BROWSER = {
    "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
    "Sec-Fetch-Dest": "document",
}


@pytest.mark.parametrize(("path", "_title", "ids"), KINDS, ids=[k[0] for k in KINDS])
def test_a_browser_opening_a_composed_feed_gets_its_page_with_working_links(
    client, path, _title, ids
):
    response = client.get(with_format(path, "rss"), headers=BROWSER)
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    doc = lxml.html.document_fromstring(response.data)
    links = doc.xpath("//article//h3/a/@href")
    if "digest" in path:
        home = ids[0].rsplit("digest/", 1)[0]
        assert links and set(links) == {home}
    else:
        assert links == ids


def test_opml_and_the_catalog_list_only_the_feeds_that_exist_on_their_own(client):
    before = {path: client.get(path).data for path in ("/catalog.json", "/feeds.opml")}
    for path, _, _ in KINDS:
        assert client.get(with_format(path, "rss")).status_code == 200
    assert {path: client.get(path).data for path in before} == before
    catalog = json.loads(before["/catalog.json"])
    assert sorted(t["slug"] for t in catalog["topics"]) == ["ai", "privacy", "robotics"]
    assert all("+" not in url for t in catalog["topics"] for url in t["feeds"].values())


@pytest.mark.parametrize("fmt", ["atom", "json"])
def test_composed_feeds_page_through_their_next_links(client, fmt):
    everything = [url(4), url(3), url(2), url(1)]
    address = f"http://localhost/topics/ai+robotics/feed.{fmt}?limit=1"
    seen = []
    while address:
        response = client.get(address.removeprefix("http://localhost"))
        assert response.status_code == 200, address
        parsed = check_feed(fmt, response.data)
        seen += entry_ids(fmt, parsed)
        if fmt == "json":
            address = parsed.get("next_url")
        else:
            links = [link for link in parsed.feed.links if link.rel == "next"]
            address = links[0].href if links else None
    assert seen == everything


def test_a_client_cycling_search_values_is_held_to_its_render_budget(store_dir):
    fill(store_dir)
    app = store_dir.app(CLOCK=lambda: NOW, RENDER_RATE=1, RENDER_BURST=3, LIMITS_EXEMPT="")
    now = [1000.0]
    budgets = app.extensions["feedsvc.limits"]
    budgets.renders.clock = budgets.polls.clock = lambda: now[0]
    client = app.test_client()
    client_of = {"REMOTE_ADDR": "203.0.113.7"}

    def ask(query: str, who=client_of):
        return client.get("/feed.json", query_string={"q": query}, environ_base=who)

    assert [ask(f"robot w{n}").status_code for n in range(3)] == [200, 200, 200]
    refused = ask("robot w3")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert ask("robot w0").status_code == 200  # cached: free
    assert ask("robot w3", {"REMOTE_ADDR": "198.51.100.9"}).status_code == 200  # another client
    now[0] += 1.0
    assert ask("robot w4").status_code == 200  # the budget refilled
