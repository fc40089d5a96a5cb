"""What CPU share one client gets by cycling ``q=`` values, beside readers of cached feeds.

One app in this process (fast path on, as served) answers, from threads for a fixed
time each round:

- ``readers``: ``--readers`` threads polling cached feeds (the main feed and the
  largest topics, every format), as feed readers do;
- ``cycler``: one thread asking ``/feed.rss?q=A+B`` for ever-new sets of words
  that occur in the store, so that every request misses the render cache and
  forces a search and a 50-item render.

Each round runs the readers alone, then readers and cycler together twice: with
the per-client render budget off (``off``) and on at its defaults (``on``:
``RENDER_RATE`` renders a second after a burst of ``RENDER_BURST``, then 429).
Printed per mode: each side's requests per second and CPU seconds
(``time.thread_time`` of its threads), the cycler's share of the CPU spent on
requests, its answers that were renders (200) or refusals (429), and the readers'
throughput as a ratio of theirs alone. One process holds the GIL, so this is the
share of one serving worker that a cycling client takes.

    python bench/cycle.py bench/stores/10k --seconds 5 --rounds 3
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from feedsvc import create_app
from feedsvc.content.words import article_words
from feedsvc.web.clients import Budget

READER = {"REMOTE_ADDR": "198.51.100.9"}
CYCLER = {"REMOTE_ADDR": "203.0.113.7"}


def request(app: Flask, path: str, query: str = "", client: dict = READER) -> int:
    environ = EnvironBuilder(path=path, query_string=query, environ_base=client).get_environ()
    body, status, _ = run_wsgi_app(app, environ, buffered=True)
    b"".join(body)
    return int(status.split()[0])


def run(
    worker: Callable[[], None], threads: int, stop: threading.Event
) -> tuple[list[int], list[float], list[threading.Thread]]:
    """Start ``worker`` in ``threads`` threads until ``stop``: per thread, its requests and
    CPU seconds (filled in as they finish), and the threads to join."""
    counts = [0] * threads
    cpus = [0.0] * threads

    def loop(n: int) -> None:
        started = time.thread_time()
        while not stop.is_set():
            worker()
            counts[n] += 1
        cpus[n] = time.thread_time() - started

    pool = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    return counts, cpus, pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()
    app = create_app(
        {
            "CONTENT_DIR": args.folder,
            "RELOAD_INTERVAL": 0,
            "WATCH": False,
            "REQUEST_LOG": False,
            "LIMITS_EXEMPT": "",  # the clients below are told apart by address
            "POLL_LIMIT": 0,  # the readers poll far faster than any real one: not counted
        }
    )
    limits = app.extensions["feedsvc.limits"]
    rate, burst = app.config["RENDER_RATE"], app.config["RENDER_BURST"]
    snapshot = app.extensions["feedsvc.store"].snapshot
    newest = snapshot.articles[0].published + timedelta(days=1)
    app.config["CLOCK"] = lambda: newest.timestamp()
    topics = sorted(snapshot.topics.values(), key=lambda g: -len(g.articles))[:5]
    polled = [f"/feed.{fmt}" for fmt in ("rss", "atom", "json")]
    polled += [f"/topics/{t.slug}/feed.{fmt}" for t in topics for fmt in ("rss", "atom", "json")]
    for path in polled:
        assert request(app, path) == 200  # cached from now on
    vocabulary = sorted({w for a in snapshot.articles[:2000] for w in article_words(a)})
    # Pairs, then threes, then fours: more than any run asks for, never one twice.
    combos: Iterator[tuple[str, ...]] = itertools.chain.from_iterable(
        itertools.combinations(vocabulary, size) for size in (2, 3, 4)
    )
    cycle = itertools.cycle(polled)
    lock = threading.Lock()

    def read() -> None:
        with lock:
            path = next(cycle)
        request(app, path)

    statuses: dict[int, int] = {}

    def search() -> None:
        words = next(combos)  # ever new, so never in the render cache
        status = request(app, "/feed.rss", "q=" + "+".join(words), CYCLER)
        statuses[status] = statuses.get(status, 0) + 1

    assert request(app, "/feed.rss", "q=up+warm") == 200  # builds the word index once
    rows: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    print(
        f"{datetime.now(UTC):%H:%M} UTC, {len(snapshot.articles)} articles, "
        f"{args.readers} reader threads, {args.seconds:.0f} s per run, "
        f"budget on: {rate}/s after {burst}"
    )
    for _ in range(args.rounds):
        stop = threading.Event()
        counts, _cpus, pool = run(read, args.readers, stop)
        time.sleep(args.seconds)
        stop.set()
        for thread in pool:
            thread.join()
        alone = sum(counts) / args.seconds
        for mode in rows:
            # A fresh budget for each mode: what the cycler spent before does not count.
            limits.renders = Budget(rate if mode == "on" else 0, burst)
            statuses.clear()
            stop = threading.Event()
            reader_counts, reader_cpus, readers = run(read, args.readers, stop)
            cycler_counts, cycler_cpus, cycler = run(search, 1, stop)
            time.sleep(args.seconds)
            stop.set()
            for thread in (*readers, *cycler):
                thread.join()
            reader_cpu, cycler_cpu = sum(reader_cpus), sum(cycler_cpus)
            rows[mode].append(
                {
                    "readers alone req/s": alone,
                    "readers req/s": sum(reader_counts) / args.seconds,
                    "cycler req/s": sum(cycler_counts) / args.seconds,
                    "cycler renders (200)": statuses.get(200, 0),
                    "cycler refused (429)": statuses.get(429, 0),
                    "readers cpu s": reader_cpu,
                    "cycler cpu s": cycler_cpu,
                    "cycler share": cycler_cpu / (cycler_cpu + reader_cpu),
                    "readers vs alone": sum(reader_counts) / args.seconds / alone,
                }
            )
    for mode, done in rows.items():
        print(f"budget {mode}:")
        for name in done[0]:
            values = [row[name] for row in done]
            listed = ", ".join(f"{v:.2f}" for v in values)
            print(f"{name:>22} {statistics.median(values):10.2f}   ({listed})")


if __name__ == "__main__":
    main()
