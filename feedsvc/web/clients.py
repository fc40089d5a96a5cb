"""Per-client budgets: how much of something each client may use, refilled over time.

A :class:`Budget` is a token bucket per key (a client's address, or an address and a
URL): ``rate`` tokens a second, up to ``burst`` saved. It remembers at most
``max_keys`` keys, the least recently seen forgotten first, so memory stays bounded
whatever the number of clients (one forgotten comes back with a full bucket, which
costs a little fairness, never correctness). It is per process: each gunicorn worker
keeps its own, so a client's allowance is per worker. The clock is injected, and
``rate=0`` turns a budget off.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Hashable

from cachetools import LRUCache


class Budget:
    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = 65536,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.clock = clock
        self._buckets: LRUCache = LRUCache(maxsize=max_keys)  # key -> [tokens, updated]
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: Hashable, cost: float = 1.0) -> float:
        """Spend ``cost`` from ``key``'s bucket: 0 if it had enough, else the seconds until
        it will (nothing is spent then)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [self.burst, now]
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            if tokens >= cost:
                bucket[0] = tokens - cost
                return 0.0
            bucket[0] = tokens
            return (cost - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


def client_key(address: str | None) -> str:
    """The key a client's budget is kept under: its address, or its /64 for IPv6, the
    block one subscriber line usually gets (so stepping through it gains nothing)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def parse_networks(value: str, setting: str) -> tuple:
    """Comma-separated addresses or networks (CIDR); ValueError naming ``setting`` if one
    is not."""
    networks = []
    for part in value.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"FEEDSVC_{setting}: {exc}") from exc
    return tuple(networks)
