"""The parsed store kept on disk: reused across restarts, never trusted blindly."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import pwd
import stat
import threading
import time

import pytest
from conftest import article

from feedsvc.content import persist
from feedsvc.content import store as store_module
from feedsvc.content.store import Store


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "cache")


def start(store_dir, cache_dir) -> Store:
    store = Store(str(store_dir.root), workers=1, cache_dir=cache_dir)
    store.refresh()
    return store


def fill(store_dir, count=3):
    """Files written a while ago: one modified in the last second is read again anyway."""
    old = time.time_ns() - 60 * 10**9
    for i in range(count):
        path = store_dir.add_numbered(i, topics=[f"T{i}"])
        os.utime(path, ns=(old, old))


def test_a_restart_over_an_unchanged_store_parses_nothing(store_dir, cache_dir):
    fill(store_dir)
    first = start(store_dir, cache_dir)
    assert first.parsed_files == 3
    second = start(store_dir, cache_dir)
    assert second.parsed_files == 0
    assert second.snapshot.articles == first.snapshot.articles
    assert list(second.snapshot.topics) == list(first.snapshot.topics)
    assert second.snapshot.problems == first.snapshot.problems


def test_a_restart_parses_only_what_changed(store_dir, cache_dir):
    fill(store_dir)
    start(store_dir, cache_dir)
    path = store_dir.add("1.txt", article(webUrl="https://n.example.com/1", title="Edited"))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    (store_dir.root / "2.txt").unlink()
    store_dir.add("3.txt", article(webUrl="https://n.example.com/3"))
    store = start(store_dir, cache_dir)
    assert store.parsed_files == 2
    titles = {a.url.rsplit("/", 1)[1]: a.title for a in store.snapshot.articles}
    assert titles == {"0": "Sample headline", "1": "Edited", "3": "Sample headline"}


def test_other_code_invalidates_the_cache(store_dir, cache_dir, monkeypatch):
    fill(store_dir)
    start(store_dir, cache_dir)
    monkeypatch.setattr(persist, "code_key", lambda: b"0" * 32)
    assert start(store_dir, cache_dir).parsed_files == 3


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn write
        lambda data: data[:-10] + b"x" * 10,  # flipped bytes
        lambda data: b"",
        lambda data: b"not a cache at all",
    ],
    ids=["truncated", "corrupt", "empty", "foreign"],
)
def test_a_damaged_cache_is_ignored_and_replaced(store_dir, cache_dir, caplog, damage):
    fill(store_dir)
    first = start(store_dir, cache_dir)
    with open(first.cache_file, "rb") as handle:
        data = handle.read()
    with open(first.cache_file, "wb") as handle:
        handle.write(damage(data))
    with caplog.at_level(logging.INFO, logger="feedsvc.store"):
        store = start(store_dir, cache_dir)
    assert store.parsed_files == 3
    assert len(store.snapshot.articles) == 3
    assert any("store cache" in r.getMessage() for r in caplog.records)
    assert start(store_dir, cache_dir).parsed_files == 0  # rewritten whole


def test_a_cache_that_cannot_be_written_is_only_a_warning(store_dir, tmp_path, caplog):
    fill(store_dir)
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        store = start(store_dir, str(blocker))
    assert len(store.snapshot.articles) == 3
    assert any("cannot write the store cache" in r.getMessage() for r in caplog.records)


def test_the_app_reads_the_cache_dir_setting(store_dir, cache_dir):
    fill(store_dir)
    store_dir.app(CACHE_DIR=cache_dir)
    app = store_dir.app(CACHE_DIR=cache_dir)
    assert app.extensions["feedsvc.store"].parsed_files == 0


def test_a_restart_from_the_cache_tells_the_listeners(store_dir, cache_dir):
    fill(store_dir)
    start(store_dir, cache_dir)
    store = Store(str(store_dir.root), workers=1, cache_dir=cache_dir)
    seen = []
    store.listeners.append(seen.append)
    snapshot = store.refresh()
    assert store.parsed_files == 0
    assert seen == [snapshot] and len(snapshot.articles) == 3


def test_edits_seen_through_file_events_reach_the_cache(store_dir, cache_dir, monkeypatch):
    fill(store_dir)
    store = start(store_dir, cache_dir)
    monkeypatch.setattr(store_module, "SAVE_INTERVAL", 3600.0)
    path = store_dir.add("1.txt", article(webUrl="https://n.example.com/1", title="Edited"))
    os.utime(path, ns=(1, 1))
    store.refresh_paths([str(path)])  # saved too recently: left for a later refresh
    monkeypatch.setattr(store_module, "SAVE_INTERVAL", 0.0)
    store.refresh()  # nothing new in the folder, but the cache file is behind
    restarted = start(store_dir, cache_dir)
    assert restarted.parsed_files == 0
    titles = {a.url.rsplit("/", 1)[1]: a.title for a in restarted.snapshot.articles}
    assert titles["1"] == "Edited"


# --- a cache file is data from the service's own user, never code ---------------------


class _Payload:
    """Would create ``marker`` when unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _forge(path, body: bytes) -> None:
    """A cache file with a valid header and checksum around ``body``."""
    digest = hashlib.blake2b(body, digest_size=16).hexdigest().encode()
    with open(path, "wb") as handle:
        handle.write(persist.MAGIC + persist.code_key() + b"\n" + digest + b"\n" + body)


def test_a_forged_cache_file_runs_nothing(store_dir, cache_dir, tmp_path, caplog):
    fill(store_dir)
    first = start(store_dir, cache_dir)
    marker = tmp_path / "ran"
    _forge(first.cache_file, pickle.dumps({"root": "x", "payload": _Payload(marker)}))
    with caplog.at_level(logging.INFO, logger="feedsvc.store"):
        store = start(store_dir, cache_dir)
    assert not marker.exists()
    assert store.parsed_files == 3 and len(store.snapshot.articles) == 3
    assert any("cannot be loaded" in r.getMessage() for r in caplog.records)


def test_the_cache_file_is_the_services_alone(store_dir, cache_dir):
    fill(store_dir)
    store = start(store_dir, cache_dir)
    assert stat.S_IMODE(os.stat(store.cache_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700


def _refused(store_dir, cache_dir, caplog) -> Store:
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        store = start(store_dir, cache_dir)
    assert store.parsed_files == 3, "the cache was used"
    assert any("refused" in r.getMessage() for r in caplog.records)
    return store


@pytest.mark.parametrize(
    ("target", "mode"), [("file", 0o666), ("file", 0o620), ("folder", 0o777), ("folder", 0o775)]
)
def test_a_cache_others_may_write_is_refused(store_dir, cache_dir, caplog, target, mode):
    fill(store_dir)
    first = start(store_dir, cache_dir)
    os.chmod(first.cache_file if target == "file" else cache_dir, mode)
    _refused(store_dir, cache_dir, caplog)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away takes root")
@pytest.mark.parametrize("target", ["file", "folder"])
def test_a_cache_planted_by_another_user_is_refused(store_dir, cache_dir, caplog, target):
    fill(store_dir)
    first = start(store_dir, cache_dir)
    nobody = pwd.getpwnam("nobody")
    os.chown(first.cache_file if target == "file" else cache_dir, nobody.pw_uid, nobody.pw_gid)
    _refused(store_dir, cache_dir, caplog)


def test_a_link_at_the_cache_name_is_not_followed(store_dir, cache_dir, tmp_path, caplog):
    fill(store_dir)
    first = start(store_dir, cache_dir)
    elsewhere = tmp_path / "elsewhere"
    os.replace(first.cache_file, elsewhere)
    os.symlink(elsewhere, first.cache_file)
    _refused(store_dir, cache_dir, caplog)


def test_a_fifo_at_the_cache_name_does_not_hang_the_start(store_dir, cache_dir, caplog):
    fill(store_dir)
    first = start(store_dir, cache_dir)
    os.unlink(first.cache_file)
    os.mkfifo(first.cache_file, 0o600)
    done = []
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        thread = threading.Thread(target=lambda: done.append(start(store_dir, cache_dir)))
        thread.start()
        thread.join(10)
        if thread.is_alive():  # let the stuck reader go before failing
            os.close(os.open(first.cache_file, os.O_WRONLY | os.O_NONBLOCK))
            thread.join(10)
    assert done, "the start hung on the FIFO"
    assert done[0].parsed_files == 3
    assert any("refused" in r.getMessage() for r in caplog.records)


def test_a_restored_index_shares_the_entries_articles(store_dir, cache_dir):
    """Groups are compared by identity to keep their version across refreshes."""
    fill(store_dir)
    start(store_dir, cache_dir)
    store = start(store_dir, cache_dir)
    assert store.parsed_files == 0
    held = {id(entry.article) for entry in store._entries.values()}
    grouped = [a for group in store.snapshot.groups for a in group.articles]
    assert grouped and all(id(a) in held for a in grouped)
    before = store.snapshot.topics["t0"].version
    store_dir.add_numbered(9)
    assert store.refresh().topics["t0"].version == before
