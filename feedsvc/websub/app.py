"""The WebSub pieces of one app, built from its settings."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from flask import Flask

from ..web import hooks
from .hub import Hub, bp
from .leader import Leader
from .metrics import WebSubMetrics
from .publisher import Changes
from .safety import Client
from .settings import DB_NAME, WebSubSettings, from_config
from .storage import Storage
from .topics import Topics

log = logging.getLogger("feedsvc.websub")


class WebSub:
    """Everything WebSub keeps for one app."""

    def __init__(self, app: Flask, settings: WebSubSettings, clock: Callable[[], float]):
        self.settings = settings
        os.makedirs(settings.directory, exist_ok=True)
        self.storage = Storage(os.path.join(settings.directory, DB_NAME))
        store = app.extensions["feedsvc.store"]
        self.metrics = WebSubMetrics(app.extensions["feedsvc.metrics"].registry)
        self.topics = Topics(app, settings.base_url)
        # Callbacks are strangers' URLs; hubs are the operator's, and may be private.
        self.client = Client(settings.allow_private, settings.timeout)
        hub_client = Client(True, settings.timeout, check=False)
        self.leader = Leader(
            settings,
            self.storage,
            store,
            Changes(self.topics, self.storage, clock),
            self.client,
            hub_client,
            self.metrics,
            clock,
            # What a request would start in this process: the reloader, the background load.
            on_lead=lambda: hooks.run(hooks.hooks_of(app)),
        )
        self.hub: Hub | None = None
        if settings.self_hub:
            self.hub = Hub(
                settings,
                self.storage,
                self.topics,
                store,
                self.client,
                self.metrics,
                clock,
                on_publish=self.leader.wake,
            )
        store.listeners.append(self.leader.saw)

    def state(self) -> dict:
        """What /readyz says of WebSub."""
        state: dict = {"hubs": list(self.settings.hubs), "self_hub": bool(self.settings.self_hub)}
        try:
            now = self.leader.clock()
            leader = self.storage.leader()
            state["subscriptions"] = self.storage.count(now)
            state["leader"] = (
                None
                if leader is None
                else {
                    "pid": leader["pid"],
                    "this_process": leader["pid"] == os.getpid() and self.leader.leading,
                    "seconds_since_beat": round(max(0.0, now - leader["beat"]), 3),
                    "pending": leader["pending"],
                }
            )
            state["storage"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised: feeds still serve
            log.exception("websub storage unreadable")
            state["storage"] = f"error: {exc}"
        return state

    def ensure_running(self) -> None:
        self.leader.ensure_running()


def init_app(app: Flask) -> WebSub | None:
    """Set WebSub up for ``app`` if WEBSUB_HUBS names any hub; None (and nothing) if not."""
    app.register_blueprint(bp)  # the URL table's /websub: a 404 unless `self` is a hub
    settings = from_config(app.config)
    if settings is None:
        return None
    # WEBSUB_CLOCK is no setting but a callable tests pass to create_app, to step time.
    websub = WebSub(app, settings, app.config.get("WEBSUB_CLOCK") or time.time)
    app.extensions["feedsvc.websub"] = websub
    hooks.add(app, websub.ensure_running)  # Flask's before_request and the fast path
    return websub


def start(app: Flask) -> None:
    """Start the leader election in this process (gunicorn's post_worker_init, tests)."""
    websub: WebSub | None = getattr(app, "extensions", {}).get("feedsvc.websub")
    if websub is not None:
        websub.ensure_running()
