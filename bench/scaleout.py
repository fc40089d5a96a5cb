"""The scale-out path on one machine: nginx caching in front of two feedsvc replicas.

Starts two gunicorn replicas on one generated store and nginx (deploy/nginx/) before
them, all on 127.0.0.1, then checks what the cache must do and measures req/s for a
popular feed through the cache beside nginx serving the same bytes as a static file,
alternating the two in the same run. Everything is stopped at the end.

    .venv/bin/python bench/scaleout.py [--articles 500] [--runs 5] [--seconds 5]

Needs nginx and wrk (Debian: apt-get install nginx wrk).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from servers import get, gunicorn, metric_total, nginx, scrape

from feedsvc.content.frontmatter import dump as front_matter

MAX_AGE = 5
RELOAD_INTERVAL = 0.5
POPULAR = "/feed.rss"


def write_store(folder: Path, count: int) -> None:
    """``count`` articles over a few topics and providers, one file each."""
    folder.mkdir(parents=True)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        domain = f"news{n % 7}.example.com"
        data = {
            "title": f"Article {n}: what happened on day {n // 10}",
            "excerpt": "A paragraph of summary that a feed reader shows under the title. " * 3,
            "publishedDateTime": (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "webUrl": f"https://{domain}/articles/{n}",
            "type": "article",
            "published": True,
            "provider": {"name": f"News {n % 7}", "domain": domain},
            "topics": [f"Topic {n % 11}", f"Topic {n % 5}"],
            "images": [{"url": f"https://cdn.example.com/{n}.jpg", "width": 640, "height": 360}],
        }
        text = front_matter(data)
        (folder / f"{n:06d}.md").write_text(text)


def feed_requests(backends) -> float:
    return sum(
        metric_total(scrape(b.url), "feedsvc_http_requests_total", route="/feed.<fmt>")
        for b in backends
    )


def not_modified(backends) -> float:
    return sum(metric_total(scrape(b.url), "feedsvc_http_not_modified_total") for b in backends)


def check(label: str, ok: bool, detail: str = "") -> bool:
    print(f"{'PASS' if ok else 'FAIL'}  {label}{': ' + detail if detail else ''}", flush=True)
    return ok


def wrk(url: str, seconds: int, connections: int, threads: int) -> float:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30)
    match = re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout)
    if not match or "Non-2xx" in out.stdout or "Socket errors" in out.stdout:
        raise RuntimeError(f"wrk did not run cleanly:\n{out.stdout}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="feedsvc-scaleout-"))
    store = work / "store"
    write_store(store, args.articles)
    env = {"FEEDSVC_MAX_AGE": str(MAX_AGE), "FEEDSVC_RELOAD_INTERVAL": str(RELOAD_INTERVAL)}
    ok = True
    try:
        with (
            gunicorn(store, work / "a.log", workers=1, env=env) as a,
            gunicorn(store, work / "b.log", workers=1, env=env) as b,
        ):
            backends = [a, b]
            addresses = [s.url.removeprefix("http://") for s in backends]
            # The static twin: the identity bytes the cache sends for the popular feed.
            with nginx(addresses) as probe:
                popular = get(probe.url + POPULAR)[2]
            with nginx(addresses, static={"feed.rss": popular}) as proxy:
                print(f"store: {args.articles} articles; {POPULAR}: {len(popular):,} bytes")
                print(f"replicas: {a.url} {b.url}; nginx: {proxy.url}\n")

                before = feed_requests(backends)
                statuses = [get(proxy.url + POPULAR)[1]["X-Cache-Status"] for _ in range(100)]
                reached = feed_requests(backends) - before
                ok &= check(
                    "100 requests through the cache reach the replicas once",
                    reached == 1 and statuses[0] == "MISS" and set(statuses[1:]) == {"HIT"},
                    f"replicas saw {reached:g}; cache said {statuses[0]} then "
                    f"{sorted(set(statuses[1:]))}",
                )

                before_304 = not_modified(backends)
                time.sleep(MAX_AGE + 1.2)  # nginx counts whole seconds
                _, headers, body = get(proxy.url + POPULAR)
                got_304 = not_modified(backends) - before_304
                ok &= check(
                    "after max-age the cache revalidates with If-None-Match and gets a 304",
                    headers["X-Cache-Status"] == "REVALIDATED" and got_304 == 1 and body == popular,
                    f"cache said {headers['X-Cache-Status']}, replicas answered {got_304:g} 304",
                )

                tags = []
                for path in (POPULAR, "/feed.atom", "/topics/topic-3/feed.json"):
                    for encoding in ("identity", "gzip"):
                        h = {"Host": "feeds.example.com", "Accept-Encoding": encoding}
                        tags.append([get(s.url + path, h)[1]["ETag"] for s in backends])
                ok &= check(
                    "both replicas give identical ETags (3 feeds x 2 encodings)",
                    all(x == y for x, y in tags),
                )

                target = store / "000499.md" if args.articles >= 500 else store / "000000.md"
                text = target.read_text().replace("Article ", "Edited article ", 1)
                target.write_text(text)
                edited = time.monotonic()
                seen = None
                while time.monotonic() - edited < MAX_AGE + RELOAD_INTERVAL + 5:
                    if b"Edited article" in get(proxy.url + POPULAR)[2]:
                        seen = time.monotonic() - edited
                        break
                    time.sleep(0.05)
                ok &= check(
                    f"an edit is served through the cache within max-age ({MAX_AGE} s) "
                    f"plus the reload interval ({RELOAD_INTERVAL} s)",
                    seen is not None and seen <= MAX_AGE + RELOAD_INTERVAL + 1.1,
                    f"seen after {seen:.2f} s" if seen is not None else "never seen",
                )
                popular = get(proxy.url + POPULAR)[2]
                (proxy.prefix / "static" / "feed.rss").write_bytes(popular)
                same = get(proxy.url + "/static/feed.rss")[2] == popular
                ok &= check("the static twin holds the same bytes as the cached feed", same)

                print(
                    f"\nwrk -t{args.threads} -c{args.connections} -d{args.seconds}s, "
                    f"{args.runs} runs each, alternating:"
                )
                cached, static = [], []
                before = feed_requests(backends)
                for run in range(args.runs):
                    cached.append(
                        wrk(proxy.url + POPULAR, args.seconds, args.connections, args.threads)
                    )
                    static.append(
                        wrk(
                            proxy.url + "/static/feed.rss",
                            args.seconds,
                            args.connections,
                            args.threads,
                        )
                    )
                    print(
                        f"  run {run + 1}: cache {cached[-1]:,.0f} req/s, static {static[-1]:,.0f}"
                    )
                reached = feed_requests(backends) - before
                # For scale: one replica without the cache (one gunicorn worker).
                direct = wrk(a.url + POPULAR, args.seconds, args.connections, args.threads)
                print(f"  one replica directly, no cache: {direct:,.0f} req/s")
                ratio = statistics.median(cached) / statistics.median(static)
                print(
                    f"\nmedian: through the cache {statistics.median(cached):,.0f} req/s, "
                    f"static file {statistics.median(static):,.0f} req/s, ratio {ratio:.2f}"
                )
                print(f"requests that reached a replica during the load: {reached:g}")
                ok &= check("through the cache at least 0.8x the static file", ratio >= 0.8)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
