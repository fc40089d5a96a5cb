"""Every setting in one table: name, default, type and what it does.

Values come in three layers: these defaults, then ``FEEDSVC_<NAME>`` environment
variables, then the mapping given to ``create_app`` (tests). The README's
configuration table is this one.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import dataclass
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
    Setting("MAX_AGE", 60, int, "Cache-Control max-age of feeds, in seconds."),
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
        "LOG_LEVEL", "INFO", str, "Level of feedsvc's JSON logs (DEBUG, INFO, WARNING, ERROR)."
    ),
    Setting(
        "REQUEST_LOG",
        True,
        bool,
        "Log one JSON line per request: request id, route, status, duration, cache outcome.",
    ),
)


def default(name: str) -> object:
    """A setting's default, for tools that read the store without the app."""
    return next(setting.default for setting in SETTINGS if setting.name == name)


def coerce(config: MutableMapping) -> None:
    """Fill in defaults and give every setting its declared type, or fail at start-up
    with the setting's name."""
    for setting in SETTINGS:
        value = config.get(setting.name, setting.default)
        try:
            if setting.type is bool and isinstance(value, str):
                # bool("false") is True; an environment variable is always a string.
                value = {"true": True, "1": True, "false": False, "0": False}[value.lower()]
            config[setting.name] = setting.type(value)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"FEEDSVC_{setting.name}={value!r} is not a valid {setting.type.__name__}"
            ) from exc
    config["BASE_URL"] = check_base_url(config["BASE_URL"])


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
