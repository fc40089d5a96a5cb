"""Hostile article files: each is skipped or tolerated, logged once, listed by ``check``.

Every case in ``fixtures/hostile/`` is a real file with its expectation beside it
(``name.txt`` + ``name.expect.json``). Cases that cannot be committed as files (a
1 MiB file, a symbolic link, a FIFO, 100k nested brackets) are built by the tests.

A YAML bomb is ``bounded``: whether it is refused or read without expanding it is the
YAML library's choice (PyYAML 6.0.4 drops repeated merge keys and caps flow nesting
itself), so those tests assert the outcome (refused with a reason, or served; quickly,
in little memory, nothing leaked, the good file served) and not anyone's wording.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import article, front_matter
from feedcheck import FORMATS, assert_no_leak, read_all_feeds
from lxml import etree

from feedsvc.cli import main as cli
from feedsvc.content import store as store_module
from feedsvc.content.articles import read_article
from feedsvc.content.files import parse_file
from feedsvc.content.model import Article
from feedsvc.content.store import Store

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
CASES = sorted(path.stem for path in HOSTILE.glob("*.txt"))
GOOD_URL = "https://news.example.com/articles/1"
MEDIA = "{http://search.yahoo.com/mrss/}"


def expectation(name: str) -> dict:
    return json.loads((HOSTILE / f"{name}.expect.json").read_text())


@pytest.fixture
def run_check():
    """``feedsvc check`` in-process; it quiets the feedsvc logger, so restore it after."""
    logger = logging.getLogger("feedsvc")
    level = logger.level

    def run(*args: str):
        return CliRunner().invoke(cli, ["check", *args])

    yield run
    logger.setLevel(level)


def store_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("feedsvc")]


def reason_in(message: str, rel: str) -> str:
    """The reason a log line gives for ``rel`` (the text after ``rel:``), asserted non-empty."""
    assert f"{rel}: " in message, message
    reason = message.split(f"{rel}: ", 1)[1].strip()
    assert reason, message
    return reason


# Bounds that an expanded bomb would blow by orders of magnitude (2 x 9**9 pairs is
# minutes and gigabytes) but a slow, shared machine keeps well within.
READ_SECONDS = 2.0
READ_BYTES = 64 << 20


@pytest.mark.parametrize("name", CASES)
def test_hostile_file(name, store_dir, caplog, run_check):
    expect = expectation(name)
    store_dir.add("good.txt", article())
    store_dir.add(f"{name}.txt", (HOSTILE / f"{name}.txt").read_bytes())
    with caplog.at_level(logging.INFO, logger="feedsvc"):
        app = store_dir.app()

    # One log line naming the file and the reason (none when nothing was wrong).
    messages = store_messages(caplog)
    about = [m for m in messages if f"{name}.txt" in m]
    bounded = expect["outcome"] == "bounded"
    # A bounded file is either refused (so logged) or read without expansion (so served).
    skipped = expect["outcome"] == "skipped" or (bounded and bool(about))
    if expect.get("quiet") or (bounded and not skipped):
        assert about == []
    else:
        assert len(about) == 1, messages
        assert about[0].startswith("Skipping" if skipped else "Problem in")
        reason = reason_in(about[0], f"{name}.txt")
        if not bounded:
            assert expect["reason"] in reason
    for message in messages:
        assert_no_leak(message)

    # The other article, and every response, are untouched.
    feeds = read_all_feeds(app.test_client())
    for fmt in FORMATS:
        body, links = feeds[fmt]
        assert_no_leak(body)
        assert GOOD_URL in links, fmt
        hostile_url = expect.get("url")
        if skipped:
            assert len(links) == 1, fmt
        elif expect.get("served", True):
            assert hostile_url in links, fmt
        else:
            assert hostile_url not in links, fmt
        for absent in expect.get("absent", ()):
            assert absent.lower().encode() not in body.lower(), (fmt, absent)
    if "media_width" in expect:
        rss = etree.fromstring(feeds["rss"][0])
        widths = {c.get("width") for c in rss.iter(f"{MEDIA}content")}
        assert expect["media_width"] in widths

    # ``feedsvc check --json`` lists it, with the same reason.
    result = run_check(str(store_dir.root), "--json")
    assert_no_leak(result.output)
    report = json.loads(result.output)
    listed = [p for p in report["problems"] if p["path"] == f"{name}.txt"]
    if expect.get("quiet") or (bounded and not skipped):
        assert listed == [] and result.exit_code == 0
    else:
        assert len(listed) == 1
        assert listed[0]["skipped"] is skipped
        assert listed[0]["reason"] == reason_in(about[0], f"{name}.txt")
        assert result.exit_code == (1 if skipped else 0)


@pytest.mark.parametrize("name", CASES)
def test_hostile_file_is_read_quickly_in_little_memory(name):
    """Bombs included: no file makes the reader expand what it describes."""
    raw = (HOSTILE / f"{name}.txt").read_bytes()
    tracemalloc.start()
    try:
        started = time.perf_counter()
        read_article(raw, f"{name}.txt")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < READ_SECONDS
    assert peak < READ_BYTES


def _deep_flow(root: Path) -> str:
    # libyaml's composer recursed in C and crashed the process at this depth.
    body = "[" * 100_000 + "]" * 100_000
    (root / "deep_flow.txt").write_text(f"---\ntitle: x\nnested: {body}\n---\n")
    return "deep_flow.txt"


def _deep_block(root: Path) -> str:
    (root / "deep_block.txt").write_text("---\ntitle: x\nnested:\n" + "- " * 100_000 + "x\n---\n")
    return "deep_block.txt"


def _many_values(root: Path) -> str:
    # Just under 1 MiB, and 500k values: seconds of YAML work if it were all composed.
    (root / "many_values.txt").write_text("---\ntitle: x\nx: [" + "1," * 499_990 + "1]\n---\n")
    return "many_values.txt"


def _oversized(root: Path) -> str:
    padding = "x" * (1 << 20)
    data = article(webUrl="https://hostile.example.net/big", excerpt=padding)
    (root / "oversized.txt").write_text(front_matter(data))
    return "oversized.txt"


def _link_outside(root: Path) -> str:
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text(
        front_matter(article(webUrl="https://hostile.example.net/outside"))
    )
    (root / "link.txt").symlink_to(outside / "private.txt")
    return "link.txt"


def _fifo(root: Path) -> str:
    os.mkfifo(root / "pipe.txt")
    return "pipe.txt"


# Each case and the reason its log line gives; None where the YAML library may be the
# one that refuses the file, in its own words.
GENERATED = {
    "deep_flow": (_deep_flow, None),
    "deep_block": (_deep_block, None),
    "many_values": (_many_values, None),
    "oversized": (_oversized, "larger than the 1048576-byte limit"),
    "link_outside": (_link_outside, "symbolic link to outside the store"),
    "fifo": (_fifo, "not a regular file"),
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_generated_hostile_file(case, store_dir, caplog, run_check):
    build, reason = GENERATED[case]
    store_dir.add("good.txt", article())
    rel = build(store_dir.root)
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="feedsvc"):
        app = store_dir.app()
        app.extensions["feedsvc.store"].refresh()  # a second scan must not log again
    assert time.perf_counter() - started < 2 * READ_SECONDS
    about = [m for m in store_messages(caplog) if rel in m]
    assert len(about) == 1 and about[0].startswith("Skipping"), about
    logged = reason_in(about[0], rel)
    assert reason is None or reason in logged
    feeds = read_all_feeds(app.test_client())
    for body, links in feeds.values():
        assert links == [GOOD_URL]
        assert_no_leak(body)
    report = json.loads(run_check(str(store_dir.root), "--json").output)
    listed = [p["reason"] for p in report["problems"] if p["path"] == rel]
    assert listed == [logged]


def test_all_hostile_files_together(store_dir, run_check):
    """One store holding every case: the good article is still served, each bad file listed."""
    store_dir.add("good.txt", article())
    for name in CASES:
        store_dir.add(f"cases/{name}.txt", (HOSTILE / f"{name}.txt").read_bytes())
    for build, _ in GENERATED.values():
        build(store_dir.root)
    feeds = read_all_feeds(store_dir.app().test_client())
    result = run_check(str(store_dir.root))
    assert result.exit_code == 1
    assert_no_leak(result.output)
    listed = {line.split(": ", 1)[0] for line in result.output.splitlines() if ": " in line}
    bounded = {n for n in CASES if expectation(n)["outcome"] == "bounded"}
    # A bounded case is refused (listed) or read without expansion (served), never neither.
    served_bounded = {expectation(n)["url"] for n in bounded if f"cases/{n}.txt" not in listed}
    tolerated = {
        e["url"]
        for e in map(expectation, CASES)
        if e["outcome"] == "tolerated" and e.get("served", True)
    }
    for body, links in feeds.values():
        assert_no_leak(body)
        assert set(links) == tolerated | served_bounded | {GOOD_URL}
    noisy = {
        f"cases/{n}.txt" for n in CASES if not expectation(n).get("quiet") and n not in bounded
    }
    assert noisy <= listed


# --- files that change under the reader -------------------------------------------


def test_truncated_file_keeps_its_last_good_version(store_dir, caplog):
    path = store_dir.add("a.txt", article())
    store = Store(str(store_dir.root))
    assert [a.url for a in store.refresh().articles] == [GOOD_URL]
    full = path.read_bytes()
    path.write_bytes(full[: len(full) // 3])  # an editor's half-written save
    with caplog.at_level(logging.WARNING, logger="feedsvc"):
        snapshot = store.refresh()
    assert [a.url for a in snapshot.articles] == [GOOD_URL]
    assert "serving its last good version" in snapshot.problems[0].reason
    path.write_bytes(full.replace(b"Sample headline", b"Fixed headline"))
    snapshot = store.refresh()
    assert [a.title for a in snapshot.articles] == ["Fixed headline"]
    assert snapshot.problems == ()


def test_parse_file_notices_a_file_that_changed_size(store_dir):
    path = store_dir.add("a.txt", article())
    size = path.stat().st_size
    article_, problem, complete = parse_file(str(path), "a.txt", size + 100, 1 << 20)
    assert isinstance(article_, Article) and problem is None
    assert complete is False  # so the store reads it again on the next scan
    # A file that grew past the limit after the scan is read no further than the limit.
    _, problem, complete = parse_file(str(path), "a.txt", 10, 64)
    assert "larger than the 64-byte limit" in problem.reason and not complete


@pytest.mark.slow
def test_file_rewritten_while_the_store_reads_it(store_dir):
    """A writer truncates, corrupts and replaces one file as fast as it can; no snapshot loses it."""
    path = store_dir.add("a.txt", article())
    full = path.read_bytes()
    store = Store(str(store_dir.root))
    store.refresh()
    stop = threading.Event()

    def churn() -> None:
        tmp = path.with_suffix(".tmp")
        while not stop.is_set():
            path.write_bytes(full[: len(full) // 2])  # truncated in place
            path.write_bytes(b"---\ntitle: [\n---\n")  # corrupt
            tmp.write_bytes(full)
            os.replace(tmp, path)  # replaced whole

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        deadline = time.monotonic() + 1.0
        refreshes = 0
        while time.monotonic() < deadline:
            assert [a.url for a in store.refresh().articles] == [GOOD_URL]
            refreshes += 1
    finally:
        stop.set()
        writer.join()
    assert refreshes > 10
    path.write_bytes(full)
    assert store.refresh().problems == ()


# --- the store folder itself ---------------------------------------------------------


def test_store_folder_vanishing_keeps_the_last_snapshot(store_dir, caplog, tmp_path):
    store_dir.add("a.txt", article())
    app = store_dir.app()
    store = app.extensions["feedsvc.store"]
    client = app.test_client()
    moved = tmp_path / "moved"
    with caplog.at_level(logging.INFO, logger="feedsvc"):
        store_dir.root.rename(moved)
        for _ in range(3):
            store.refresh()
        assert store.root_missing
        feeds = read_all_feeds(client)
        assert all(links == [GOOD_URL] for _, links in feeds.values())
        missing = [m for m in store_messages(caplog) if "missing" in m]
        assert len(missing) == 1 and str(store_dir.root) in missing[0]
        moved.rename(store_dir.root)
        store.refresh()
    assert not store.root_missing
    assert any("is back" in m for m in store_messages(caplog))


def test_store_folder_vanishing_mid_scan_changes_nothing(store_dir, monkeypatch, tmp_path):
    for n in range(5):
        store_dir.add(f"sub{n}/a.txt", article(webUrl=f"https://x.example/{n}"))
    store = Store(str(store_dir.root))
    assert len(store.refresh().articles) == 5
    real_scan = store_module.scan

    def vanishing_scan(root, *args):
        for i, stat in enumerate(real_scan(root, *args)):
            if i == 1:
                store_dir.root.rename(tmp_path / "gone")
            yield stat

    monkeypatch.setattr(store_module, "scan", vanishing_scan)
    snapshot = store.refresh()
    assert len(snapshot.articles) == 5
    assert store.root_missing


def test_same_size_rewrite_within_one_timestamp_tick_is_seen(store_dir):
    """Coarse file-system clocks give two quick writes one mtime; the second must not be lost."""
    path = store_dir.add("a.txt", article(title="Version 1"))
    store = Store(str(store_dir.root))
    assert store.refresh().articles[0].title == "Version 1"
    tick = path.stat().st_mtime_ns
    path.write_bytes(path.read_bytes().replace(b"Version 1", b"Version 2"))
    os.utime(path, ns=(tick, tick))  # what a coarse clock would have written
    assert store.refresh().articles[0].title == "Version 2"


@pytest.mark.parametrize(
    ("name", "shown"),
    [("forged\nWARNING fake.txt", "forged\\nWARNING fake.txt"), ("bell\x07.txt", "bell\\x07.txt")],
)
def test_file_names_cannot_forge_log_lines(name, shown, store_dir, caplog, run_check):
    store_dir.add(name if name.endswith(".txt") else f"{name}.txt", "no front matter")
    with caplog.at_level(logging.INFO, logger="feedsvc"):
        store_dir.app()
    (message,) = store_messages(caplog)
    assert shown in message and "\n" not in message and "\x07" not in message
    result = run_check(str(store_dir.root))
    assert shown in result.output
    assert len([line for line in result.output.splitlines() if ": skipped:" in line]) == 1


def test_check_uses_the_services_file_size_limit(store_dir, run_check, monkeypatch):
    store_dir.add("a.txt", article())
    monkeypatch.setenv("FEEDSVC_MAX_FILE_BYTES", "100")
    report = json.loads(run_check(str(store_dir.root), "--json").output)
    assert [p["reason"] for p in report["problems"]] == ["larger than the 100-byte limit"]
