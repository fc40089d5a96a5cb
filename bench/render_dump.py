"""Write every feed of some stores, in every format, to files: for byte comparisons.

A change to the renderers that must not change their output is checked by dumping
before and after it and comparing the folders (``diff -rq``). Each store's groups
are rendered for two sites (the second with markup in its title and a base URL
with a path), at the default limit and at a small one with its second page. By default items
built for one feed are reused by the next, as in a serving process; ``--cold``
builds every item afresh.

    python bench/render_dump.py /tmp/before bench/stores/10k content tests/fixtures/hostile
    # ... change the code ...
    python bench/render_dump.py /tmp/after bench/stores/10k content tests/fixtures/hostile
    diff -rq /tmp/before /tmp/after
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from feedsvc.content.store import Store
from feedsvc.render import feeds
from feedsvc.render.items import ITEM_CACHE_SIZE, ItemCache
from feedsvc.render.page import FeedPage, Site

SITES = [
    Site("feedsvc", "The latest news articles", "en", "https://feeds.example.com"),
    Site('News <&> "Views"', "Mixed & <escaped>", "de-CH", "http://127.0.0.1:8000/sub"),
]
PAGINGS = [(50, 1), (7, 1), (7, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("folders", nargs="+")
    parser.add_argument(
        "--cold", action="store_true", help="forget built items before every render"
    )
    args = parser.parse_args()
    count = 0
    items = ItemCache(ITEM_CACHE_SIZE)
    for folder in args.folders:
        snapshot = Store(folder, workers=1).refresh()
        groups = snapshot.groups
        # Folder names of stores may repeat (two "10k"s); a hash of the path keeps them apart.
        where = args.out / hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:12]
        where.mkdir(parents=True, exist_ok=True)
        (where / "STORE").write_text(folder + "\n")
        for s, site in enumerate(SITES):
            for group in groups:
                for limit, number in PAGINGS:
                    for fmt in feeds.FORMATS:
                        page = FeedPage(site, group, fmt, limit, number)
                        if not page.exists:
                            continue
                        if args.cold:
                            items.clear()
                        name = f"s{s}-{group.kind}-{group.slug or 'all'}-l{limit}-p{number}.{fmt}"
                        (where / name).write_bytes(feeds.render(page, items))
                        count += 1
    print(f"{count} feeds written to {args.out}")


if __name__ == "__main__":
    main()
