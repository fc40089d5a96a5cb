"""Milliseconds to render one 50-item feed in each format, as on a render-cache miss.

Loads a store once, then renders the main feed and a few topic and provider feeds
in every format, ``--rounds`` times over, and prints the median time per feed.
Every case runs once per round, interleaved, so a busy machine slows them alike;
``cpu ms`` is the rendering thread's CPU time, which other processes on the machine
disturb less than the wall clock, and the ratios are taken from it.

- ``cold``: the item cache is emptied before each render, so every item is built
  from its article: a serving process's first render of a feed.
- ``warm``: items of articles an earlier render showed are reused: what re-rendering
  a feed costs after an edit elsewhere in it, or at another page size.
- ``floor``: plain feedgen, no extensions, writing the same items' title, link,
  guid, pubDate, description and one enclosure: what feedgen itself costs for
  items of this size. ``vs floor`` divides by it.
- ``base`` (with ``--baseline FILE``): a single-module version of the renderers (a
  ``feeds.py`` with ``render(page)``, as before the split by format), timed in the
  same rounds for a before/after comparison, with its own caches emptied before each
  render; ``vs base`` divides by it.

Nothing else is cached between renders but the compiled templates, which a serving
process keeps for its lifetime.

    python bench/render.py bench/stores/10k
    git show REV:feedsvc/render/feeds.py > /tmp/feeds_before.py
    python bench/render.py bench/stores/10k --baseline /tmp/feeds_before.py
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from feedgen.feed import FeedGenerator
from markupsafe import escape

from feedsvc.content.store import Store
from feedsvc.render import feeds
from feedsvc.render.items import ITEM_CACHE_SIZE, ItemCache
from feedsvc.render.page import FeedPage, Site

SITE = Site("feedsvc", "The latest news articles", "en", "https://feeds.example.com")


def feedgen_floor(page: FeedPage) -> bytes:
    """The page's items as plain feedgen writes them, without any extension."""
    fg = FeedGenerator()
    fg.title(page.title)
    fg.link(href=page.home)
    fg.description(page.description)
    fg.lastBuildDate(page.group.updated)
    for article in page.items:
        fe = fg.add_entry(order="append")
        fe.title(article.title)
        fe.link(href=article.url)
        fe.guid(article.url, permalink=True)
        fe.pubDate(article.published)
        fe.description(str(escape(article.excerpt or article.title)))
        if article.images:
            first = article.images[0]
            fe.enclosure(url=first.url, length="0", type=first.mime_type)
    return fg.rss_str(pretty=True)


def nothing() -> None:
    pass


@dataclass(frozen=True)
class Case:
    fmt: str
    how: str
    render: Callable[[FeedPage], bytes]
    forget: Callable[[], None] = nothing  # before each render, untimed: what "cold" means


def load_baseline(path: Path) -> ModuleType:
    """An older feeds.py as a module of today's package, so its relative imports work."""
    spec = importlib.util.spec_from_file_location("feedsvc._baseline_feeds", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--baseline", type=Path, help="another feeds.py to time beside this one")
    args = parser.parse_args()
    snapshot = Store(args.folder, workers=1).refresh()
    # The largest topic and provider feeds: full pages, like the main feed's.
    groups = [snapshot.everything]
    groups += sorted(snapshot.topics.values(), key=lambda g: -len(g.articles))[:3]
    groups += sorted(snapshot.providers.values(), key=lambda g: -len(g.articles))[:3]
    base = load_baseline(args.baseline) if args.baseline else None
    items = ItemCache(ITEM_CACHE_SIZE)

    def render(page: FeedPage) -> bytes:
        return feeds.render(page, items)

    cases = [Case("rss", "floor", feedgen_floor)]
    for fmt in feeds.FORMATS:
        if base is not None:
            cases.append(Case(fmt, "base", base.render, getattr(base, "clear_item_cache", nothing)))
        cases.append(Case(fmt, "cold", render, items.clear))
        cases.append(Case(fmt, "warm", render))
    pages = {
        fmt: [FeedPage(SITE, group, fmt, args.limit) for group in groups] for fmt in feeds.FORMATS
    }
    for case in cases:  # compile templates, warm imports
        for page in pages[case.fmt]:
            case.render(page)
    times: dict[Case, list[float]] = {case: [] for case in cases}
    cpu: dict[Case, list[float]] = {case: [] for case in cases}
    for _ in range(args.rounds):
        for case in cases:
            if case.how == "warm":  # the cold cases emptied the item cache
                for page in pages[case.fmt]:
                    case.render(page)
            for page in pages[case.fmt]:
                case.forget()
                started, started_cpu = time.perf_counter(), time.thread_time()
                case.render(page)
                cpu[case].append(time.thread_time() - started_cpu)
                times[case].append(time.perf_counter() - started)
    cpus = {(case.fmt, case.how): statistics.median(cpu[case]) for case in cases}
    floor = cpus["rss", "floor"]
    header = (
        f"{'format':>6} {'case':>5} {'ms/feed':>8} {'cpu ms':>7} {'vs floor':>8} {'vs base':>8}"
    )
    print(f"{header} {'KB':>6}")
    for case in cases:
        median = cpus[case.fmt, case.how]
        versus = ""
        if base is not None and case.how != "floor":
            versus = f"{median / cpus[case.fmt, 'base']:.2f}"
        size = len(case.render(pages[case.fmt][0])) / 1024
        print(
            f"{case.fmt:>6} {case.how:>5} {statistics.median(times[case]) * 1000:8.2f}"
            f" {median * 1000:7.2f} {median / floor:8.2f} {versus:>8} {size:6.0f}"
        )


if __name__ == "__main__":
    main()
