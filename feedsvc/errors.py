"""Every error is a short plain-text answer with its status; none shows a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response
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


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
