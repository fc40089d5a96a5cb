"""Topic slugs: readable, ASCII, one per topic, never shared."""

from __future__ import annotations

import re

import pytest

from feedsvc.content.slugs import assign_slugs, readable_slug, topic_key


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("AI", "ai"),
        ("Computer Vision", "computer-vision"),
        ("  Computer   Vision ", "computer-vision"),
        ("C++", "c-plus-plus"),
        ("C#", "c-sharp"),
        ("R&D", "r-and-d"),
        ("Café Society", "cafe-society"),
        ("Node.js", "node-js"),
    ],
)
def test_readable_slugs(name, slug):
    assert readable_slug(topic_key(name)) == slug
    assert assign_slugs([topic_key(name)]) == {topic_key(name): slug}


@pytest.mark.parametrize(
    "names", [("AI", "ai", "Ai "), ("Computer Vision", "computer  vision", "COMPUTER VISION")]
)
def test_case_and_spacing_make_one_topic(names):
    assert len({topic_key(n) for n in names}) == 1


@pytest.mark.parametrize(
    "names",
    [
        ["C++", "C", "C#", "c plus plus"],
        ["Node.js", "Node JS", "node-js", "NODE_JS"],
        ["人工知能", "機械学習", "😀"],
        ["AI!", "AI?", "AI"],
    ],
)
def test_different_topics_never_share_a_slug(names):
    keys = [topic_key(n) for n in names]
    slugs = assign_slugs(keys)
    assert len(set(slugs.values())) == len(set(keys))
    for slug in slugs.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug


def test_plain_topic_keeps_its_slug_when_a_lookalike_appears():
    alone = assign_slugs(["node js"])
    together = assign_slugs(["node js", "node.js"])
    assert alone["node js"] == together["node js"] == "node-js"
    assert together["node.js"].startswith("node-js-")


def test_slugs_do_not_depend_on_order():
    keys = ["ai!", "ai?", "ai", "c++", "c"]
    assert assign_slugs(keys) == assign_slugs(list(reversed(keys)))
