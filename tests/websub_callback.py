"""A WebSub subscriber's callback for tests: records what the hub sends, answers as told."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

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
