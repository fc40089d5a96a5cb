"""Work every request does before it is answered, registered once per app.

Hooks here keep per-process machinery going (the reloader, the background load).
Flask runs them from one ``before_request``; the fast path calls :func:`run` with
the same list, so a hook added here reaches both.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

KEY = "feedsvc.request_hooks"


def add(app: Flask, hook: Callable[[], object]) -> None:
    app.extensions.setdefault(KEY, []).append(hook)


def hooks_of(app: Flask) -> list[Callable[[], object]]:
    return app.extensions.setdefault(KEY, [])


def run(hooks: list[Callable[[], object]]) -> None:
    for hook in hooks:
        hook()


def _before_request() -> None:
    run(hooks_of(current_app))


def init_app(app: Flask) -> None:
    hooks_of(app)
    app.before_request(_before_request)
