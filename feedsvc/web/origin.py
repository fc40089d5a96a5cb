"""The canonical origin: the scheme and host every link, self URL, id and redirect is built from.

The Host header is the client's to choose, and whatever the service builds from it
ends up in shared caches. So it is trusted only this far:

* ``BASE_URL`` set: the origin is that, whatever the request says; the Host header is
  then checked only against ``ALLOWED_HOSTS`` if that is set too.
* ``BASE_URL`` empty: the Host (after ``PROXY_HOPS`` forwarded headers) must be on
  ``ALLOWED_HOSTS``, which by default names only the loopback names (``localhost``,
  ``127.0.0.1``, ``[::1]``, any port), so a newcomer's ``make serve`` works and an
  exposed service answers 400 to a Host nobody configured.
* The scheme is ``http`` or ``https`` (a forwarded ``javascript:`` is a 400).

Probes and metrics build no links and are reached by address (a kubelet's Host is the
pod IP), so they are exempt from the Host check.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, abort, current_app, request

# Names a host may have: letters, digits, dots, dashes, or a bracketed IPv6 address,
# then an optional port. Anything else (``a@evil``, a path) is refused before matching.
_HOST = re.compile(
    r"(?P<name>[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?"
)
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
SCHEMES = ("http", "https")
EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
_MAX_MEMO = 4096


def parse_hosts(value: str) -> tuple[str, ...]:
    """``ALLOWED_HOSTS``: comma-separated names, lower-cased; ``.example.com`` also allows
    every subdomain; a name without a port allows any port."""
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


class Origin:
    """Decides, per request environ, the base URL to build from, or None for a 400."""

    def __init__(self, base_url: str, allowed_hosts: tuple[str, ...]):
        self.base_url = base_url
        self.allowed = allowed_hosts or (() if base_url else LOOPBACK)
        self._memo: dict[tuple, str | None] = {}

    def allows(self, host: str) -> bool:
        """Whether ``host`` (a Host header value) is on the allow-list."""
        match = _HOST.fullmatch(host)
        if match is None:
            return False
        name = match["name"].lower().rstrip(".")
        for allowed in self.allowed:
            if allowed == "*":
                return True
            if ":" in allowed and not allowed.endswith("]"):
                if host.lower() == allowed:
                    return True
            elif name == allowed or (allowed.startswith(".") and name.endswith(allowed)):
                return True
        return False

    def of(self, environ: dict) -> str | None:
        """The base URL (no trailing slash) for this request, or None if it must be refused."""
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or ""
        key = (scheme, host, environ.get("SERVER_NAME"), environ.get("SERVER_PORT"))
        try:
            return self._memo[key]
        except KeyError:
            pass
        answer = self._decide(scheme, host, environ)
        if len(self._memo) >= _MAX_MEMO:
            self._memo.clear()
        self._memo[key] = answer
        return answer

    def _decide(self, scheme: str, host: str, environ: dict) -> str | None:
        if scheme not in SCHEMES:
            return None
        if self.allowed and not self.allows(host or _server(environ)):
            return None
        if self.base_url:
            return self.base_url
        host = (host or _server(environ)).lower()
        # The default port is dropped, as werkzeug's host_url does.
        for default in (":80",) if scheme == "http" else (":443",):
            host = host.removesuffix(default)
        return f"{scheme}://{host}"


def _server(environ: dict) -> str:
    return f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}".rstrip(":")


def base_url() -> str:
    """The current request's canonical base URL (checked by :func:`refuse_unknown`)."""
    origin: Origin = current_app.extensions["feedsvc.origin"]
    value = origin.of(request.environ)
    if value is None:
        abort(400, "Unknown host or scheme.")
    return value


def refuse_unknown() -> None:
    if request.path not in EXEMPT:
        base_url()


def canonical_location(response: Response) -> Response:
    """Point an absolute redirect (werkzeug builds the slash redirect's from the request's
    Host) at the canonical origin: the service never redirects to another site."""
    location = response.headers.get("Location")
    if location and request.path not in EXEMPT:
        parts = urlsplit(location)
        if parts.netloc:
            base = urlsplit(base_url())
            response.headers["Location"] = urlunsplit(
                (base.scheme, base.netloc, base.path + parts.path, parts.query, parts.fragment)
            )
    return response


def init_app(app: Flask) -> Origin:
    origin = Origin(app.config["BASE_URL"], parse_hosts(app.config["ALLOWED_HOSTS"]))
    app.extensions["feedsvc.origin"] = origin
    app.before_request(refuse_unknown)
    app.after_request(canonical_location)
    return origin
