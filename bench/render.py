"""Milliseconds to render one 50-item feed in each format, as on a render-cache miss.

Loads a store once, then renders the main feed and a few topic and provider feeds
in every format, ``--rounds`` times over, and prints the median time per feed and
per format. Nothing is cached between renders but the compiled templates, which a
serving process keeps for its lifetime.

    python bench/render.py bench/stores/10k
"""

from __future__ import annotations

import argparse
import statistics
import time

from feedsvc import feeds
from feedsvc.feeds import FeedPage, Site
from feedsvc.store import Store

SITE = Site("feedsvc", "The latest news articles", "en", "https://feeds.example.com")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    snapshot = Store(args.folder, workers=1).refresh()
    # The largest topic and provider feeds: full pages, like the main feed's.
    groups = [snapshot.everything]
    groups += sorted(snapshot.topics.values(), key=lambda g: -len(g.articles))[:3]
    groups += sorted(snapshot.providers.values(), key=lambda g: -len(g.articles))[:3]
    pages = {
        fmt: [FeedPage(SITE, group, fmt, args.limit) for group in groups] for fmt in feeds.FORMATS
    }
    for fmt_pages in pages.values():  # compile templates, warm imports
        for page in fmt_pages:
            feeds.render(page)
    print(f"{'format':>6} {'ms/feed':>8} {'KB':>6}")
    for fmt, fmt_pages in pages.items():
        times = []
        for _ in range(args.rounds):
            for page in fmt_pages:
                started = time.perf_counter()
                feeds.render(page)
                times.append(time.perf_counter() - started)
        size = len(feeds.render(fmt_pages[0])) / 1024
        print(f"{fmt:>6} {statistics.median(times) * 1000:8.2f} {size:6.0f}")


if __name__ == "__main__":
    main()
