"""Requests to URLs that strangers give the hub, made so they cannot be turned on us.

A callback is resolved at the time of each request, every address it resolves to
must be public (not loopback, private, link-local, multicast or reserved) unless
private ones are allowed, and the connection goes to the address that was checked,
so a name that changes its answer between the check and the connect (DNS
rebinding) reaches nothing it should not. Redirects are not followed, each request
has a deadline, and at most a bounded number of response bytes is read. (How many
requests a client may make is :mod:`feedsvc.web.clients`' budget, used by the hub.)
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


class Refused(Exception):
    """The request was not made: the reason says why."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes  # at most the bytes asked for


def address_refused(address: str) -> str | None:
    """Why a callback may not be called at ``address``, or None if it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name in ("loopback", "multicast", "link_local", "private", "reserved", "unspecified"):
        if getattr(ip, f"is_{name}"):
            return f"{address} is a {name.replace('_', '-')} address"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None


def host_refused(host: str, allow_private: bool) -> str | None:
    """For a literal IP address, the reason it is refused; names are checked when resolved."""
    if allow_private:
        return None
    try:
        return address_refused(host.strip("[]"))
    except ValueError:
        return None  # a name


def resolve(host: str, port: int, allow_private: bool) -> tuple[int, tuple]:
    """(family, socket address) to connect to, every address of ``host`` checked."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    if not infos:
        raise Refused(f"{host} has no address")
    if not allow_private:
        for _, _, _, _, sockaddr in infos:
            reason = address_refused(str(sockaddr[0]))
            if reason is not None:
                raise Refused(f"{host} resolves to {reason}")
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


class _Pinned(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand, whatever DNS says now."""

    def __init__(self, host: str, port: int, target: tuple[int, tuple], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._target = target

    def connect(self) -> None:
        family, sockaddr = self._target
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(sockaddr)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _PinnedTLS(_Pinned):
    default_port = http.client.HTTPS_PORT

    def __init__(
        self,
        host: str,
        port: int,
        target: tuple[int, tuple],
        timeout: float,
        context: ssl.SSLContext,
    ):
        super().__init__(host, port, target, timeout)
        self._context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


@dataclass
class Client:
    """Outgoing requests of the hub and the publisher."""

    allow_private: bool
    timeout: float
    tls: ssl.SSLContext | None = None
    check: bool = True  # False for hubs the operator configured, which may be private

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        read: int = 0,
    ) -> Answer:
        """One request, no redirects followed; reads at most ``read`` bytes of the body.

        Raises :class:`Refused` when the URL may not be called, OSError (and
        http.client's errors) when the exchange fails or outlasts the timeout.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        deadline = time.monotonic() + self.timeout
        target = resolve(parts.hostname, port, self.allow_private or not self.check)
        if parts.scheme == "https":
            context = self.tls or ssl.create_default_context()
            connection: _Pinned = _PinnedTLS(parts.hostname, port, target, self.timeout, context)
        else:
            connection = _Pinned(parts.hostname, port, target, self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # The socket timeout bounds each wait; this bounds the whole exchange, so a peer
        # that drips a byte at a time cannot hold a thread for longer.
        watchdog = threading.Timer(self.timeout, _cut, (connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            data = _read(response, read, deadline)
            return Answer(response.status, data)
        finally:
            watchdog.cancel()
            connection.close()


def _cut(connection: http.client.HTTPConnection) -> None:
    """End an exchange that outlasted its time: a blocked read returns at once."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _read(response: http.client.HTTPResponse, limit: int, deadline: float) -> bytes:
    """Up to ``limit`` bytes of the body, before the deadline; the rest is never read."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the response took too long")
        chunk = response.read1(min(left, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
