"""The store: which files are articles, how they are indexed, and what bad ones do."""

from __future__ import annotations

import logging
import os

import pytest
from conftest import article

from feedsvc.content.slugs import topic_slug
from feedsvc.content.store import Store


def load(store_dir):
    return Store(str(store_dir.root), workers=1).refresh()


def test_nested_folders_and_both_extensions(store_dir):
    store_dir.add("2024/05/a.txt", article(webUrl="https://n.example.com/a"))
    store_dir.add("2024/06/deep/b.md", article(webUrl="https://n.example.com/b"))
    snapshot = load(store_dir)
    assert sorted(a.url for a in snapshot.articles) == [
        "https://n.example.com/a",
        "https://n.example.com/b",
    ]
    assert sorted(a.source for a in snapshot.articles) == ["2024/05/a.txt", "2024/06/deep/b.md"]


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.txt",
        ".drafts/a.txt",
        "a.txt~",
        "a.txt.swp",
        ".a.txt.swp",
        "notes.yaml",
        "sub/.git/x.md",
    ],
)
def test_hidden_files_and_editor_leftovers_are_not_articles(store_dir, name):
    store_dir.add(name, article(webUrl="https://n.example.com/hidden"))
    snapshot = load(store_dir)
    assert snapshot.articles == ()
    assert snapshot.problems == ()


def test_bad_files_are_skipped_and_reported_while_good_ones_are_served(store_dir, caplog):
    store_dir.add("good.txt", article())
    store_dir.add("broken.txt", "---\ntitle: [unclosed\n---\n")
    store_dir.add("empty.md", "")
    store_dir.add("nodate.txt", article(webUrl="https://n.example.com/2", publishedDateTime=None))
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        snapshot = load(store_dir)
    assert [a.source for a in snapshot.articles] == ["good.txt"]
    assert {p.source for p in snapshot.skipped} == {"broken.txt", "empty.md", "nodate.txt"}
    logged = [r.getMessage() for r in caplog.records]
    for path in ("broken.txt", "empty.md", "nodate.txt"):
        assert sum(path in line for line in logged) == 1, logged


def test_hidden_articles_are_never_served(store_dir):
    store_dir.add("a.txt", article(published=False, topics=["Secret Topic"]))
    snapshot = load(store_dir)
    assert snapshot.articles == ()
    assert snapshot.topics == {} and snapshot.providers == {}


def test_same_web_url_is_one_article_and_the_newest_wins(store_dir):
    store_dir.add("old.txt", article(title="Old", publishedDateTime="2024-01-01T00:00:00Z"))
    store_dir.add("new.txt", article(title="New", publishedDateTime="2024-02-01T00:00:00Z"))
    snapshot = load(store_dir)
    assert [a.title for a in snapshot.articles] == ["New"]
    assert [(p.source, p.skipped) for p in snapshot.problems] == [("old.txt", True)]
    assert "new.txt" in snapshot.problems[0].reason


def test_a_newer_unpublished_copy_hides_the_article(store_dir):
    store_dir.add("a.txt", article(publishedDateTime="2024-01-01T00:00:00Z"))
    store_dir.add("b.txt", article(publishedDateTime="2024-02-01T00:00:00Z", published=False))
    assert load(store_dir).articles == ()


def test_topics_merge_across_case_and_spacing_and_keep_the_common_spelling(store_dir):
    store_dir.add("1.txt", article(webUrl="https://n.example.com/1", topics=["Computer Vision"]))
    store_dir.add("2.txt", article(webUrl="https://n.example.com/2", topics=["computer  vision"]))
    store_dir.add(
        "3.txt", article(webUrl="https://n.example.com/3", topics=["Computer Vision", "C++"])
    )
    store_dir.add("4.txt", article(webUrl="https://n.example.com/4", topics=["C"]))
    snapshot = load(store_dir)
    assert sorted(snapshot.topics) == sorted(["c", topic_slug("c++"), "computer-vision"])
    vision = snapshot.topics["computer-vision"]
    assert vision.name == "Computer Vision" and len(vision.articles) == 3
    assert [a.url for a in snapshot.topics["c"].articles] == ["https://n.example.com/4"]


def test_providers_are_indexed_by_lowercased_domain(store_dir):
    store_dir.add("a.txt", article(provider={"name": "Engadget", "domain": "EnGadget.com"}))
    snapshot = load(store_dir)
    assert list(snapshot.providers) == ["engadget.com"]
    assert snapshot.group("provider", "ENGADGET.COM").name == "Engadget"


def test_a_file_that_goes_bad_keeps_its_last_good_version(store_dir):
    path = store_dir.add("a.txt", article(title="Good"))
    store = Store(str(store_dir.root), workers=1)
    assert [a.title for a in store.refresh().articles] == ["Good"]
    path.write_text("---\ntitle: [half written\n")
    os.utime(path, ns=(1, 1))
    snapshot = store.refresh()
    assert [a.title for a in snapshot.articles] == ["Good"]
    assert "last good version" in snapshot.problems[0].reason
    path.unlink()
    assert store.refresh().articles == ()


def test_a_refresh_without_changes_keeps_the_snapshot(store_dir):
    store_dir.add("a.txt", article())
    store = Store(str(store_dir.root), workers=1)
    first = store.refresh()
    assert store.refresh() is first


def test_an_edit_changes_only_the_groups_it_touches(store_dir):
    store_dir.add("a.txt", article(webUrl="https://n.example.com/a", topics=["AI"]))
    path = store_dir.add(
        "b.txt",
        article(
            webUrl="https://n.example.com/b",
            topics=["Robots"],
            provider={"name": "B", "domain": "b.example"},
        ),
    )
    store = Store(str(store_dir.root), workers=1)
    before = store.refresh()
    store_dir.add(
        "b.txt",
        article(
            title="Edited",
            webUrl="https://n.example.com/b",
            topics=["Robots"],
            provider={"name": "B", "domain": "b.example"},
        ),
    )
    os.utime(path, ns=(2, 2))
    after = store.refresh()
    assert after.topics["ai"] is before.topics["ai"]
    assert after.topics["robots"].version != before.topics["robots"].version
    assert after.everything.version != before.everything.version


def test_links_leaving_the_store_are_not_followed(store_dir, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text(
        "---\ntitle: Outside\nwebUrl: https://x.example/\npublishedDateTime: 2024-01-01\n---\n"
    )
    store_dir.add("inside.txt", article())
    os.symlink(outside, store_dir.root / "link.txt")
    assert [a.source for a in load(store_dir).articles] == ["inside.txt"]


def test_a_file_event_on_a_link_out_of_the_store_reads_it_as_a_scan_does(store_dir, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("---\ntitle: Outside\n---\n")
    store_dir.add("inside.txt", article())
    link = store_dir.root / "link.txt"
    os.symlink(outside, link)
    store = Store(str(store_dir.root), workers=1)
    scanned = store.refresh()
    assert [p.source for p in scanned.problems] == ["link.txt"]
    assert store.refresh_paths([str(link)]) is scanned  # nothing new: same snapshot
    fifo = store_dir.root / "pipe.txt"
    os.mkfifo(fifo)
    after = store.refresh_paths([str(fifo)])
    assert sorted(p.reason for p in after.problems) == [
        "not a regular file",
        "symbolic link to outside the store",
    ]


def test_oversized_files_are_skipped(store_dir):
    store_dir.add("big.txt", article(excerpt="x" * 5000))
    snapshot = Store(str(store_dir.root), max_file_bytes=1000, workers=1).refresh()
    assert snapshot.articles == ()
    assert "1000-byte limit" in snapshot.problems[0].reason
