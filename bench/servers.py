"""Real servers for benchmarks and tests: gunicorn (and nginx) on 127.0.0.1, free ports, bounded time.

The bench scripts import it from their own folder; the tests through pytest's
``pythonpath`` setting.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict | None = None, timeout: float = 5) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a GET; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """The samples of ``url``/metrics, parsed by prometheus-client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = get(url + "/metrics")
    if status != 200:
        raise RuntimeError(f"{url}/metrics answered {status}")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric_total(samples: dict, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and set(labels.items()) <= set(sample_labels)
    )


def wait_until_up(url: str, deadline: float, proc: subprocess.Popen | None = None) -> None:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        with contextlib.suppress(OSError):
            status, _, _ = get(url, timeout=1)
            if status < 500:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in time")


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()


@contextlib.contextmanager
def gunicorn(
    content: Path, log_path: Path, *, workers: int = 2, env: dict | None = None, timeout: float = 20
) -> Iterator[Server]:
    """feedsvc under gunicorn with the packaged configuration, stopped on exit."""
    port = free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "PROMETHEUS_"))},
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": "2",
        "FEEDSVC_CONTENT_DIR": str(content),
        **(env or {}),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:feedsvc.gunicorn_conf"]
            + ["feedsvc.wsgi:app"],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/healthz", time.monotonic() + timeout, proc)
        yield Server(proc, url, log_path)
    finally:
        stop(proc)


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes as they are, read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        # A reset after (or instead of) an answer is a server refusing to read on.
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "feedsvc.conf.template"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@dataclass
class Nginx(Server):
    prefix: Path

    def access_lines(self) -> list[str]:
        path = self.prefix / "access.log"
        return path.read_text().splitlines() if path.exists() else []


@contextlib.contextmanager
def nginx(
    backends: list[str], *, static: dict[str, bytes] | None = None, timeout: float = 10
) -> Iterator[Nginx]:
    """nginx from deploy/nginx/ in front of ``backends`` (host:port), on 127.0.0.1.

    Runs unprivileged: as the current user, or as ``nobody`` when that is root, with
    its logs, temp files and cache in a temp folder removed on exit. ``static`` files
    (URL path below /static/ -> bytes) are served from disk beside the proxy, for
    comparisons.
    """
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed")
    port = free_port()
    prefix = Path(tempfile.mkdtemp(prefix="feedsvc-nginx-"))
    for sub in ("tmp", "cache", "static"):
        (prefix / sub).mkdir()
    for name, data in (static or {}).items():
        (prefix / "static" / name).write_bytes(data)
    extra = f"location /static/ {{ alias {prefix}/static/; }}" if static else ""
    conf = (
        NGINX_TEMPLATE.read_text()
        .replace("@PREFIX@", str(prefix))
        .replace("@LISTEN@", f"127.0.0.1:{port}")
        .replace("@BACKENDS@", " ".join(f"server {b};" for b in backends))
        .replace("@EXTRA@", extra)
    )
    (prefix / "nginx.conf").write_text(conf)
    run_as = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in [prefix, *prefix.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    command = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
    command += ["-g", "daemon off;"]
    with open(prefix / "stderr.log", "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **run_as)
    url = f"http://127.0.0.1:{port}"
    try:
        # nginx answers 404 on /readyz itself, so this does not touch the backends.
        wait_until_up(url + "/readyz", time.monotonic() + timeout, proc)
        yield Nginx(proc, url, prefix / "error.log", prefix)
    finally:
        stop(proc)
        shutil.rmtree(prefix, ignore_errors=True)
