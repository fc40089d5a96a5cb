"""What one client may make the service do, with budgets from :mod:`feedsvc.web.clients`.

* **Uncached renders.** A feed or page already in the render cache costs a fraction
  of a millisecond; rendering one costs tens. Each client may cause
  ``RENDER_RATE`` renders a second (a burst of ``RENDER_BURST``); past that it gets
  429 with Retry-After until its budget refills. Answers from the cache are free.
* **Unconditional polling.** A reader that fetches one feed in full again and again,
  much faster than ``MAX_AGE`` says it changes, gets 429 with Retry-After after
  ``POLL_LIMIT`` such fetches per ``MAX_AGE`` seconds. Conditional requests
  (If-None-Match, If-Modified-Since) never count: a 304 is cheap, and that is how a
  reader should poll.

A client is its address (its /64 for IPv6), as forwarded by ``PROXY_HOPS`` trusted
proxies; addresses in ``LIMITS_EXEMPT`` (loopback by default: a proxy on the same
host without ``PROXY_HOPS`` would otherwise put every reader in one budget) are never
limited. Budgets are per worker process. Setting a rate to 0 turns its limit off.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, NoReturn
from wsgiref.types import WSGIEnvironment

from flask import Flask, current_app, request
from werkzeug.exceptions import TooManyRequests

from ..render.cache import Rendered
from .clients import Budget, client_key, parse_networks, retry_after

# The fast path leaves a refused poll to Flask with the wait it computed, so the
# request is counted once.
POLL_WAIT = "feedsvc.poll_wait"


class Limits:
    def __init__(self, config: Mapping[str, Any], clock: Callable[[], float] = time.monotonic):
        self.renders = Budget(config["RENDER_RATE"], config["RENDER_BURST"], clock=clock)
        per_max_age, max_age = config["POLL_LIMIT"], config["MAX_AGE"]
        rate = per_max_age / max_age if per_max_age > 0 and max_age > 0 else 0.0
        self.polls = Budget(rate, per_max_age, clock=clock)
        self.exempt = parse_networks(config["LIMITS_EXEMPT"], "LIMITS_EXEMPT")
        self._exempt_memo: dict[str, bool] = {}

    def client(self, environ: dict) -> str | None:
        """The budget key of the request's client, or None if it is exempt."""
        address = environ.get("REMOTE_ADDR") or ""
        exempt = self._exempt_memo.get(address)
        if exempt is None:
            try:
                ip = ipaddress.ip_address(address.split("%")[0])
                exempt = any(ip in network for network in self.exempt)
            except ValueError:
                exempt = False
            if len(self._exempt_memo) > 4096:
                self._exempt_memo.clear()
            self._exempt_memo[address] = exempt
        return None if exempt else client_key(address)

    def poll_wait(self, environ: dict) -> float:
        """Seconds this unconditional GET of a feed must wait (0: answer it)."""
        if not self.polls.enabled or environ.get("REQUEST_METHOD") != "GET":
            return 0.0
        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
            return 0.0
        client = self.client(environ)
        if client is None:
            return 0.0
        url = (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        return self.polls.take((client, url))

    def render_wait(self, environ: dict) -> float:
        """Seconds before this client may cause another render (0: now)."""
        if not self.renders.enabled:
            return 0.0
        client = self.client(environ)
        return 0.0 if client is None else self.renders.take(client)


def limits_of(app: Flask) -> Limits:
    return app.extensions["feedsvc.limits"]


class _TooMany(TooManyRequests):
    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict | None = None
    ) -> list[tuple[str, str]]:
        # An answer for this client at this moment: no cache may keep it for others.
        return [*super().get_headers(environ, scope), ("Cache-Control", "no-store")]


def too_many(wait: float, what: str) -> NoReturn:
    """Answer 429 with the seconds to wait."""
    raise _TooMany(what, retry_after=int(retry_after(wait)))


def check_poll() -> None:
    """429 for a client polling this feed in full far faster than it changes."""
    environ = request.environ
    wait = environ.pop(POLL_WAIT, None)
    if wait is None:
        wait = limits_of(current_app).poll_wait(environ)
    if wait:
        too_many(wait, "This feed was fetched in full too often; send If-None-Match.")


def cached(key: Hashable, render: Callable[[], Rendered]) -> tuple[Rendered, bool]:
    """The render cache's entry for ``key``, rendered if missing and the client's render
    budget allows it (else a 429); (entry, was_hit)."""
    cache = current_app.extensions["feedsvc.render_cache"]
    entry = cache.peek(key)
    if entry is not None:
        return entry, True
    wait = limits_of(current_app).render_wait(request.environ)
    if wait:
        too_many(wait, "Too many uncached pages asked for; try again later.")
    return cache.get(key, render)


def init_app(app: Flask, clock: Callable[[], float] = time.monotonic) -> Limits:
    limits = Limits(app.config, clock)
    app.extensions["feedsvc.limits"] = limits
    return limits
