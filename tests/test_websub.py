"""WebSub around the spec: settings, callback safety, limits, storage, the leader, metrics."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import feedparser
import lxml.html
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from requests.utils import parse_header_links
from servers import get, gunicorn, metric_total, scrape
from test_fastpath import Counted, both_ways, fast_path_of
from test_websub_spec import BASE, TOPIC, Clock, Env
from websub_callback import Callback
from werkzeug.datastructures import MultiDict

from feedsvc.websub.safety import Client, address_refused
from feedsvc.websub.storage import Storage

_APPS: list = []


@pytest.fixture(autouse=True)
def _stop_leaders():
    """Stop the leader threads of the apps a test made, so none outlives it."""
    yield
    while _APPS:
        _APPS.pop().extensions["feedsvc.websub"].leader.stop()


def websub_app(store_dir, tmp_path, **config):
    store_dir.add_numbered(1, topics=["AI"])
    settings = {
        "BASE_URL": BASE,
        "WEBSUB_HUBS": "self",
        "WEBSUB_DIR": str(tmp_path / "websub"),
        "WEBSUB_ALLOW_PRIVATE": True,
        **config,
    }
    app = store_dir.app(**settings)
    _APPS.append(app)
    return app


@pytest.fixture
def stepped(store_dir, tmp_path, serve):
    """An Env like the spec tests', with settings of the test's choosing."""

    def make(callback: Callback | None = None, **config):
        callback = callback or Callback()
        server = serve(callback)
        callback_url = server.__enter__()
        opened.append(server)
        clock = Clock()
        app = websub_app(store_dir, tmp_path, WEBSUB_CLOCK=clock, **config)
        websub = app.extensions["feedsvc.websub"]
        websub.leader.stop()
        assert websub.leader.try_lead()
        websub.leader.step()
        leaders.append(websub.leader)
        return Env(app, websub, callback, callback_url, clock, store_dir)

    opened: list = []
    leaders: list = []
    yield make
    for leader in leaders:
        leader.stop()
    for server in opened:
        server.__exit__(None, None, None)


# --- settings ---------------------------------------------------------------------------


def test_without_hubs_nothing_changes(store_dir):
    store_dir.add_numbered(1)
    client = store_dir.app().test_client()
    for path in ("/feed.atom", "/feed.rss", "/feed.json"):
        response = client.get(path)
        assert "Link" not in response.headers
        assert b"websub" not in response.data and b'"hubs"' not in response.data
    assert client.post("/websub", data={"hub.mode": "subscribe"}).status_code == 404
    assert client.get("/websub").status_code == 404
    assert "websub" not in client.get("/readyz").get_json()


@pytest.mark.parametrize(
    "config, named",
    [
        ({"BASE_URL": ""}, "BASE_URL"),
        ({"WEBSUB_DIR": ""}, "WEBSUB_DIR"),
        ({"WEBSUB_HUBS": "self,ftp://hub.example/"}, "WEBSUB_HUBS"),
        ({"WEBSUB_LEASE_MIN": 0}, "LEASE"),
        ({"WEBSUB_LEASE_SECONDS": 10**9}, "LEASE"),
    ],
)
def test_settings_that_cannot_work_stop_the_start(store_dir, tmp_path, config, named):
    with pytest.raises(ValueError, match=named):
        websub_app(store_dir, tmp_path, **config)


def test_an_external_hub_is_announced_and_no_endpoint_is_served(store_dir, tmp_path):
    app = websub_app(store_dir, tmp_path, WEBSUB_HUBS="https://hub.example/")
    client = app.test_client()
    assert client.get("/feed.json").get_json()["hubs"] == [
        {"type": "WebSub", "url": "https://hub.example/"}
    ]
    assert client.post("/websub", data={"hub.mode": "subscribe"}).status_code == 404


@pytest.mark.parametrize("fast_path", [True, False])
def test_links_on_200_and_304_from_both_paths(store_dir, tmp_path, fast_path):
    app = websub_app(
        store_dir, tmp_path, WEBSUB_HUBS="self,https://hub.example/", FAST_PATH=fast_path
    )
    client = app.test_client()
    client.get("/feed.rss")  # rendered into the cache: the fast path answers what follows
    for path in ("/feed.rss", "/feed.rss?limit=10", "/topics/ai/feed.json"):
        first = client.get(path)
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert (first.status_code, again.status_code) == (200, 304)
        for response in (first, again):
            links = parse_header_links(", ".join(response.headers.getlist("Link")))
            assert [(link["rel"], link["url"]) for link in links] == [
                ("hub", BASE + "/websub"),
                ("hub", "https://hub.example/"),
                ("self", BASE + path),
            ]


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/feed.atom", {}),
        ("/topics/ai/feed.rss", {"Accept-Encoding": "gzip"}),
        ("/feed.json", {"If-None-Match": "*"}),
    ],
)
def test_the_fast_path_answers_with_the_same_links_as_flask(store_dir, tmp_path, path, headers):
    app = websub_app(store_dir, tmp_path, WEBSUB_HUBS="self,https://hub.example/")
    fast_path = fast_path_of(app)
    fast_path.fallback = Counted(fast_path.fallback)
    flask, fast, answered = both_ways(app, path, headers=headers)
    assert fast == flask and answered
    assert sum(name == "Link" for name, _ in fast[1]) == 3


def test_pages_that_announce_feeds_announce_the_hub(store_dir, tmp_path):
    client = websub_app(store_dir, tmp_path).test_client()
    for path in ("/", "/topics/ai/", "/providers/news.example.com/"):
        head = lxml.html.fromstring(client.get(path).data).find("head")
        assert [link.get("href") for link in head.iter("link") if link.get("rel") == "hub"] == [
            BASE + "/websub"
        ]
        assert any(link.get("rel") == "alternate" for link in head.iter("link"))


def test_a_hub_request_before_the_store_is_loaded_is_a_503(store_dir, tmp_path, monkeypatch):
    app = websub_app(store_dir, tmp_path, BACKGROUND_LOAD=True)
    store = app.extensions["feedsvc.store"]
    loading = threading.Event()
    load = store.refresh
    monkeypatch.setattr(store, "refresh", lambda: (loading.wait(10), load())[1])  # a slow load
    try:
        response = app.test_client().post(
            "/websub",
            data={"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": "http://x.example/"},
        )
        assert response.status_code == 503 and "Retry-After" in response.headers
        assert not store.ready
    finally:
        loading.set()


# --- callback safety ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert address_refused(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert address_refused(address) is None


def test_a_name_that_resolves_to_loopback_is_refused_when_called(stepped):
    env = stepped(WEBSUB_ALLOW_PRIVATE=False)
    port = env.callback_url.rsplit(":", 1)[1]
    response = env.request(
        **{
            "hub.mode": "subscribe",
            "hub.topic": TOPIC,
            "hub.callback": f"http://localhost:{port}/cb",
        }
    )
    assert response.status_code == 202  # a name: checked when it is resolved, below
    assert env.websub.hub.drain(5)
    assert env.callback.received == [] and env.subscriptions() == []
    literal = env.request(
        **{"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": env.callback_url + "/cb"}
    )
    assert literal.status_code == 400 and "loopback" in literal.get_data(as_text=True)


def test_every_delivery_checks_the_address_again(stepped):
    """A subscription kept while its name was public is refused once it resolves privately."""
    env = stepped(WEBSUB_ALLOW_PRIVATE=False)
    port = env.callback_url.rsplit(":", 1)[1]
    callback = f"http://localhost:{port}/cb"
    env.websub.storage.subscribe(TOPIC, callback, "localhost", None, 3600, env.clock(), 10)
    env.edit()
    assert env.callback.received == []
    assert env.websub.leader.queue.next_due() is not None  # retried until the lease ends


def test_the_connection_goes_to_the_address_that_was_checked(serve, monkeypatch):
    callback = Callback()
    with serve(callback) as url:
        port = int(url.rsplit(":", 1)[1])
        real = socket.getaddrinfo
        asked = []

        def fake(host, *args, **kwargs):
            asked.append(host)
            return real("127.0.0.1" if host == "callback.test" else host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        answer = Client(True, 5).request(
            "GET", f"http://callback.test:{port}/x?hub.challenge=c", read=10
        )
    assert answer.status == 200 and answer.body == b"c"
    assert asked == ["callback.test"]  # resolved once, by the check, and not again to connect
    assert callback.received[0].headers["Host"] == f"callback.test:{port}"


def test_a_callback_that_never_answers_takes_only_the_timeout(stepped):
    env = stepped(WEBSUB_TIMEOUT=0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        env.request(
            **{
                "hub.mode": "subscribe",
                "hub.topic": TOPIC,
                "hub.callback": f"http://127.0.0.1:{port}/cb",
            }
        )
        assert env.websub.hub.drain(5)
        assert time.monotonic() - started < 3
    assert env.subscriptions() == []


def test_a_callback_that_drips_its_answer_takes_only_the_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def drip() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 100:
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return
                    time.sleep(0.1)  # the peer's pace, not the test's

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        started = time.monotonic()
        with pytest.raises((OSError, http.client.HTTPException)):  # what callers catch
            Client(True, 0.5).request("GET", f"http://127.0.0.1:{port}/", read=10)
        assert time.monotonic() - started < 2
        thread.join(15)


def test_only_as_much_of_an_answer_is_read_as_needed(serve):
    big = b"x" * (50 << 20)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(big)))])
        return [big]

    with serve(app) as url:
        started = time.monotonic()
        answer = Client(True, 5).request("GET", url + "/", read=44)
    assert answer.body == b"x" * 44
    assert time.monotonic() - started < 2


_FIELDS = ("hub.mode", "hub.topic", "hub.callback", "hub.secret", "hub.lease_seconds", "hub.url")
_VALUES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.sampled_from(
        ["subscribe", "unsubscribe", "publish", TOPIC, BASE + "/feed.rss?page=2", "0", "-1"]
    ),
    st.builds(lambda tail: "http://cb.example/" + tail, st.text(max_size=30)),
    st.just("x" * 3000),
)


@pytest.mark.slow
@settings(
    max_examples=200,
    deadline=None,
    # The fixtures only give the app's folders; one app serves every example.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(form=st.lists(st.tuples(st.sampled_from(_FIELDS), _VALUES), max_size=8))
def test_any_request_to_the_hub_is_a_202_or_a_4xx_in_plain_text(store_dir, tmp_path_factory, form):
    app = _fuzz_app(store_dir, tmp_path_factory)
    hub = app.extensions["feedsvc.websub"].hub
    started = []
    hub._start = started.append  # keep every check, make no request to any callback
    response = app.test_client().post("/websub", data=MultiDict(form))
    assert response.status_code in (202, 400, 403, 404, 413, 429), response.get_data()
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).strip()
    assert (response.status_code == 202) == bool(started) or _is_publish(form)


def _is_publish(form) -> bool:
    modes = [value for name, value in form if name == "hub.mode"]
    return modes == ["publish"]


_FUZZ: dict = {}


def _fuzz_app(store_dir, tmp_path_factory):
    """One app for every example (hypothesis runs them in one test)."""
    if "app" not in _FUZZ:
        _FUZZ["app"] = websub_app(
            store_dir,
            tmp_path_factory.mktemp("fuzz"),
            WEBSUB_ALLOW_PRIVATE=False,
            WEBSUB_REQUESTS_PER_MINUTE=100000,
        )
        _FUZZ["app"].extensions["feedsvc.websub"].leader.stop()  # it pushes nothing here
    return _FUZZ["app"]


# --- limits --------------------------------------------------------------------------------


def test_subscriptions_per_callback_host_are_limited(stepped):
    env = stepped(WEBSUB_CALLBACKS_PER_HOST=2)
    assert env.subscribe(path="/1").status_code == 202
    assert env.subscribe(path="/2").status_code == 202
    third = env.subscribe(path="/3")
    assert third.status_code == 403 and third.mimetype == "text/plain"
    assert env.subscribe(path="/1").status_code == 202  # renewing one kept is fine
    assert len(env.subscriptions()) == 2


def test_requests_per_client_are_limited(stepped):
    env = stepped(WEBSUB_REQUESTS_PER_MINUTE=3)
    statuses = [env.subscribe(path=f"/{n}", wait=False).status_code for n in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    limited = env.subscribe(wait=False)
    assert int(limited.headers["Retry-After"]) > 0
    assert env.websub.hub.drain(5)


def test_a_hub_busy_verifying_says_when_to_come_back(stepped, monkeypatch):
    from feedsvc.websub import hub

    monkeypatch.setattr(hub, "MAX_PENDING", 1)
    env = stepped(WEBSUB_TIMEOUT=1.0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts, never answers: the first verification waits its timeout
        callback = f"http://127.0.0.1:{silent.getsockname()[1]}/cb"
        form = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback}
        assert env.request(**form).status_code == 202
        busy = env.request(**{**form, "hub.callback": callback + "2"})
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
        assert env.websub.hub.drain(5)
    assert env.request(**form).status_code == 202  # room again


def test_a_large_request_is_refused(stepped):
    env = stepped()
    response = env.request(
        **{
            "hub.mode": "subscribe",
            "hub.topic": TOPIC,
            "hub.callback": "http://x.example/" + "a" * 20000,
        }
    )
    assert response.status_code == 413
    assert env.callback.received == []


# --- storage ---------------------------------------------------------------------------------


def test_subscriptions_survive_a_restart(stepped, store_dir, tmp_path):
    env = stepped()
    env.subscribe(**{"hub.secret": "kept"})
    env.websub.leader.stop()
    again = websub_app(store_dir, tmp_path, WEBSUB_CLOCK=env.clock)
    (kept,) = again.extensions["feedsvc.websub"].storage.active(TOPIC, env.clock())
    assert kept.callback == env.callback_url + "/cb" and kept.secret == "kept"


@pytest.mark.integration
def test_a_verified_subscription_survives_a_killed_process(tmp_path):
    path = tmp_path / "websub.sqlite3"
    Storage(str(path))
    code = (
        "import os, signal\n"
        "from feedsvc.websub.storage import Storage\n"
        f"s = Storage({str(path)!r})\n"
        "s.subscribe('t', 'http://cb.example/', 'cb.example', None, 60, 0.0, 10)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=30)
    assert result.returncode == -9
    assert [s.callback for s in Storage(str(path)).active("t", 0.0)] == ["http://cb.example/"]


def test_storage_is_written_durably(tmp_path):
    storage = Storage(str(tmp_path / "websub.sqlite3"))
    db = storage._connection()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO leader VALUES (2, 1, 0, 0, 0)")


def test_edits_a_deletion_and_a_new_topic_each_reach_the_subscriber_once(stepped, store_dir):
    env = stepped()
    env.subscribe(path="/all")
    env.subscribe(path="/ai", topic=BASE + "/topics/ai/feed.json")
    env.edit()  # a new article about AI (the base article's topic)
    path = store_dir.add_numbered(
        300, title="Robots only", topics=["Robots"], publishedDateTime="2024-08-01T10:00:00Z"
    )
    store = env.app.extensions["feedsvc.store"]
    store.refresh()
    env.step()  # in the main feed, not in the AI one
    path.unlink()
    store.refresh()
    env.step()  # gone again from the main feed
    store.refresh()
    env.step()  # nothing changed: nothing sent
    by_path: dict[str, list[bytes]] = {}
    for post in env.deliveries():
        by_path.setdefault(urlsplit(post.path).path, []).append(post.body)
    assert [feedparser.parse(b).entries[0].title for b in by_path["/all"]] == [
        "Edit 1",
        "Robots only",
        "Edit 1",
    ]
    assert len(by_path["/ai"]) == 1  # only the first edit touched the AI feed
    assert by_path["/all"][-1] == env.client.get("/feed.atom").data  # what a poll gets


def test_an_edit_made_while_no_leader_ran_is_pushed_when_one_starts(stepped, store_dir, tmp_path):
    env = stepped()
    env.subscribe()
    env.edit()
    assert len(env.deliveries()) == 1
    env.websub.leader.stop()  # the deployment stops
    store_dir.add_numbered(500, title="While down", publishedDateTime="2024-07-01T10:00:00Z")
    again = websub_app(store_dir, tmp_path, WEBSUB_CLOCK=env.clock)
    leader = again.extensions["feedsvc.websub"].leader
    try:
        leader.stop()
        assert leader.try_lead()
        leader.step()
        titles = [feedparser.parse(p.body).entries[0].title for p in env.deliveries()]
        assert titles == ["Edit 1", "While down"]
        leader.step()  # and only once
        assert len(env.deliveries()) == 2
    finally:
        leader.stop()


# --- one leader per deployment -----------------------------------------------------------


def test_one_leader_among_processes_sharing_the_folder(store_dir, tmp_path):
    first = websub_app(store_dir, tmp_path).extensions["feedsvc.websub"].leader
    second = websub_app(store_dir, tmp_path).extensions["feedsvc.websub"].leader
    try:
        assert first.try_lead() is True
        assert second.try_lead() is False
        first.stop()  # the leader goes away: its lock with it
        assert second.try_lead() is True
    finally:
        first.stop()
        second.stop()


def test_an_external_hub_is_told_of_each_change_and_retried(stepped, serve):
    hub = Callback(deliver=[500, 204])
    with serve(hub) as hub_url:
        env = stepped(WEBSUB_HUBS=f"self,{hub_url}/hub")
        env.edit()
        first = [_form(r) for r in hub.of("POST")]
        assert first and all(q["hub.mode"] == ["publish"] for q in first)
        assert {q["hub.url"][0] for q in first} >= {BASE + "/feed.atom", BASE + "/feed.rss"}
        env.step(4)
        assert len(hub.of("POST")) == len(first)  # the backoff is 5 s
        env.step(1)
        retried = [_form(r)["hub.url"][0] for r in hub.of("POST")[len(first) :]]
        assert retried == [first[0]["hub.url"][0]]  # only the one that got a 500
        env.step(60)
        assert env.websub.leader.queue.next_due() is None  # the 204s ended them


@pytest.mark.integration
@pytest.mark.slow
def test_each_change_is_published_once_per_deployment(store_dir, tmp_path, serve):
    """Two gunicorn workers, both watching the store: the external hub hears of an edit once."""
    hub = Callback(deliver=[204])
    store_dir.add_numbered(1, topics=["AI"])
    with serve(hub) as hub_url:
        base = "http://feeds.test"  # topic URLs as published; the hub only records them
        env = {
            "FEEDSVC_BASE_URL": base,
            "FEEDSVC_WEBSUB_HUBS": f"self,{hub_url}/hub",
            "FEEDSVC_WEBSUB_DIR": str(tmp_path / "websub"),
            "FEEDSVC_RELOAD_INTERVAL": "1",
        }
        with gunicorn(store_dir.root, tmp_path / "gunicorn.log", workers=2, env=env) as server:
            server_url = server.url
            assert get(server_url + "/feed.atom")[0] == 200
            _wait(lambda: get(server_url + "/readyz")[2].find(b'"leader": {') >= 0, 10)
            started = time.monotonic()
            store_dir.add_numbered(2, topics=["AI"], publishedDateTime="2024-06-01T10:00:00Z")
            expected = {f"{base}/feed.{fmt}" for fmt in ("rss", "atom", "json")}
            expected |= {f"{base}/topics/ai/feed.{fmt}" for fmt in ("rss", "atom", "json")}
            assert _wait(lambda: expected <= _published(hub), 10)
            took = time.monotonic() - started

            def duplicated() -> bool:
                urls = [q["hub.url"][0] for q in map(_form, hub.of("POST"))]
                return len([u for u in urls if u in expected]) > len(expected)

            # The other worker saw the same edit at the same moment: a copy of its own
            # would come within this quiet spell.
            assert not _wait(duplicated, 1.5)
            assert took < 2.0 + 1.0  # within 2 s, with slack for this busy machine
            samples = scrape(server_url)
            assert (
                metric_total(samples, "feedsvc_websub_hub_notifications_total", outcome="sent") >= 6
            )


@pytest.mark.integration
@pytest.mark.slow
def test_a_new_leader_takes_over_when_the_leader_dies(store_dir, tmp_path, serve):
    """gunicorn replaces a killed worker; a surviving one leads, and edits still go out."""
    hub = Callback(deliver=[204])
    store_dir.add_numbered(1, topics=["AI"])
    with serve(hub) as hub_url:
        env = {
            "FEEDSVC_BASE_URL": "http://feeds.test",
            "FEEDSVC_WEBSUB_HUBS": f"{hub_url}/hub",
            "FEEDSVC_WEBSUB_DIR": str(tmp_path / "websub"),
            "FEEDSVC_RELOAD_INTERVAL": "1",
        }
        with gunicorn(store_dir.root, tmp_path / "gunicorn.log", workers=2, env=env) as server:
            assert _wait(lambda: _leader(server.url) is not None, 15)
            first = _leader(server.url)
            os.kill(first, signal.SIGKILL)
            assert _wait(lambda: _leader(server.url) not in (None, first), 20)
            store_dir.add_numbered(2, topics=["AI"], publishedDateTime="2024-06-01T10:00:00Z")
            assert _wait(lambda: "http://feeds.test/feed.atom" in _published(hub), 10)


def _leader(url: str) -> int | None:
    """The pid of the process that last beat as leader, if its beat is fresh."""
    status, _, body = get(url + "/readyz")
    leader = json.loads(body).get("websub", {}).get("leader") if status == 200 else None
    if not leader or leader["seconds_since_beat"] > 45:
        return None
    return leader["pid"]


def _form(received) -> dict:
    return parse_qs(received.body.decode())


def _published(hub: Callback) -> set[str]:
    return {q["hub.url"][0] for q in map(_form, hub.of("POST")) if "hub.url" in q}


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# --- metrics and readiness --------------------------------------------------------------


def test_metrics_count_verifications_deliveries_and_latency(stepped):
    env = stepped()
    env.subscribe()
    env.edit()
    body = env.client.get("/metrics").get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert metric_total(samples, "feedsvc_websub_verifications_total", outcome="verified") == 1
    assert metric_total(samples, "feedsvc_websub_deliveries_total", outcome="delivered") == 1
    assert metric_total(samples, "feedsvc_websub_delivery_latency_seconds_count") == 1
    assert metric_total(samples, "feedsvc_websub_hub_requests_total", mode="subscribe") == 1
    assert metric_total(samples, "feedsvc_websub_subscriptions") == 1


def test_readyz_reports_the_hub(stepped):
    env = stepped()
    env.subscribe()
    env.step(60)
    state = env.client.get("/readyz").get_json()["websub"]
    assert state["hubs"] == [BASE + "/websub"] and state["self_hub"] is True
    assert state["subscriptions"] == 1 and state["storage"] == "ok"
    assert state["leader"]["this_process"] is True
