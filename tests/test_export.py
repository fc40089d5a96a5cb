"""`feedsvc build`: a static export equal, file for file, to what the server sends."""

from __future__ import annotations

import gzip
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from conftest import SAMPLE, article

from feedsvc import create_app
from feedsvc.cli import main
from feedsvc.export import ExportError, export, file_for, paths
from feedsvc.render.paths import feed_paths, register

BASE = "https://feeds.example.com"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    result = CliRunner().invoke(
        main, ["build", str(out), "--content", str(SAMPLE), "--base-url", BASE + "/"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""  # quiet when not on a terminal
    return out


def served_app():
    # A separate app, as a server would run it, with the same store and base URL.
    return create_app({"CONTENT_DIR": str(SAMPLE), "BASE_URL": BASE, "RELOAD_INTERVAL": 0})


SERVED_PATHS = paths(served_app())


def test_every_public_path_is_exported_and_nothing_else(exported):
    written = {p for p in exported.rglob("*") if p.is_file() and p.suffix != ".gz"}
    assert written == {file_for(exported, path) for path in SERVED_PATHS}
    app = served_app()
    feeds = set(feed_paths(app.extensions["feedsvc.store"].snapshot))
    assert len(feeds) == 3 * (1 + 2 + 2)  # everything, 2 topics, 2 providers; 3 formats
    assert feeds <= set(SERVED_PATHS)


@pytest.mark.parametrize("path", SERVED_PATHS)
def test_exported_file_equals_the_served_body(exported, path):
    client = served_app().test_client()
    response = client.get(path)
    assert response.status_code == 200
    body = file_for(exported, path).read_bytes()
    assert body == response.get_data()
    twin = file_for(exported, path).with_name(file_for(exported, path).name + ".gz")
    assert gzip.decompress(twin.read_bytes()) == body


def test_exported_feeds_link_to_the_base_url(exported):
    feed = feedparser.parse((exported / "feed.atom").read_bytes())
    assert not feed.bozo
    assert feed.feed.link.startswith(BASE + "/")
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert self_links == [BASE + "/feed.atom"]


def test_paths_ending_in_a_slash_become_index_html(store_dir, tmp_path):
    store_dir.add("a.md", article())
    app = store_dir.app(BASE_URL=BASE)
    pages = {"/guide/": b"<p>guide</p>", "/guide/more/": b"<p>more</p>"}
    for url, html in pages.items():
        app.add_url_rule(url, url, lambda html=html: html)
    register(app, lambda snapshot: list(pages))
    export(app, tmp_path, list(pages))
    assert (tmp_path / "guide" / "index.html").read_bytes() == pages["/guide/"]
    assert (tmp_path / "guide" / "more" / "index.html").read_bytes() == pages["/guide/more/"]
    assert (tmp_path / "guide" / "index.html.gz").exists()
    assert set(pages) <= set(paths(app))


def test_a_path_that_does_not_answer_200_stops_the_export(store_dir, tmp_path):
    store_dir.add("a.md", article())
    app = store_dir.app(BASE_URL=BASE)
    with pytest.raises(ExportError, match="/nowhere.rss answered 404"):
        export(app, tmp_path, ["/nowhere.rss"])


@pytest.mark.parametrize("path", ["/../etc/passwd", "/a/./b", "/a//b", "feed.rss", "/x?page=2"])
def test_paths_that_would_leave_the_folder_are_refused(tmp_path, path):
    with pytest.raises(ExportError):
        file_for(tmp_path, path)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "Missing option '--base-url'"),
        (["--base-url", "feeds.example.com"], {}, "must be absolute"),
        ([], {"FEEDSVC_BASE_URL": "/relative"}, "must be absolute"),
    ],
)
def test_build_requires_an_absolute_base_url(tmp_path, args, env, message):
    result = CliRunner().invoke(
        main, ["build", str(tmp_path / "out"), "--content", str(SAMPLE), *args], env=env
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_build_takes_the_base_url_from_the_environment(tmp_path):
    result = CliRunner().invoke(
        main,
        ["build", str(tmp_path), "--content", str(SAMPLE)],
        env={"FEEDSVC_BASE_URL": "https://cdn.example.net"},
    )
    assert result.exit_code == 0, result.output
    assert b"https://cdn.example.net/feed.rss" in (tmp_path / "feed.rss").read_bytes()


@pytest.mark.integration
def test_a_terminal_sees_a_progress_bar_and_a_summary(tmp_path):
    import os
    import subprocess
    import sys

    controller, terminal = os.openpty()
    out = tmp_path / "out"
    command = [sys.executable, "-m", "feedsvc.cli", "build", str(out)]
    command += ["--content", str(SAMPLE), "--base-url", BASE]
    try:
        done = subprocess.run(command, stderr=terminal, stdout=subprocess.DEVNULL, timeout=120)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert done.returncode == 0
    text = shown.decode()
    assert "Exporting" in text
    files = sum(1 for p in out.rglob("*") if p.is_file() and p.suffix != ".gz")
    assert f"{files} files" in text and f"0/{files}" in text
