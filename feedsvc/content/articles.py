"""Reading one store file into an :class:`~feedsvc.content.model.Article` or a Problem.

A file is front matter between ``---`` lines, parsed with PyYAML's safe loader (the
libyaml one when present). Only the fields the feeds serve are kept, each cleaned by
:mod:`feedsvc.content.clean`; everything else, and above all the encrypted ``secured``
payload, never enters the model. Bad content is data, not an exception: the reader
returns a :class:`Problem` naming the file and the reason, and never raises.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

import yaml

from . import clean
from .frontmatter import front_matter, parse_yaml, yaml_reason
from .model import Article, Image, Problem, Provider, Related

# Caps that bound the work one file can ask for: a feed item needs no more than this.
MAX_TOPICS = 50
MAX_IMAGES = 20
MAX_RELATED = 20
MAX_TOPIC_LENGTH = 100


@dataclass(slots=True)
class _Notes:
    """Tolerated faults found while reading one file, reported in one log line."""

    items: list[str] = field(default_factory=list)

    def add(self, what: str) -> None:
        if len(self.items) < 20 and what not in self.items:
            self.items.append(what)


def is_article_name(name: str) -> bool:
    """Articles are ``*.txt``/``*.md``; dot files and editor leftovers are not."""
    return (
        not name.startswith(".")
        and not name.endswith(("~", ".swp"))
        and name.lower().endswith((".txt", ".md"))
    )


def read_article(raw: bytes, source: str) -> Article | Problem | tuple[Article, Problem]:
    """Parse one file's bytes: an Article, a Problem, or an Article with notes on what was dropped."""
    try:
        return _read(raw, source)
    except RecursionError:
        return Problem(source, "front matter is nested too deeply")
    except Exception as exc:  # noqa: BLE001 - a file must never take the service down
        return Problem(source, f"unreadable front matter ({type(exc).__name__})")


def _read(raw: bytes, source: str) -> Article | Problem | tuple[Article, Problem]:
    if not raw.strip():
        return Problem(source, "empty file")
    if b"\x00" in raw:
        return Problem(source, "binary file (contains NUL bytes)")
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Problem(source, f"not UTF-8 text (bad byte at offset {exc.start})")
    front = front_matter(body)
    if front is None:
        return Problem(source, "no front matter (the file must start with a '---' line)")
    if not front.strip():
        return Problem(source, "empty front matter")
    notes = _Notes()
    # libyaml refuses the whole stream over one stray control character; the feeds
    # could not carry it anyway, so it goes and the rest is read.
    if _may_hold_illegal(raw):
        front, removed = clean.ILLEGAL.subn("", front)
        if removed:
            notes.add(f"{removed} control or non-text characters removed")
    try:
        data = parse_yaml(front)
    except yaml.MarkedYAMLError as exc:
        return Problem(source, yaml_reason(exc))
    except yaml.YAMLError as exc:
        return Problem(source, f"invalid YAML ({type(exc).__name__})")
    if not isinstance(data, dict):
        return Problem(source, "front matter is not a mapping of fields")
    article = _build(data, source, notes)
    if isinstance(article, Problem):
        return article
    if notes.items:
        return article, Problem(source, "; ".join(notes.items), skipped=False)
    return article


# clean.ILLEGAL's characters as UTF-8 (the decoder refuses surrogates): control
# bytes, C1 controls and non-characters. Finding them in the bytes is a few times
# cheaper than ILLEGAL over the decoded text, and almost every file has none.
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")
_NONCHARACTER_BYTES = re.compile(rb"\xef(?:\xb7[\x90-\xaf]|\xbf[\xbe\xbf])")


def _may_hold_illegal(raw: bytes) -> bool:
    """False only if the UTF-8 ``raw`` holds no character :data:`clean.ILLEGAL` matches."""
    return (
        len(raw.translate(None, _CONTROL_BYTES)) != len(raw)
        or _C1_BYTES.search(raw) is not None
        or _NONCHARACTER_BYTES.search(raw) is not None
    )


def _build(data: dict, source: str, notes: _Notes) -> Article | Problem:
    title = _text(data.get("title"), notes, "title", limit=1000)
    if title is None:
        blank = data.get("title") is None or isinstance(data.get("title"), str)
        return Problem(source, "missing or empty title" if blank else "title is not text")
    url = clean.url(data.get("webUrl"))
    if url is None:
        why = "missing webUrl" if data.get("webUrl") is None else "webUrl is not an http(s) URL"
        return Problem(source, why)
    published = clean.timestamp(data.get("publishedDateTime"))
    if published is None:
        why = "missing" if data.get("publishedDateTime") is None else "unreadable or out-of-range"
        return Problem(source, f"{why} publishedDateTime")
    visible = True
    if "published" in data:
        shown = clean.flag(data["published"])
        if shown is None:
            notes.add("published is not true or false, so the article is hidden")
        visible = bool(shown)
    excerpt = _optional_text(data, "excerpt", notes, limit=5000)
    return Article(
        url=url,
        title=title,
        published=published,
        source=source,
        excerpt=excerpt,
        provider=_provider(data.get("provider"), notes, "provider"),
        topics=_topics(data.get("topics"), notes),
        images=_images(data.get("images"), notes, "images"),
        related=_related(data.get("related"), notes),
        category=_optional_text(data, "category", notes, limit=100),
        quality=_optional_int(data, "quality"),
        heat=_optional_int(data, "heat"),
        visible=visible,
    )


def _text(value: object, notes: _Notes, where: str, limit: int) -> str | None:
    """:func:`clean.text`, noting when it had to remove characters the feeds cannot carry."""
    # Printable text holds none of ILLEGAL's characters: the cheaper test goes first.
    if isinstance(value, str) and not value.isprintable() and clean.ILLEGAL.search(value):
        notes.add(f"{where} had control or non-text characters removed")
    return clean.text(value, limit=limit)


def _optional_text(data: dict, key: str, notes: _Notes, limit: int) -> str | None:
    value = data.get(key)
    cleaned = _text(value, notes, key, limit=limit)
    if cleaned is None and value not in (None, ""):
        notes.add(f"{key} is not text")
    return cleaned


def _optional_int(data: dict, key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 1 << 63:
        return value
    return None


def _as_list(value: object, notes: _Notes, where: str) -> list:
    """Lists stay lists; a lone mapping or string is read as a list of one."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict | str):
        return [value]
    notes.add(f"{where} is not a list")
    return []


def _topics(value: object, notes: _Notes) -> tuple[str, ...]:
    topics: dict[str, None] = {}
    for item in _as_list(value, notes, "topics"):
        name = _text(item, notes, "topics", limit=10_000)
        if name is None:
            notes.add("topics has an entry that is not text")
        elif len(name) > MAX_TOPIC_LENGTH:
            notes.add(f"topic longer than {MAX_TOPIC_LENGTH} characters dropped")
        elif len(topics) < MAX_TOPICS:
            topics.setdefault(sys.intern(name), None)
    return tuple(topics)


def _images(value: object, notes: _Notes, where: str) -> tuple[Image, ...]:
    images: list[Image] = []
    for index, item in enumerate(_as_list(value, notes, where)):
        if len(images) >= MAX_IMAGES:
            break
        if isinstance(item, str):
            item = {"url": item}  # a bare URL is an image with nothing else said
        if not isinstance(item, dict):
            notes.add(f"{where}[{index}] is not a mapping")
            continue
        image_url = clean.url(item.get("url"))
        if image_url is None:
            notes.add(f"{where}[{index}].url is missing or not an http(s) URL")
            continue
        images.append(
            Image(
                url=image_url,
                mime_type=clean.image_type(image_url),
                width=clean.pixel_size(item.get("width")),
                height=clean.pixel_size(item.get("height")),
                title=_text(item.get("title"), notes, f"{where}[{index}].title", limit=1000),
            )
        )
    return tuple(images)


def _provider(value: object, notes: _Notes, where: str) -> Provider | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        notes.add(f"{where} is not a mapping")
        return None
    domain = clean.domain(value.get("domain"))
    if domain is None and value.get("domain") is not None:
        notes.add(f"{where}.domain is not a host name")
    name = _text(value.get("name"), notes, f"{where}.name", limit=200) or domain
    if name is None:
        return None
    logos = _images(value.get("images"), notes, f"{where}.images")
    return Provider(
        name=sys.intern(name),
        domain=sys.intern(domain) if domain else None,
        logo=logos[0] if logos else None,
    )


def _related(value: object, notes: _Notes) -> tuple[Related, ...]:
    related: list[Related] = []
    for index, item in enumerate(_as_list(value, notes, "related")):
        if len(related) >= MAX_RELATED:
            break
        if not isinstance(item, dict):
            notes.add(f"related[{index}] is not a mapping")
            continue
        title = _text(item.get("title"), notes, f"related[{index}].title", limit=1000)
        link = clean.url(item.get("webUrl"))
        if title is None or link is None:
            notes.add(f"related[{index}] lacks a title or an http(s) webUrl")
            continue
        provider = _provider(item.get("provider"), notes, f"related[{index}].provider")
        related.append(Related(title, link, provider.name if provider else None))
    return tuple(related)
