"""The WebSub tests' world: a recording callback, a clock to step, apps with a hub.

:class:`Callback` is a subscriber's callback URL (a WSGI app a test serves on
127.0.0.1) that records what the hub sends and answers as told. :class:`Env` is an
app with the built-in hub whose leader a test runs a step at a time, with a
:class:`Clock` it advances instead of sleeping. The fixtures ``env`` (the spec's
settings) and ``stepped`` (settings of the test's choosing) make them, and
``stop_leaders`` stops every leader thread a test's apps started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest
from werkzeug.wrappers import Request, Response


@dataclass
class Received:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Callback:
    """A WSGI app for the callback URL.

    ``verify`` says how it answers a verification GET: "echo" (the challenge, as a
    subscriber that wants it), "wrong" (another body), or an HTTP status. ``deliver``
    is the status it answers content distribution with (a list: one per POST, the
    last repeated).
    """

    verify: str | int = "echo"
    deliver: list[int] = field(default_factory=lambda: [202])
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, environ, start_response):
        request = Request(environ)
        query = parse_qs(request.query_string.decode(), keep_blank_values=True)
        received = Received(
            request.method,
            request.path,
            {name: values[-1] for name, values in query.items()},
            dict(request.headers),
            request.get_data(),
        )
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        return self._answer(request, received)(environ, start_response)

    def _answer(self, request: Request, received: Received) -> Response:
        if request.method == "GET":
            if received.args.get("hub.mode") == "denied":
                return Response("ok")
            if self.verify == "echo":
                return Response(received.args.get("hub.challenge", ""))
            if self.verify == "wrong":
                return Response("not-the-challenge")
            if 300 <= int(self.verify) < 400:
                return Response("", int(self.verify), headers={"Location": "/elsewhere"})
            return Response("no", int(self.verify))
        with self._lock:
            status = self.deliver[0] if len(self.deliver) == 1 else self.deliver.pop(0)
        if 300 <= status < 400:
            return Response("", status, headers={"Location": "/elsewhere"})
        return Response("thanks", status)

    def of(self, method: str, mode: str | None = None) -> list[Received]:
        return [
            r
            for r in self.received
            if r.method == method and (mode is None or r.args.get("hub.mode") == mode)
        ]

    def wait_for(self, method: str, count: int, timeout: float = 5.0) -> list[Received]:
        """The first ``count`` requests of ``method``, waiting up to ``timeout`` for them."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.of(method)) >= count, timeout)
        return self.of(method)


BASE = "http://feeds.test"
TOPIC = BASE + "/feed.atom"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Env:
    app: object
    websub: object
    callback: Callback
    callback_url: str
    clock: Clock
    store_dir: object
    edits: int = 0

    @property
    def client(self):
        return self.app.test_client()

    def request(self, **form: str):
        return self.client.post("/websub", data=form)

    def subscribe(self, path: str = "/cb", topic: str = TOPIC, wait: bool = True, **extra: str):
        response = self.request(
            **{
                "hub.mode": "subscribe",
                "hub.topic": topic,
                "hub.callback": self.callback_url + path,
                **extra,
            }
        )
        if wait:
            assert self.websub.hub.drain(5)
        return response

    def unsubscribe(self, path: str = "/cb", topic: str = TOPIC):
        response = self.request(
            **{
                "hub.mode": "unsubscribe",
                "hub.topic": topic,
                "hub.callback": self.callback_url + path,
            }
        )
        assert self.websub.hub.drain(5)
        return response

    def subscriptions(self, topic: str = TOPIC) -> list:
        return self.websub.storage.active(topic, self.clock())

    def edit(self) -> None:
        """Add an article, reload the store, and run the leader's step."""
        self.edits += 1
        self.store_dir.add_numbered(
            100 + self.edits,
            title=f"Edit {self.edits}",
            publishedDateTime=f"2024-06-{self.edits:02d}T10:00:00Z",
        )
        self.app.extensions["feedsvc.store"].refresh()
        self.step()

    def step(self, seconds: float = 0) -> None:
        self.clock.advance(seconds)
        self.websub.leader.step()

    def deliveries(self) -> list:
        return self.callback.of("POST")


@pytest.fixture
def env(store_dir, tmp_path, serve):
    store_dir.add_numbered(1, topics=["AI"])
    clock = Clock()
    callback = Callback()
    with serve(callback) as callback_url:
        app = store_dir.app(
            BASE_URL=BASE,
            WEBSUB_HUBS="self",
            WEBSUB_DIR=str(tmp_path / "websub"),
            WEBSUB_ALLOW_PRIVATE=True,
            WEBSUB_CLOCK=clock,
            WEBSUB_LEASE_MIN=60,
            WEBSUB_LEASE_SECONDS=3600,
            WEBSUB_LEASE_MAX=7200,
        )
        websub = app.extensions["feedsvc.websub"]
        websub.leader.stop()  # this test steps the loop itself
        assert websub.leader.try_lead()
        websub.leader.step()  # the baseline: what the store holds now
        yield Env(app, websub, callback, callback_url, clock, store_dir)
        websub.leader.stop()


_APPS: list = []


@pytest.fixture(autouse=True)
def stop_leaders():
    """Stop the leader threads of the apps a test made, so none outlives it."""
    yield
    while _APPS:
        _APPS.pop().extensions["feedsvc.websub"].leader.stop()


def websub_app(store_dir, tmp_path, **config):
    store_dir.add_numbered(1, topics=["AI"])
    settings = {
        "BASE_URL": BASE,
        "WEBSUB_HUBS": "self",
        "WEBSUB_DIR": str(tmp_path / "websub"),
        "WEBSUB_ALLOW_PRIVATE": True,
        **config,
    }
    app = store_dir.app(**settings)
    _APPS.append(app)
    return app


@pytest.fixture
def stepped(store_dir, tmp_path, serve):
    """An Env like the spec tests', with settings of the test's choosing."""

    def make(callback: Callback | None = None, **config):
        callback = callback or Callback()
        server = serve(callback)
        callback_url = server.__enter__()
        opened.append(server)
        clock = Clock()
        app = websub_app(store_dir, tmp_path, WEBSUB_CLOCK=clock, **config)
        websub = app.extensions["feedsvc.websub"]
        websub.leader.stop()
        assert websub.leader.try_lead()
        websub.leader.step()
        leaders.append(websub.leader)
        return Env(app, websub, callback, callback_url, clock, store_dir)

    opened: list = []
    leaders: list = []
    yield make
    for leader in leaders:
        leader.stop()
    for server in opened:
        server.__exit__(None, None, None)


def form_of(received: Received) -> dict:
    return parse_qs(received.body.decode())


def published(hub: Callback) -> set[str]:
    """The topic URLs a hub (a Callback) was told of with hub.mode=publish."""
    return {q["hub.url"][0] for q in map(form_of, hub.of("POST")) if "hub.url" in q}


def wait(condition: Callable[[], object], timeout: float) -> bool:
    """Whether ``condition`` came true within ``timeout`` seconds (for other processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
