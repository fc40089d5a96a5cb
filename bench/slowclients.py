"""Slow and idle clients against gunicorn as the container runs it, worker class beside worker class.

For each worker class it starts feedsvc under gunicorn with the packaged settings
(feedsvc/gunicorn_conf.py, ``--workers`` workers) on 127.0.0.1, caches a feed, then
holds ``--idle`` sockets that send nothing and ``--slowloris`` sockets that send a
header line every ``--trickle`` seconds (each reopened when the server drops it)
while it probes ``/healthz`` and the cached feed every half second for
``--seconds``. A probe fails after 3 s. Everything stops by itself.

    python bench/slowclients.py --idle 500 --slowloris 500 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from servers import ROOT, get, gunicorn  # noqa: E402
from slowclients import Attack, probe  # noqa: E402

PATHS = ["/healthz", "/feed.rss"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--slowloris", type=int, default=500)
    parser.add_argument("--trickle", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--classes", default="feedsvc.worker.Worker,gthread")
    args = parser.parse_args()
    content = ROOT / "content"
    print(
        f"{args.idle} idle + {args.slowloris} slowloris sockets (a line every {args.trickle} s), "
        f"{args.workers} workers, {args.seconds} s of probes every 0.5 s"
    )
    for worker_class in args.classes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            # As the Dockerfile runs it: 4 threads per worker when the class uses threads.
            env = {"GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_THREADS": "4"}
            with gunicorn(
                content, Path(tmp) / "server.log", workers=args.workers, env=env
            ) as server:
                assert get(server.url + "/feed.rss")[0] == 200
                attack = Attack(server.port, args.idle, args.slowloris, trickle=args.trickle)
                with attack.running():
                    probes = probe(server.url, PATHS, seconds=args.seconds)
        print(f"{worker_class}: clients reconnected {attack.reopened} times after being dropped")
        for path in PATHS:
            times = sorted(t for t in probes.by_path[path] if t is not None)
            over = sum(1 for t in times if t >= 1.0) + probes.failed(path)
            print(f"  {probes.summary(path)}; {over} not answered within 1 s")


if __name__ == "__main__":
    main()
