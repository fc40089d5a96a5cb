"""The hot case answered below Flask: a GET or HEAD of a feed whose bytes are cached.

Feed readers poll the same few URLs, and nearly every poll is answered from the
render cache, often with a 304. Through Flask that answer pays for request
dispatch, werkzeug's header objects, ``make_conditional`` and the after-request
hooks. This WSGI middleware answers exactly that case itself, with header lists made
once per cached entry, and hands everything else to the Flask app unchanged:

* anything but GET or HEAD, a path that is not a feed route of the URL table spelled
  without escapes, a feed that does not exist, a query string that is not in the
  route's canonical form (Flask answers its 301 or 400), a request body;
* a browser navigation that negotiation answers with the HTML page;
* ``If-Match``, ``If-Unmodified-Since``, ``Range`` and ``If-Range``;
* a Host or scheme that origin.py refuses (Flask answers the 400);
* a client over its polling limit (limits.py; Flask answers the 429);
* a composed feed (filters, unions, digests) spelled otherwise than canonically:
  Flask answers its 301;
* a cache miss: Flask renders the feed and caches it for the next request (a
  composed feed's key is computed without selecting its articles, so a cached one
  costs what any cached feed costs);
* an error while answering, which is logged.

It is built from the pieces the Flask path uses: the URL table's routes and query
reading (:mod:`feedsvc.render.urls`), the per-request hooks (:mod:`.hooks`), the
headers of :mod:`.responses`, the request id and log line of :mod:`.logs`. What it
answers is what the Flask path answers, header for header and in the same order
(the tests compare the two on a matrix of requests): the same key into the
render cache (looked up in the current snapshot on every request, so an edit is
served at once), the same conditional logic (werkzeug's own), the request id echoed,
the same JSON request log line and the same Prometheus series. It runs inside
``ProxyFix``, so forwarded hosts and schemes apply as before. ``FAST_PATH=false``
sends every request through Flask.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from wsgiref.types import StartResponse, WSGIEnvironment

from werkzeug.http import http_date, is_resource_modified

from ..render import urls
from ..render.cache import Rendered
from . import composed, current, hooks, limits, logs, negotiation, responses, security

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("feedsvc.fastpath")

# Preconditions this path leaves to Flask (If-None-Match and If-Modified-Since it handles).
_UNHANDLED = tuple(
    name
    for name in responses.CONDITIONAL
    if name not in ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
)
_MAX_MEMO = 4096


class _Templates(NamedTuple):
    validators: tuple  # up to Date when there is no precondition
    entity: tuple  # after Date when there is none
    conditional: tuple  # up to Date when make_conditional ran and the answer is 200
    not_modified: tuple  # up to Date for a 304
    length: int
    etag: str
    last_modified: str


class FastPath:
    """WSGI middleware in front of the Flask app's own ``wsgi_app``."""

    def __init__(
        self, app: Flask, fallback: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
    ) -> None:
        self.app = app
        self.fallback = fallback
        self.config = app.config
        self.store = app.extensions["feedsvc.store"]
        self.cache = app.extensions["feedsvc.render_cache"]
        self.metrics = app.extensions["feedsvc.metrics"]
        self.hooks = hooks.hooks_of(app)  # the list Flask's before_request runs
        self.fixed = responses.fixed_headers(app)
        self.origin = app.extensions["feedsvc.origin"]
        self.limits = limits.limits_of(app)
        # Flask itself checks these against the Host; leave such apps to it.
        self.usable = not app.config.get("SERVER_NAME") and not app.config.get("TRUSTED_HOSTS")
        self._headers: dict[tuple, _Templates] = {}
        self._date = (0, "")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = None
        if self.usable and self.config["FAST_PATH"]:
            try:
                answer = self._answer(environ)
            except Exception:  # noqa: BLE001 - Flask gives the answer, or its 500
                log.exception("fast path failed; answering through Flask")
        if answer is None:
            return self.fallback(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return body

    def _answer(self, environ: dict) -> tuple[str, list, list] | None:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return None
        path = environ.get("PATH_INFO", "")
        matched = urls.match_feed(path)
        if matched is None or environ.get("SCRIPT_NAME"):
            return None
        hooks.run(self.hooks)
        route, values = matched
        parsed = route.query.read(environ.get("QUERY_STRING", ""))
        if parsed.error is not None or parsed.canonical is not None:
            return None  # Flask's 400 or 301
        if any(name in environ for name in _UNHANDLED):
            return None
        if environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
            return None
        if "HTTP_TRANSFER_ENCODING" in environ:
            return None
        if negotiation.wants_page(environ):
            return None  # the HTML page, from Flask
        base_url = self.origin.of(environ)
        if base_url is None or not self.store.ready:
            return None
        config = self.config
        fmt = values["fmt"]
        site = current.site_of(config, base_url)
        keyed = composed.cached_key(
            self.store.snapshot, route, values, parsed.values, site, config, path
        )
        if keyed is None:
            return None  # Flask's 301, 400 or 404
        key, links = keyed
        # Counted here once: Flask takes the outcome from the environ, whoever answers.
        wait = environ[limits.POLL_WAIT] = self.limits.poll_wait(environ)
        if wait:
            return None  # Flask's 429
        rendered = self.cache.peek(key)
        if rendered is None:
            return None

        use_gzip = responses.takes_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        t = self._templates(rendered, self.store.last_modified(), use_gzip, links)
        inm = environ.get("HTTP_IF_NONE_MATCH")
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        if inm is None and ims is None:
            status, before, after = 200, t.validators, t.entity
        elif _unmodified(inm, ims, t.etag, t.last_modified):
            status, before, after = 304, t.not_modified, ()
        else:
            status, before, after = 200, t.conditional, ()
        request_id = logs.request_id(environ.get("HTTP_X_REQUEST_ID"))
        headers = [*before, ("Date", self._now()), *after, (logs.REQUEST_ID_HEADER, request_id)]
        headers += security.ALWAYS

        self.metrics.observe_feed(route.name, fmt, status, started)
        if config["REQUEST_LOG"] and logs.log.isEnabledFor(logging.INFO):
            fields = {
                "method": method,
                "path": path,
                "route": route.name,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "cache": "hit",
                "bytes": t.length,
                "request_id": request_id,
            }
            logs.log_request(logging.INFO, fields)
        if status == 304:
            return "304 NOT MODIFIED", headers, []
        body = rendered.gzipped if use_gzip else rendered.body
        return "200 OK", headers, [] if method == "HEAD" else [body]

    def _templates(
        self, rendered: Rendered, last_modified: datetime, use_gzip: bool, links: tuple
    ) -> _Templates:
        """The header lists around Date for one cached entry, as responses.send() orders them.

        Remembered by what they are made of (the tag stands for the bytes), never by
        the entry itself, so the render cache alone decides how long bytes are kept.
        """
        fixed = self.fixed
        memo_key = (rendered.etag, last_modified, rendered.mimetype, use_gzip, fixed, links)
        templates = self._headers.get(memo_key)
        if templates is not None:
            return templates
        body = rendered.gzipped if use_gzip else rendered.body
        validators = responses.validator_headers(rendered, last_modified, use_gzip, fixed, links)
        named = dict(validators)
        etag = ("ETag", named["ETag"])
        entity = (("Content-Type", rendered.mimetype), ("Content-Length", str(len(body))))
        # No precondition: Date before the entity headers; make_conditional adds it after;
        # a 304 drops the entity headers, Last-Modified and Content-Encoding among them.
        templates = _Templates(
            validators=validators,
            entity=entity,
            conditional=validators + entity,
            not_modified=(etag, *fixed, *links),
            length=len(body),
            etag=named["ETag"],
            last_modified=named["Last-Modified"],
        )
        if len(self._headers) >= _MAX_MEMO:
            self._headers.clear()
        self._headers[memo_key] = templates
        return templates

    def _now(self) -> str:
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, http_date(second))
        return self._date[1]


def _unmodified(inm: str | None, ims: str | None, etag: str, last_modified: str) -> bool:
    """make_conditional's answer for If-None-Match / If-Modified-Since, by werkzeug's rules.

    Remembered per distinct set of values, as readers repeat the validators they were
    sent; long ones (a list of tags) are not kept, to bound the memory they take.
    """
    if len(inm or "") + len(ims or "") > 200:
        return _check(inm, ims, etag, last_modified)
    return _remembered_check(inm, ims, etag, last_modified)


def _check(inm: str | None, ims: str | None, etag: str, last_modified: str) -> bool:
    environ = {"HTTP_IF_NONE_MATCH": inm, "HTTP_IF_MODIFIED_SINCE": ims}
    return not is_resource_modified(environ, etag=etag, last_modified=last_modified)


_remembered_check = functools.lru_cache(maxsize=1024)(_check)


def install(app: Flask) -> None:
    """Put the fast path in front of ``app``'s Flask dispatch (before ProxyFix wraps both)."""
    # Flask's documented way to wrap its WSGI callable; mypy sees a method replaced.
    app.wsgi_app = FastPath(app, app.wsgi_app)  # type: ignore[method-assign]
