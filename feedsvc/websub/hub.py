"""The built-in hub's endpoint: subscription, unsubscription and publish requests.

Sections 5.1 to 5.3 of WebSub: a request that can be acted on gets ``202 Accepted``
at once, whatever verification later finds; the hub then verifies the
subscriber's intent in the background with a ``GET`` to the callback (its own
query kept) carrying a random, single-use ``hub.challenge``, and keeps the
subscription only when the callback answers 2xx with exactly that challenge.
Anything the hub will not act on is a 4xx with a plain-text reason, before any
request to the callback is made.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.datastructures import MultiDict

from ..content.store import Store
from ..render import urls
from ..web.clients import Budget, client_key, retry_after
from .metrics import WebSubMetrics
from .safety import Client, Refused, host_refused
from .settings import WebSubSettings
from .storage import Storage
from .topics import Topics

log = logging.getLogger("feedsvc.websub")

bp = Blueprint("websub", __name__)

MAX_REQUEST_BYTES = 16 * 1024  # a subscription request is a few hundred bytes
MAX_URL = 2048
MAX_SECRET_BYTES = 200  # section 5.1: hub.secret MUST be less than 200 bytes
MAX_PUBLISH_URLS = 50
MAX_PENDING = 256  # verifications waiting in one process; past that: 503 and Retry-After
VERIFY_THREADS = 4
_LEASE = re.compile(r"[0-9]{1,10}")


class Rejected(Exception):
    """A request the hub will not act on: the status and the reason, in plain text."""

    def __init__(self, status: int, reason: str, retry_after: str | int | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Intent:
    """A subscription or unsubscription request that passed the checks."""

    mode: str
    topic: str
    callback: str
    host: str
    secret: str | None
    lease: int


class Hub:
    """Checks requests, verifies intent, and keeps what is verified."""

    def __init__(
        self,
        settings: WebSubSettings,
        storage: Storage,
        topics: Topics,
        store: Store,
        client: Client,
        metrics: WebSubMetrics,
        clock: Callable[[], float],
        on_publish: Callable[[], None] = lambda: None,
    ):
        self.settings = settings
        self.storage = storage
        self.topics = topics
        self.store = store
        self.client = client
        self.metrics = metrics
        self.clock = clock
        self.on_publish = on_publish
        per_minute = settings.requests_per_minute
        self.rate = Budget(per_minute / 60.0, per_minute)
        self._pid = 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    # --- the request ---------------------------------------------------------------

    def answer(self, form: MultiDict, client: str) -> tuple[int, str]:
        """(status, plain-text reason) for a request to the hub; Rejected for a 4xx."""
        mode = _one(form, "hub.mode")
        if mode not in ("subscribe", "unsubscribe", "publish"):
            raise Rejected(400, "hub.mode must be subscribe, unsubscribe or publish")
        if not self.store.ready:
            raise Rejected(503, "the hub is starting; try again shortly", 5)
        wait_for = self.rate.take(client_key(client))
        if wait_for:
            raise Rejected(429, "too many requests from this address", retry_after(wait_for))
        if mode == "publish":
            return self._publish(form)
        intent = self._intent(mode, form)
        self._start(intent)
        return 202, f"Accepted: the hub will now verify this {mode} request with the callback"

    def _intent(self, mode: str, form: MultiDict) -> Intent:
        callback = _one(form, "hub.callback")
        topic = _one(form, "hub.topic")
        if callback is None:
            raise Rejected(400, "hub.callback is missing")
        if topic is None:
            raise Rejected(400, "hub.topic is missing")
        host = _callback_host(callback)
        reason = host_refused(host, self.settings.allow_private)
        if reason:
            raise Rejected(400, f"hub.callback: {reason}")
        found = self.topics.find(topic, self.store.snapshot)
        if isinstance(found, str):
            raise Rejected(400, f"hub.topic: {found}")
        secret = _one(form, "hub.secret") or None
        if secret is not None and len(secret.encode("utf-8")) >= MAX_SECRET_BYTES:
            raise Rejected(400, f"hub.secret must be under {MAX_SECRET_BYTES} bytes")
        asked = _one(form, "hub.lease_seconds")
        if asked is not None and (not _LEASE.fullmatch(asked) or int(asked) == 0):
            raise Rejected(400, "hub.lease_seconds must be a whole number of seconds above 0")
        lease = self.settings.lease(int(asked) if asked else None)
        known = self.storage.find(topic, callback)
        if mode == "subscribe":
            if known is None and self.storage.count_host(host) >= self.settings.callbacks_per_host:
                raise Rejected(403, f"too many subscriptions for callbacks at {host}")
        elif known is None:
            raise Rejected(404, "no subscription of this callback to this topic")
        return Intent(mode, topic, callback, host, secret, lease)

    def _publish(self, form: MultiDict) -> tuple[int, str]:
        # hub.url is what publishers send (PubSubHubbub 0.4); some send hub.topic.
        urls = form.getlist("hub.url") or form.getlist("hub.topic")
        if not urls:
            raise Rejected(400, "hub.url is missing")
        if len(urls) > MAX_PUBLISH_URLS:
            raise Rejected(400, f"at most {MAX_PUBLISH_URLS} hub.url values per request")
        snapshot = self.store.snapshot
        for url in urls:
            found = self.topics.find(url, snapshot)
            if isinstance(found, str):
                raise Rejected(400, f"hub.url {url}: {found}")
        now = self.clock()
        for url in urls:
            self.storage.ask_publish(url, now)
        self.on_publish()
        return 202, "Accepted: the hub will check these topics for changes"

    # --- verification of intent (5.3), off the request ------------------------------

    def _start(self, intent: Intent) -> None:
        with self._lock:
            if self._pid != os.getpid():  # threads do not cross fork: a pool per process
                self._pid, self._pool, self._pending = os.getpid(), None, set()
            if len(self._pending) >= MAX_PENDING:
                # Not the client's doing, so not a 4xx: the hub's own load, for a while.
                raise Rejected(503, "the hub is busy verifying other requests", 2)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="websub-verify")
            future = self._pool.submit(self.verify, intent)
            self._pending.add(future)
        future.add_done_callback(self._finished)

    def _finished(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float) -> bool:
        """Wait until the verifications started so far are done (tests, shutdown)."""
        with self._lock:
            pending = list(self._pending)
        done, not_done = wait(pending, timeout)
        return not not_done

    def verify(self, intent: Intent) -> str:
        """Verify one request with its callback and keep the result; the outcome."""
        outcome = self._verify(intent)
        self.metrics.verifications.labels(intent.mode, outcome).inc()
        log.info(
            "websub verification",
            extra={"mode": intent.mode, "topic": intent.topic, "outcome": outcome},
        )
        return outcome

    def _verify(self, intent: Intent) -> str:
        if intent.mode == "subscribe" and isinstance(
            self.topics.find(intent.topic, self.store.snapshot), str
        ):
            return self._deny(intent, "the topic no longer exists")
        challenge = secrets.token_urlsafe(32)  # fresh for every verification, never reused
        params = {"hub.mode": intent.mode, "hub.topic": intent.topic, "hub.challenge": challenge}
        if intent.mode == "subscribe":
            params["hub.lease_seconds"] = str(intent.lease)
        try:
            # One byte more than the challenge: a longer body is no match either.
            answer = self.client.request(
                "GET", _with_query(intent.callback, params), read=len(challenge) + 1
            )
        except Refused as exc:
            log.warning("websub callback refused: %s", exc)
            return "refused"
        except (OSError, HTTPException) as exc:
            log.info("websub verification failed: %s", exc)
            return "failed"
        # 5.3.1: only a 2xx whose body is the challenge confirms; 3xx, 4xx and 5xx do not.
        if not 200 <= answer.status < 300 or answer.body != challenge.encode():
            return "failed"
        if intent.mode == "unsubscribe":
            self.storage.unsubscribe(intent.topic, intent.callback)
            self._count()
            return "verified"
        kept = self.storage.subscribe(
            intent.topic,
            intent.callback,
            intent.host,
            intent.secret,
            intent.lease,
            self.clock(),
            self.settings.callbacks_per_host,
        )
        if not kept:
            return self._deny(intent, f"too many subscriptions for callbacks at {intent.host}")
        self._count()
        return "verified"

    def _count(self) -> None:
        self.metrics.subscriptions.set(self.storage.count(self.clock()))

    def _deny(self, intent: Intent, reason: str) -> str:
        """5.2: tell the callback the subscription was not accepted, and why."""
        params = {"hub.mode": "denied", "hub.topic": intent.topic, "hub.reason": reason}
        try:
            self.client.request("GET", _with_query(intent.callback, params))
        except (Refused, OSError, HTTPException) as exc:
            log.info("websub denial not delivered: %s", exc)
        return "denied"


def _one(form: MultiDict, name: str) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise Rejected(400, f"{name} may be given only once")
    if values and len(values[0]) > MAX_URL:
        raise Rejected(400, f"{name} is longer than {MAX_URL} characters")
    return values[0] if values else None


def _callback_host(callback: str) -> str:
    try:
        parts = urlsplit(callback)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise Rejected(400, f"hub.callback is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise Rejected(400, "hub.callback must be an absolute http or https URL")
    if parts.fragment or "#" in callback:
        raise Rejected(400, "hub.callback must not have a fragment")
    if parts.username is not None or parts.password is not None:
        raise Rejected(400, "hub.callback must not carry a user name or password")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in callback):
        raise Rejected(400, "hub.callback must not contain spaces or control characters")
    return host


def _with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added after the query it already has (5.1.1)."""
    return (
        url
        + ("&" if urlsplit(url).query else ("" if url.endswith("?") else "?"))
        + urlencode(params)
    )


def endpoint() -> Response:
    websub = current_app.extensions.get("feedsvc.websub")
    hub: Hub | None = websub.hub if websub is not None else None
    if hub is None:
        abort(404)  # WebSub off, or only external hubs: as if the route were not there
    if request.method != "POST":
        abort(405, valid_methods=["POST"], description="the hub takes POST requests")
    request.max_content_length = MAX_REQUEST_BYTES
    metrics = hub.metrics
    mode = "unknown"
    try:
        mode = _mode_label(request.form.get("hub.mode", ""))
        status, text = hub.answer(request.form, request.remote_addr or "")
        headers: dict[str, str] = {}
    except Rejected as rejected:
        status, text = rejected.status, rejected.reason
        headers = {"Retry-After": str(rejected.retry_after)} if rejected.retry_after else {}
    metrics.requests.labels(mode, str(status)).inc()
    response = Response(text + "\n", status, headers=headers, mimetype="text/plain")
    response.cache_control.no_store = True
    return response


# GET too, so that without a hub it is a 404 like any unknown path, not a 405.
bp.add_url_rule(urls.HUB.rule, "endpoint", endpoint, methods=["GET", "POST"])


def _mode_label(mode: str) -> str:
    # A fixed set, so a prober cannot grow a label per value sent.
    return mode if mode in ("subscribe", "unsubscribe", "publish") else "other"
