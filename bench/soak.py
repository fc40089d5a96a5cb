"""Soak test: feedsvc under gunicorn, under load, while its store is churned.

Run by hand (it takes a minute; see docs/reliability.md)::

    .venv/bin/python bench/soak.py                      # 60 s, 64 connections
    .venv/bin/python bench/soak.py --seconds 10 --connections 16

What it does, all on 127.0.0.1:

1. writes a store of valid articles to a temporary folder and starts gunicorn on it
   with feedsvc's own settings (``feedsvc.gunicorn_conf``);
2. drives it with ``--connections`` keep-alive connections (processes × threads),
   each request a random feed (everything, topics, providers; RSS, Atom, JSON;
   limits, conditional requests, unknown topics, bad parameters), and parses every
   200 body with lxml or json;
3. meanwhile a second process adds, edits, truncates, corrupts (with the hostile
   fixtures and random bytes), restores and deletes article files;
4. a probe polls the JSON feed and notes when each edit first shows;
5. at the end waits two reload intervals and compares the feed with the files that
   are valid then.

It prints the numbers and exits 1 if any must-be-zero number is not zero.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import servers
from lxml import etree

from feedsvc.content.frontmatter import dump as front_matter

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
TOPICS = ["AI", "Computer Vision", "Robotics", "C++", "C", "Privacy", "Chips", "Space", "Climate"]
PROVIDERS = ["engadget.com", "theverge.com", "wired.com", "arstechnica.com", "example.org"]
HOST = "127.0.0.1"


# --- the store ---------------------------------------------------------------------


def article_text(n: int, version: int) -> str:
    rng = random.Random(n)
    domain = rng.choice(PROVIDERS)
    data = {
        "title": f"Article {n} version {version}",
        "excerpt": f"Excerpt of article {n}, version {version}.",
        "publishedDateTime": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
        "webUrl": f"https://{domain}/story/{n}",
        "published": True,
        "provider": {"name": domain.split(".")[0].title(), "domain": domain},
        "topics": rng.sample(TOPICS, 2),
        "images": [{"url": f"https://cdn.{domain}/{n}.jpg", "width": 640, "height": 360}],
        "secured": "c2VjcmV0LXBheWxvYWQ=;bm9uY2U=",
    }
    return front_matter(data) + "Body.\n"


def corrupt_payloads() -> list[bytes]:
    """Hostile fixtures that are skipped, plus some random bytes."""
    payloads = [os.urandom(300), b"---\ntitle: [unclosed\n---\n", b"", b"\x00" * 64]
    for case in sorted(HOSTILE.glob("*.txt")):
        expect = json.loads(case.with_suffix(".expect.json").read_text())
        if expect["outcome"] == "skipped" and "same webUrl" not in expect["reason"]:
            payloads.append(case.read_bytes())
    return payloads


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def churn(store: Path, initial: int, deadline: float, edits, result, seed: int) -> None:
    """Change the store until ``deadline``; report edits on ``edits`` and the end state on ``result``."""
    rng = random.Random(seed)
    payloads = corrupt_payloads()
    # n -> (version, valid); a file's path and URL follow from n.
    state: dict[int, tuple[int, bool]] = {n: (0, True) for n in range(initial)}
    next_n = initial
    counts: collections.Counter = collections.Counter()

    def path(n: int) -> Path:
        return store / f"folder{n % 7}" / f"article-{n}.txt"

    while time.time() < deadline:
        action = rng.choices(
            ["add", "edit", "truncate", "corrupt", "restore", "delete", "replace"],
            weights=[10, 30, 10, 10, 10, 8, 10],
        )[0]
        if action == "add" or not state:
            if len(state) < 400:
                n, next_n = next_n, next_n + 1
                write(path(n), article_text(n, 0).encode())
                state[n] = (0, True)
                counts["add"] += 1
        else:
            n = rng.choice(list(state))
            version, valid = state[n]
            if action in ("edit", "restore"):
                version += 1
                write(path(n), article_text(n, version).encode())
                state[n] = (version, True)
                edits.put((n, f"Article {n} version {version}", time.time()))
            elif action == "replace":  # an editor's save: write aside, then rename over
                version += 1
                tmp = path(n).with_name(f".article-{n}.txt.tmp")
                write(tmp, article_text(n, version).encode())
                os.replace(tmp, path(n))
                state[n] = (version, True)
                edits.put((n, f"Article {n} version {version}", time.time()))
            elif action == "truncate":
                data = path(n).read_bytes()
                with open(path(n), "r+b") as handle:
                    handle.truncate(rng.randrange(max(1, len(data) // 2)))
                state[n] = (version, False)
            elif action == "corrupt":
                write(path(n), rng.choice(payloads))
                state[n] = (version, False)
            elif action == "delete":
                path(n).unlink()
                del state[n]
            counts[action] += 1
        time.sleep(rng.uniform(0, 0.01))
    result.put((state, dict(counts)))


# --- the load ----------------------------------------------------------------------


def request_paths() -> list[str]:
    slugs = ["ai", "computer-vision", "robotics", "c-plus-plus", "c", "privacy", "chips"]
    paths = []
    for fmt in ("rss", "atom", "json"):
        paths += [f"/feed.{fmt}", f"/feed.{fmt}?limit=500", f"/feed.{fmt}?limit=5&page=2"]
        paths += [f"/topics/{slug}/feed.{fmt}" for slug in slugs]
        paths += [f"/providers/{domain}/feed.{fmt}" for domain in PROVIDERS]
        paths += [f"/topics/no-such-topic/feed.{fmt}", f"/feed.{fmt}?limit=0"]
    return paths + ["/topics/../../etc/passwd", "/feed.xml"]


def check_body(path: str, body: bytes) -> bool:
    """True if a 200 body parses as what its path promises."""
    fmt = path.split("?")[0].rsplit(".", 1)[-1]
    try:
        if fmt == "json":
            feed = json.loads(body)
            return feed["version"].startswith("https://jsonfeed.org/") and "items" in feed
        root = etree.fromstring(body)
        return root.tag in ("rss", "{http://www.w3.org/2005/Atom}feed")
    except Exception:  # noqa: BLE001 - any failure to parse is what is being counted
        return False


def load_worker(port: int, threads: int, deadline: float, out, seed: int) -> None:
    """One process of the load generator: ``threads`` keep-alive connections."""
    paths = request_paths()
    lock = threading.Lock()
    totals: collections.Counter = collections.Counter()
    failures: list[str] = []

    def run(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        etags: dict[str, str] = {}
        local: collections.Counter = collections.Counter()
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.time() < deadline:
            path = rng.choice(paths)
            headers = {"Accept-Encoding": "identity"}
            if path in etags and rng.random() < 0.3:
                headers["If-None-Match"] = etags[path]
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                # gunicorn closes idle keep-alive connections; reconnect and go on.
                local["reconnects"] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            local[f"status {response.status}"] += 1
            local["requests"] += 1
            if response.status == 200:
                if response.getheader("ETag"):
                    etags[path] = response.getheader("ETag")
                if not check_body(path, body):
                    local["bad bodies"] += 1
                    with lock:
                        failures.append(f"{path}: {body[:120]!r}")
                if b"c2VjcmV0" in body or b"secured" in body:
                    local["secret leaks"] += 1
        conn.close()
        with lock:
            totals.update(local)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((dict(totals), failures[:5]))


def feed_items(port: int) -> dict[str, str]:
    """url -> title of everything the service serves now (a new connection: any worker)."""
    items: dict[str, str] = {}
    page = 1
    while True:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.request("GET", f"/feed.json?limit=500&page={page}")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200:
            return items
        feed = json.loads(body)
        items.update({item["url"]: item["title"] for item in feed["items"]})
        if "next_url" not in feed:
            return items
        page += 1


def probe(port: int, edits, stop: threading.Event, latencies: list[float]) -> None:
    """Note how long each edit takes to show in the feed."""
    pending: dict[int, tuple[str, float]] = {}
    while not stop.is_set():
        with contextlib.suppress(Exception):
            while True:
                n, title, written = edits.get_nowait()
                pending[n] = (title, written)  # a later edit supersedes an earlier one
        if pending:
            try:
                served = set(feed_items(port).values())
            except (OSError, http.client.HTTPException, ValueError):
                served = set()
            now = time.time()
            for n, (title, written) in list(pending.items()):
                if title in served:
                    latencies.append(now - written)
                    del pending[n]
        time.sleep(0.05)


WRK_SCRIPT = """
local paths = {%s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) fivexx = 0 end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status, headers, body) if status >= 500 then fivexx = fivexx + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("fivexx") end
  io.write(string.format("wrk 5xx: %%d\\n", total))
end
"""


def start_wrk(port: int, connections: int, seconds: float, work: Path) -> subprocess.Popen:
    """wrk beside the Python client, for raw request rate; it counts 5xx itself."""
    script = work / "soak.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in request_paths()))
    argv = ["wrk", f"-c{connections}", f"-t{min(4, connections)}", f"-d{int(seconds)}s"]
    argv += ["-s", str(script), f"http://{HOST}:{port}/"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


# --- the run -----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--processes", type=int, default=4, help="load generator processes")
    parser.add_argument("--articles", type=int, default=200, help="articles at the start")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--reload", type=float, default=2.0, help="FEEDSVC_RELOAD_INTERVAL")
    parser.add_argument(
        "--wrk", type=int, default=0, help="also run wrk with this many connections"
    )
    parser.add_argument("--keep", action="store_true", help="keep the store and the log")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="feedsvc-soak-"))
    store, log = work / "store", work / "gunicorn.log"
    for n in range(args.articles):
        write(store / f"folder{n % 7}" / f"article-{n}.txt", article_text(n, 0).encode())
    env = {"GUNICORN_THREADS": str(args.threads), "FEEDSVC_RELOAD_INTERVAL": str(args.reload)}
    with servers.gunicorn(store, log, workers=args.workers, env=env, timeout=30) as server:
        port = server.port
        ctx = multiprocessing.get_context("spawn")
        started = time.time()
        deadline = started + args.seconds
        edits, churn_result, load_out = ctx.Queue(), ctx.Queue(), ctx.Queue()
        changer = ctx.Process(
            target=churn, args=(store, args.articles, deadline, edits, churn_result, 1)
        )
        per_process = max(1, args.connections // args.processes)
        loaders = [
            ctx.Process(target=load_worker, args=(port, per_process, deadline, load_out, i))
            for i in range(args.processes)
        ]
        for process in [changer, *loaders]:
            process.start()
        wrk = start_wrk(port, args.wrk, args.seconds, work) if args.wrk else None
        latencies: list[float] = []
        stop = threading.Event()
        prober = threading.Thread(target=probe, args=(port, edits, stop, latencies))
        prober.start()

        totals: collections.Counter = collections.Counter()
        failures: list[str] = []
        for _ in loaders:
            counts, some = load_out.get(timeout=args.seconds + 120)
            totals.update(counts)
            failures += some
        final_state, actions = churn_result.get(timeout=60)
        wrk_report = wrk.communicate(timeout=60)[0] if wrk else ""
        for process in [changer, *loaders]:
            process.join(timeout=30)
        elapsed = time.time() - started

        # Every worker reloads on its own timer: give them all two intervals.
        time.sleep(2 * args.reload + 0.5)
        stop.set()
        prober.join()
        served = feed_items(port)
        valid = {
            f"https://{random.Random(n).choice(PROVIDERS)}/story/{n}": f"Article {n} version {v}"
            for n, (v, ok) in final_state.items()
            if ok
        }
        existing = {f"https://{random.Random(n).choice(PROVIDERS)}/story/{n}" for n in final_state}
        missing = sorted(url for url in valid if url not in served)
        stale = sorted(
            url for url, title in valid.items() if url in served and served[url] != title
        )
        ghosts = sorted(url for url in served if url not in existing)
    server_log = log.read_text(errors="replace")
    tracebacks = server_log.count("Traceback")

    statuses = {k: v for k, v in sorted(totals.items()) if k.startswith("status ")}
    five_xx = sum(v for k, v in statuses.items() if k.startswith("status 5"))
    must_be_zero = {
        "5xx responses": five_xx,
        "bodies that failed to parse": totals["bad bodies"],
        "bodies with the secured payload": totals["secret leaks"],
        "valid articles missing from the feed": len(missing),
        "valid articles served with an old version": len(stale),
        "deleted articles still served": len(ghosts),
        "tracebacks in the server log": tracebacks,
    }
    if wrk:
        wrk_5xx = [line for line in wrk_report.splitlines() if line.startswith("wrk 5xx:")]
        must_be_zero["5xx responses to wrk"] = int(wrk_5xx[0].split()[-1]) if wrk_5xx else -1
    print(f"soak: {elapsed:.0f} s, {args.connections} connections ({args.processes} processes),")
    print(
        f"  gunicorn {args.workers} workers x {args.threads} threads, file events"
        f" (FEEDSVC_WATCH), else a scan every {args.reload} s"
    )
    print(f"requests served: {totals['requests']} ({totals['requests'] / elapsed:.0f}/s)")
    print("responses by status: " + ", ".join(f"{k[7:]}: {v}" for k, v in statuses.items()))
    print(f"reconnects (server closed an idle keep-alive connection): {totals['reconnects']}")
    print("store changes: " + ", ".join(f"{k}: {v}" for k, v in sorted(actions.items())))
    print(
        f"articles at the end: {len(final_state)} files, {len(valid)} valid, {len(served)} served"
    )
    if latencies:
        latencies.sort()
        median = latencies[len(latencies) // 2]
        print(
            f"edit to feed: {len(latencies)} edits seen, median {median:.2f} s, "
            f"longest {latencies[-1]:.2f} s"
        )
    if wrk:
        print(f"wrk, {args.wrk} connections, every path above:")
        print("\n".join("  " + line.strip() for line in wrk_report.splitlines() if line.strip()))
    for name, value in must_be_zero.items():
        print(f"{name}: {value}{'' if value == 0 else '   <-- must be 0'}")
    for line in failures[:5] + missing[:5] + stale[:5] + ghosts[:5]:
        print("  e.g.", line)
    if args.keep:
        print(f"store and server log kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not any(must_be_zero.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
