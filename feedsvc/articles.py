"""The article model, and reading one store file into an Article or a Problem.

A file is front matter between ``---`` lines, parsed with PyYAML's safe loader (the
libyaml one when present). Only the fields the feeds serve are kept, each cleaned by
:mod:`feedsvc.clean`; everything else, and above all the encrypted ``secured``
payload, never enters the model. Bad content is data, not an exception: the reader
returns a :class:`Problem` naming the file and the reason, and never raises.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import datetime

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, SequenceNode
from yaml.resolver import Resolver

from . import clean, fastyaml

# libyaml's parser when present (it is iterative: only its composer recursed), else
# PyYAML's own reader, scanner and parser.
try:
    from yaml.cyaml import CParser

    _PARSER: tuple[type, ...] = (CParser,)

    def _init_parser(loader, stream) -> None:
        CParser.__init__(loader, stream)

except ImportError:
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _PARSER = (Reader, Scanner, Parser)

    def _init_parser(loader, stream) -> None:
        Reader.__init__(loader, stream)
        Scanner.__init__(loader)
        Parser.__init__(loader)


# Bounds on what one file can make the loader do. libyaml's own composer recurses
# in C and crashes the process on ~100k nested brackets; merge keys (``<<: [*a, *a,
# ...]``) copy pairs, so a few hundred bytes can ask for billions; and a 1 MiB flat
# list is 500k values and seconds of work. An article has a few hundred values.
MAX_DEPTH = 64
MAX_NODES = 20_000
MAX_MERGED_PAIRS = 10_000

# Caps that bound the work one file can ask for: a feed item needs no more than this.
MAX_TOPICS = 50
MAX_IMAGES = 20
MAX_RELATED = 20
MAX_TOPIC_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str | None = None
    logo: Image | None = None

    @property
    def home(self) -> str | None:
        return f"https://{self.domain}" if self.domain else None


@dataclass(frozen=True, slots=True)
class Related:
    """Another outlet's coverage of the same story, linked from the item's content."""

    title: str
    url: str
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    url: str
    title: str
    published: datetime
    source: str  # path of the file inside the store, for logs and dedupe tie-breaks
    excerpt: str | None = None
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Related, ...] = ()
    category: str | None = None
    quality: int | None = None
    heat: int | None = None
    visible: bool = True  # False for ``published: false``: kept for dedupe, never served


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a file was skipped (``skipped``), or what was dropped from it while it was kept."""

    source: str
    reason: str
    skipped: bool = True


@dataclass(slots=True)
class _Notes:
    """Tolerated faults found while reading one file, reported in one log line."""

    items: list[str] = field(default_factory=list)

    def add(self, what: str) -> None:
        if len(self.items) < 20 and what not in self.items:
            self.items.append(what)


def printable(path: str) -> str:
    """A file name as it may go into a log line: control characters (a newline would
    forge a second line) and undecodable bytes escaped, everything else as it is."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in path)


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
        data = _parse_yaml(front)
    except yaml.MarkedYAMLError as exc:
        return Problem(source, _yaml_reason(exc))
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


_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def front_matter(body: str) -> str | None:
    """The YAML between the opening and closing ``---`` lines, CRLF normalised."""
    if "\r" in body:  # one scan instead of two copies for the usual LF-only file
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    first = _FENCE.match(body)
    if first is None:
        return None
    # The closing fence starts a line: look only where one does, not at every character.
    at = body.find("\n---", first.end())
    while at >= 0:
        closing = _FENCE.match(body, at + 1)
        if closing is not None:
            return body[first.end() : closing.start()]
        at = body.find("\n---", at + 1)
    return None


# A top-level ``secured:`` key: its value is never served, so it is cut from the text
# before parsing (it is the largest scalar in a typical file). Only a value whose
# extent is plain from the text is cut: a quoted scalar closed on its own line, a
# base64-like plain scalar, or a block scalar; its indented continuation lines go
# with it. Anything else is parsed whole and the key dropped afterwards.
# The quantifiers are possessive: each part of the value can be read only one way,
# so backtracking could never find another match, and a long value matched one
# character per alternation was most of this step's cost.
_SECURED = re.compile(
    r"""^secured[ \t]*:[ \t]*(?:"(?:[^"\\\n]++|\\.)*+"|'(?:[^'\n]++|'')*+'|[A-Za-z0-9+/=;.-]*+|[|>][-+0-9]*+)"""
    r"[ \t]*+(?:#[^\n]*+)?\n(?:[ \t][^\n]*+\n|[ \t]*+\n)*+",
    re.MULTILINE,
)


def _strip_secured(front: str) -> str:
    """``front`` without its first :data:`_SECURED` match, as ``_SECURED.sub(count=1)``.

    A match can only start where a line starts with ``secured``: found with
    ``str.find`` and tried there, instead of trying the pattern at every character.
    """
    at = -1 if front.startswith("secured") else front.find("\nsecured")
    while True:
        match = _SECURED.match(front, at + 1)
        if match is not None:
            return front[: match.start()] + front[match.end() :]
        at = front.find("\nsecured", at + 1)
        if at < 0:
            return front


class _BoundedComposer(Composer):
    """PyYAML's Python composer with depth and size limits, instead of libyaml's recursive one."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent, index):
        self._nodes += 1
        if self._depth >= MAX_DEPTH or self._nodes > MAX_NODES:
            why = (
                f"nested deeper than {MAX_DEPTH} levels"
                if self._depth >= MAX_DEPTH
                else f"more than {MAX_NODES} values"
            )
            raise yaml.composer.ComposerError(None, None, why, self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TolerantConstructor(SafeConstructor):
    """Safe types only; a scalar that looks like a number or a date but is not one stays text.

    PyYAML raises for ``2020-13-45``, ``0000-01-01``, ``!!int abc``, ``!!bool maybe``
    or a 5000-digit number; as text, the field's own check names the problem instead of
    the whole file failing, and an odd value in an unused field costs nothing.
    """

    def flatten_mapping(self, node):
        merges = any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value)
        if merges and _merged_pairs(node, {}) > MAX_MERGED_PAIRS:
            raise ConstructorError(
                None,
                None,
                f"merge keys expand to more than {MAX_MERGED_PAIRS} pairs",
                node.start_mark,
            )
        super().flatten_mapping(node)

    def _or_text(self, node, construct):
        try:
            return construct(self, node)
        except (ValueError, TypeError, OverflowError, AttributeError, KeyError, ConstructorError):
            return self.construct_scalar(node) if node.id == "scalar" else None


for _tag, _construct in (
    ("bool", SafeConstructor.construct_yaml_bool),
    ("int", SafeConstructor.construct_yaml_int),
    ("float", SafeConstructor.construct_yaml_float),
    ("timestamp", SafeConstructor.construct_yaml_timestamp),
    ("binary", SafeConstructor.construct_yaml_binary),
):
    _TolerantConstructor.add_constructor(
        f"tag:yaml.org,2002:{_tag}",
        lambda self, node, construct=_construct: self._or_text(node, construct),
    )


def _merged_pairs(node: MappingNode, sizes: dict[int, int]) -> int:
    """How many key/value pairs ``node`` holds once its merge keys are expanded.

    Counted on the node graph, each anchored node once, so a bomb is measured in
    time linear in its text instead of being expanded.
    """
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 0  # a merge cycle adds nothing
    total = 0
    for key, value in node.value:
        if key.tag != "tag:yaml.org,2002:merge":
            total += 1
        elif isinstance(value, MappingNode):
            total += _merged_pairs(value, sizes)
        elif isinstance(value, SequenceNode):
            total += sum(
                _merged_pairs(item, sizes) for item in value.value if isinstance(item, MappingNode)
            )
    sizes[id(node)] = total
    return total


class _Loader(_BoundedComposer, *_PARSER, _TolerantConstructor, Resolver):
    """The safe loader with bounds: our composer comes first, so it replaces libyaml's."""

    def __init__(self, stream):
        _init_parser(self, stream)
        _BoundedComposer.__init__(self)
        _TolerantConstructor.__init__(self)
        Resolver.__init__(self)


def _parse_yaml(front: str) -> object:
    stripped = _strip_secured(front + "\n")
    data = fastyaml.load(stripped, MAX_DEPTH, MAX_NODES)
    if isinstance(data, dict):
        data.pop("secured", None)
        return data
    try:
        data = yaml.load(stripped, Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError:
        if len(stripped) == len(front) + 1:
            raise
        data = yaml.load(front, Loader=_Loader)  # noqa: S506 - the error, if any, is the file's
    if isinstance(data, dict):
        data.pop("secured", None)
    return data


def _yaml_reason(exc: yaml.MarkedYAMLError) -> str:
    """Name the problem and its place, never the file's text (it may hold secrets).

    PyYAML quotes the offending tag, anchor or token (``found undefined alias 'x'``),
    so each message is cut at its first quote.
    """
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    parts = []
    for message in (exc.context, exc.problem):
        if message and "constructor for the tag" in message:
            message = "a tag other than the plain YAML types (tags are not loaded)"
        message = re.split(r"[\'\"`]", message or "", maxsplit=1)[0].strip(" ,;:")
        if message:
            parts.append(clean.text(message, limit=120))
    return f"invalid YAML{where}: {': '.join(parts) or 'syntax error'}"


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
        visible = clean.flag(data["published"])
        if visible is None:
            notes.add("published is not true or false, so the article is hidden")
            visible = False
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
                width=clean.integer(item.get("width")),
                height=clean.integer(item.get("height")),
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
