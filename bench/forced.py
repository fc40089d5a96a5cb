"""The CPU one client can force with uncached pages, and a normal feed's latency beside it.

Starts feedsvc under gunicorn (the packaged settings, ``--workers`` workers) on
127.0.0.1 over a generated store, then for ``--seconds`` each:

- ``quiet``: a reader alone, fetching a cached feed every 50 ms;
- ``flood``: the same reader while one client (``--threads`` connections, in its own
  process) asks for one cached feed as fast as it can: what any request flood costs;
- ``off``: the same reader while that client asks as fast as it can for random pages
  of random feeds, in every format and page size, with
  the render budget off (``FEEDSVC_RENDER_RATE=0``);
- ``on``: the same with the default render budget.

It prints the share of the machine's CPU the gunicorn workers used, the attacker's
answers by status, and the reader's median, 90th percentile and worst latency. The
attacker is on loopback, so ``FEEDSVC_LIMITS_EXEMPT`` is emptied; the reader's full
fetches are not limited (``FEEDSVC_POLL_LIMIT=0``) so that only the render budget acts.

    python bench/forced.py --articles 2000 --seconds 20
"""

from __future__ import annotations

import argparse
import collections
import http.client
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from servers import get, gunicorn, metric_total, scrape  # noqa: E402

from feedsvc.content.store import Store  # noqa: E402
from feedsvc.render.urls import FORMATS, PAGE_SIZES, feed_path  # noqa: E402


def worker_cpu(master: int) -> float:
    """CPU seconds used so far by the master's children (the gunicorn workers)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # ppid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def attack(port: int, targets: list[tuple[str, int]], stop: threading.Event, statuses) -> None:
    """Ask for random pages of random feeds as fast as one connection allows.

    With ``targets`` of one feed and one page (the ``flood`` mode) every request is a hit.
    """
    rng = random.Random(threading.get_ident())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        path, pages = rng.choice(targets)
        size = rng.choice(PAGE_SIZES) if pages else 50
        page = rng.randint(1, max(1, -(-pages // size)))
        query = "&".join(
            part
            for part in (f"limit={size}" if size != 50 else "", f"page={page}" if page > 1 else "")
            if part
        )
        try:
            conn.request("GET", path + (f"?{query}" if query else ""))
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
        except (OSError, http.client.HTTPException):
            statuses["error"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.close()


def attacker(port: int, targets: list, threads: int, seconds: float, out) -> None:
    """One client, in its own process so that it does not slow the reader's measurements."""
    stop = threading.Event()
    statuses: collections.Counter = collections.Counter()
    workers = [
        threading.Thread(target=attack, args=(port, targets, stop, statuses))
        for _ in range(threads)
    ]
    for thread in workers:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in workers:
        thread.join(15)
    out.put(dict(statuses))


def read(url: str, stop: threading.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        status, _, _ = get(url, timeout=10)
        if status == 200:
            latencies.append(time.perf_counter() - started)
        time.sleep(0.05)


def run(store: Path, mode: str, args) -> str:
    env = {"FEEDSVC_LIMITS_EXEMPT": "", "FEEDSVC_POLL_LIMIT": "0"}
    if mode == "off":
        env["FEEDSVC_RENDER_RATE"] = "0"
    snapshot = Store(str(store), workers=1).refresh()
    targets = [(feed_path(g, fmt), len(g.articles)) for g in snapshot.groups for fmt in FORMATS]
    with (
        tempfile.TemporaryDirectory() as tmp,
        gunicorn(
            store, Path(tmp) / "server.log", workers=args.workers, env=env, timeout=120
        ) as server,
    ):
        reader_url = server.url + "/feed.rss"
        get(reader_url)  # cached from here on
        stop = threading.Event()
        latencies: list[float] = []
        reader = threading.Thread(target=read, args=(reader_url, stop, latencies))
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        if mode == "flood":
            targets = [("/feed.atom", 0)]  # one cached feed: every answer a hit
        client = context.Process(
            target=attacker, args=(server.port, targets, args.threads, args.seconds, out)
        )
        cpu = worker_cpu(server.proc.pid)
        misses = metric_total(
            scrape(server.url), "feedsvc_render_cache_lookups_total", outcome="miss"
        )
        started = time.monotonic()
        reader.start()
        if mode != "quiet":
            client.start()
            statuses = out.get(timeout=args.seconds + 60)
            client.join(15)
        else:
            statuses = {}
            time.sleep(args.seconds)
        stop.set()
        reader.join(15)
        seconds = time.monotonic() - started
        used = worker_cpu(server.proc.pid) - cpu
        misses = (
            metric_total(scrape(server.url), "feedsvc_render_cache_lookups_total", outcome="miss")
            - misses
        )
    share = used / seconds / (os.cpu_count() or 1)
    lat = sorted(latencies)
    p90 = lat[int(len(lat) * 0.9)] if lat else float("nan")
    answered = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str)) or "-"
    return (
        f"{mode:>5}  workers' CPU {share:6.1%} of the machine, {misses / seconds:6.1f} renders/s"
        f"  attacker: {answered}\n"
        f"       reader: {len(lat)} fetches, median {statistics.median(lat) * 1000:.1f} ms, "
        f"p90 {p90 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--store", help="an existing store folder (else one is generated)")
    parser.add_argument("--modes", default="quiet,flood,off,on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(args.store or Path(tmp) / "store")
        if not args.store:
            subprocess.run(
                [sys.executable, str(HERE / "generate.py"), str(args.articles), str(store)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        print(
            f"{args.workers} workers, {os.cpu_count()} CPUs, {args.seconds} s per mode, store {store}"
        )
        for mode in args.modes.split(","):
            print(run(store, mode, args), flush=True)


if __name__ == "__main__":
    main()
