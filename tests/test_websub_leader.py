"""One pushing process per deployment: change detection, external hubs, failover."""

from __future__ import annotations

import json
import os
import signal
import time
from urllib.parse import urlsplit

import feedparser
import pytest
from servers import get, gunicorn, metric_total, scrape
from websub_env import (
    BASE,
    Callback,
    form_of,
    published,
    wait,
    websub_app,
)


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
        first = [form_of(r) for r in hub.of("POST")]
        assert first and all(q["hub.mode"] == ["publish"] for q in first)
        assert {q["hub.url"][0] for q in first} >= {BASE + "/feed.atom", BASE + "/feed.rss"}
        env.step(4)
        assert len(hub.of("POST")) == len(first)  # the backoff is 5 s
        env.step(1)
        retried = [form_of(r)["hub.url"][0] for r in hub.of("POST")[len(first) :]]
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
            wait(lambda: get(server_url + "/readyz")[2].find(b'"leader": {') >= 0, 10)
            started = time.monotonic()
            store_dir.add_numbered(2, topics=["AI"], publishedDateTime="2024-06-01T10:00:00Z")
            expected = {f"{base}/feed.{fmt}" for fmt in ("rss", "atom", "json")}
            expected |= {f"{base}/topics/ai/feed.{fmt}" for fmt in ("rss", "atom", "json")}
            assert wait(lambda: expected <= published(hub), 10)
            took = time.monotonic() - started

            def duplicated() -> bool:
                urls = [q["hub.url"][0] for q in map(form_of, hub.of("POST"))]
                return len([u for u in urls if u in expected]) > len(expected)

            # The other worker saw the same edit at the same moment: a copy of its own
            # would come within this quiet spell.
            assert not wait(duplicated, 1.5)
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
            assert wait(lambda: _leader(server.url) is not None, 15)
            first = _leader(server.url)
            os.kill(first, signal.SIGKILL)
            assert wait(lambda: _leader(server.url) not in (None, first), 20)
            store_dir.add_numbered(2, topics=["AI"], publishedDateTime="2024-06-01T10:00:00Z")
            assert wait(lambda: "http://feeds.test/feed.atom" in published(hub), 10)


def _leader(url: str) -> int | None:
    """The pid of the process that last beat as leader, if its beat is fresh."""
    status, _, body = get(url + "/readyz")
    leader = json.loads(body).get("websub", {}).get("leader") if status == 200 else None
    if not leader or leader["seconds_since_beat"] > 45:
        return None
    return leader["pid"]
