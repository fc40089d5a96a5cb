"""Topic names to URL slugs: readable, lowercase ASCII, and never shared by two topics.

``AI`` → ``ai`` and ``Computer Vision`` → ``computer-vision``. Names that differ only
in case or spacing are one topic (same :func:`topic_key`). Symbols that carry meaning
in topic names are spelled out (``C++`` → ``c-plus-plus``, ``C#`` → ``c-sharp``), so
they do not fold into their neighbours. When two different topics still reduce to
the same readable slug, the plain-words one keeps it and every other takes a short
hash of its key as a suffix, which is stable whatever else the store holds.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

_SYMBOLS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at ", "%": " percent "}
_SYMBOL_RE = re.compile("[" + re.escape("".join(_SYMBOLS)) + "]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PLAIN_KEY = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


def topic_key(name: str) -> str:
    """What makes two topic names the same topic: case and spacing do not count."""
    return " ".join(name.casefold().split())


def readable_slug(key: str) -> str:
    """The ASCII words of a topic key joined by hyphens (may be empty)."""
    ascii_text = (
        unicodedata.normalize("NFKD", _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group()], key))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    return _NON_ALNUM.sub("-", ascii_text).strip("-")[:80].strip("-")


def hashed_slug(key: str) -> str:
    """The readable slug with a suffix derived from the key: unique in practice."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=4).hexdigest()
    base = readable_slug(key)
    return f"{base}-{digest}" if base else f"t-{digest}"


def is_plain(key: str) -> bool:
    """Keys made only of ASCII words map one-to-one onto their slug."""
    return _PLAIN_KEY.fullmatch(key) is not None


def assign_slugs(keys: Iterable[str]) -> dict[str, str]:
    """Map each topic key to a slug no other key in the set has.

    A plain key keeps its readable slug; a key whose readable slug is empty or taken
    by a different key gets :func:`hashed_slug`. Deterministic for a given set.
    """
    keys = sorted(set(keys))
    by_slug: dict[str, list[str]] = {}
    for key in keys:
        by_slug.setdefault(readable_slug(key), []).append(key)
    slugs: dict[str, str] = {}
    for slug, group in by_slug.items():
        for key in group:
            alone = len(group) == 1
            slugs[key] = slug if slug and (is_plain(key) or alone) else hashed_slug(key)
    # A hashed slug could in theory equal another topic's readable one; lengthen it.
    taken: dict[str, str] = {}
    for key in keys:
        slug = slugs[key]
        while slug in taken and taken[slug] != key:
            slug = f"{slug}-{hashlib.blake2b(slug.encode(), digest_size=2).hexdigest()}"
        taken[slug] = key
        slugs[key] = slug
    return slugs
