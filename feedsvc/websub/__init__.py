"""WebSub: feeds announce their hubs, hubs hear of every change, and a hub of our own.

- :mod:`.settings`: the WEBSUB_* settings, and the discovery links (Link rel=hub/self)
- :mod:`.topics`: which URLs are topics, and their current bytes
- :mod:`.publisher`: which topics changed, from the store's snapshots
- :mod:`.hub`: the /websub endpoint: requests checked, intent verified
- :mod:`.storage`: subscriptions and the last version told, in SQLite
- :mod:`.queue` and :mod:`.delivery`: pushes, retried with backoff
- :mod:`.leader`: the one process per deployment that pushes
- :mod:`.app`: the pieces of one app, on `app.extensions["feedsvc.websub"]`
- :mod:`.safety`: requests to strangers' URLs that cannot be turned on us

With WEBSUB_HUBS empty nothing here runs and the feeds are as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from .app import WebSub


def init_app(app: Flask) -> WebSub | None:
    """Set WebSub up for ``app`` (see :func:`.app.init_app`)."""
    from .app import init_app

    return init_app(app)


def start(app: Flask) -> None:
    """Start the leader election in this process (gunicorn's post_worker_init, tests)."""
    from .app import start

    start(app)
