"""The kinds of query parameter the URL table declares: how each value is read and spelled.

Each :class:`Param` parses one raw value (a ValueError says why it is refused) and
spells its canonical form; :class:`feedsvc.render.urls.Query` puts them in order.
User input meets no regular expression here but the fixed, linear digit pattern of
:class:`Whole`: words and names are checked by string methods and character sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..content.words import words


class Param:
    """One query parameter: its name, its default, how a value is read and spelled."""

    name: str
    default: Any
    safe = ""  # characters the canonical spelling leaves unquoted

    def parse(self, raw: str) -> Any:
        """The value, or ValueError with the reason a client can act on."""
        raise NotImplementedError

    def spell(self, value: Any) -> str:
        """The value as the canonical query string writes it (before quoting)."""
        return str(value)


_NUMBER = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class Whole(Param):
    """A whole number in [low, high], written in plain digits."""

    name: str
    default: int
    low: int
    high: int

    def parse(self, raw: str) -> int:
        if not _NUMBER.fullmatch(raw) or not self.low <= int(raw) <= self.high:
            raise ValueError(f"'{self.name}' must be a whole number from {self.low} to {self.high}")
        return int(raw)


@dataclass(frozen=True, slots=True)
class Threshold(Param):
    """A lower bound on an article's field, a whole number in [low, high]; none by default."""

    name: str
    low: int
    high: int
    default: None = None

    def parse(self, raw: str) -> int | None:
        if not raw:
            return None  # a form's empty field: not given
        return Whole(self.name, 0, self.low, self.high).parse(raw)


@dataclass(frozen=True, slots=True)
class Words(Param):
    """Search words: folded, distinct, sorted (the order does not change what matches)."""

    name: str
    max_length: int
    max_words: int
    default: tuple[str, ...] = ()

    def parse(self, raw: str) -> tuple[str, ...]:
        if len(raw) > self.max_length:
            raise ValueError(f"'{self.name}' may be at most {self.max_length} characters long")
        found = tuple(sorted(set(words(raw))))
        if raw.strip() and not found:
            raise ValueError(f"'{self.name}' must contain a word (letters or digits)")
        if len(found) > self.max_words:
            raise ValueError(f"'{self.name}' may hold at most {self.max_words} words")
        return found

    def spell(self, value: tuple[str, ...]) -> str:
        return " ".join(value)


_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def _is_domain(text: str) -> bool:
    """Letters, digits, dots and dashes, not starting or ending with a dot or dash.

    Checked by hand, as search words are, so no user input meets a regular expression.
    """
    return (
        0 < len(text) <= 253
        and _DOMAIN_CHARS.issuperset(text)
        and text[0] not in ".-"
        and text[-1] not in ".-"
    )


@dataclass(frozen=True, slots=True)
class Domains(Param):
    """Provider domains, comma-separated: lower case, distinct, sorted."""

    name: str
    max_count: int
    default: tuple[str, ...] = ()
    safe = ","

    def parse(self, raw: str) -> tuple[str, ...]:
        given = [part.strip().lower() for part in raw.split(",") if part.strip()]
        if len(given) > self.max_count:
            raise ValueError(f"'{self.name}' may name at most {self.max_count} domains")
        for domain in given:
            if not _is_domain(domain):
                raise ValueError(f"'{self.name}' takes domains such as news.example.com")
        return tuple(sorted(set(given)))

    def spell(self, value: tuple[str, ...]) -> str:
        return ",".join(value)


@dataclass(frozen=True, slots=True)
class Name(Param):
    """One topic slug or provider domain (lower case); none by default."""

    name: str
    default: None = None

    def parse(self, raw: str) -> str | None:
        raw = raw.strip().lower()
        if not raw:
            return None
        if len(raw) > 200 or not _NAME_CHARS.issuperset(raw):
            raise ValueError(f"'{self.name}' takes one topic or provider name, as in its URL")
        return raw


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._~-")


@dataclass(frozen=True, slots=True)
class Flag(Param):
    """On when given as 1 (a checked box), off by default."""

    name: str
    default: bool = False

    def parse(self, raw: str) -> bool:
        if raw not in ("", "1"):
            raise ValueError(f"'{self.name}' is 1 or left out")
        return raw == "1"

    def spell(self, value: bool) -> str:
        return "1"


@dataclass(frozen=True, slots=True)
class Size(Param):
    """A number of items, one of a few sizes: any other whole number up to the largest is
    read as the next size up, so the canonical form redirects there. However clients
    spell it, a feed then has a few renders per page, not one per number."""

    name: str
    default: int
    sizes: tuple[int, ...]

    def parse(self, raw: str) -> int:
        if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= self.sizes[-1]:
            raise ValueError(f"'{self.name}' must be a whole number from 1 to {self.sizes[-1]}")
        wanted = int(raw)
        return next(size for size in self.sizes if size >= wanted)
