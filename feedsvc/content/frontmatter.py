"""Front matter: the YAML between ``---`` lines, parsed safely and within bounds.

The encrypted ``secured`` value is cut from the text before parsing and dropped from
the result, so it never reaches the model. The loader is PyYAML's safe one (libyaml's
parser when present) with our own bounded composer: depth, node count and merge-key
expansion are capped, and a scalar that looks typed but is not stays text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.resolver import Resolver

from . import clean, fastyaml

# libyaml's parser when present (it is iterative: only its composer recursed), else
# PyYAML's own reader, scanner and parser.
try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]  # the stubs omit it

    _PARSER: tuple[type, ...] = (CParser,)

    def _init_parser(loader: Any, stream: str) -> None:
        CParser.__init__(loader, stream)

except ImportError:
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _PARSER = (Reader, Scanner, Parser)

    def _init_parser(loader: Any, stream: str) -> None:
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


def dump(data: dict) -> str:
    """An article file's text with ``data`` as its front matter (the inverse of reading it)."""
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n"


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
    if TYPE_CHECKING:  # from the parser it is mixed with

        def peek_event(self) -> Any: ...

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
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

    def flatten_mapping(self, node: MappingNode) -> None:
        merges = any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value)
        if merges and _merged_pairs(node, {}) > MAX_MERGED_PAIRS:
            raise ConstructorError(
                None,
                None,
                f"merge keys expand to more than {MAX_MERGED_PAIRS} pairs",
                node.start_mark,
            )
        super().flatten_mapping(node)

    def _or_text(self, node: Any, construct: Callable[..., object]) -> object:
        try:
            return construct(self, node)
        except (ValueError, TypeError, OverflowError, AttributeError, KeyError, ConstructorError):
            return self.construct_scalar(node) if node.id == "scalar" else None


def _or_text(construct: Callable[..., object]) -> Callable[[Any, Node], object]:
    def tolerant(self: _TolerantConstructor, node: Node) -> object:
        return self._or_text(node, construct)

    return tolerant


for _tag, _construct in (
    ("bool", SafeConstructor.construct_yaml_bool),
    ("int", SafeConstructor.construct_yaml_int),
    ("float", SafeConstructor.construct_yaml_float),
    ("timestamp", SafeConstructor.construct_yaml_timestamp),
    ("binary", SafeConstructor.construct_yaml_binary),
):
    _TolerantConstructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _or_text(_construct))


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


# The parser bases are chosen at import (libyaml's or PyYAML's), which mypy cannot follow.
class _ArticleYamlLoader(_BoundedComposer, *_PARSER, _TolerantConstructor, Resolver):  # type: ignore[misc]
    """The safe loader with bounds: our composer comes first, so it replaces libyaml's."""

    def __init__(self, stream: str) -> None:
        _init_parser(self, stream)
        _BoundedComposer.__init__(self)
        _TolerantConstructor.__init__(self)
        Resolver.__init__(self)


def parse_yaml(front: str) -> object:
    stripped = _strip_secured(front + "\n")
    data = fastyaml.load(stripped, MAX_DEPTH, MAX_NODES)
    if isinstance(data, dict):
        data.pop("secured", None)
        return data
    try:
        data = yaml.load(stripped, Loader=_ArticleYamlLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError:
        if len(stripped) == len(front) + 1:
            raise
        data = yaml.load(front, Loader=_ArticleYamlLoader)  # noqa: S506 - the error, if any, is the file's
    if isinstance(data, dict):
        data.pop("secured", None)
    return data


def yaml_reason(exc: yaml.MarkedYAMLError) -> str:
    """Name the problem and its place, never the file's text (it may hold secrets).

    PyYAML quotes the offending tag, anchor or token (``found undefined alias 'x'``),
    so each message is cut at its first quote.
    """
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    parts: list[str] = []
    for message in (exc.context, exc.problem):
        if message and "constructor for the tag" in message:
            message = "a tag other than the plain YAML types (tags are not loaded)"
        message = re.split(r"[\'\"`]", message or "", maxsplit=1)[0].strip(" ,;:")
        shown = clean.text(message, limit=120) if message else None
        if shown:
            parts.append(shown)
    return f"invalid YAML{where}: {': '.join(parts) or 'syntax error'}"
