"""Real servers for tests: gunicorn (and nginx) on 127.0.0.1, free ports, bounded time."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
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


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
