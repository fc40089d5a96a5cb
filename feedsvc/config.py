"""Every setting in one table: name, default, type and what it does.

Values come in three layers: these defaults, then ``FEEDSVC_<NAME>`` environment
variables, then the mapping given to ``create_app`` (tests). The README's
configuration table is this one.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: object
    type: type
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("CONTENT_DIR", "content", str, "Folder of article files, read recursively."),
    Setting(
        "BASE_URL",
        "",
        str,
        "Public origin of the service, e.g. https://feeds.example.com: every link, id and "
        "redirect is built from it, whatever the request's Host says. Empty: taken from the "
        "request's Host, which must then be on ALLOWED_HOSTS.",
    ),
    Setting(
        "ALLOWED_HOSTS",
        "",
        str,
        "Comma-separated Host names the service answers (a leading dot allows subdomains, "
        "a name with a port allows that port only, * allows any); other hosts get a 400. "
        "Empty: the loopback names only, unless BASE_URL is set (then any Host is served "
        "BASE_URL's links).",
    ),
    Setting("TITLE", "feedsvc", str, "Site title, shown in every feed's title."),
    Setting("DESCRIPTION", "The latest news articles", str, "Description of the main feed."),
    Setting("LANGUAGE", "en", str, "Language of the feeds (RSS <language>, Atom xml:lang)."),
    Setting(
        "MAX_FILE_BYTES",
        1 << 20,
        int,
        "Article files larger than this are skipped, and read no further.",
    ),
    Setting(
        "RELOAD_INTERVAL",
        2.0,
        float,
        "Seconds between full scans of the store for new, changed and deleted files when "
        "file events are not available (see WATCH); 0 turns reloading off.",
    ),
    Setting(
        "CACHE_DIR",
        "",
        str,
        "Folder where the parsed store is kept between restarts, so a restart over an "
        "unchanged store skips parsing; empty: not kept. Must be writable by the service alone.",
    ),
    Setting(
        "WATCH",
        True,
        bool,
        "Re-read files as soon as the OS reports them changed (inotify, through watchdog), "
        "instead of only scanning every RELOAD_INTERVAL seconds.",
    ),
    Setting(
        "RESCAN_INTERVAL",
        60.0,
        float,
        "With WATCH, seconds between full scans of the store, a safety net for changes "
        "that raise no event (network filesystems).",
    ),
    Setting("CACHE_MAX_BYTES", 64 << 20, int, "Size bound of the rendered-feed cache."),
    Setting(
        "MAX_AGE",
        900,
        int,
        "How often readers should poll, in seconds: Cache-Control max-age of feeds and "
        "pages, RSS <ttl> (in minutes) and sy:updatePeriod/sy:updateFrequency. 15 minutes "
        "keeps a news reader within a quarter-hour of the news at a 15th of the "
        "requests of a one-minute poll.",
    ),
    Setting(
        "S_MAXAGE",
        60,
        int,
        "Cache-Control s-maxage: how long shared caches (a CDN, nginx) keep a feed "
        "before asking again; sent only when shorter than MAX_AGE. A revalidation "
        "costs a 304, so a short one brings edits to everyone behind the cache sooner.",
    ),
    Setting(
        "ICON",
        "",
        str,
        "Image file served at /favicon.ico and named as the icon of the everything and "
        "topic feeds (ICO or PNG); empty: the shipped feed icon.",
    ),
    Setting(
        "LOGO",
        "",
        str,
        "PNG file served at /logo.png, the logo of the everything and topic feeds "
        "(RSS image, Atom logo, JSON Feed icon), at most 144 pixels wide; empty: "
        "the shipped 128x128 feed icon.",
    ),
    Setting("STALE_WHILE_REVALIDATE", 300, int, "Cache-Control stale-while-revalidate, seconds."),
    Setting("STALE_IF_ERROR", 86400, int, "Cache-Control stale-if-error, seconds."),
    Setting(
        "PROXY_HOPS",
        0,
        int,
        "Number of trusted reverse proxies whose X-Forwarded-* headers give the scheme and host.",
    ),
    Setting(
        "READYZ_PATHS",
        False,
        bool,
        "true: /readyz names each skipped file; false: it gives reasons and counts only, "
        "as file names can tell what is not published yet.",
    ),
    Setting(
        "METRICS_ALLOW",
        "127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7",
        str,
        "Comma-separated addresses or networks (CIDR) that may read /metrics; others get "
        "a 404. Loopback and the private networks by default; 0.0.0.0/0, ::/0 for anyone.",
    ),
    Setting(
        "RENDER_RATE",
        2.0,
        float,
        "Uncached feeds and pages a second one client may have rendered, per worker "
        "process (a burst of RENDER_BURST); past it, 429 with Retry-After. 0: no limit.",
    ),
    Setting("RENDER_BURST", 30, int, "Uncached renders a client may have at once, per worker."),
    Setting(
        "POLL_LIMIT",
        10,
        int,
        "Unconditional GETs of one feed URL a client may make per MAX_AGE seconds (per "
        "worker); past it, 429 with Retry-After. Conditional requests never count. 0: no limit.",
    ),
    Setting(
        "LIMITS_EXEMPT",
        "127.0.0.0/8, ::1",
        str,
        "Addresses or networks (CIDR) never limited by RENDER_RATE or POLL_LIMIT: loopback, "
        "so a proxy on the same host without PROXY_HOPS does not share one budget.",
    ),
    Setting("WORKERS", 0, int, "Processes used to parse a large store; 0: one per CPU."),
    Setting(
        "BACKGROUND_LOAD",
        False,
        bool,
        "true: start serving at once and load the store in the background of each serving "
        "process; /readyz answers 503 until it is loaded. false: load before serving.",
    ),
    Setting(
        "FAST_PATH",
        True,
        bool,
        "Answer GET and HEAD of feeds already in the render cache below Flask's dispatch, "
        "with the same headers, logs and metrics; false: every request goes through Flask.",
    ),
    Setting(
        "WEBSUB_HUBS",
        "",
        str,
        "WebSub hubs the feeds announce and notify, comma-separated; `self` is feedsvc's own "
        "hub at /websub. Empty: no WebSub at all. Needs BASE_URL and WEBSUB_DIR.",
    ),
    Setting(
        "WEBSUB_DIR",
        "",
        str,
        "Folder for WebSub state: the hub's subscriptions (SQLite, websub.sqlite3) and the lock "
        "that picks one process of the deployment to notify hubs and deliver.",
    ),
    Setting(
        "WEBSUB_ALLOW_PRIVATE",
        False,
        bool,
        "true: the hub also calls back loopback, private, link-local and multicast addresses "
        "(tests, private networks). false: such callbacks are refused.",
    ),
    Setting(
        "WEBSUB_LEASE_SECONDS",
        864000,
        int,
        "Lease of a hub subscription when the subscriber asks for none (10 days).",
    ),
    Setting("WEBSUB_LEASE_MIN", 3600, int, "Shortest lease the hub grants, in seconds."),
    Setting(
        "WEBSUB_LEASE_MAX", 2592000, int, "Longest lease the hub grants, in seconds (30 days)."
    ),
    Setting(
        "WEBSUB_CALLBACKS_PER_HOST",
        100,
        int,
        "Most subscriptions (pending or active) the hub keeps for callbacks on one host.",
    ),
    Setting(
        "WEBSUB_REQUESTS_PER_MINUTE",
        60,
        int,
        "Requests the hub takes from one client address per minute (per process); 0: no limit.",
    ),
    Setting(
        "WEBSUB_TIMEOUT",
        5.0,
        float,
        "Seconds the hub gives one outgoing request (verification, delivery, notification).",
    ),
    Setting(
        "LOG_LEVEL", "INFO", str, "Level of feedsvc's JSON logs (DEBUG, INFO, WARNING, ERROR)."
    ),
    Setting(
        "REQUEST_LOG",
        True,
        bool,
        "Log one JSON line per request: request id, route, status, duration, cache outcome.",
    ),
    Setting(
        "LOG_FLUSH",
        1.0,
        float,
        "Seconds a request log line may wait to be written with others (under gunicorn); "
        "0 writes each line at once.",
    ),
)


def default(name: str) -> object:
    """A setting's default, for tools that read the store without the app."""
    return _setting(name).default


def coerce(config: MutableMapping) -> None:
    """Fill in defaults and give every setting its declared type, or fail at start-up
    with the setting's name."""
    for setting in SETTINGS:
        config[setting.name] = _typed(setting, config.get(setting.name, setting.default))
    config["BASE_URL"] = check_base_url(config["BASE_URL"])


def from_environ(name: str) -> Any:
    """One setting from ``FEEDSVC_<NAME>``, typed, or its default (for gunicorn's config)."""
    setting = _setting(name)
    return _typed(setting, os.environ.get(f"FEEDSVC_{name}", setting.default))


def _setting(name: str) -> Setting:
    return next(setting for setting in SETTINGS if setting.name == name)


def _typed(setting: Setting, value: object) -> Any:
    try:
        if setting.type is bool and isinstance(value, str):
            # bool("false") is True; an environment variable is always a string.
            value = {"true": True, "1": True, "false": False, "0": False}[value.lower()]
        return setting.type(value)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"FEEDSVC_{setting.name}={value!r} is not a valid {setting.type.__name__}"
        ) from exc


def check_base_url(value: str) -> str:
    """``BASE_URL`` without its trailing slash, or ValueError if it is no http(s) origin."""
    value = value.rstrip("/")
    if not value:
        return value
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not re.fullmatch(
            r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?", parts.netloc
        )
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"FEEDSVC_BASE_URL={value!r} is not an http:// or https:// origin")
    return value
