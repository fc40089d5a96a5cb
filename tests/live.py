"""A real gunicorn serving feedsvc on a free loopback port, for tests that need one."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(content: Path, *, workers: int = 1, env: dict | None = None) -> Iterator[Server]:
    """Start gunicorn with feedsvc's settings; yield it; stop it, whatever happens."""
    port = free_port()
    log_file = Path(tempfile.mkstemp(prefix="feedsvc-gunicorn-", suffix=".log")[1])
    environ = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "FEEDSVC_CONTENT_DIR": str(content),
        **(env or {}),
    }
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:feedsvc.gunicorn_conf"]
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [*argv, "feedsvc.wsgi:app"], env=environ, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(log_file.read_text(errors="replace"))
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start within 20 s")
            time.sleep(0.05)
        yield Server(port, log_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.unlink(missing_ok=True)


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes as they are, read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)
