"""Milliseconds to serve a composed feed on a render-cache miss, beside a plain topic feed.

Loads a store once, then for each case selects the articles from the index, builds
the composed group and renders it, in every format, ``--rounds`` times over,
interleaved with today's single-topic render so a busy machine slows them alike.
Medians of the rendering thread's CPU time (and the wall clock beside it).

- ``cold``: the item cache is emptied before each render: every item built afresh.
- ``warm``: the items were built by an earlier render (a re-render after an edit).

The index arrays are built before timing; what building them costs the first
request after a snapshot changes is printed first, separately. Digests cover the
30 closed days before the day after the store's newest article.

    python bench/compose.py bench/stores/100k
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial

from feedsvc.content.index import build_snapshot
from feedsvc.content.select import Spec, carry_words, index_of
from feedsvc.content.store import Store
from feedsvc.render import compose, feeds
from feedsvc.render.items import ITEM_CACHE_SIZE, ItemCache
from feedsvc.render.page import FeedPage, Site

SITE = Site("feedsvc", "The latest news articles", "en", "https://feeds.example.com")


def timed(work: Callable[[], object]) -> tuple[float, float]:
    started, started_cpu = time.perf_counter(), time.thread_time()
    work()
    return time.perf_counter() - started, time.thread_time() - started_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    snapshot = Store(args.folder, workers=1).refresh()
    today = snapshot.articles[0].published.date() + timedelta(days=1)
    index = index_of(snapshot)

    topics = sorted(snapshot.topics.values(), key=lambda g: -len(g.articles))
    providers = sorted(snapshot.providers.values(), key=lambda g: -len(g.articles))
    # The largest topic within the largest provider, and a mid-sized provider's share.
    topic, provider, small = topics[0], providers[0], providers[20]
    builds = {
        "positions (first composed request)": lambda: index.members(topic),
        "members of the largest provider": lambda: index.members(provider),
        "word index (first q= request)": lambda: index.postings("data"),
    }
    print(f"{len(snapshot.articles)} articles; one-off index builds:")
    for name, build in builds.items():
        wall, cpu = timed(build)
        print(f"  {name:46} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms cpu")
    # The next snapshot's first search updates the word index above instead of
    # building its own; what that costs after each kind of change.
    served = list(snapshot.articles)
    edited = list(served)
    edited[500] = replace(edited[500], title=edited[500].title + " lapse update")
    newest = served[0]
    fresh = replace(
        newest, url=newest.url + "-new", published=newest.published + timedelta(minutes=1)
    )
    oldest = served[-1]
    old = replace(oldest, url=oldest.url + "-old", published=oldest.published - timedelta(days=1))
    changes = {
        "1 edit, 1 new article": [fresh, *edited],
        "the 100th newest deleted": served[:99] + served[100:],
        "the 100th oldest deleted": served[:-100] + served[-99:],
        "1 article backfilled, oldest": [*served, old],
    }
    for name, articles in changes.items():
        following = build_snapshot(articles, [], previous=snapshot, generation=2)
        carry_words(snapshot, following)
        updated = index_of(following)
        wall, cpu = timed(partial(updated.postings, "data"))
        assert not updated.word_index_rebuilt
        label = f"word index update: {name}"
        print(f"  {label:46} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms cpu")

    need = args.limit + 1
    items = ItemCache(ITEM_CACHE_SIZE)  # what a serving app keeps per process
    feeds_ = {
        "topic∩provider": compose.Feed(Spec(topics=(topic.slug,), provider=provider.slug)),
        "topic∩small provider": compose.Feed(Spec(topics=(topic.slug,), provider=small.slug)),
        "two-topic union": compose.Feed(
            Spec(topics=tuple(sorted((topics[1].slug, topics[2].slug))))
        ),
        "ten-topic union": compose.Feed(Spec(topics=tuple(sorted(t.slug for t in topics[-10:])))),
        "q= one word": compose.Feed(Spec(words=("quantum",))),
        "q= two rare words": compose.Feed(Spec(words=("istanbul", "zurich"))),
        "q= in topic, quality": compose.Feed(
            Spec(topics=(topic.slug,), words=("zurich",), min_quality=100)
        ),
        "min_quality=139": compose.Feed(Spec(min_quality=139)),
        "exclude top 3": compose.Feed(Spec(exclude=tuple(sorted(p.slug for p in providers[:3])))),
        "digest: everything": compose.Feed(Spec(), digest=True),
        "digest: topic": compose.Feed(Spec(topics=(topic.slug,)), digest=True),
    }

    def plain(fmt: str) -> Callable[[], bytes]:
        return lambda: feeds.render(FeedPage(SITE, topic, fmt, args.limit), items)

    def composed(feed: compose.Feed, fmt: str) -> Callable[[], bytes]:
        def work() -> bytes:
            group = compose.compose(snapshot, feed, need, SITE.title, SITE.base_url, today, items)
            assert group is not None
            return feeds.render(FeedPage(SITE, group, fmt, args.limit), items)

        return work

    cases: dict[tuple[str, str], Callable[[], bytes]] = {}
    for fmt in feeds.FORMATS:
        cases["topic (today)", fmt] = plain(fmt)
        for name, feed in feeds_.items():
            cases[name, fmt] = composed(feed, fmt)
    for work in cases.values():
        work()  # warm imports and the index
    results: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for (name, fmt), work in cases.items():
            items.clear()
            results.setdefault((name, fmt, "cold"), []).append(timed(work))
            results.setdefault((name, fmt, "warm"), []).append(timed(work))
    print(
        f"\n{'case':>22} {'format':>6} {'how':>5} {'ms':>7} {'cpu ms':>7} {'vs topic':>8} {'items':>5}"
    )
    for (name, fmt, how), runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        base = statistics.median(r[1] for r in results["topic (today)", fmt, how])
        shown = cases[name, fmt]().count(b"<item>") if fmt == "rss" else ""
        print(
            f"{name:>22} {fmt:>6} {how:>5} {wall * 1000:7.2f} {cpu * 1000:7.2f}"
            f" {cpu / base:8.2f} {shown!s:>5}"
        )


if __name__ == "__main__":
    main()
