"""Probes: ``/healthz`` says the process answers, ``/readyz`` says the store is loaded.

A liveness probe must not depend on the store (a slow first load is no reason to
restart the process); readiness does, so a load balancer sends no traffic to a
replica that would only have empty feeds.

With ``BACKGROUND_LOAD`` the first load runs in a thread of each serving process
(started by gunicorn's ``post_worker_init`` hook, or by the first request), so the
port opens at once and ``/readyz`` answers 503 until the load is done. It is never
started in gunicorn's master: a thread would not survive the fork to the workers,
and a lock it held would stay held in them.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, jsonify

from ..content.store import Store
from ..content.threads import PerProcessThread
from . import hooks

log = logging.getLogger("feedsvc.health")

bp = Blueprint("health", __name__)

# /readyz lists at most this many skipped files (or reasons); the count is always whole.
MAX_LISTED = 50


def _no_store(response: Response) -> Response:
    response.cache_control.no_store = True
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _no_store(Response("ok\n", mimetype="text/plain"))


@bp.get("/readyz")
def readyz() -> Response:
    store: Store = current_app.extensions["feedsvc.store"]
    if not store.ready:
        return _no_store(_json({"ready": False, "reason": "the store is loading"}, 503))
    snapshot = store.snapshot
    skipped = snapshot.skipped
    listed: list[dict[str, object]]
    if current_app.config["READYZ_PATHS"]:
        listed = [{"path": p.source, "reason": p.reason} for p in skipped[:MAX_LISTED]]
    else:
        # File names can say what is not published yet (drafts): reasons and counts only.
        counts = Counter(general_reason(p.reason) for p in skipped)
        listed = [{"reason": r, "count": n} for r, n in sorted(counts.items())][:MAX_LISTED]
    body = {
        "ready": True,
        "articles": len(snapshot.articles),
        "topics": len(snapshot.topics),
        "providers": len(snapshot.providers),
        "files": snapshot.files,
        "skipped_files": len(skipped),
        "skipped": listed,
        "generation": snapshot.generation,
        "loaded_at": datetime.fromtimestamp(snapshot.loaded_at, UTC).isoformat(),
        "load_seconds": round(snapshot.load_seconds, 6),
        "store_missing": store.root_missing,
    }
    # A replica that never found its store folder has nothing to serve: keep it out of
    # rotation. One whose folder went away later serves its last snapshot and stays in.
    if store.root_missing and snapshot.files == 0:
        body["ready"] = False
        body["reason"] = "the store folder is missing"
        return _no_store(_json(body, 503))
    return _no_store(_json(body, 200))


_DUPLICATE = re.compile(r"^same webUrl as .*, which is newer; skipped$")
_LAST_GOOD = re.compile(r"(; serving the last good versions of) [0-9]+ files$")


def general_reason(reason: str) -> str:
    """A problem's reason without the file names or counts some reasons carry."""
    reason = _DUPLICATE.sub("same webUrl as a newer file; skipped", reason)
    return _LAST_GOOD.sub(r"\1 its files", reason)


def _json(body: dict, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


class BackgroundLoader:
    """Runs the store's first load in a background thread, once per process."""

    def __init__(self, store: Store):
        self.store = store
        self._thread = PerProcessThread(self._load, "feedsvc-loader")

    def ensure_started(self) -> None:
        if not self.store.ready:
            self._thread.start()

    def _load(self) -> None:
        try:
            snapshot = self.store.refresh()
        except Exception:  # noqa: BLE001 - the reloader tries again
            log.exception("first load of the store failed")
            return
        log.info(
            "store loaded",
            extra={"articles": len(snapshot.articles), "seconds": round(snapshot.load_seconds, 3)},
        )


def start_loading(app: Flask) -> None:
    """Start the background load of ``app``'s store in this process, if it is configured."""
    loader: BackgroundLoader | None = getattr(app, "extensions", {}).get("feedsvc.loader")
    if loader is not None:
        loader.ensure_started()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if app.config["BACKGROUND_LOAD"]:
        loader = BackgroundLoader(app.extensions["feedsvc.store"])
        app.extensions["feedsvc.loader"] = loader
        hooks.add(app, loader.ensure_started)
