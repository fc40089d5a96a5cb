"""JSON logs, one object a line, and a request log line with the request's id.

Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token
(a proxy or CDN usually sets one), else a fresh one. It is echoed in the response
and added to every log line written while the request runs, so one grep finds
everything about a request across the proxy and the service.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import logging.config
import os
import re
import select
import threading
import time
import uuid
import weakref
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from ..content.threads import PerProcessThread

log = logging.getLogger("feedsvc.request")

REQUEST_ID_HEADER = "X-Request-ID"
# Anything else (too long, spaces, control characters) is replaced, not logged.
SANE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
MAX_FLUSH = 60.0  # seconds a request line may wait, at most
# Probes and scrapes every few seconds would drown the log; they go at DEBUG.
QUIET_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "metrics.metrics"})


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            request_id = g.get("request_id")
            if request_id:
                record.request_id = request_id
        return True


class LineHandler(logging.StreamHandler):
    """Writes records as whole lines; to a file descriptor, with ``os.write``.

    A record is formatted before the lock is taken, and only the write holds it,
    so request threads queue for a system call, not for the formatting too
    (``logging.Handler.handle`` holds its lock for both). Each write is whole lines
    of at most ``PIPE_BUF`` bytes together (a longer line alone), which a pipe
    shared by several processes keeps unmixed.

    With ``flush`` seconds above zero, request lines (``feedsvc.request`` below
    WARNING) wait in a buffer, as nginx's ``access_log ... buffer= flush=`` does: the
    buffer is written when the next line would take it past ``PIPE_BUF``, when its
    oldest line has waited ``flush`` seconds (checked by every line and by a thread
    of this process), when any other line arrives (after the waiting ones, so the
    order holds), before the process forks and at exit. A process killed outright
    loses at most the last ``flush`` seconds of request lines. Streams without a
    descriptor (a test's capture) are written as ``StreamHandler`` does.
    """

    def __init__(self, stream: Any = None, flush: float = 0.0) -> None:
        super().__init__(stream)
        try:
            self.fd: int | None = self.stream.fileno()
            self.stream.flush()
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self.wait = min(max(0.0, float(flush)), MAX_FLUSH) if self.fd is not None else 0.0
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._size = 0
        self._since = 0.0
        self._flusher = PerProcessThread(self._flush_when_due, "feedsvc-log-flush")
        _buffering.add(self)

    def handle(self, record: logging.LogRecord) -> bool:
        if self.fd is None:
            return bool(super().handle(record))
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if self.fd is None:
            super().emit(record)
            return
        try:
            data = (self.format(record) + self.terminator).encode("utf-8", "backslashreplace")
            with self._lock:
                if self.wait and record.name == log.name and record.levelno < logging.WARNING:
                    self._hold(data)
                else:
                    self._write_pending()
                    _write_all(self.fd, data)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's own rule: report, never raise
            self.handleError(record)

    def flush(self) -> None:
        with self._lock:
            self._write_or_drop()
        super().flush()

    def _hold(self, data: bytes) -> None:
        if self._size + len(data) > select.PIPE_BUF:
            self._write_pending()
        now = time.monotonic()
        if not self._pending:
            self._since = now
            self._flusher.start()
        self._pending.append(data)
        self._size += len(data)
        if self._size >= select.PIPE_BUF or now - self._since >= self.wait:
            self._write_pending()

    def _write_pending(self) -> None:
        if self._pending and self.fd is not None:
            data = b"".join(self._pending)
            self._drop_pending()
            _write_all(self.fd, data)

    def _write_or_drop(self) -> None:
        """Write what waits; lines a broken stream refuses are dropped, not retried."""
        try:
            self._write_pending()
        except OSError:
            self._drop_pending()

    def _drop_pending(self) -> None:
        self._pending = []
        self._size = 0

    def _flush_when_due(self) -> None:
        while True:
            with self._lock:
                due = self._since + self.wait - time.monotonic()
                if self._pending and due <= 0:
                    self._write_or_drop()
                if not self._pending or due <= 0:
                    due = self.wait
            time.sleep(due)


# Waiting lines are written before a fork and dropped in the child, so none is written twice;
# the child's lock is new, as the thread that held it is not in the child.
_buffering: weakref.WeakSet[LineHandler] = weakref.WeakSet()


def _flush_before_fork() -> None:
    for handler in list(_buffering):
        with contextlib.suppress(OSError, ValueError):  # a closed stream, as logging.shutdown
            handler.flush()


def _drop_inherited() -> None:
    for handler in list(_buffering):
        handler._lock = threading.Lock()  # another thread may have held it at the fork
        handler._drop_pending()


os.register_at_fork(before=_flush_before_fork, after_in_child=_drop_inherited)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


class LineFormatter(JsonFormatter):
    """python-json-logger's JSON object per record, byte for byte, at less cost a line.

    A time format without fractions of a second is formatted once a second, and
    one encoder serves every line.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._time: tuple[int, str, str] = (-1, "", "")
        encoder = self.json_encoder or json.JSONEncoder  # as json.dumps(cls=None)
        self._encode = encoder(
            default=self.json_default, indent=self.json_indent, ensure_ascii=self.json_ensure_ascii
        ).encode

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt is None:  # the default format shows milliseconds
            return super().formatTime(record, datefmt)
        second, memo_format, text = self._time
        if second != int(record.created) or memo_format != datefmt:
            text = super().formatTime(record, datefmt)
            self._time = (int(record.created), datefmt, text)
        return text

    def jsonify_log_record(self, log_data: dict) -> str:
        return self._encode(log_data)


def formatter() -> logging.Formatter:
    return LineFormatter(
        ["asctime", "levelname", "name", "process", "message"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def logging_config(level: str = "INFO", *, access_log: bool = False, flush: float = 0.0) -> dict:
    """A ``logging.config.dictConfig`` mapping: everything as JSON on stderr.

    gunicorn's own loggers are included so its start-up and worker messages are JSON
    too; its access log is dropped unless ``access_log``, as feedsvc logs each request.
    Request lines wait up to ``flush`` seconds to be written together (LineHandler).
    """
    handler = {
        "class": "feedsvc.web.logs.LineHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
        "flush": flush,
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "feedsvc.web.logs.formatter"}},
        "filters": {"request_id": {"()": "feedsvc.web.logs.RequestIdFilter"}},
        "handlers": {"json": handler},
        "root": {"level": level.upper(), "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
            "gunicorn.access": {
                "level": "INFO" if access_log else "CRITICAL",
                "handlers": ["json"] if access_log else [],
                "propagate": False,
            },
        },
    }


def configure(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON (for processes not started by gunicorn)."""
    logging.config.dictConfig(logging_config(level))


def request_id(incoming: str | None) -> str:
    """The caller's request id when it is a sane token, else a fresh one."""
    return incoming if incoming and SANE_ID.fullmatch(incoming) else _fresh_id()


class _Ids:
    """Fresh request ids: 32 hex digits, a random prefix per process and a counter.

    Unique, not secret: an id only ties log lines together. A UUID per request would
    ask the kernel for randomness on every request; this asks once per process.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.prefix = uuid.uuid4().hex[:16]
        self.counter = itertools.count()

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"  # next() on a count is atomic


_fresh_id = _Ids()
# A forked worker must not repeat its parent's ids (gunicorn forks after loading the app).
os.register_at_fork(after_in_child=_fresh_id.reseed)


def log_request(level: int, fields: dict) -> None:
    """Write the request line (the caller has checked ``log.isEnabledFor(level)``).

    The record is made directly: ``log.log`` would walk the stack to name the
    caller, which no field of the line shows.
    """
    record = log.makeRecord(log.name, level, __file__, 0, "request", (), None, None, fields)
    log.handle(record)


def _start() -> None:
    g.setdefault("started", time.perf_counter())
    g.request_id = request_id(request.environ.get("HTTP_X_REQUEST_ID"))


def _finish(response: Response) -> Response:
    given = g.get("request_id")
    if given:
        response.headers[REQUEST_ID_HEADER] = given
    if not current_app.config["REQUEST_LOG"]:
        return response
    quiet = request.endpoint in QUIET_ENDPOINTS and response.status_code < 400
    level = logging.DEBUG if quiet else logging.INFO
    if log.isEnabledFor(level):
        started = g.get("started", time.perf_counter())
        fields = {
            "method": request.method,
            "path": request.path,
            "route": route_name(),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "cache": g.get("cache_outcome"),
            "bytes": response.calculate_content_length(),
        }
        if given:
            fields["request_id"] = given
        log_request(level, fields)
    return response


def route_name() -> str:
    """The matched URL rule with converters reduced to their names, e.g. ``/topics/<slug>/feed.<fmt>``.

    Unmatched paths share one name, so metrics and logs never grow a label per URL probed.
    """
    rule = request.url_rule
    return "unmatched" if rule is None else _route_of(rule.rule)


@functools.cache
def _route_of(rule: str) -> str:
    # Once per URL rule, not per request: the app has a fixed handful of rules.
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"<\1>", rule)


def init_app(app: Flask) -> None:
    logging.getLogger("feedsvc").setLevel(app.config["LOG_LEVEL"].upper())
    app.before_request(_start)
    app.after_request(_finish)
