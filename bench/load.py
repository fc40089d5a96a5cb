"""Cold load, warm restart and memory of the store, beside the I/O floor and a plain YAML parse.

Each measurement runs in a fresh Python process (so peak RSS is its own) over the
same folder, with the page cache warm from the first pass. For each store it prints
one row per mode, the median of ``--runs`` runs:

- ``read``: open and read every file, one process: the I/O floor.
- ``yaml``: ``yaml.load(front_matter, CSafeLoader)`` for every file, one process:
  what a naive loader costs.
- ``cold``: ``Store(folder).refresh()`` and ``freeze_heap()``, as the service starts, with no
  persisted cache (a first start).
- ``restart``: the same with the persisted cache a previous start left (a restart
  over an unchanged store).

With ``--baseline DIR`` (another version of feedsvc, a checkout or ``git archive``
of it in DIR), ``cold-b`` and ``restart-b`` run the same loads with that version first
on ``PYTHONPATH``, interleaved with the others: a before/after comparison in one run.

``rss/article`` is the growth of the serving process's resident memory from before
the load to after it (store kept alive, garbage collected), divided by the
articles served: the memory a snapshot costs per article.

    python bench/load.py bench/stores/1k bench/stores/10k bench/stores/100k --runs 3
    python bench/load.py bench/stores/10k --modes cold,restart --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024


def forkserver_cpu() -> float:
    """CPU seconds of the parse workers: they are the fork server's children, not ours."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the name.
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def files(folder: str) -> list[str]:
    return sorted(entry.path for entry in os.scandir(folder) if entry.name.endswith(".txt"))


def run_read(folder: str, _cache: str) -> dict:
    paths = files(folder)
    started = time.perf_counter()
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            total += len(handle.read())
    return {"seconds": time.perf_counter() - started, "articles": len(paths)}


def run_yaml(folder: str, _cache: str) -> dict:
    import yaml

    paths = files(folder)
    started = time.perf_counter()
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        front = text.split("\n---", 1)[0].removeprefix("---\n")
        yaml.load(front, Loader=yaml.CSafeLoader)  # noqa: S506 - safe loader
    return {"seconds": time.perf_counter() - started, "articles": len(paths)}


def run_store(folder: str, cache: str) -> dict:
    import gc

    if cache:
        os.environ["FEEDSVC_CACHE_DIR"] = cache
    from feedsvc.content.store import Store

    try:
        from feedsvc.content.heap import freeze_heap
    except ImportError:  # a baseline from before content/heap.py
        from feedsvc.content.store import settle as freeze_heap

    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    store = Store(folder, **({"cache_dir": cache} if cache else {}))
    snapshot = store.refresh()
    freeze_heap()  # the service collects and freezes before it serves: part of being ready
    seconds = time.perf_counter() - started
    served = len(snapshot.articles)
    return {
        "seconds": seconds,
        "workers_cpu": forkserver_cpu(),
        "articles": served,
        "rss_per_article": (rss_bytes() - before) / max(served, 1),
    }


MODES = {"read": run_read, "yaml": run_yaml, "cold": run_store, "restart": run_store}


def measure(mode: str, folder: str, cache: str, baseline: str | None = None) -> dict:
    env = dict(os.environ)
    if baseline:
        env["PYTHONPATH"] = os.path.abspath(baseline)
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(
            [sys.executable, __file__, "--one", mode, folder, "--cache", cache],
            stdout=out,
            env=env,
        )
        # wait4's usage covers the child and every descendant it reaped, the parse
        # workers included: CPU seconds that machine load does not inflate.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"{mode} {folder} failed")
        out.seek(0)
        result = json.loads(out.read().splitlines()[-1])
    result["cpu"] = usage.ru_utime + usage.ru_stime + result.pop("workers_cpu", 0.0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--cache", default="", help=argparse.SUPPRESS)
    parser.add_argument("--modes", default="read,yaml,cold,restart")
    parser.add_argument("--baseline", help="folder of another feedsvc version to load beside")
    args = parser.parse_args()
    if args.one:
        result = MODES[args.one](args.folders[0], args.cache)
        result["peak_rss"] = peak_rss()
        print(json.dumps(result))
        return
    modes = args.modes.split(",")
    if args.baseline:
        modes += [f"{mode}-b" for mode in modes if mode in ("cold", "restart")]
    print(
        f"{'store':>8} {'mode':>8} {'seconds':>8} {'cpu s':>7} {'art/s':>8} {'peak MB':>8} "
        f"{'B/art':>7} {'vs yaml':>8}",
        flush=True,
    )
    for folder in args.folders:
        # Runs are interleaved (each round runs every mode once), so a burst of other
        # work on a shared machine lands on all modes alike instead of on one.
        runs: dict[str, list[dict]] = {mode: [] for mode in modes}
        for _ in range(args.runs):
            for mode in modes:
                kind, _, variant = mode.partition("-")
                baseline = args.baseline if variant == "b" else None
                cache = ""
                if kind in ("cold", "restart"):
                    cache = tempfile.mkdtemp(prefix="feedsvc-bench-cache-")
                    if kind == "restart":
                        # Leaves the persisted cache behind.
                        measure("cold", folder, cache, baseline)
                    else:
                        shutil.rmtree(cache)
                        cache = ""
                runs[mode].append(measure(kind, folder, cache, baseline))
                if cache:
                    shutil.rmtree(cache, ignore_errors=True)
        rows = {
            mode: {
                key: statistics.median(run[key] for run in done)
                for key in done[0]
                if isinstance(done[0][key], int | float)
            }
            for mode, done in runs.items()
        }
        base = rows.get("yaml", {}).get("seconds")
        for mode, row in rows.items():
            per = row.get("rss_per_article")
            ratio = f"{row['seconds'] / base:8.3f}" if base else f"{'':>8}"
            print(
                f"{os.path.basename(folder.rstrip('/')):>8} {mode:>8} {row['seconds']:8.2f} "
                f"{row['cpu']:7.2f} "
                f"{row['articles'] / row['seconds']:8.0f} {row['peak_rss'] / 1e6:8.0f} "
                f"{'' if per is None else round(per):>7} {ratio}"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
