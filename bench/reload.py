"""How long an edit takes to be served, and what checking for edits costs, on a big store.

Loads the store (through a persisted cache, so repeated runs start fast), starts
the reloader in one of two modes, then edits one article ``--edits`` times:

- ``watch``: inotify events through watchdog, a full scan every 60 s as a safety net;
- ``scan``: a full scan every ``--interval`` seconds (what runs without events).

For each mode it prints the median time from the edit's write to the snapshot
serving the new title, the CPU the process spent from the write until then, and
the CPU one idle check costs (``scan``: one full refresh with nothing changed;
``watch``: the process's CPU per second while nothing changes). The edited file
is restored at the end.

    python bench/reload.py bench/stores/100k
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time

from feedsvc.content.heap import freeze_heap
from feedsvc.content.reloader import Reloader
from feedsvc.content.store import Store


def wait_for(store: Store, source: str, title: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for article in store.snapshot.articles[:5]:
            if article.source == source and article.title == title:
                return
        time.sleep(0.005)
    raise SystemExit(f"{source} was not reloaded within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument(
        "--cache-dir", default=os.path.join(tempfile.gettempdir(), "feedsvc-bench-cache")
    )
    args = parser.parse_args()
    started = time.perf_counter()
    store = Store(args.folder, cache_dir=args.cache_dir)
    snapshot = store.refresh()
    freeze_heap()  # as init_app does in a serving process
    print(f"{len(snapshot.articles)} articles loaded in {time.perf_counter() - started:.1f} s")
    # Edit the newest article, so the check above finds it among the first few.
    newest = snapshot.articles[0]
    path = os.path.join(args.folder, newest.source)
    with open(path, encoding="utf-8") as handle:
        original = handle.read()
    stat = os.stat(path)
    print(f"{'mode':>6} {'served s':>9} {'cpu/edit s':>10} {'cpu/check s':>11}")
    try:
        for mode in ("watch", "scan"):
            reloader = Reloader(store, args.interval, watch=mode == "watch", rescan_interval=60)
            reloader.ensure_running()
            time.sleep(3)  # the first round's full scan
            if mode == "scan":
                checks = []
                for _ in range(3):
                    cpu = time.process_time()
                    store.refresh()
                    checks.append(time.process_time() - cpu)
                idle = statistics.median(checks)
            else:
                cpu = time.process_time()
                time.sleep(5)
                idle = (time.process_time() - cpu) / 5
            served, spent = [], []
            for n in range(args.edits):
                title = f"Edited {mode} {n} {time.time()}"
                text = re.sub(r"^title: .*$", f'title: "{title}"', original, count=1, flags=re.M)
                cpu = time.process_time()
                wrote = time.perf_counter()
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
                wait_for(store, newest.source, title)
                served.append(time.perf_counter() - wrote)
                spent.append(time.process_time() - cpu)
                time.sleep(0.5)
            reloader.stop()
            time.sleep(args.interval + 0.5)  # let the stopped thread finish its round
            print(
                f"{mode:>6} {statistics.median(served):9.2f} {statistics.median(spent):10.2f} "
                f"{idle:11.3f}"
            )
    finally:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


if __name__ == "__main__":
    main()
