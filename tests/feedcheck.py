"""Parse feeds the way readers do, and check the rules every feedsvc output keeps.

Shared by the tests: feedparser for what a reader sees, lxml for the XML itself,
and the JSON Feed 1.1 spec's required fields.
"""

from __future__ import annotations

import json
import re
from html.entities import name2codepoint

import feedparser
from conftest import SECRET
from lxml import etree
from lxml import html as lxml_html

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
FORMATS = ("rss", "atom", "json")
# Nothing derived from the encrypted payload may leave the service, not even its name.
LEAKS = ("secured", SECRET[:16], "bm9uY2U")
MIMETYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


def xml(body: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(body, parser)


def read(body: bytes):
    """feedparser's view of an RSS or Atom feed, failing on any parse problem."""
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def shown(detail) -> str:
    """What a reader displays for one of feedparser's text values: HTML as the text it
    renders to (feedparser takes every RSS title as HTML), plain text as it is."""
    if detail.type in ("text/html", "application/xhtml+xml"):
        return lxml_html.fragment_fromstring(detail.value, create_parent="div").text_content()
    return detail.value


def check_json_feed(body: bytes) -> dict:
    """A JSON Feed 1.1 document with every field the spec requires."""
    feed = json.loads(body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert "content_html" in item or "content_text" in item
        for attachment in item.get("attachments", []):
            assert attachment["url"].startswith(("http://", "https://"))
            assert attachment["mime_type"].startswith("image/")
        for author in item.get("authors", []):
            assert author.get("name") or author.get("url") or author.get("avatar")
    return feed


def check_feed(fmt: str, body: bytes):
    """Parse ``body`` as ``fmt`` with the consumers that matter; returns the parsed form."""
    if fmt == "json":
        return check_json_feed(body)
    xml(body)
    parsed = read(body)
    expected = "rss20" if fmt == "rss" else "atom10"
    assert parsed.version == expected
    return parsed


def entry_ids(fmt: str, parsed) -> list[str]:
    if fmt == "json":
        return [item["id"] for item in parsed["items"]]
    return [entry.id for entry in parsed.entries]


def parse_feed(fmt: str, body: bytes) -> list[str]:
    """The item links of one feed body, after checking it parses as a reader would."""
    parsed = check_feed(fmt, body)
    if fmt == "json":
        return [item["url"] for item in parsed["items"]]
    for entry in parsed.entries:
        assert entry.get("title")
        assert entry.get("published_parsed") or entry.get("updated_parsed")
    return [entry.link for entry in parsed.entries]


def read_all_feeds(client, prefix: str = "") -> dict[str, tuple[bytes, list[str]]]:
    """Every format of one feed: {fmt: (body, item links)}, each 200 and parseable."""
    out = {}
    for fmt in FORMATS:
        response = client.get(f"{prefix}/feed.{fmt}")
        assert response.status_code == 200, response.get_data(as_text=True)
        out[fmt] = (response.data, parse_feed(fmt, response.data))
    return out


def assert_no_leak(text: str | bytes) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for leak in LEAKS:
        assert leak.lower() not in text.lower(), f"{leak!r} leaked"


# --- The W3C Feed Validator's rules for plain text ------------------------------
#
# From its ``nonhtml`` checks (src/feedvalidator/validators.py): an HTML end tag in
# plain text is ContainsHTML (ContainsUndeclaredHTML in Atom text constructs); a named
# or numeric reference left in the decoded text, or in RSS 2.0 a "<" or "&#", is
# CharacterData unless the line writes & and < as hexadecimal references, as the RSS
# Best Practices Profile asks. Where these elements are plain text:
RSS_PLAIN = (
    "channel/title",
    "channel/description",
    "channel/image/title",
    "channel/category",
    "channel/item/title",
    "channel/item/category",
    "channel/{http://purl.org/dc/elements/1.1/}creator",
    "channel/item/{http://purl.org/dc/elements/1.1/}creator",
)
ATOM_TEXT = ("title", "subtitle", "summary", "rights")
_END_TAG = re.compile(r"</(\w+)>")
_REFERENCE = re.compile(r"&(#?\w+)")


def plain_text_warnings(fmt: str, body: bytes) -> list[str]:
    """What the validator's plain-text rules say of an RSS or Atom document."""
    root = xml(body)
    lines = body.decode("utf-8").split("\n")
    found: list[tuple[etree._Element, str, str]] = []  # (element, where, value)
    if fmt == "rss":
        for path in RSS_PLAIN:
            found += [(e, path, e.text or "") for e in root.iterfind(path)]
    else:
        for element in root.iter(f"{ATOM}*"):
            name = element.tag.removeprefix(ATOM)
            if name in ATOM_TEXT and element.get("type", "text") == "text":
                found.append((element, name, element.text or ""))
            elif name == "name":
                found.append((element, "author name", element.text or ""))
            elif name == "category" and element.get("label") is not None:
                found.append((element, "category label", element.get("label")))
            elif name == "link" and element.get("title") is not None:
                found.append((element, "link title", element.get("title")))
    for element in root.iter(f"{MEDIA}title"):
        if element.get("type", "plain") == "plain":
            found.append((element, "media:title", element.text or ""))
    warnings = []
    for element, where, value in found:
        first = element.sourceline - 1
        hexadecimal = any("&#x" in line for line in lines[first : first + value.count("\n") + 1])
        if _END_TAG.search(value):
            warnings.append(f"ContainsHTML in {where}: {value!r}")
        elif _REFERENCE.search(value):
            for name in _REFERENCE.findall(value):
                named = name in name2codepoint or name == "apos" or not name.isalpha()
                if named and not hexadecimal:
                    warnings.append(f"ContainsHTML in {where}: &{name}; in {value!r}")
        elif fmt == "rss" and re.search("&#[x0-9]|<[/a-zA-Z]", value) and not hexadecimal:
            warnings.append(f"CharacterData in {where}: {value!r}")
    return warnings
