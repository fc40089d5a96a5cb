"""Subscriptions played over time, with readers keeping their own books.

Four kinds of reader subscribe to several feeds and poll after every change to the
store: feedparser with its ``etag``/``modified`` handling (and its own 301 handling),
a client that sends only the If-Modified-Since it was given, one that makes it up from
the time of its last fetch, and Debian's newsboat driven headless, whose SQLite cache
is read back. The store goes through an edit of an old article, a
backfill, a deletion, a new name that meets an existing slug, a retag, a provider
change, a restart and a second replica. After every poll each reader holds exactly
what the feed holds, every new or changed item reached it once, a feed that did not
change cost an ETag reader a 304, and no polite reader was ever told 429, while a
client fetching one feed in full far too often is.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from conftest import StoreDir, article, run_server
from feedcheck import shown
from werkzeug.http import http_date
from werkzeug.test import Client

from feedsvc.content.slugs import topic_slug

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z: when the story starts, on the store's clock
MOSKVA = "Batteries Drone Москва"
MOSKVA_SLUG = topic_slug(MOSKVA.casefold())
TRUTH_ADDRESS = "127.0.0.2"
NEWSBOAT = shutil.which("newsboat")


def newsboat_missing() -> None:
    """Without newsboat its part is skipped, except in CI, where that is a failure."""
    if os.environ.get("CI"):
        pytest.fail("newsboat is not installed; CI is set, so it cannot be skipped")


class Clock:
    """The store's clock, also the time files are written at: ticked, never slept."""

    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> float:
        self.now += seconds
        return self.now


class Replicas:
    """A WSGI front over one or more feedsvc apps: a restart swaps them, a second
    replica takes every other request, as a load balancer would send them."""

    def __init__(self, *apps) -> None:
        self.apps = list(apps)
        self._turn = itertools.count()
        self._lock = threading.Lock()
        # (User-Agent, conditional?, status) of every request, as an access log has them.
        self.log: list[tuple[str, bool, int]] = []

    def __call__(self, environ, start_response):
        with self._lock:
            app = self.apps[next(self._turn) % len(self.apps)]
        agent = environ.get("HTTP_USER_AGENT", "")
        conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ

        def logged(status, headers, *args):
            self.log.append((agent, conditional, int(status.split()[0])))
            return start_response(status, headers, *args)

        return app(environ, logged)

    def refresh(self) -> None:
        """What each replica's reloader does after a change (reloading is off here)."""
        for app in self.apps:
            app.extensions["feedsvc.store"].refresh()


Items = dict[str, tuple[str, str]]  # item id -> (title as shown, updated date)


def items_of(fmt: str, body: bytes) -> Items:
    if fmt == "json":
        return {
            item["id"]: (item["title"], item["date_modified"]) for item in json.loads(body)["items"]
        }
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return {entry.id: (shown(entry.title_detail), _updated(entry)) for entry in parsed.entries}


def _updated(entry) -> str:
    # RSS items have only pubDate; feedparser warns when asked for what is not there.
    # (keys(): FeedParserDict answers "in" for the "updated" it would map to "published".)
    return entry["updated"] if "updated" in entry.keys() else entry["published"]  # noqa: SIM118


@dataclass
class Subscription:
    path: str  # what the reader polls (it follows a 301 by taking the new location)
    fmt: str
    items: Items = field(default_factory=dict)  # the feed as the reader last saw it
    validators: dict = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)


class Reader:
    """Keeps per-feed books: items held, and every new or changed item it was given."""

    name = "reader"

    def __init__(self, base: str, paths: list[str]) -> None:
        self.base = base
        self.first_paths = list(paths)
        self.subscriptions = [Subscription(p, p.split("?")[0].rsplit(".", 1)[1]) for p in paths]
        self.events: list[tuple[str, str, tuple[str, str]]] = []

    def poll_all(self) -> None:
        for subscription in self.subscriptions:
            items = self.fetch(subscription)
            if items is not None:
                self.take(subscription, items)

    def take(self, subscription: Subscription, items: Items) -> None:
        for item_id, version in items.items():
            if subscription.items.get(item_id) != version:
                self.events.append((subscription.path, item_id, version))
        subscription.items = items

    def fetch(self, subscription: Subscription) -> Items | None:
        """The feed's items, or None when the server said nothing changed."""
        raise NotImplementedError


class FeedparserReader(Reader):
    """feedparser fetching by URL, with the etag and modified it returned last time."""

    name = "feedparser"

    def fetch(self, subscription: Subscription) -> Items | None:
        result = feedparser.parse(
            self.base + subscription.path,
            etag=subscription.validators.get("etag"),
            modified=subscription.validators.get("modified"),
        )
        subscription.statuses.append(result.status)
        if result.status == 304:
            return None
        if result.get("href") and urlsplit(result.href).path != subscription.path:
            # A permanent redirect: a reader subscribes to the new location.
            moved = urlsplit(result.href)
            subscription.path = moved.path + (f"?{moved.query}" if moved.query else "")
        subscription.validators = {"etag": result.get("etag"), "modified": result.get("modified")}
        assert not result.bozo, result.get("bozo_exception")
        return {entry.id: (shown(entry.title_detail), _updated(entry)) for entry in result.entries}


class ModifiedSinceReader(Reader):
    """A reader that keeps only Last-Modified and sends only If-Modified-Since."""

    name = "if-modified-since"

    def fetch(self, subscription: Subscription) -> Items | None:
        headers = {}
        if "last_modified" in subscription.validators:
            headers["If-Modified-Since"] = subscription.validators["last_modified"]
        status, body, last_modified = _get(self.base + subscription.path, headers, with_lm=True)
        subscription.statuses.append(status)
        if status == 304:
            return None
        assert status == 200
        subscription.validators["last_modified"] = last_modified
        return items_of(subscription.fmt, body)


class OwnClockReader(Reader):
    """A reader that ignores Last-Modified and sends as If-Modified-Since the time of its
    own last fetch, by its clock (as some readers do), here in step with the server's."""

    name = "own-clock"

    def __init__(self, base: str, paths: list[str], clock: Clock) -> None:
        super().__init__(base, paths)
        self.clock = clock

    def fetch(self, subscription: Subscription) -> Items | None:
        headers = {}
        if "fetched" in subscription.validators:
            headers["If-Modified-Since"] = http_date(subscription.validators["fetched"])
        fetched = self.clock()
        status, body = _get(self.base + subscription.path, headers)
        subscription.statuses.append(status)
        if status == 304:
            return None
        assert status == 200
        subscription.validators["fetched"] = fetched
        return items_of(subscription.fmt, body)


def _get_with_headers(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _get(url: str, headers: dict | None = None, with_lm: bool = False):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            result = response.status, response.read(), response.headers.get("Last-Modified")
    except urllib.error.HTTPError as error:
        result = error.code, error.read(), error.headers.get("Last-Modified")
    return result if with_lm else result[:2]


class Newsboat:
    """Debian's newsboat, one cache per feed (it keeps an item once whatever feeds show
    it), reloaded headless; its books are its SQLite cache."""

    def __init__(self, base: str, paths: list[str], home: Path) -> None:
        self.base = base
        self.paths = paths
        self.home = home
        home.mkdir()
        (home / "config").write_text("")
        for index, path in enumerate(paths):
            (home / f"urls{index}").write_text(base + path + "\n")

    def reload(self) -> None:
        for index in range(len(self.paths)):
            command = [NEWSBOAT, "-x", "reload", "-C", str(self.home / "config")]
            command += ["-u", str(self.home / f"urls{index}"), "-c", str(self.home / f"{index}.db")]
            done = subprocess.run(
                command,
                env={**os.environ, "HOME": str(self.home)},
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr

    def items(self, index: int) -> dict[str, list[str]]:
        """Every row newsboat keeps for the feed: guid -> titles (one row each, once)."""
        with sqlite3.connect(self.home / f"{index}.db") as db:
            rows = db.execute("SELECT guid, title FROM rss_item WHERE deleted = 0").fetchall()
        kept: dict[str, list[str]] = {}
        for guid, title in rows:
            kept.setdefault(guid, []).append(title)
        return kept


@dataclass
class Story:
    """The store, the replicas serving it, and what each subscribed feed holds now."""

    store: StoreDir
    clock: Clock
    replicas: Replicas
    base: str
    paths: list[str]
    truth: dict[str, Items] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)

    def app(self):
        # The readers connect from 127.0.0.1, which is limited like anyone here; the
        # story's own look at the feeds comes from an exempt address.
        return self.store.app(
            CLOCK=self.clock, BASE_URL="http://feeds.example", LIMITS_EXEMPT=TRUTH_ADDRESS
        )

    def write(self, name: str, **fields) -> None:
        data = article(webUrl=f"https://n.example.com/{name}", **fields)
        self.store.add(f"{name}.txt", data, self.now())

    def now(self) -> float:
        return self.clock.tick(60)

    def settle(self) -> dict[str, bool]:
        """Let the replicas see the change (a couple of seconds later, as a reloader
        would); which subscribed feeds changed."""
        self.clock.tick(2)
        self.replicas.refresh()
        changed = {}
        client = Client(self.replicas)
        for path in self.paths:
            response = client.get(canonical(path), environ_base={"REMOTE_ADDR": TRUTH_ADDRESS})
            status, body = response.status_code, response.get_data()
            assert status == 200, (path, status)
            # Changed bytes (an RSS item's categories, say) must be fetched again even
            # when no item's title or date moved.
            changed[path] = body != self.bodies.get(path)
            self.bodies[path] = body
            self.truth[path] = items_of(path.split("?")[0].rsplit(".", 1)[1], body)
        return changed


def canonical(path: str) -> str:
    return path.split("?")[0]


def check_readers(story: Story, readers: list[Reader], changed: dict[str, bool]) -> None:
    """After a poll: every reader holds each feed exactly; changes reached it once."""
    for reader in readers:
        before = len(reader.events)
        held = {s.path: dict(s.items) for s in reader.subscriptions}
        reader.poll_all()
        got = reader.events[before:]
        for subscription in reader.subscriptions:
            truth = story.truth[_truth_key(story, subscription.path)]
            assert subscription.items == truth, (reader.name, subscription.path)
            # Given exactly the items that are new or changed since its last look.
            old = held.get(subscription.path, held.get(_first_path(reader, subscription), {}))
            news = {(i, v) for i, v in truth.items() if old.get(i) != v}
            given = {(i, v) for p, i, v in got if p == subscription.path}
            assert given == news, (reader.name, subscription.path)
        assert len(got) == len(set(got)), f"{reader.name} was given a change twice"
        for subscription in reader.subscriptions:
            assert 429 not in subscription.statuses, (reader.name, "polite, never limited")
        for subscription in reader.subscriptions:
            key = _truth_key(story, subscription.path)
            if not changed[key]:
                assert not [e for e in got if e[0] == subscription.path], (reader.name, key)
                if isinstance(reader, FeedparserReader):
                    assert subscription.statuses[-1] == 304, (
                        reader.name,
                        key,
                        subscription.statuses,
                    )


def _first_path(reader: Reader, subscription: Subscription) -> str:
    # Before a 301 the subscription was under its first path.
    return next((p for p in reader.first_paths if canonical(p) == subscription.path), "")


def _truth_key(story: Story, path: str) -> str:
    return next(p for p in story.paths if canonical(p) == canonical(path))


@pytest.fixture
def story(tmp_path):
    clock = Clock()
    store = StoreDir(tmp_path / "store")
    add = store.add
    at = clock.now - 3600
    add("a1.txt", article(webUrl="https://n.example.com/a1", title="Model ships",
                      publishedDateTime="2024-05-01T10:00:00Z"), at)  # fmt: skip
    add("a2.txt", article(webUrl="https://n.example.com/a2", title="Drone batteries",
                      topics=["AI", MOSKVA], publishedDateTime="2024-05-03T10:00:00Z"), at)  # fmt: skip
    add("a3.txt", article(webUrl="https://n.example.com/a3", title="Cells in Moscow", topics=[MOSKVA],
                      provider={"name": "Other Outlet", "domain": "other.example.com"},
                      publishedDateTime="2024-05-02T10:00:00Z"), at)  # fmt: skip
    add("a4.txt", article(webUrl="https://n.example.com/a4", title="Newest AI story",
                      publishedDateTime="2024-05-04T10:00:00Z"), at)  # fmt: skip
    replicas = Replicas()
    paths = [
        "/feed.rss",
        "/feed.json",
        "/feed.atom?limit=50",  # not canonical: a 301 the reader follows once
        "/topics/ai/feed.atom",
        "/topics/ai/feed.rss",
        f"/topics/{MOSKVA_SLUG}/feed.rss",
        f"/topics/{MOSKVA_SLUG}/feed.json",
        f"/topics/{MOSKVA_SLUG}/feed.atom",
        "/providers/other.example.com/feed.atom",
        "/providers/other.example.com/feed.rss",
    ]
    with run_server(replicas) as base:
        story = Story(store, clock, replicas, base, paths)
        replicas.apps = [story.app()]
        yield story


@pytest.mark.slow
@pytest.mark.integration  # newsboat runs as a process
def test_every_change_reaches_every_reader_once_at_the_url_it_subscribed_to(story, tmp_path):
    readers = [
        FeedparserReader(story.base, [p for p in story.paths if not p.endswith(".json")]),
        ModifiedSinceReader(story.base, [p for p in story.paths if "?" not in p]),
        OwnClockReader(story.base, [p for p in story.paths if "?" not in p], story.clock),
    ]
    newsboat_paths = ["/feed.rss", f"/topics/{MOSKVA_SLUG}/feed.atom"]
    newsboat = Newsboat(story.base, newsboat_paths, tmp_path / "newsboat") if NEWSBOAT else None
    if newsboat is None:
        newsboat_missing()

    def poll(changed: dict[str, bool]) -> None:
        check_readers(story, readers, changed)
        if newsboat is not None:
            newsboat.reload()
            for index, path in enumerate(newsboat_paths):
                kept = newsboat.items(index)
                for item_id, (title, _) in story.truth[path].items():
                    # One row per item, whatever happened to it, with its current title.
                    assert kept[item_id] == [title], (path, item_id)

    poll(story.settle())
    moved = readers[0].subscriptions[readers[0].first_paths.index("/feed.atom?limit=50")]
    assert moved.path == "/feed.atom" and _statuses_of(story, "/feed.atom?limit=50") == [301]

    def atom_entry(item: str) -> feedparser.FeedParserDict:
        status, body = _get(story.base + "/topics/ai/feed.atom")
        return next(e for e in feedparser.parse(body).entries if e.id.endswith(item))

    def json_item(item: str) -> dict:
        _, body = _get(story.base + "/topics/ai/feed.json")
        return next(i for i in json.loads(body)["items"] if i["id"].endswith(item))

    def rss_pub_date(item: str) -> str:
        _, body = _get(story.base + "/feed.rss")
        return next(e for e in feedparser.parse(body).entries if e.id.endswith(item)).published

    before, json_before, rss_before = atom_entry("a1"), json_item("a1"), rss_pub_date("a1")
    lm_before = _last_modified(story)

    # An edit of an article that is not the newest.
    story.write("a1", title="Model ships, corrected", publishedDateTime="2024-05-01T10:00:00Z")
    changed = story.settle()
    assert changed["/topics/ai/feed.atom"] and not changed[f"/topics/{MOSKVA_SLUG}/feed.rss"]
    assert _last_modified(story) > lm_before
    after, json_after = atom_entry("a1"), json_item("a1")
    assert after.published_parsed == before.published_parsed
    assert after.updated_parsed > before.updated_parsed
    assert json_after["date_published"] == json_before["date_published"]
    assert json_after["date_modified"] > json_before["date_modified"]
    assert rss_pub_date("a1") == rss_before
    poll(changed)

    # A backfill: dated before everything else.
    story.write("a5", title="An old story, filed late", publishedDateTime="2024-04-01T10:00:00Z")
    poll(story.settle())

    # A deletion.
    story.store.remove("a2.txt", mtime=story.now())
    changed = story.settle()
    assert changed[f"/topics/{MOSKVA_SLUG}/feed.json"] and changed["/topics/ai/feed.rss"]
    poll(changed)

    # A new name whose words are an existing topic's: that topic's URL keeps its meaning.
    story.write("a6", title="Plain batteries", topics=["Batteries Drone"])
    changed = story.settle()
    assert not changed[f"/topics/{MOSKVA_SLUG}/feed.rss"]
    poll(changed)
    assert _get(story.base + "/topics/batteries-drone/feed.json")[0] == 200

    # An article leaves a topic (edited in place): the topic's readers see it go.
    story.write("a4", title="Newest AI story", topics=["Robotics"],
                publishedDateTime="2024-05-04T10:00:00Z")  # fmt: skip
    changed = story.settle()
    assert changed["/topics/ai/feed.atom"]
    poll(changed)

    # A provider renamed.
    story.write("a3", title="Cells in Moscow", topics=[MOSKVA],
                provider={"name": "Other Outlet & Co <Weekly>", "domain": "other.example.com"},
                publishedDateTime="2024-05-02T10:00:00Z")  # fmt: skip
    poll(story.settle())

    # A restart: same store, same bytes, same validators; nothing to fetch again.
    story.replicas.apps = [story.app()]
    changed = story.settle()
    assert not any(changed.values())
    poll(changed)
    assert all(s.statuses[-1] == 304 for r in readers for s in r.subscriptions)

    # A second replica on the same store: the readers alternate between the two.
    story.replicas.apps = [story.replicas.apps[0], story.app()]
    for _ in range(2):
        changed = story.settle()
        poll(changed)
        assert all(s.statuses[-1] == 304 for r in readers for s in r.subscriptions)
    story.write("a3", title="Cells in Moscow, updated", topics=[MOSKVA],
                provider={"name": "Other Outlet", "domain": "other.example.com"},
                publishedDateTime="2024-05-02T10:00:00Z")  # fmt: skip
    changed = story.settle()
    poll(changed)
    poll(story.settle())  # the other replica: nothing new
    # Every item version each reader holds, it was given once.
    for reader in readers:
        assert len(reader.events) == len(set(reader.events)), reader.name
    # A client fetching one feed in full again and again, far faster than MAX_AGE, is
    # told to wait (by each replica, after POLL_LIMIT fetches there); asking with the
    # validator it was given is never refused.
    statuses, etag = [], None
    for _ in range(2 * 10 + 2):
        status, headers, _ = _get_with_headers(story.base + "/topics/ai/feed.json")
        statuses.append(status)
        etag = headers.get("ETag") or etag
    assert statuses[0] == 200 and statuses[-1] == 429
    assert int(headers["Retry-After"]) > 0
    status, _, _ = _get_with_headers(story.base + "/topics/ai/feed.json", {"If-None-Match": etag})
    assert status == 304
    assert not any(status == 429 for agent, _, status in story.replicas.log if "newsboat" in agent)
    if newsboat is not None:
        # newsboat keeps validators too (from its second fetch of a feed on): it was
        # told "not modified" and also sent the changes it asked about.
        asked = [(c, status) for agent, c, status in story.replicas.log if "newsboat" in agent]
        assert (True, 304) in asked and (True, 200) in asked


def _statuses_of(story: Story, path: str) -> list[int]:
    request = urllib.request.Request(story.base + path)
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        opener.open(request, timeout=10)
    except urllib.error.HTTPError as error:
        return [error.code]
    return [200]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _last_modified(story: Story):
    status, _, value = _get(story.base + "/feed.rss", with_lm=True)
    return parsedate_to_datetime(value)


def test_if_modified_since_is_ignored_beside_if_none_match(tmp_path):
    clock = Clock()
    store = StoreDir(tmp_path / "store")
    store.add("a.txt", article(), clock.now - 600)
    client = store.app(CLOCK=clock).test_client()
    first = client.get("/feed.rss")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    ancient = "Sat, 01 Jan 2000 00:00:00 GMT"
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    assert (
        client.get(
            "/feed.rss", headers={"If-None-Match": etag, "If-Modified-Since": ancient}
        ).status_code
        == 304
    )
    assert (
        client.get(
            "/feed.rss", headers={"If-None-Match": '"other"', "If-Modified-Since": future}
        ).status_code
        == 200
    )
    assert client.get("/feed.rss", headers={"If-Modified-Since": last_modified}).status_code == 304


def test_a_change_in_the_second_of_a_fetch_reaches_a_reader_that_dates_its_fetches(tmp_path):
    clock = Clock()
    store = StoreDir(tmp_path / "store")
    store.add("a.txt", article(webUrl="https://n.example.com/a"), clock.now - 600)
    app = store.app(CLOCK=clock)
    client = app.test_client()
    assert client.get("/feed.rss").status_code == 200
    fetched = http_date(clock.now)  # what the reader will send
    clock.tick(0.3)  # an edit in the same second as that fetch
    store.add("a.txt", article(webUrl="https://n.example.com/a", title="Again"), clock.now)
    clock.tick(2)
    app.extensions["feedsvc.store"].refresh()
    assert client.get("/feed.rss", headers={"If-Modified-Since": fetched}).status_code == 200


def test_a_change_in_the_second_of_the_last_check_still_moves_last_modified(tmp_path):
    clock = Clock()
    store = StoreDir(tmp_path / "store")
    store.add("a.txt", article(webUrl="https://n.example.com/a"), clock.now)
    app = store.app(CLOCK=clock)  # checked in the same second the file was written
    client = app.test_client()
    held = client.get("/feed.rss").headers["Last-Modified"]
    clock.tick(0.5)  # a second edit within that second
    store.add("a.txt", article(webUrl="https://n.example.com/a", title="Again"), clock.now)
    clock.tick(1)
    app.extensions["feedsvc.store"].refresh()
    assert client.get("/feed.rss", headers={"If-Modified-Since": held}).status_code == 200


def test_an_earlier_slug_redirects_to_the_topic(tmp_path):
    store = StoreDir(tmp_path / "store")
    store.add("a.txt", article(topics=[MOSKVA]))
    client = store.app().test_client()
    # The earlier rule gave this topic "batteries-drone", its one readable form.
    for path in ("/topics/batteries-drone/feed.rss?limit=5", "/topics/batteries-drone/"):
        response = client.get(path)
        assert response.status_code == 301
        assert response.location == path.replace("batteries-drone", MOSKVA_SLUG)
    assert client.get(f"/topics/{MOSKVA_SLUG}/feed.rss").status_code == 200


def test_an_earlier_slug_in_a_union_redirects_to_the_union(tmp_path):
    store = StoreDir(tmp_path / "store")
    store.add("a.txt", article(topics=[MOSKVA, "AI"]))
    client = store.app().test_client()
    response = client.get("/topics/batteries-drone+ai/feed.atom")
    assert response.status_code == 301
    assert response.location == f"/topics/{'+'.join(sorted(['ai', MOSKVA_SLUG]))}/feed.atom"
    assert client.get(response.location).status_code == 200
    assert client.get("/topics/no-such-topic+ai/feed.atom").status_code == 404


def test_feeds_and_pages_wait_for_the_store_with_503(store_dir, monkeypatch):
    from feedsvc.content.store import Store

    store_dir.add("a.txt", article())
    release = threading.Event()
    original = Store.refresh

    def slow_refresh(self):
        release.wait(10)
        return original(self)

    monkeypatch.setattr(Store, "refresh", slow_refresh)
    app = store_dir.app(BACKGROUND_LOAD=True)
    client = app.test_client()
    try:
        for path in ("/feed.rss", "/topics/ai/feed.json", "/", "/catalog.json"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert int(response.headers["Retry-After"]) > 0
        assert client.get("/favicon.ico").status_code == 200  # needs no store
    finally:
        release.set()


def test_restarted_service_gives_the_same_bytes_and_validators(tmp_path):
    clock = Clock()
    store = StoreDir(tmp_path / "store")
    for n in range(3):
        store.add_numbered(n, topics=["AI", MOSKVA])
    for path in (tmp_path / "store").iterdir():
        os.utime(path, (clock.now - 100, clock.now - 100))
    os.utime(tmp_path / "store", (clock.now - 100, clock.now - 100))
    answers = []
    for _ in range(2):
        client = store.app(CLOCK=clock, BASE_URL="http://feeds.example").test_client()
        response = client.get(f"/topics/{MOSKVA_SLUG}/feed.atom")
        answers.append((response.data, response.headers["ETag"], response.headers["Last-Modified"]))
        clock.tick(3600)
    assert answers[0] == answers[1]


@pytest.mark.integration
def test_newsboat_shows_atom_titles_as_written(tmp_path):
    if NEWSBOAT is None:
        newsboat_missing()
        pytest.skip("newsboat is not installed (apt-get install newsboat)")
    hostile = 'AT&T <b>not bold</b> & "quotes" — 5 < 6 > 4 &amp; done'
    store = StoreDir(tmp_path / "store")
    store.add("a.txt", article(title=hostile), 1_700_000_000)
    with run_server(store.app()) as base:
        newsboat = Newsboat(base, ["/feed.atom"], tmp_path / "newsboat")
        newsboat.reload()
        assert newsboat.items(0) == {"https://news.example.com/articles/1": [hostile]}


@pytest.mark.slow
@pytest.mark.integration
def test_two_gunicorn_replicas_on_one_store_agree_on_validators(tmp_path):
    from servers import get, gunicorn

    store = StoreDir(tmp_path / "store")
    for n in range(3):
        store.add_numbered(n, topics=["AI", MOSKVA])
    env = {"FEEDSVC_RELOAD_INTERVAL": "0.2", "FEEDSVC_WATCH": "false"}
    env["FEEDSVC_BASE_URL"] = "http://feeds.example"
    paths = ["/feed.rss", f"/topics/{MOSKVA_SLUG}/feed.atom", "/topics/ai/feed.json"]

    def validators(server) -> dict[str, tuple[str, str]]:
        answers = {}
        for path in paths:
            status, headers, _ = get(server.url + path)
            assert status == 200
            answers[path] = (headers["ETag"], headers["Last-Modified"])
        return answers

    def agreed(condition=lambda answers: True) -> dict[str, tuple[str, str]]:
        """Both replicas' validators once they agree (each has looked at the store after
        the second of its last change) and ``condition`` holds."""
        deadline = time.monotonic() + 20
        while True:
            answers = validators(one), validators(two)
            if answers[0] == answers[1] and condition(answers[0]):
                return answers[0]
            assert time.monotonic() < deadline, answers
            time.sleep(0.1)

    with (
        gunicorn(store.root, tmp_path / "a.log", workers=1, env=env) as one,
        gunicorn(store.root, tmp_path / "b.log", workers=1, env=env) as two,
    ):
        before = agreed()
        store.add_numbered(1, title="Edited on the shared store", topics=["AI", MOSKVA])

        def moved(now: dict[str, tuple[str, str]]) -> bool:
            # A new tag at once; a later date once a check began after the edit's second.
            return all(
                now[p][0] != before[p][0]
                and parsedate_to_datetime(now[p][1]) > parsedate_to_datetime(before[p][1])
                for p in paths
            )

        agreed(moved)
        for path in paths:
            since = {"If-Modified-Since": before[path][1]}
            assert get(one.url + path, since)[0] == get(two.url + path, since)[0] == 200
