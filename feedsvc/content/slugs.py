"""Topic names to URL slugs: readable lowercase ASCII, decided by the name alone.

A topic's slug depends on nothing but its name, so a URL keeps naming the same topic
on every replica, whatever else the store gains or loses. Names that differ only in
case or spacing are one topic (same :func:`topic_key`). Non-Latin letters are
transliterated (anyascii: ``Москва`` → ``moskva``); symbols that carry meaning are
spelled out (``C++`` → ``c plus plus``, ``½`` → ``one half``), so they neither vanish
nor read as something else. A name made only of plain ASCII words maps one-to-one
onto its slug and gets it as is (``Computer Vision`` → ``computer-vision``); every
other name can share its readable form with another name, so its slug carries a
short hash of the name (``c-plus-plus-1f0c2a9e``).

:func:`legacy_slugs` is the earlier rule, which decided collisions by what else the
store held; the index keeps its slugs as redirects, so URLs advertised under it keep
working.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable

from anyascii import anyascii

_SYMBOLS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at ", "%": " percent "}
_SYMBOL_RE = re.compile("[" + re.escape("".join(_SYMBOLS)) + "]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PLAIN_KEY = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")
# A plain name whose last word looks like a hash suffix could meet a hashed slug.
_HASH_WORD = re.compile(r"(?:^| )[0-9a-f]{8}$")
MAX_READABLE = 80


def topic_key(name: str) -> str:
    """What makes two topic names the same topic: case and spacing do not count."""
    return " ".join(name.casefold().split())


def _spell(char: str) -> str:
    """Vulgar fractions by name (``½`` → ``one half``): as digits they read as a number."""
    if unicodedata.category(char) == "No" and unicodedata.numeric(char, 1) % 1:
        name = unicodedata.name(char, "")
        return f" {name.removeprefix('VULGAR FRACTION ').lower()} " if name else char
    return char


def readable_slug(key: str) -> str:
    """The key's words in lowercase ASCII joined by hyphens (may be empty)."""
    spelled = _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group()], key)
    spelled = "".join(_spell(c) if not c.isascii() else c for c in spelled)
    # anyascii writes symbols it knows as ASCII text (€ → EUR); the symbols it
    # would turn into punctuation were spelled out above.
    ascii_text = anyascii(spelled).lower()
    return _NON_ALNUM.sub("-", ascii_text).strip("-")[:MAX_READABLE].strip("-")


def _digest(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=4).hexdigest()


def is_plain(key: str) -> bool:
    """Keys made only of ASCII words map one-to-one onto their slug."""
    return _PLAIN_KEY.fullmatch(key) is not None and not _HASH_WORD.search(key)


# Pure functions of a key, asked for every topic on every refresh of the index: a
# store has a few hundred to a few thousand topics, far fewer than this bound.
@functools.lru_cache(maxsize=1 << 16)
def topic_slug(key: str) -> str:
    """The slug of one topic key, from the key alone."""
    base = readable_slug(key)
    if is_plain(key) and len(base) == len(key):
        return base
    return f"{base}-{_digest(key)}" if base else f"t-{_digest(key)}"


# --- The earlier rule, kept for redirects ----------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _legacy_readable(key: str) -> str:
    ascii_text = (
        unicodedata.normalize("NFKD", _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group()], key))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    return _NON_ALNUM.sub("-", ascii_text).strip("-")[:80].strip("-")


def _legacy_hashed(key: str) -> str:
    base = _legacy_readable(key)
    return f"{base}-{_digest(key)}" if base else f"t-{_digest(key)}"


def legacy_slugs(keys: Iterable[str]) -> dict[str, set[str]]:
    """Every slug the earlier rule gave or accepted for each key of this set of keys.

    That rule gave a key its readable slug when no other key shared it (or the key
    was plain), else a hashed one, and accepted the hashed form of every key.
    """
    keys = sorted(set(keys))
    by_slug: dict[str, list[str]] = {}
    for key in keys:
        by_slug.setdefault(_legacy_readable(key), []).append(key)
    legacy: dict[str, set[str]] = {key: {_legacy_hashed(key)} for key in keys}
    for slug, group in by_slug.items():
        for key in group:
            plain = _PLAIN_KEY.fullmatch(key) is not None
            if slug and (plain or len(group) == 1):
                legacy[key].add(slug)
    return legacy
