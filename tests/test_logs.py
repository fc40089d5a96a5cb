"""JSON log lines, request ids, and bad files logged once per change."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import threading

import pytest
from conftest import article, json_log

from feedsvc.web import logs


@pytest.fixture
def log_stream():
    """Records of feedsvc's loggers, formatted by the production JSON formatter."""
    with json_log() as stream:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def requests_logged(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["message"] == "request"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("edge.7f3a:0001", True),
        ("x" * 129, False),  # too long
        ("two words", False),
        ("", False),
    ],
)
def test_request_id_is_honoured_only_when_sane(client, log_stream, sent, kept):
    response = client.get("/feed.rss", headers={"X-Request-ID": sent} if sent else {})
    echoed = response.headers["X-Request-ID"]
    assert (echoed == sent) is kept
    assert len(echoed) <= 128 and " " not in echoed
    (line,) = requests_logged(log_stream())
    assert line["request_id"] == echoed


def test_request_line_has_route_status_duration_and_cache_outcome(client, log_stream):
    client.get("/feed.atom")
    client.get("/feed.atom")
    client.get("/providers/nowhere.example/feed.json")
    first, second, missing = requests_logged(log_stream())
    assert [first["cache"], second["cache"], missing["cache"]] == ["miss", "hit", None]
    assert first["route"] == "/feed.<fmt>" and first["status"] == 200
    assert missing["route"] == "/providers/<domain>/feed.<fmt>" and missing["status"] == 404
    assert all(line["duration_ms"] >= 0 and line["level"] == "INFO" for line in (first, missing))


def test_probes_log_at_debug_only(client, log_stream):
    client.get("/healthz")
    (line,) = requests_logged(log_stream())
    assert line["level"] == "DEBUG"


def test_a_bad_file_is_logged_once_per_change(store_dir, log_stream):
    bad = store_dir.add("bad.md", "---\ntitle: [unclosed\n---\n")
    store_dir.add("good.md", article())
    store = store_dir.app().extensions["feedsvc.store"]
    for _ in range(3):
        store.refresh()
    store_dir.add("other.md", article(webUrl="https://news.example.com/other"))
    store.refresh()  # a change elsewhere does not repeat the warning

    def warnings_about_bad() -> int:
        return sum(1 for line in log_stream() if "bad.md" in line["message"])

    assert warnings_about_bad() == 1
    bad.write_text("---\ntitle: still [unclosed, differently\n---\n")
    os.utime(bad, ns=(1, 1))  # a new stat, even on a coarse clock
    store.refresh()
    store.refresh()
    assert warnings_about_bad() == 2


@pytest.fixture
def restore_logging():
    names = ["", "feedsvc", "gunicorn.error", "gunicorn.access"]
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)


def test_logging_config_writes_json_from_any_logger(capsys, restore_logging):
    logs.configure("INFO")
    logging.getLogger("feedsvc.test").warning("hello %s", "there", extra={"n": 1})
    logging.getLogger("gunicorn.access").info("dropped: feedsvc logs requests itself")
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert (record["message"], record["level"], record["logger"], record["n"]) == (
        "hello there",
        "WARNING",
        "feedsvc.test",
        1,
    )


def test_lines_from_many_threads_reach_a_pipe_whole():
    """Short lines and lines longer than a pipe keeps whole: none is cut or mixed."""
    read_end, write_end = os.pipe()
    handler = logs.LineHandler(os.fdopen(write_end, "w"))
    handler.setFormatter(logs.formatter())
    logger = logging.getLogger("feedsvc.test.lines")
    logger.addHandler(handler)
    logger.propagate = False
    chunks: list[bytes] = []
    reader = threading.Thread(
        target=lambda: chunks.extend(iter(lambda: os.read(read_end, 65536), b""))
    )
    reader.start()

    def work(n: int) -> None:
        for i in range(200):
            logger.warning("x" * (10 if i % 2 else 6000), extra={"worker": n, "i": i})

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        logger.removeHandler(handler)
        handler.stream.close()
    reader.join(30)
    lines = b"".join(chunks).splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted((r["worker"], r["i"]) for r in records) == [
        (n, i) for n in range(4) for i in range(200)
    ]
