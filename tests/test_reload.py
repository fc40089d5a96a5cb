"""The reloader: changes show up without a restart, by file events or by scanning."""

from __future__ import annotations

import os
import sys
import time

import pytest
from conftest import article

from feedsvc.content.reloader import Reloader
from feedsvc.content.store import Store


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail("the change did not show in time")


def titles(store):
    return {a.source: a.title for a in store.snapshot.articles}


@pytest.fixture(params=["watch", "scan"])
def running(request, store_dir):
    """A loaded store with its reloader started: by file events (a slow safety-net scan,
    so a pass proves the events worked) or by scanning alone."""
    store_dir.add("a.txt", article(webUrl="https://n.example.com/a", title="A"))
    store_dir.add("b.txt", article(webUrl="https://n.example.com/b", title="B"))
    store = Store(str(store_dir.root), workers=1)
    store.refresh()
    watch = request.param == "watch"
    reloader = Reloader(store, 0.05, watch=watch, rescan_interval=3600 if watch else 60)
    reloader.ensure_running()
    wait_for(lambda: reloader.watching or not watch)
    time.sleep(0.1)  # the first round's scan
    yield store
    reloader.stop()


def test_a_new_file_shows_up(store_dir, running):
    store_dir.add("sub/c.txt", article(webUrl="https://n.example.com/c", title="C"))
    wait_for(lambda: titles(running).get("sub/c.txt") == "C")


def test_a_changed_file_shows_up(store_dir, running):
    path = store_dir.add("a.txt", article(webUrl="https://n.example.com/a", title="A, edited"))
    os.utime(path, ns=(10**18, 10**18))
    wait_for(lambda: titles(running).get("a.txt") == "A, edited")


def test_a_deleted_file_goes(store_dir, running):
    (store_dir.root / "b.txt").unlink()
    wait_for(lambda: "b.txt" not in titles(running))
    assert titles(running) == {"a.txt": "A"}


def test_a_file_renamed_into_place_shows_up(store_dir, running):
    # How editors and sync tools save: write a hidden temporary, then rename it.
    store_dir.add(".a.txt.tmp", article(webUrl="https://n.example.com/a", title="A, saved"))
    os.replace(store_dir.root / ".a.txt.tmp", store_dir.root / "a.txt")
    wait_for(lambda: titles(running).get("a.txt") == "A, saved")


def test_without_file_events_the_reloader_scans(store_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "watchdog.observers", None)  # import fails
    store_dir.add("a.txt", article(title="A"))
    store = Store(str(store_dir.root), workers=1)
    store.refresh()
    reloader = Reloader(store, 0.05, watch=True, rescan_interval=3600)
    reloader.ensure_running()
    try:
        store_dir.add("b.txt", article(webUrl="https://n.example.com/b", title="B"))
        wait_for(lambda: titles(store).get("b.txt") == "B")
        assert not reloader.watching
    finally:
        reloader.stop()


def test_a_stream_of_edits_leaves_the_reloader_idle_half_the_time(store_dir):
    """However large the store, refreshing after edits takes at most about half a core.

    Each refresh takes 0.2 s on the reloader's clock, as a large store's index rebuild
    would; the reloader must then stay idle at least that long before the next one.
    """
    store_dir.add("a.txt", article(title="A"))
    store = Store(str(store_dir.root), workers=1)
    store.refresh()
    now = [0.0]  # the reloader's clock: moved only by refreshes and by its own sleeps
    spans = []
    real = store.refresh_paths

    def slow_refresh(paths):
        started = now[0]
        result = real(paths)
        now[0] += 0.2
        spans.append((started, now[0]))
        return result

    def sleep(seconds):
        now[0] += seconds

    store.refresh_paths = slow_refresh
    reloader = Reloader(
        store, 0.05, watch=True, rescan_interval=3600, clock=lambda: now[0], sleep=sleep
    )
    reloader.ensure_running()
    try:
        wait_for(lambda: reloader.watching)
        n = 0
        while len(spans) < 4:
            n += 1
            store_dir.add("a.txt", article(title=f"A{n}"))
            wait_for(lambda n=n: titles(store).get("a.txt") == f"A{n}")
    finally:
        reloader.stop()
    gaps = [nxt[0] - prev[1] for prev, nxt in zip(spans, spans[1:], strict=False)]
    assert min(gaps) >= 0.2 - 1e-9, gaps  # a settle alone would be 0.05
