"""Prometheus metrics at ``/metrics``: requests, latency, rendered-cache use and the store.

Under gunicorn every worker is its own process, so a scrape reaches one worker at
random. prometheus-client's multiprocess mode fixes that: each process writes its
values to files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds them all up. The
gunicorn configuration sets that folder up before the app is imported (the mode is
chosen when prometheus-client is first imported) and marks exited workers dead.

Each app gets its own registry, so two apps in one test process never collide.
Scrapes are answered only to the addresses of ``METRICS_ALLOW`` (loopback and the
private networks by default: a Prometheus beside the service, never the internet);
anyone else gets a 404. Behind ``PROXY_HOPS`` trusted proxies the address is the one
they forwarded.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from ..content.index import Snapshot
from ..content.store import Store
from .clients import parse_networks
from .logs import route_name

bp = Blueprint("metrics", __name__)

# Feeds come from memory in a millisecond or two; a cold render of a big page takes longer.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
RELOAD_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "feedsvc_http_requests",
            "HTTP requests answered, by route, feed format and status.",
            ["route", "format", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "feedsvc_http_request_duration_seconds",
            "Time from the request reaching the app to its response, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.not_modified = Counter(
            "feedsvc_http_not_modified",
            "304 Not Modified answers to conditional requests, by route.",
            ["route"],
            registry=r,
        )
        self.cache = Counter(
            "feedsvc_render_cache_lookups",
            "Rendered-feed cache lookups, by outcome (hit or miss).",
            ["outcome"],
            registry=r,
        )
        # Every worker holds the same store, so the latest value written is the answer.
        gauge = functools.partial(Gauge, registry=r, multiprocess_mode="mostrecent")
        self.articles = gauge("feedsvc_store_articles", "Articles served.")
        self.topics = gauge("feedsvc_store_topics", "Topics with a feed.")
        self.providers = gauge("feedsvc_store_providers", "Providers with a feed.")
        self.files = gauge("feedsvc_store_files", "Article files in the store folder.")
        self.skipped = gauge("feedsvc_store_skipped_files", "Files skipped as bad or duplicate.")
        self.loaded_at = gauge(
            "feedsvc_store_loaded_timestamp_seconds",
            "Unix time the current snapshot of the store was published.",
        )
        self.reload_seconds = Histogram(
            "feedsvc_store_reload_duration_seconds",
            "Time to read the changes in the store and publish a new snapshot.",
            buckets=RELOAD_BUCKETS,
            registry=r,
        )
        for outcome in ("hit", "miss"):
            self.cache.labels(outcome)  # both series exist from the start, at 0
        # Labelled children of the fast path, by (route, format, status): a few dozen at most.
        self._children: dict[tuple, tuple] = {}

    def observe_snapshot(self, snapshot: Snapshot) -> None:
        self.articles.set(len(snapshot.articles))
        self.topics.set(len(snapshot.topics))
        self.providers.set(len(snapshot.providers))
        self.files.set(snapshot.files)
        self.skipped.set(len(snapshot.skipped))
        self.loaded_at.set(snapshot.loaded_at)
        self.reload_seconds.observe(snapshot.load_seconds)

    def observe_response(self, response: Response) -> None:
        route = route_name()
        status = response.status_code
        fmt = (request.view_args or {}).get("fmt", "")
        started = g.get("started")
        self.requests.labels(route, fmt, str(status)).inc()
        if started is not None:
            self.latency.labels(route).observe(time.perf_counter() - started)
        if status == 304:
            self.not_modified.labels(route).inc()
        outcome = g.get("cache_outcome")
        if outcome:
            self.cache.labels(outcome).inc()

    def observe_feed(self, route: str, fmt: str, status: int, started: float) -> None:
        """What observe_response records for a feed answered from the cache by the fast path."""
        children = self._children.get((route, fmt, status))
        if children is None:
            children = self._children[(route, fmt, status)] = (
                self.requests.labels(route, fmt, str(status)),
                self.latency.labels(route),
                self.not_modified.labels(route) if status == 304 else None,
                self.cache.labels("hit"),
            )
        requests, latency, not_modified, hits = children
        requests.inc()
        latency.observe(time.perf_counter() - started)
        if not_modified is not None:
            not_modified.inc()
        hits.inc()

    def exposition(self) -> bytes:
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def metrics_of(app: Flask) -> Metrics:
    return app.extensions["feedsvc.metrics"]


@bp.get("/metrics")
def metrics() -> Response:
    allowed: tuple = current_app.extensions["feedsvc.metrics_allow"]
    try:
        client = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        client = None
    if client is None or not any(client in network for network in allowed):
        # Not advertised: the same answer as any unknown path.
        abort(404)
    response = Response(metrics_of(current_app).exposition(), content_type=CONTENT_TYPE_LATEST)
    response.cache_control.no_store = True
    return response


def _start() -> None:
    g.setdefault("started", time.perf_counter())


def _finish(response: Response) -> Response:
    metrics_of(current_app).observe_response(response)
    return response


def init_app(app: Flask) -> Metrics:
    metrics = Metrics()
    app.extensions["feedsvc.metrics"] = metrics
    app.extensions["feedsvc.metrics_allow"] = parse_networks(
        app.config["METRICS_ALLOW"], "METRICS_ALLOW"
    )
    store: Store = app.extensions["feedsvc.store"]
    store.listeners.append(metrics.observe_snapshot)
    if store.ready:
        metrics.observe_snapshot(store.snapshot)
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(bp)
    return metrics
