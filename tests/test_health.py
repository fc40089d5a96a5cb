"""/healthz and /readyz, with the store loaded up front or in the background."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from conftest import article


def test_healthz_answers_without_the_store(store_dir):
    client = store_dir.app().test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_describes_the_loaded_store(store_dir):
    store_dir.add("a.md", article())
    store_dir.add("b.md", article(webUrl="https://news.example.com/2", topics=["AI", "Robots"]))
    store_dir.add("bad.md", "---\ntitle: [unclosed\n---\n")
    response = store_dir.app(READYZ_PATHS=True).test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ready"] is True
    assert (body["articles"], body["topics"], body["providers"], body["files"]) == (2, 2, 1, 3)
    assert body["skipped_files"] == 1
    assert [s["path"] for s in body["skipped"]] == ["bad.md"]
    assert datetime.fromisoformat(body["loaded_at"]).tzinfo is not None
    assert body["load_seconds"] >= 0


def test_readyz_is_503_while_the_first_load_runs(store_dir):
    store_dir.add("a.md", article())
    app = store_dir.app(BACKGROUND_LOAD=True)
    store = app.extensions["feedsvc.store"]
    assert not store.ready
    client = app.test_client()
    with store._lock:  # the background load waits here, as it would on a slow disk
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["ready"] is False
        assert client.get("/healthz").status_code == 200
    deadline = time.monotonic() + 5
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the background load never finished"
        time.sleep(0.01)
    assert client.get("/readyz").get_json()["articles"] == 1


def test_readyz_is_503_when_the_store_folder_never_existed(tmp_path):
    from feedsvc import create_app

    app = create_app({"CONTENT_DIR": str(tmp_path / "absent"), "RELOAD_INTERVAL": 0})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["store_missing"] is True


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_not_cached(client, path):
    assert client.get(path).headers["Cache-Control"] == "no-store"
