"""Property-based tests: arbitrary front matter and arbitrary requests.

Any YAML-representable front matter either is refused with a reason or gives feeds
that lxml, feedparser and json read, in every format and grouping, without a trace
of ``secured``. Any path and query string gets an answer below 500.
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from conftest import SAMPLE, SECRET, article
from feedcheck import FORMATS, assert_no_leak, parse_feed
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from werkzeug.test import create_environ, run_wsgi_app

from feedsvc import create_app
from feedsvc.content.articles import read_article
from feedsvc.content.model import Article, Problem
from feedsvc.content.slugs import assign_slugs, topic_key

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Any code point but surrogates (YAML cannot carry them): control characters,
# non-characters, astral planes and all.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
    st.dates(),
    st.datetimes(timezones=st.just(UTC) | st.none()),
)
any_value = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)

schemes = st.sampled_from(["https", "http", "HTTPS", "javascript", "data", "ftp", ""])
hosts = st.sampled_from(["example.com", "bücher.example", "a.b.c", "[::1]", "x", "-bad-", ""])
urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}" if scheme else f"{host}/{path}",
    schemes,
    hosts,
    any_text,
)
dates = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439)),
    ),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.dates(),
    any_text,
)
sizes = st.one_of(st.integers(-5, 10**7), any_text, st.sampled_from(["640px", " 360 ", "1e3"]))


def field(strategy):
    """Mostly a plausible value of the field's type, sometimes anything at all."""
    return st.integers(0, 3).flatmap(lambda n: strategy if n else any_value)


images = st.lists(
    field(
        st.fixed_dictionaries(
            {"url": field(urls)},
            optional={"width": sizes, "height": sizes, "title": field(any_text)},
        )
    ),
    max_size=3,
)
providers = st.fixed_dictionaries(
    {},
    optional={
        "name": field(any_text),
        "domain": field(st.sampled_from(["example.com", "EXAMPLE.org.", "bad domain", ""])),
        "images": field(images),
    },
)
related = st.lists(
    field(
        st.fixed_dictionaries(
            {},
            optional={
                "title": field(any_text),
                "webUrl": field(urls),
                "excerpt": field(any_text),
                "publishedDateTime": field(dates),
                "provider": field(providers),
                "images": field(images),
            },
        )
    ),
    max_size=3,
)
# The three required fields are mostly valid, so that most examples reach the feeds.
good_urls = st.builds(
    "https://news.example.com/{}".format,
    st.text(st.characters(exclude_categories=("Cs", "Cc", "Z")), max_size=30),
)
good_dates = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.just(UTC)
)


def mostly(good, other):
    """``good`` six times in seven (one_of would pick each branch about as often)."""
    return st.integers(0, 6).flatmap(lambda n: good if n else other)


front_matters = st.fixed_dictionaries(
    {
        "title": mostly(any_text.filter(str.strip), any_value),
        "webUrl": mostly(good_urls, field(urls)),
        "publishedDateTime": mostly(good_dates, field(dates)),
        "secured": st.just(SECRET),
    },
    optional={
        "excerpt": field(any_text),
        "category": field(any_text),
        "type": any_value,
        "quality": any_value,
        "heat": any_value,
        "published": field(st.booleans()),
        "ampWebUrl": field(urls),
        "provider": field(providers),
        "topics": field(st.lists(any_text, max_size=4)),
        "images": field(images),
        "related": field(related),
    },
)
# Fields feedsvc does not know, under any name, added beside the known ones.
front_matters = st.builds(
    lambda known, extra: {**extra, **known},
    front_matters,
    st.dictionaries(any_text, any_value, max_size=3),
)


def feed_paths(snapshot) -> list[str]:
    prefixes = [""]
    prefixes += [f"/topics/{slug}" for slug in snapshot.topics]
    prefixes += [f"/providers/{domain}" for domain in snapshot.providers]
    return [f"{prefix}/feed.{fmt}" for prefix in prefixes for fmt in FORMATS]


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(data=front_matters)
def test_any_front_matter_is_refused_with_a_reason_or_served_validly(data):
    text = "---\n" + yaml.safe_dump(data, allow_unicode=True) + "---\n"
    result = read_article(text.encode("utf-8"), "x.txt")
    event("refused: " + result.reason[:30] if isinstance(result, Problem) else "served")
    if isinstance(result, Problem):
        assert result.skipped and result.reason
        assert_no_leak(result.reason)
    else:
        found, notes = result if isinstance(result, tuple) else (result, None)
        assert isinstance(found, Article)
        if notes is not None:
            assert not notes.skipped and notes.reason
            assert_no_leak(notes.reason)
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "x.txt").write_text(text, encoding="utf-8")
        Path(folder, "good.txt").write_text(
            "---\n" + yaml.safe_dump(article()) + "---\n", encoding="utf-8"
        )
        app = create_app({"CONTENT_DIR": folder, "RELOAD_INTERVAL": 0})
        snapshot = app.extensions["feedsvc.store"].snapshot
        client = app.test_client()
        event(f"{len(snapshot.topics)} topic feeds, {len(snapshot.providers)} provider feeds")
        for path in feed_paths(snapshot):
            response = client.get(path)
            assert response.status_code == 200, (path, response.data[:300])
            assert_no_leak(response.data)
            links = parse_feed(path.rsplit(".", 1)[1], response.data)
            if path.startswith("/feed."):
                assert "https://news.example.com/articles/1" in links


path_parts = st.one_of(
    st.sampled_from(
        ["topics", "providers", "feed.rss", "feed.atom", "feed.json", "ai", "engadget.com"]
        + ["..", ".", "", "%2f", "%00", "%2e%2e", "embed", "feed.", "feed.xml"]
    ),
    st.binary(max_size=12).map(lambda b: b.decode("latin-1")),
)
paths = st.lists(path_parts, max_size=6).map(lambda parts: "/" + "/".join(parts))
query_values = st.one_of(
    st.integers(-10, 10**6).map(str), st.binary(max_size=10).map(lambda b: b.decode("latin-1"))
)
queries = st.lists(
    st.tuples(st.sampled_from(["limit", "page", "x", "", "limit[]"]), query_values), max_size=4
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


@pytest.fixture(scope="module")
def request_app():
    return create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0})


@PROPERTY_SETTINGS
@given(path=paths, query=queries, encode=st.booleans())
def test_any_path_and_query_is_answered_below_500(request_app, path, query, encode):
    environ = create_environ()
    # WSGI gives the app the decoded path as latin-1 text and the raw query string.
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = quote(query, safe="=&") if encode else query
    body_iter, status, headers = run_wsgi_app(request_app, environ, buffered=True)
    body = b"".join(body_iter)
    code = int(status.split()[0])
    assert code < 500, (status, body[:300])
    assert b"Traceback" not in body
    if code == 200 and path.rsplit(".", 1)[-1] in FORMATS:
        parse_feed(path.rsplit(".", 1)[-1], body)


SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@PROPERTY_SETTINGS
@given(names=st.lists(any_text, max_size=12))
def test_any_topic_names_get_distinct_routable_slugs(names):
    keys = {topic_key(name) for name in names if topic_key(name)}
    slugs = assign_slugs(keys)
    assert set(slugs) == keys
    assert len(set(slugs.values())) == len(keys)  # two topics never share a slug
    for slug in slugs.values():
        assert SLUG.fullmatch(slug), slug
    assert assign_slugs(sorted(keys, reverse=True)) == slugs  # whatever the order


@PROPERTY_SETTINGS
@given(name=any_text)
def test_case_and_spacing_do_not_make_another_topic(name):
    shouted = re.sub("[a-z]", lambda m: m.group().upper(), name)
    assert topic_key(name) == topic_key(f"  {shouted} ".replace(" ", "\t "))
