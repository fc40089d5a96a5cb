"""Every error is a short plain-text answer with its status; none shows a stack trace."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, abort, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("feedsvc.errors")


def http_error(error: HTTPException) -> Response:
    text = error.description if error.code and error.code < 500 else "Internal server error."
    response = Response(f"{error.code} {error.name}: {text}\n", error.code, mimetype="text/plain")
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error")
    return http_error(InternalServerError())


_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def check_query() -> None:
    """Refuse a raw query string that no view could use safely.

    Werkzeug decodes it strictly and lazily, so bad UTF-8 would raise halfway through
    a view; raw control characters would end up in a slash redirect's Location.
    """
    raw = request.query_string
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "The query string is not valid UTF-8.")
    if _CONTROL.search(raw):
        abort(400, "The query string contains control characters; percent-encode them.")


def init_app(app: Flask) -> None:
    app.before_request(check_query)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
