"""Requests per second for a cached feed under gunicorn, against the ceiling and nginx.

Starts, on 127.0.0.1 only and for a bounded time, with the same gunicorn settings
(feedsvc's own gunicorn_conf: ``--workers`` workers of its worker class, gevent
unless ``GUNICORN_WORKER_CLASS`` names another):

- ``ceiling``: a minimal Flask app returning the feed's bytes from memory;
- ``feedsvc``: the service on a generated store, measured as
  ``cached`` (plain GET of a warm feed), ``304`` (If-None-Match with its ETag) and
  ``gzip`` (Accept-Encoding: gzip);
- ``nginx``: the same bytes as a static file, for scale;
- with ``--flask-path``, a second feedsvc with ``FEEDSVC_FAST_PATH=false`` (every
  request through Flask, as before the fast path), measured as ``cached-f``,
  ``304-f`` and ``gzip-f``;
- with ``--baseline DIR``, another version of feedsvc (a checkout or ``git archive``
  of it in DIR, put first on ``PYTHONPATH``) on the same store, measured as
  ``cached-b``, ``304-b`` and ``gzip-b``: a before/after comparison in one run.

Each case runs ``--duration`` seconds of ``wrk`` (keep-alive, ``--connections``),
rounds interleave the cases so machine noise hits them alike, and the table shows
medians and each case's ratio to the ceiling measured in the same round, in
requests per second and in server CPU per request (the ceiling's CPU per request
over the case's: above 1 is cheaper than the ceiling), which machine load skews least.

    python bench/serve.py bench/stores/1k --rounds 3
    git archive main | tar -x -C /tmp/before
    python bench/serve.py bench/stores/10k --rounds 5 --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable

MINIMAL_APP = """
from flask import Flask, Response

app = Flask(__name__)
with open({path!r}, "rb") as handle:
    BODY = handle.read()


@app.get("/feed.rss")
def feed():
    return Response(BODY, mimetype="application/rss+xml; charset=utf-8")
"""

NGINX_CONF = """
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location / {{ default_type application/rss+xml; }}
    }}
}}
"""


def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def gunicorn(app: str, port: int, workers: int, env: dict, cwd: str) -> subprocess.Popen:
    argv = [PY, "-m", "gunicorn", "-c", "python:feedsvc.gunicorn_conf", app]
    env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    env |= {"WEB_CONCURRENCY": str(workers), "GUNICORN_LOGLEVEL": "warning"}
    return subprocess.Popen(argv, env=env, cwd=cwd, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by every process in a process group (a server and its workers)."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Field 5 of proc(5) is the process group; 14 and 15 are utime and stime.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pgid: int, timeout: float = 120.0) -> None:
    """Wait until a server is idle: feedsvc's workers scan and watch the store once after start-up.

    That first scan costs seconds of CPU at 10k articles and would otherwise be
    charged to the requests of the first case measured.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = group_cpu(pgid)
        time.sleep(2)
        if group_cpu(pgid) - before < 0.04:
            return
    print(f"process group {pgid} still busy after {timeout:.0f} s", file=sys.stderr)


def wrk(url: str, headers: list[str], duration: int, connections: int) -> dict:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    for header in headers:
        argv += ["-H", header]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(name: str) -> float:
        value, unit = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p50": percentile("50"), "p99": percentile("99"), "requests": requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=18400)
    parser.add_argument(
        "--flask-path", action="store_true", help="also measure feedsvc with FAST_PATH=false"
    )
    parser.add_argument("--baseline", help="folder of another feedsvc version to measure beside")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="feedsvc-http-")
    os.chmod(tmp, 0o755)  # nginx's workers run as an unprivileged user
    ports = {"feedsvc": args.port, "ceiling": args.port + 1, "nginx": args.port + 2}
    ports["flask"] = args.port + 3
    ports["baseline"] = args.port + 4
    processes = []
    try:
        env = {"FEEDSVC_CONTENT_DIR": os.path.abspath(args.store)}
        env["FEEDSVC_BASE_URL"] = "https://feeds.example.com"  # same bytes whatever the Host
        processes.append(gunicorn("feedsvc.wsgi:app", ports["feedsvc"], args.workers, env, tmp))
        feed_url = f"http://127.0.0.1:{ports['feedsvc']}/feed.rss"
        wait_up(feed_url, timeout=300)
        with urllib.request.urlopen(feed_url) as response:
            body = response.read()
            etag = response.headers["ETag"]
        for _ in range(20):  # every worker renders and caches the feed
            urllib.request.urlopen(feed_url).read()
        os.makedirs(f"{tmp}/www")
        for name in ("www/feed.rss", "feed.rss"):
            with open(f"{tmp}/{name}", "wb") as handle:
                handle.write(body)
        with open(f"{tmp}/minimal.py", "w") as handle:
            handle.write(textwrap.dedent(MINIMAL_APP.format(path=f"{tmp}/feed.rss")))
        processes.append(gunicorn("minimal:app", ports["ceiling"], args.workers, {}, tmp))
        conf = NGINX_CONF.format(workers=args.workers, tmp=tmp, port=ports["nginx"])
        with open(f"{tmp}/nginx.conf", "w") as handle:
            handle.write(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        processes.append(
            subprocess.Popen(
                [nginx, "-c", f"{tmp}/nginx.conf", "-g", "daemon off;"], start_new_session=True
            )
        )
        variants = {}  # suffix: (port name, extra environment)
        if args.flask_path:
            variants["f"] = ("flask", {"FEEDSVC_FAST_PATH": "false"})
        if args.baseline:
            variants["b"] = ("baseline", {"PYTHONPATH": os.path.abspath(args.baseline)})
        variant_processes = {}
        for suffix, (port_name, extra) in variants.items():
            process = gunicorn(
                "feedsvc.wsgi:app", ports[port_name], args.workers, {**env, **extra}, tmp
            )
            processes.append(process)
            variant_processes[suffix] = process
            url = f"http://127.0.0.1:{ports[port_name]}/feed.rss"
            wait_up(url, timeout=300)
            for _ in range(20):
                urllib.request.urlopen(url).read()
        ceiling_url = f"http://127.0.0.1:{ports['ceiling']}/feed.rss"
        nginx_url = f"http://127.0.0.1:{ports['nginx']}/feed.rss"
        wait_up(ceiling_url)
        wait_up(nginx_url)
        feedsvc_group, ceiling_group, nginx_group = (p.pid for p in processes[:3])
        for process in processes:
            wait_until_idle(process.pid)
        cases = {
            "ceiling": (ceiling_url, [], ceiling_group),
            "cached": (feed_url, [], feedsvc_group),
            "304": (feed_url, [f"If-None-Match: {etag}"], feedsvc_group),
            "gzip": (feed_url, ["Accept-Encoding: gzip"], feedsvc_group),
            "nginx": (nginx_url, [], nginx_group),
        }
        for suffix, (port_name, _) in variants.items():
            url = f"http://127.0.0.1:{ports[port_name]}/feed.rss"
            group = variant_processes[suffix].pid
            cases[f"cached-{suffix}"] = (url, [], group)
            cases[f"304-{suffix}"] = (url, [f"If-None-Match: {etag}"], group)
            cases[f"gzip-{suffix}"] = (url, ["Accept-Encoding: gzip"], group)
        results: dict[str, list[dict]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (url, headers, group) in cases.items():
                cpu = group_cpu(group)
                result = wrk(url, headers, args.duration, args.connections)
                # Server CPU per request: what machine load distorts least.
                result["cpu_us"] = (group_cpu(group) - cpu) / result["requests"] * 1e6
                results[name].append(result)
            ceiling = results["ceiling"][-1]
            for name in cases:
                results[name][-1]["ratio"] = results[name][-1]["rps"] / ceiling["rps"]
                results[name][-1]["cpu_ratio"] = ceiling["cpu_us"] / results[name][-1]["cpu_us"]
        print(f"feed: {len(body)} bytes; {args.workers} workers; {args.connections} connections")
        print(
            f"{'case':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'vs ceiling':>10} "
            f"{'cpu us/req':>10} {'cpu vs ceiling':>14}"
        )
        for name, runs in results.items():
            row = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            print(
                f"{name:>8} {row['rps']:8.0f} {row['p50']:7.2f} {row['p99']:7.2f} "
                f"{row['ratio']:10.2f} {row['cpu_us']:10.0f} {row['cpu_ratio']:14.2f}"
            )
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
