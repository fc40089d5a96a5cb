"""Hostile clients on loopback: sockets that send nothing, and slowloris, bounded in count and time.

Used by tests/test_slow_clients.py and bench/slowclients.py. One thread drives every
socket without blocking; a socket the server drops is opened again, as an attacker
would, so the count stays what was asked for the whole run.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_SOCKETS = 2000  # a bound on what a test or bench may ask for


@dataclass
class Attack:
    port: int
    idle: int
    slowloris: int
    # Seconds between a slowloris client's header lines.
    trickle: float = 10.0
    reopened: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _open: dict = field(default_factory=dict)  # socket -> (kind, next send time)

    def _connect(self, kind: str, selector: selectors.BaseSelector) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", self.port))
        # Slowloris starts a request at once, then adds a header line now and then.
        self._open[sock] = (kind, time.monotonic() if kind == "slowloris" else float("inf"), 0)
        selector.register(sock, selectors.EVENT_READ)

    def _drop(self, sock: socket.socket, selector: selectors.BaseSelector) -> str:
        kind = self._open.pop(sock)[0]
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(sock)
        sock.close()
        return kind

    def run(self) -> None:
        if self.idle + self.slowloris > MAX_SOCKETS:
            raise ValueError(f"at most {MAX_SOCKETS} sockets")
        selector = selectors.DefaultSelector()
        for _ in range(self.idle):
            self._connect("idle", selector)
        for _ in range(self.slowloris):
            self._connect("slowloris", selector)
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    sock = key.fileobj
                    try:
                        data = sock.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:  # dropped by the server: come back
                        self.reopened += 1
                        self._connect(self._drop(sock, selector), selector)
                now = time.monotonic()
                for sock, (kind, due, sent) in list(self._open.items()):
                    if now < due:
                        continue
                    line = b"GET / HTTP/1.1\r\nHost: x\r\n" if sent == 0 else b"X-a: b\r\n"
                    try:
                        sock.send(line)
                    except BlockingIOError:
                        continue
                    except OSError as exc:
                        if exc.errno in (errno.ENOTCONN, errno.EAGAIN):
                            continue
                        self.reopened += 1
                        self._connect(self._drop(sock, selector), selector)
                        continue
                    self._open[sock] = (kind, now + self.trickle, sent + 1)
        finally:
            for sock in list(self._open):
                self._drop(sock, selector)
            selector.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[Attack]:
        thread = threading.Thread(target=self.run, name="attack", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(10)


@dataclass
class Probes:
    """Latencies of probes, None for one that failed or timed out."""

    by_path: dict[str, list[float | None]] = field(default_factory=dict)

    def failed(self, path: str) -> int:
        return sum(1 for t in self.by_path[path] if t is None)

    def summary(self, path: str) -> str:
        times = [t for t in self.by_path[path] if t is not None]
        if not times:
            return f"{path}: {len(self.by_path[path])} probes, all failed"
        return (
            f"{path}: {len(self.by_path[path])} probes, {self.failed(path)} failed, "
            f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms"
        )


def probe(
    base_url: str, paths: list[str], seconds: float, every: float = 0.5, timeout: float = 3.0
) -> Probes:
    """GET each path every ``every`` seconds for ``seconds``; a probe fails after ``timeout``."""
    result = Probes({path: [] for path in paths})
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in paths:
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(base_url + path, timeout=timeout) as response:
                    response.read()
                    ok = response.status == 200
            except (OSError, urllib.error.URLError):
                ok = False
            result.by_path[path].append(time.perf_counter() - started if ok else None)
        time.sleep(every)
    return result
