"""feedsvc: RSS 2.0, Atom 1.0 and JSON Feed 1.1 for a folder of news articles.

Data flows one way, one package per stage: files → :mod:`feedsvc.content` (articles,
snapshot and index) → :mod:`feedsvc.render` (bytes, one builder per format, cached) →
:mod:`feedsvc.web` (HTTP). Imports point the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app: defaults, then FEEDSVC_* environment variables, then ``config``."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from .config import coerce
    from .content import store
    from .render import cache, items
    from .web import (
        errors,
        fastpath,
        hooks,
        limits,
        origin,
        pages,
        responses,
        routing,
        security,
        views,
    )

    app = Flask(__name__)
    app.config.from_prefixed_env("FEEDSVC")
    if config:
        app.config.from_mapping(config)
    coerce(app.config)
    store.init_app(app)
    hooks.init_app(app)
    hooks.add(app, app.extensions["feedsvc.reloader"].ensure_running)
    cache.init_app(app)
    items.init_app(app)
    responses.init_app(app)
    limits.init_app(app)
    errors.init_app(app)
    origin.init_app(app)
    security.init_app(app)
    _init_operations(app)
    routing.init_app(app)  # after the request id is set, so its 301s and 400s carry it
    app.register_blueprint(views.bp)
    pages.init_app(app)
    fastpath.install(app)  # inside ProxyFix, so forwarded hosts apply to it too
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        # Flask's documented way to wrap its WSGI callable; mypy sees a method replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    return app


def _init_operations(app: Flask) -> None:
    """Request logs, /metrics, /healthz and /readyz."""
    from .web import health, logs, metrics

    logs.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
