"""Coerce untrusted front-matter values into the few shapes the feeds can carry.

Every function here takes whatever YAML produced (any type, any text) and returns a
clean value or ``None``; none of them raises. The rules come from the output formats:
XML 1.0 forbids most control characters, feeds only link to http(s), and readers
choke on naive or absurd dates.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from posixpath import splitext
from urllib.parse import parse_qsl, quote, urlsplit

# Characters XML 1.0 forbids, plus C1 controls and non-characters, which it allows
# but which validators flag and no reader can display.
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_SPACE = re.compile(r"\s+")
# Dates outside this range are typos or placeholders, and some readers overflow on them.
MIN_YEAR, MAX_YEAR = 1900, 2199


def text(value: object, limit: int = 10_000) -> str | None:
    """One line of displayable text: control characters gone, white space folded."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            value = str(value)
        except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
            return None
    if not isinstance(value, str):
        return None
    if value.isprintable() and "  " not in value:
        # The common case, without the two substitutions: printable text has no
        # illegal characters and no white space but single spaces.
        value = value.strip()
    else:
        value = _SPACE.sub(" ", ILLEGAL.sub("", value)).strip()
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value or None


# An http(s) URL made only of characters that the checks below let through and that
# ``quote`` leaves alone, with a plain host name (no user, port, brackets or non-ASCII):
# the checks would pass it unchanged, so it is returned as it is. Most URLs are these,
# and the full path cost ~5 us each. Group 1 is the path, as ``urlsplit`` reads it.
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9._~-]+"
    r"(/[A-Za-z0-9._~%/:=&+!$,;'@()*-]*)?(?:[?#][A-Za-z0-9._~%/:=&?#+!$,;'@()*-]*)?"
)


def url(value: object) -> str | None:
    """An absolute http(s) URL safe to put in an attribute, or None."""
    if not isinstance(value, str) or len(value) > 4096:
        return None
    if _PLAIN_URL.fullmatch(value) is not None:
        return value
    value = value.strip()
    if ILLEGAL.search(value) or _SPACE.search(value):  # _SPACE's \s is str.isspace
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    # Schemes are case-insensitive, but readers and validators look for "http".
    value = parts.scheme.lower() + value[len(parts.scheme) :]
    if not host.isascii():
        # An internationalised host goes out in its ASCII (punycode) form: percent-
        # escaping it, as the path is below, would make it a different, invalid host.
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        userinfo, _, hostport = parts.netloc.rpartition("@")
        if not hostport.lower().startswith(host):
            return None
        hostport = ascii_host + hostport[len(host) :]
        netloc = f"{userinfo}@{hostport}" if userinfo else hostport
        value = parts._replace(netloc=netloc).geturl()
    # Percent-encode what RFC 3986 does not allow (non-ASCII, quotes, brackets of
    # the wrong kind) and leave every reserved character and existing escape alone.
    return quote(value, safe="%/:=&?~#+!$,;'@()*[]")


def pixel_size(value: object) -> int | None:
    """A non-negative pixel count; ``'640px'`` and ``'640'`` read as 640."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{1,6})\s*(?:px)?\s*", value)
        value = int(match.group(1)) if match else None
    if isinstance(value, int) and 0 < value < 1_000_000:
        return value
    return None


def timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from a YAML datetime or date, or an ISO 8601 string.

    A missing offset means UTC. Python 3.11's ``fromisoformat`` takes ``Z`` and
    any number of fractional digits (the store has seven).
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        return None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return None
    return value


def flag(value: object) -> bool | None:
    """True or False from YAML booleans and their common spellings; None if unclear."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
    return None


def domain(value: object) -> str | None:
    """A lowercased host name such as ``engadget.com``, usable as a URL path segment."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower().rstrip(".")
    if re.fullmatch(
        r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*",
        value,
    ):
        return value
    return None


_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".bmp": "image/bmp",
    ".ico": "image/vnd.microsoft.icon",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".heic": "image/heic",
}


def _type_of(path: str) -> str | None:
    return _IMAGE_TYPES.get(splitext(path)[1].lower())


def image_type(image_url: str) -> str:
    """The MIME type of an image URL, from its path or from a URL nested in its query.

    CDN resizers hide the extension (``/images/dims?...&image_uri=https%3A...jpg``),
    so the query's URL-valued parameters are tried next; JPEG is the safe default.
    """
    plain = _PLAIN_URL.fullmatch(image_url)
    if plain is not None:
        # The path without urlsplit; a type found there is the answer, as below.
        found = _type_of(plain.group(1) or "")
        if found:
            return found
    try:
        parts = urlsplit(image_url)
    except ValueError:
        return "image/jpeg"
    found = _type_of(parts.path)
    if found:
        return found
    for _, nested in parse_qsl(parts.query):
        if nested.startswith(("http://", "https://")):
            try:
                nested_path = urlsplit(nested).path
            except ValueError:  # e.g. an unclosed IPv6 bracket: not a URL after all
                continue
            found = _type_of(nested_path)
            if found:
                return found
    return "image/jpeg"
