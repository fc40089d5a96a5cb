"""The built image, run without a daemon: serves the store on $PORT as a non-root user,
its HEALTHCHECK command passes, and it holds no compiler.

The image comes from deploy/build-image.sh (its build needs the package index, so it is
not part of the test run); without buildah or that image these tests are skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid

import pytest
from conftest import SAMPLE
from servers import ROOT, free_port, get, stop, wait_until_up

IMAGE = "localhost/feedsvc:test"


def image_config() -> dict | None:
    if shutil.which("buildah") is None:
        return None
    out = subprocess.run(
        ["buildah", "inspect", "--type", "image", IMAGE], capture_output=True, text=True
    )
    return json.loads(out.stdout)["Docker"]["config"] if out.returncode == 0 else None


CONFIG = image_config()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        CONFIG is None, reason=f"no buildah or no {IMAGE} (deploy/build-image.sh builds it)"
    ),
]


@pytest.fixture(scope="module")
def container():
    name = f"feedsvc-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["buildah", "from", "--name", name, IMAGE], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True)


def run(container: str, *command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["buildah", "run", "--isolation", "chroot", container, "--", *command],
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )


def test_the_image_serves_the_mounted_store_as_a_non_root_user(container, tmp_path):
    port = free_port()
    # chroot isolation shares the host's network: bind loopback, not the image's 0.0.0.0.
    command = f"HOST=127.0.0.1 PORT={port} WEB_CONCURRENCY=1 exec {' '.join(CONFIG['Cmd'])}"
    env = dict(item.split("=", 1) for item in CONFIG["Env"])
    volume = f"{SAMPLE}:{env['FEEDSVC_CONTENT_DIR']}:ro"
    with open(tmp_path / "container.log", "wb") as log:
        proc = subprocess.Popen(
            ["buildah", "run", "--isolation", "chroot", "-v", volume, container, "--"]
            + ["sh", "-c", command],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", time.monotonic() + 30, proc)
        status, _, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and json.loads(body)["articles"] == 2
        assert get(f"http://127.0.0.1:{port}/feed.rss")[0] == 200
        healthcheck = CONFIG["Healthcheck"]["Test"]
        assert healthcheck[0] == "CMD"
        check = run(container, "env", f"PORT={port}", *healthcheck[1:])
        assert check.returncode == 0, check.stderr
        assert run(container, "id", "-u").stdout.strip() == "10001"
    finally:
        stop(proc)


@pytest.mark.parametrize("tool", ["gcc", "cc", "make"])
def test_the_image_has_no_build_tools(container, tool):
    assert run(container, "sh", "-c", f"command -v {tool}").returncode != 0


def test_the_image_config_matches_the_dockerfile():
    assert CONFIG["User"] == "10001:10001"
    env = dict(item.split("=", 1) for item in CONFIG["Env"])
    assert list(CONFIG["Volumes"]) == [env["FEEDSVC_CONTENT_DIR"]]
    assert env["PORT"] == "8000" and CONFIG["Cmd"] == dockerfile_cmd()


def dockerfile_cmd() -> list[str]:
    """The Dockerfile's own CMD (not HEALTHCHECK's), so a stale image fails the test."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    (cmd,) = [line for line in lines if line.startswith("CMD ")]
    return json.loads(cmd[4:])
