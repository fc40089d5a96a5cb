"""Fixtures: the sample store, and stores the tests write file by file."""

from __future__ import annotations

import copy
import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from feedsvc import create_app
from feedsvc.content import frontmatter
from feedsvc.web import logs

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "content"

BASE_ARTICLE = {
    "category": "news",
    "title": "Sample headline",
    "excerpt": "A short excerpt of the article.",
    "publishedDateTime": "2024-05-01T10:00:00Z",
    "webUrl": "https://news.example.com/articles/1",
    "type": "article",
    "quality": 90,
    "heat": 80,
    "published": True,
    "provider": {
        "name": "Example News",
        "domain": "news.example.com",
        "images": [{"url": "https://news.example.com/logo-50x50.png", "width": 50, "height": 50}],
    },
    "topics": ["AI"],
    "images": [
        {"url": "https://cdn.example.com/a.jpg", "width": 640, "height": 360, "title": "A picture"}
    ],
    "related": [
        {
            "title": "Related story",
            "webUrl": "https://other.example.org/story",
            "publishedDateTime": "2024-05-01T11:00:00Z",
            "provider": {"name": "Other", "domain": "other.example.org"},
        }
    ],
    "secured": "c2VjcmV0LXBheWxvYWQtdGhhdC1tdXN0LW5ldmVyLWxlYWs=;bm9uY2U=",
}
SECRET = BASE_ARTICLE["secured"]


def article(**fields) -> dict:
    """The base article with ``fields`` replaced; a value of None removes the field."""
    data = copy.deepcopy(BASE_ARTICLE)
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


front_matter = frontmatter.dump


class StoreDir:
    """A store folder a test fills with files."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, data: dict | str | bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, dict):
            data = front_matter(data)
        if isinstance(data, str):
            data = data.encode("utf-8")
        path.write_bytes(data)
        return path

    def add_numbered(self, n: int, name: str | None = None, **fields) -> Path:
        """Article number ``n``, at https://n.example.com/<n>, in ``<n>.txt``."""
        return self.add(name or f"{n}.txt", article(webUrl=f"https://n.example.com/{n}", **fields))

    def app(self, **config):
        return create_app({"CONTENT_DIR": str(self.root), "RELOAD_INTERVAL": 0, **config})


@pytest.fixture
def store_dir(tmp_path) -> StoreDir:
    return StoreDir(tmp_path / "store")


@pytest.fixture
def sample_app():
    return create_app({"CONTENT_DIR": str(SAMPLE), "RELOAD_INTERVAL": 0})


@pytest.fixture
def client(sample_app):
    return sample_app.test_client()


@contextmanager
def run_server(app, timeout: float = 10.0) -> Iterator[str]:
    """Run ``app`` on a free port of 127.0.0.1; yield its base URL; stop it after."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout)


@pytest.fixture
def serve():
    """``with serve(app) as base_url:`` runs a real HTTP server for the block."""
    return run_server


@contextmanager
def json_log(level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """What feedsvc's loggers write, through the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter())
    handler.addFilter(logs.RequestIdFilter())
    logger = logging.getLogger("feedsvc")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(level)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
