"""Store changes are seen however the folder is deployed, and what cannot be read is reported."""

from __future__ import annotations

import errno
import json
import logging
import os

import pytest
from click.testing import CliRunner
from conftest import StoreDir, article
from test_reload import titles, wait_for

from feedsvc.cli import main
from feedsvc.content.reloader import Reloader
from feedsvc.content.store import Store

# Long enough that a pass proves the change was seen by something else than the scan.
NEVER = 3600


def reloading(root, *, interval=0.05, rescan=NEVER) -> tuple[Store, Reloader]:
    store = Store(str(root), workers=1)
    store.refresh()
    reloader = Reloader(store, interval, watch=True, rescan_interval=rescan)
    reloader.ensure_running()
    wait_for(lambda: reloader.watching)
    return store, reloader


def revision(folder, title: str) -> StoreDir:
    store = StoreDir(folder)
    store.add("a.txt", article(webUrl="https://n.example.com/a", title=title))
    return store


@pytest.mark.slow
def test_a_swapped_content_symlink_is_seen_and_then_watched(tmp_path):
    """The git-sync pattern: a link to the current revision, replaced atomically."""
    revision(tmp_path / "rev1", "One")
    second = revision(tmp_path / "rev2", "Two")
    link = tmp_path / "content"
    link.symlink_to(tmp_path / "rev1")
    store, reloader = reloading(link)
    try:
        assert titles(store) == {"a.txt": "One"}
        (tmp_path / "next").symlink_to(tmp_path / "rev2")
        os.replace(tmp_path / "next", link)
        wait_for(lambda: titles(store) == {"a.txt": "Two"}, timeout=10)
        # Later edits in the new revision come through its watch.
        second.add("b.txt", article(webUrl="https://n.example.com/b", title="B"))
        wait_for(lambda: titles(store).get("b.txt") == "B", timeout=10)
    finally:
        reloader.stop()


@pytest.mark.slow
def test_a_folder_renamed_over_the_store_is_seen_and_then_watched(tmp_path):
    revision(tmp_path / "store", "Old")
    store, reloader = reloading(tmp_path / "store")
    try:
        fresh = revision(tmp_path / "fresh", "New")
        os.rename(tmp_path / "store", tmp_path / "retired")
        os.rename(tmp_path / "fresh", tmp_path / "store")
        wait_for(lambda: titles(store) == {"a.txt": "New"}, timeout=10)
        fresh = StoreDir(tmp_path / "store")
        fresh.add("b.txt", article(webUrl="https://n.example.com/b", title="B"))
        wait_for(lambda: titles(store).get("b.txt") == "B", timeout=10)
    finally:
        reloader.stop()


@pytest.mark.slow
def test_out_of_inotify_watches_falls_back_to_frequent_scans(store_dir, monkeypatch, caplog):
    """watchdog skips a folder it cannot watch without a word; the reloader notices."""
    from watchdog.observers import inotify_c

    real = inotify_c.InotifyFD._get_or_create_watch

    def out_of_watches(self, path, mask):
        if b"late" in path:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return real(self, path, mask)

    monkeypatch.setattr(inotify_c.InotifyFD, "_get_or_create_watch", out_of_watches)
    store_dir.add("a.txt", article(title="A"))
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        store, reloader = reloading(store_dir.root)
        try:
            store_dir.add("late/c.txt", article(webUrl="https://n.example.com/c", title="C"))
            wait_for(lambda: titles(store).get("late/c.txt") == "C", timeout=10)
            path = store_dir.add(
                "late/c.txt", article(webUrl="https://n.example.com/c", title="C2")
            )
            os.utime(path, ns=(10**18, 10**18))
            wait_for(lambda: titles(store).get("late/c.txt") == "C2", timeout=10)
            assert not reloader.watching
        finally:
            reloader.stop()
    assert any("watching only" in r.getMessage() for r in caplog.records)


def test_a_watch_that_cannot_start_is_a_warning(store_dir, monkeypatch, caplog):
    from watchdog.observers import inotify_c

    def no_watches(self, path, mask):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(inotify_c.InotifyFD, "_get_or_create_watch", no_watches)
    store_dir.add("a.txt", article(title="A"))
    store = Store(str(store_dir.root), workers=1)
    store.refresh()
    reloader = Reloader(store, 0.05, watch=True, rescan_interval=NEVER)
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        reloader.ensure_running()
        try:
            store_dir.add("b.txt", article(webUrl="https://n.example.com/b", title="B"))
            wait_for(lambda: titles(store).get("b.txt") == "B", timeout=10)
        finally:
            reloader.stop()
    assert any("not watching" in r.getMessage() for r in caplog.records)


# --- what cannot be read -------------------------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch):
    """``unreadable(folder)`` makes a folder impossible to list, as chmod 000 does for
    anyone but root (the tests may run as root, so listing it is refused by hand too)."""
    real = os.scandir

    def make(folder):
        os.chmod(folder, 0)
        target = os.path.realpath(folder)

        def scandir(path="."):
            if os.path.realpath(path) == target:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)

    yield make


def test_an_unreadable_folder_keeps_its_articles_and_is_reported(
    store_dir, unreadable, caplog, monkeypatch
):
    store_dir.add("a.txt", article(title="A"))
    store_dir.add("desk/b.txt", article(webUrl="https://n.example.com/b", title="B"))
    app = store_dir.app()
    store = app.extensions["feedsvc.store"]
    try:
        unreadable(store_dir.root / "desk")
        with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
            store.refresh()
        assert titles(store) == {"a.txt": "A", "desk/b.txt": "B"}
        assert any(
            "desk/" in r.getMessage() and "cannot be read" in r.getMessage() for r in caplog.records
        )
        body = app.test_client().get("/readyz").get_json()
        assert body["skipped_files"] == 1
        assert "folder cannot be read" in body["skipped"][0]["reason"]
        result = CliRunner().invoke(main, ["check", str(store_dir.root)])
        assert result.exit_code == 1 and "desk/: skipped: folder cannot be read" in result.output
    finally:
        monkeypatch.undo()
        os.chmod(store_dir.root / "desk", 0o755)
    store.refresh()  # readable again: the problem goes
    assert not store.snapshot.problems


def test_a_symlink_loop_is_reported(store_dir):
    store_dir.add("a.txt", article(title="A"))
    os.symlink("loop.txt", store_dir.root / "loop.txt")
    app = store_dir.app(READYZ_PATHS=True)
    body = app.test_client().get("/readyz").get_json()
    assert body["skipped"] == [{"path": "loop.txt", "reason": "symbolic link loop"}]
    result = CliRunner().invoke(main, ["check", "--json", str(store_dir.root)])
    problems = json.loads(result.output)["problems"]
    assert problems == [{"path": "loop.txt", "reason": "symbolic link loop", "skipped": True}]


def test_readyz_gives_reasons_and_counts_without_paths_by_default(store_dir):
    store_dir.add("a.txt", article(title="A"))
    store_dir.add("draft-secret-merger.txt", "---\ntitle: [unclosed\n---\n")
    store_dir.add("draft-other.txt", "---\ntitle: [unclosed\n---\n")
    store_dir.add("older.txt", article(title="A", publishedDateTime="2020-01-01T00:00:00Z"))
    body = store_dir.app().test_client().get("/readyz").get_data(as_text=True)
    assert "draft" not in body and "older" not in body and "a.txt" not in body
    skipped = json.loads(body)["skipped"]
    assert sum(item["count"] for item in skipped) == json.loads(body)["skipped_files"] == 3
    assert {"reason": "same webUrl as a newer file; skipped", "count": 1} in skipped
