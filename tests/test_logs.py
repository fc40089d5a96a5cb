"""JSON log lines, request ids, and bad files logged once per change."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.config
import os
import select
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from conftest import article, json_log
from pythonjsonlogger.json import JsonFormatter

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


@pytest.mark.parametrize("flush", [0.0, 0.05], ids=["each-line", "buffered"])
def test_lines_from_many_threads_reach_a_pipe_whole(flush, monkeypatch, request_logger):
    """Short lines and lines longer than a pipe keeps whole: none is cut, mixed or lost,
    and every write is whole lines, at most PIPE_BUF bytes unless one line is longer."""
    writes: list[bytes] = []
    write_all = logs._write_all
    monkeypatch.setattr(
        logs, "_write_all", lambda fd, data: (writes.append(data), write_all(fd, data))
    )
    read_end, write_end = os.pipe()
    handler = logs.LineHandler(os.fdopen(write_end, "w"), flush=flush)
    handler.setFormatter(logs.formatter())
    logger = request_logger(handler)
    chunks: list[bytes] = []
    reader = threading.Thread(
        target=lambda: chunks.extend(iter(lambda: os.read(read_end, 65536), b""))
    )
    reader.start()

    def work(n: int) -> None:
        for i in range(200):
            level = logging.WARNING if i % 50 == 49 else logging.INFO
            logger.log(level, "x" * (10 if i % 2 else 6000), extra={"worker": n, "i": i})

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        handler.flush()  # as logging.shutdown() does at exit
        handler.stream.close()
    reader.join(30)
    lines = b"".join(chunks).splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted((r["worker"], r["i"]) for r in records) == [
        (n, i) for n in range(4) for i in range(200)
    ]
    for data in writes:
        assert data.endswith(b"\n")
        assert len(data) <= select.PIPE_BUF or data.count(b"\n") == 1
    if flush:
        assert len(writes) < len(records)  # short lines went out together


@pytest.fixture
def request_logger():
    """The request log's logger, writing to one handler only while the test runs."""
    logger = logs.log
    saved = (logger.handlers[:], logger.propagate, logger.level)

    def attach(handler: logging.Handler) -> logging.Logger:
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
        return logger

    yield attach
    logger.handlers[:], logger.propagate, logger.level = saved


@pytest.fixture
def pipe_logger(request_logger):
    """A buffering handler on a pipe, as the request log; the pipe's read end (non-blocking)."""

    def make(flush: float) -> tuple[int, logs.LineHandler, logging.Logger]:
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        handler = logs.LineHandler(os.fdopen(write_end, "w"), flush=flush)
        handler.setFormatter(logs.formatter())
        return read_end, handler, request_logger(handler)

    return make


def written(fd: int) -> list[str]:
    """The messages of the lines in a pipe so far."""
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            data += chunk
    return [json.loads(line)["message"] for line in data.splitlines()]


def test_a_warning_writes_the_waiting_request_lines_before_itself(pipe_logger):
    read_end, _, logger = pipe_logger(flush=60)
    logger.info("one")
    logger.info("two")
    assert written(read_end) == []
    logger.warning("three")
    assert written(read_end) == ["one", "two", "three"]
    logger.error("four")
    assert written(read_end) == ["four"]


def test_only_request_lines_wait(pipe_logger):
    """Start-up and store messages are written at once, after the request lines before them."""
    read_end, handler, logger = pipe_logger(flush=60)
    other = logging.getLogger("feedsvc.test.other")
    other.handlers[:] = [handler]
    other.propagate = False
    other.setLevel(logging.INFO)
    try:
        logger.info("request")
        other.info("Booting worker")
        assert written(read_end) == ["request", "Booting worker"]
    finally:
        other.handlers[:] = []


def test_waiting_lines_are_written_within_the_flush_interval_without_more_logging(pipe_logger):
    read_end, _, logger = pipe_logger(flush=1.0)
    logger.info("alone")
    assert written(read_end) == []  # it waits for company
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = written(read_end)
    assert seen == ["alone"]


@pytest.mark.parametrize(("given", "wait"), [(-1, 0), (float("nan"), 0), (float("inf"), 60)])
def test_a_flush_interval_out_of_range_is_bounded(given, wait):
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stream:
        assert logs.LineHandler(stream, flush=given).wait == wait
    os.close(read_end)


def test_no_flush_writes_every_line_at_once(pipe_logger):
    read_end, _, logger = pipe_logger(flush=0)
    logger.info("now")
    assert written(read_end) == ["now"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads running
def test_a_forked_child_does_not_write_its_parents_waiting_lines_again(pipe_logger):
    read_end, handler, logger = pipe_logger(flush=60)
    logger.info("before the fork")
    pid = os.fork()
    if pid == 0:  # the child
        try:
            logger.info("from the child")
            handler.flush()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    logger.info("from the parent")
    handler.flush()
    assert sorted(written(read_end)) == ["before the fork", "from the child", "from the parent"]


def test_lines_waiting_at_exit_are_written(tmp_path):
    program = (
        "import logging, logging.config\n"
        "from feedsvc.web import logs\n"
        "logging.config.dictConfig(logs.logging_config('INFO', flush=60))\n"
        "for i in range(3):\n"
        "    logs.log.info('line %d', i)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    messages = [json.loads(line)["message"] for line in done.stderr.splitlines()]
    assert messages == ["line 0", "line 1", "line 2"]


def test_lines_are_python_json_loggers_own_byte_for_byte():
    """The cheaper formatter changes the cost of a line, never its bytes."""
    ours = logs.formatter()
    library = JsonFormatter(
        ["asctime", "levelname", "name", "process", "message"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    try:
        raise ValueError("bad ünïcode \u2028 input")
    except ValueError:
        failure = sys.exc_info()
    logger = logging.getLogger("feedsvc.test.bytes")
    records = [
        logger.makeRecord(logger.name, logging.INFO, __file__, 1, "request", (), None, None, extra)
        for extra in (
            {"path": "/feed.rss", "status": 200, "duration_ms": 0.061, "cache": None},
            {"when": datetime(2026, 12, 2, 13, 0, tzinfo=UTC), "raw": b"\xff"},
            {"text": "naïve \x00 \n forged", "nested": {"a": [1, 2.5, None]}},
        )
    ]
    records.append(
        logger.makeRecord(logger.name, logging.ERROR, __file__, 2, "%s!", ("boom",), failure)
    )
    for second in (0.0, 0.4, 1.0):  # the same second twice, then the next
        records.append(logger.makeRecord(logger.name, logging.INFO, __file__, 3, "t", (), None))
        records[-1].created = 1_790_000_000 + second
    for record in records:
        assert ours.format(record) == library.format(logging.makeLogRecord(record.__dict__))
