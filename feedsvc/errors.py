"""Every error is a short plain-text answer with its status; none shows a stack trace."""

from __future__ import annotations

import logging

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


def require_utf8_query() -> None:
    """Werkzeug decodes the query string strictly and lazily; refuse bad bytes up front
    so that no view meets a UnicodeDecodeError halfway through."""
    try:
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "The query string is not valid UTF-8.")


def init_app(app: Flask) -> None:
    app.before_request(require_utf8_query)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
