"""The feedsvc command: check a store, serve it under gunicorn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner
from conftest import SAMPLE, article
from feedcheck import check_feed
from servers import free_port

from feedsvc.cli import main


def test_check_passes_on_the_sample_store():
    result = CliRunner().invoke(main, ["check", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "2 articles served, 0 skipped" in result.output


def test_check_lists_skipped_files_with_reasons_and_fails(store_dir):
    store_dir.add("good.txt", article())
    store_dir.add("sub/broken.txt", "---\ntitle: [x\n---\n")
    store_dir.add(
        "warn.txt", article(webUrl="https://n.example.com/w", images=[{"url": "javascript:x"}])
    )
    result = CliRunner().invoke(main, ["check", str(store_dir.root)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("sub/broken.txt: skipped: invalid YAML") for line in lines)
    assert any(line.startswith("warn.txt: warning: images[0]") for line in lines)
    report = json.loads(CliRunner().invoke(main, ["check", "--json", str(store_dir.root)]).stdout)
    assert report["articles"] == 2
    assert {(p["path"], p["skipped"]) for p in report["problems"]} == {
        ("sub/broken.txt", True),
        ("warn.txt", False),
    }


@pytest.mark.integration
@pytest.mark.slow
def test_serve_runs_gunicorn_on_the_given_port(store_dir):
    store_dir.add("a.txt", article())
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "feedsvc.cli",
        "serve",
        "--content",
        str(store_dir.root),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/feed.atom", timeout=2
                ) as response:
                    body = response.read()
                    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer within 20 s"
                time.sleep(0.2)
        assert [e.link for e in check_feed("atom", body).entries] == [
            "https://news.example.com/articles/1"
        ]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
