"""The hot case answered below Flask: a GET or HEAD of a feed whose bytes are cached.

Feed readers poll the same few URLs, and nearly every poll is answered from the
render cache, often with a 304. Through Flask that answer cost about twice what a
minimal Flask app spends returning the same bytes: request dispatch, werkzeug's
header objects, ``make_conditional`` and four after-request hooks. This WSGI
middleware answers exactly that case itself, with header lists made once per cached
entry, and hands everything else to the Flask app unchanged:

* anything but GET or HEAD, a path that is not a feed URL, a feed that does not
  exist, a query string other than ``limit`` and ``page`` once each as plain
  in-range numbers, a request body;
* a browser navigation that negotiation answers with the HTML page;
* ``If-Match``, ``If-Unmodified-Since``, ``Range`` and ``If-Range``;
* a Host header with anything but letters, digits, dots, dashes and a port, when
  the site's URL comes from it (no ``BASE_URL``);
* a cache miss: Flask renders the feed and caches it for the next request;
* an error while answering, which is logged.

What it answers is what the Flask path answers, header for header and in the same
order (the tests compare the two on a matrix of requests): the same key into the
render cache (looked up in the current snapshot on every request, so an edit is
served at once), the same conditional logic (werkzeug's own), the request id echoed,
the same JSON request log line and the same Prometheus series. It runs inside
``ProxyFix``, so forwarded hosts and schemes apply as before. ``FAST_PATH=false``
sends every request through Flask.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import NamedTuple

from werkzeug.http import http_date, is_resource_modified
from werkzeug.wrappers import Request

from ..render.cache import Rendered
from ..render.feeds import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, FeedPage
from . import logs, negotiation, security, views

log = logging.getLogger("feedsvc.fastpath")

# The three feed routes of views.py, with slugs limited to characters that need no
# decoding; anything else is left to Flask's routing.
_FEED_PATH = re.compile(r"/(?:(topics|providers)/([A-Za-z0-9._~-]{1,200})/)?feed\.(rss|atom|json)")
_QUERY = re.compile(r"(limit|page)=([0-9]{1,6})(?:&(limit|page)=([0-9]{1,6}))?")
_SAFE_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?")
# Route names as logs.route_name() gives them for the rules in views.py.
ROUTES = {
    None: "/feed.<fmt>",
    "topics": "/topics/<slug>/feed.<fmt>",
    "providers": "/providers/<domain>/feed.<fmt>",
}
_KINDS = {None: "all", "topics": "topic", "providers": "provider"}
# Preconditions this path leaves to Flask (If-None-Match and If-Modified-Since it handles).
_UNHANDLED = tuple(
    name
    for name in views.CONDITIONAL
    if name not in ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
)
_MAX_MEMO = 4096

StartResponse = Callable[..., object]


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

    def __init__(self, app, fallback: Callable[[dict, StartResponse], Iterable[bytes]]):
        self.app = app
        self.fallback = fallback
        self.config = app.config
        self.store = app.extensions["feedsvc.store"]
        self.cache = app.extensions["feedsvc.render_cache"]
        self.metrics = app.extensions["feedsvc.metrics"]
        self.reloader = app.extensions["feedsvc.reloader"]
        self.loader = app.extensions.get("feedsvc.loader")
        # Flask itself checks these against the Host; leave such apps to it.
        self.usable = not app.config.get("SERVER_NAME") and not app.config.get("TRUSTED_HOSTS")
        self._hosts: dict[tuple, str] = {}
        self._headers: dict[tuple, _Templates] = {}
        self._date = (0, "")

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
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
        match = _FEED_PATH.fullmatch(path)
        if match is None or environ.get("SCRIPT_NAME"):
            return None
        # The before_request hooks that keep the store fresh (idempotent, per process).
        self.reloader.ensure_running()
        if self.loader is not None:
            self.loader.ensure_started()
        params = self._params(environ.get("QUERY_STRING", ""))
        if params is None or any(name in environ for name in _UNHANDLED):
            return None
        if environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
            return None
        if "HTTP_TRANSFER_ENCODING" in environ:
            return None
        if negotiation.wants_page(environ):
            return None  # the HTML page, from Flask
        base_url = self._base_url(environ)
        if base_url is None or not self.store.ready:
            return None
        area, slug, fmt = match.groups()
        kind = _KINDS[area]
        group = self.store.snapshot.group(kind, slug or "")
        if group is None:
            return None
        config = self.config
        page = FeedPage(views.site_of(config, base_url), group, fmt, *params)
        if not page.exists:
            return None  # Flask's 404
        key = views.cache_key(group, fmt, page.limit, page.page, page.site)
        rendered = self.cache.peek(key)
        if rendered is None:
            return None

        use_gzip = views._takes_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        t = self._templates(rendered, self.store.last_modified(), use_gzip)
        inm = environ.get("HTTP_IF_NONE_MATCH")
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        if inm is None and ims is None:
            status, before, after = 200, t.validators, t.entity
        elif _unmodified(inm, ims, t.etag, t.last_modified):
            status, before, after = 304, t.not_modified, ()
        else:
            status, before, after = 200, t.conditional, ()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if logs.SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        headers = [*before, ("Date", self._now()), *after, ("X-Request-ID", request_id)]
        headers += security.ALWAYS

        route = ROUTES[area]
        self.metrics.observe_feed(route, fmt, status, started)
        if config["REQUEST_LOG"] and logs.log.isEnabledFor(logging.INFO):
            extra = {
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "cache": "hit",
                "bytes": t.length,
                "request_id": request_id,  # where RequestIdFilter would add it
            }
            # What log.info does, less its walk up the stack to find the caller.
            line = sys._getframe().f_lineno
            record = logs.log.makeRecord(
                logs.log.name, logging.INFO, __file__, line, "request", (), None, "_answer", extra
            )
            logs.log.handle(record)
        if status == 304:
            return "304 NOT MODIFIED", headers, []
        body = rendered.gzipped if use_gzip else rendered.body
        return "200 OK", headers, [] if method == "HEAD" else [body]

    @staticmethod
    def _params(query: str) -> tuple[int, int] | None:
        """(limit, page) as the views would read them, or None to leave it to Flask."""
        if not query:
            return DEFAULT_LIMIT, 1
        match = _QUERY.fullmatch(query)
        if match is None:
            return None
        first, first_value, second, second_value = match.groups()
        if first == second:
            return None  # given twice: Flask's 400
        values = {first: int(first_value)}
        if second is not None:
            values[second] = int(second_value)
        limit = values.get("limit", DEFAULT_LIMIT)
        number = values.get("page", 1)
        if not (1 <= limit <= MAX_LIMIT and 1 <= number <= MAX_PAGE):
            return None  # Flask's 400
        return limit, number

    def _base_url(self, environ: dict) -> str | None:
        base_url = self.config["BASE_URL"]
        if base_url:
            return base_url
        host = environ.get("HTTP_HOST")
        if host is None or not _SAFE_HOST.fullmatch(host):
            return None
        key = (environ.get("wsgi.url_scheme"), host, environ.get("SERVER_NAME"))
        key += (environ.get("SERVER_PORT"),)
        base_url = self._hosts.get(key)
        if base_url is None:
            if len(self._hosts) >= _MAX_MEMO:
                self._hosts.clear()
            # What views.site() takes, computed by werkzeug once per distinct host.
            base_url = self._hosts[key] = Request(environ).host_url.rstrip("/")
        return base_url

    def _templates(self, rendered: Rendered, last_modified, use_gzip: bool) -> _Templates:
        """The header lists around Date for one cached entry, as views.send() orders them.

        Remembered by what they are made of (the tag stands for the bytes), never by
        the entry itself, so the render cache alone decides how long bytes are kept.
        """
        fixed = views._fixed_headers(self.config)
        memo_key = (rendered.etag, last_modified, rendered.mimetype, use_gzip, fixed)
        templates = self._headers.get(memo_key)
        if templates is not None:
            return templates
        body = rendered.gzipped if use_gzip else rendered.body
        validators = views.validator_headers(rendered, last_modified, use_gzip, self.config)
        named = dict(validators)
        etag = ("ETag", named["ETag"])
        entity = (("Content-Type", rendered.mimetype), ("Content-Length", str(len(body))))
        # No precondition: Date before the entity headers; make_conditional adds it after;
        # a 304 drops the entity headers, Last-Modified and Content-Encoding among them.
        templates = _Templates(
            validators=validators,
            entity=entity,
            conditional=validators + entity,
            not_modified=(etag, *fixed),
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


def install(app) -> None:
    """Put the fast path in front of ``app``'s Flask dispatch (before ProxyFix wraps both)."""
    app.wsgi_app = FastPath(app, app.wsgi_app)
