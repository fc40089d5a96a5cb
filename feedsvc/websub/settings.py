"""WebSub settings, checked once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..web.discovery import HUB_PATH, hubs_of

DB_NAME = "websub.sqlite3"
LOCK_NAME = "leader.lock"


@dataclass(frozen=True, slots=True)
class WebSubSettings:
    hubs: tuple[str, ...]  # every hub the feeds announce, in the configured order
    self_hub: str | None  # our own hub's URL, when `self` is one of them
    external: tuple[str, ...]  # the hubs that are told of changes over HTTP
    base_url: str
    directory: str
    allow_private: bool
    lease_default: int
    lease_min: int
    lease_max: int
    callbacks_per_host: int
    requests_per_minute: int
    timeout: float

    def lease(self, asked: int | None) -> int:
        """The lease granted for a request: the asked one within bounds, never perpetual."""
        if asked is None:
            return self.lease_default
        return max(self.lease_min, min(self.lease_max, asked))


def from_config(config: Mapping) -> WebSubSettings | None:
    """The WebSub settings of an app, or None when WEBSUB_HUBS is empty (WebSub off).

    Raises ValueError naming the setting when they cannot work together.
    """
    names = [name.strip() for name in config["WEBSUB_HUBS"].split(",") if name.strip()]
    if not names:
        return None
    base_url = config["BASE_URL"]
    if not base_url:
        # Topic URLs are published off any request, so they cannot come from a Host header.
        raise ValueError("FEEDSVC_WEBSUB_HUBS needs FEEDSVC_BASE_URL, the feeds' public origin")
    if not config["WEBSUB_DIR"]:
        raise ValueError("FEEDSVC_WEBSUB_HUBS needs FEEDSVC_WEBSUB_DIR, a writable folder")
    for name in names:
        parts = urlsplit(name)
        if name != "self" and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError(f"FEEDSVC_WEBSUB_HUBS: {name!r} is neither `self` nor a hub URL")
    hubs = hubs_of(config)
    self_hub = base_url + HUB_PATH if "self" in names else None
    low, default, high = (
        config["WEBSUB_LEASE_MIN"],
        config["WEBSUB_LEASE_SECONDS"],
        config["WEBSUB_LEASE_MAX"],
    )
    if not 0 < low <= default <= high:
        raise ValueError(
            "FEEDSVC_WEBSUB_LEASE_MIN <= FEEDSVC_WEBSUB_LEASE_SECONDS <= FEEDSVC_WEBSUB_LEASE_MAX "
            f"must hold, all above 0 (got {low}, {default}, {high})"
        )
    return WebSubSettings(
        hubs=hubs,
        self_hub=self_hub,
        external=tuple(hub for hub in hubs if hub != self_hub),
        base_url=base_url,
        directory=config["WEBSUB_DIR"],
        allow_private=config["WEBSUB_ALLOW_PRIVATE"],
        lease_default=default,
        lease_min=low,
        lease_max=high,
        callbacks_per_host=config["WEBSUB_CALLBACKS_PER_HOST"],
        requests_per_minute=config["WEBSUB_REQUESTS_PER_MINUTE"],
        timeout=config["WEBSUB_TIMEOUT"],
    )
