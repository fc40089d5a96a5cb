"""WebSub push: from an article file's write to subscribers holding the new feed.

Starts feedsvc under gunicorn (``--workers`` workers, its own hub, ``self``) on a
temporary store, and a subscriber on 127.0.0.1 in this process that answers
verifications and notes when each callback receives a feed containing a marker.

1. ``latency``: one subscriber of ``/feed.atom``; ``--edits`` times, an article
   file is written with a new title and the time until the subscriber holds a
   feed with that title is taken (median and p99).
   The same edits also go to an external hub (another path of that server, told
   ``hub.mode=publish``): the time until it hears of ``/feed.atom``.
2. ``fan-out``: ``--subscribers`` subscribers of ``/feed.atom`` (subscribed and
   verified first); one edit, and the time until every one of them holds the new
   feed; the workers' resident memory before and after.

    python bench/websub.py --edits 20 --subscribers 1000
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import servers

from feedsvc.content.frontmatter import dump as front_matter

BASE = "http://feeds.bench"  # the topics' public origin; requests go to gunicorn's port
TOPIC = BASE + "/feed.atom"


class Store:
    """A store folder the bench writes articles into, one file each."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True)

    def add(self, n: int, published: str, title: str | None = None) -> None:
        data = {
            "title": title or f"Article {n}",
            "excerpt": f"A short excerpt of article {n}.",
            "publishedDateTime": published,
            "webUrl": f"https://n.example.com/{n}",
            "type": "article",
            "published": True,
            "provider": {"name": "Example News", "domain": "news.example.com"},
            "topics": ["AI"],
            "images": [{"url": f"https://cdn.example.com/{n}.jpg", "width": 640, "height": 360}],
        }
        (self.root / f"{n}.md").write_text(front_matter(data), encoding="utf-8")


class Subscribers:
    """Callbacks /s/<n> on one server: echo challenges, note when a marker arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, dict[int, float]] = {}  # marker -> callback -> time
        self.verified = 0
        self.published: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.markers: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                body = query.get("hub.challenge", [""])[0].encode()
                if query.get("hub.mode") == ["subscribe"]:
                    with owner.changed:
                        owner.verified += 1
                        owner.changed.notify_all()
                self._answer(200, body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                now = time.perf_counter()
                if self.path == "/hub":  # an external hub, told hub.mode=publish
                    with owner.changed:
                        owner.published.append((now, parse_qs(body.decode())))
                        owner.changed.notify_all()
                    self._answer(204, b"")
                    return
                number = int(self.path.rsplit("/", 1)[1])
                with owner.changed:
                    for marker in owner.markers:
                        if marker.encode() in body:
                            owner.arrived.setdefault(marker, {}).setdefault(number, now)
                    owner.changed.notify_all()
                self._answer(204, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # the hub opens dozens of connections at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def expect(self, marker: str) -> None:
        with self.lock:
            self.markers.append(marker)

    def wait(self, marker: str, count: int, timeout: float) -> dict[int, float]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.arrived.get(marker, {})) >= count, timeout)
            return dict(self.arrived.get(marker, {}))

    def wait_published(self, url: str, after: float, timeout: float) -> float | None:
        """When the external hub was first told of ``url`` after ``after``."""

        def told() -> float | None:
            return next(
                (t for t, form in self.published if t > after and url in form.get("hub.url", [])),
                None,
            )

        with self.changed:
            self.changed.wait_for(lambda: told() is not None, timeout)
            return told()

    def wait_verified(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.verified >= count, timeout)


def subscribe(server_url: str, callbacks: list[str]) -> None:
    parts = urlsplit(server_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    for callback in callbacks:
        body = urlencode({"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback})
        while True:
            connection.request(
                "POST",
                "/websub",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = connection.getresponse()
            response.read()
            if response.status not in (429, 503):
                break
            time.sleep(0.2)  # the hub is verifying the ones before; a polite client waits
        if response.status != 202:
            raise SystemExit(f"subscription refused: {response.status}")
    connection.close()


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="feedsvc-bench-websub-"))
    store = Store(scratch / "store")
    for n in range(args.articles):
        store.add(n, f"2024-01-01T{n % 24:02d}:{n % 60:02d}:00Z")
    subscribers = Subscribers()
    env = {
        "FEEDSVC_BASE_URL": BASE,
        "FEEDSVC_WEBSUB_HUBS": f"self,{subscribers.url}/hub",
        "FEEDSVC_WEBSUB_DIR": str(scratch / "websub"),
        "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "true",
        "FEEDSVC_WEBSUB_CALLBACKS_PER_HOST": str(args.subscribers + 10),
        "FEEDSVC_WEBSUB_REQUESTS_PER_MINUTE": "1000000",
        "FEEDSVC_REQUEST_LOG": "false",
        "GUNICORN_LOGLEVEL": "warning",
    }
    log = scratch / "gunicorn.log"
    with servers.gunicorn(store.root, log, workers=args.workers, env=env, timeout=60) as server:
        servers.get(server.url + "/feed.atom")  # starts each worker's machinery it reaches
        subscribe(server.url, [subscribers.url + "/s/0"])
        if not subscribers.wait_verified(1, 10):
            raise SystemExit("the first subscription was not verified")
        time.sleep(1.0)  # the leader is elected and has its baseline

        served, notified = [], []
        for n in range(args.edits):
            marker = f"Bench edit {n} {time.time_ns()}"
            subscribers.expect(marker)
            wrote = time.perf_counter()
            store.add(1_000_000 + n, f"2025-01-01T00:{n % 60:02d}:00Z", title=marker)
            arrived = subscribers.wait(marker, 1, 30)
            if 0 not in arrived:
                raise SystemExit(f"edit {n} never reached the subscriber")
            served.append(arrived[0] - wrote)
            told = subscribers.wait_published(TOPIC, wrote, 10)
            if told is None:
                raise SystemExit(f"the external hub never heard of edit {n}")
            notified.append(told - wrote)
            time.sleep(0.3)
        for name, times in (("subscriber holds it", served), ("external hub told", notified)):
            print(
                f"{name} over {len(times)} edits: median {statistics.median(times):.3f} s, "
                f"p99 {percentile(times, 0.99):.3f} s, min {min(times):.3f} s"
            )

        callbacks = [f"{subscribers.url}/s/{n}" for n in range(1, args.subscribers)]
        started = time.perf_counter()
        subscribe(server.url, callbacks)
        if not subscribers.wait_verified(args.subscribers, 120):
            raise SystemExit(f"only {subscribers.verified} subscriptions verified")
        print(
            f"{args.subscribers} subscriptions made and verified in "
            f"{time.perf_counter() - started:.1f} s"
        )
        time.sleep(1.0)
        pids = workers_of(server.proc.pid)
        before = rss_kib(pids)
        marker = f"Fan-out edit {time.time_ns()}"
        subscribers.expect(marker)
        wrote = time.perf_counter()
        store.add(2_000_000, "2025-02-01T00:00:00Z", title=marker)
        arrived = subscribers.wait(marker, args.subscribers, 120)
        after = rss_kib(pids)
        times = sorted(t - wrote for t in arrived.values())
        print(
            f"fan-out: {len(arrived)}/{args.subscribers} delivered; first {times[0]:.3f} s, "
            f"median {statistics.median(times):.3f} s, all {times[-1]:.3f} s after the write"
        )
        print(
            f"workers' RSS: {before // 1024} MiB before, {after // 1024} MiB after "
            f"({len(pids)} workers)"
        )
        status, _, body = servers.get(server.url + "/metrics")
        for line in body.decode().splitlines():
            if line.startswith("feedsvc_websub_deliveries_total"):
                print(line)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
