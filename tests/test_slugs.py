"""Topic slugs: readable ASCII, decided by the name alone, never shared; old slugs redirect."""

from __future__ import annotations

import re

import pytest

from feedsvc.content.slugs import legacy_slugs, readable_slug, topic_key, topic_slug

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("AI", "ai"),
        ("Computer Vision", "computer-vision"),
        ("  Computer   Vision ", "computer-vision"),
    ],
)
def test_plain_names_are_their_slug(name, slug):
    assert topic_slug(topic_key(name)) == slug


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        ("C++", "c-plus-plus"),
        ("C#", "c-sharp"),
        ("R&D", "r-and-d"),
        ("Café Society", "cafe-society"),
        ("Node.js", "node-js"),
        ("Batteries Drone Москва", "batteries-drone-moskva"),
        ("Finance Sensor ½", "finance-sensor-one-half"),
        ("東京", "dongjing"),
        ("Prices in €", "prices-in-eur"),
    ],
)
def test_other_names_read_as_themselves_and_carry_a_hash(name, readable):
    key = topic_key(name)
    assert readable_slug(key) == readable
    assert re.fullmatch(re.escape(readable) + "-[0-9a-f]{8}", topic_slug(key))


def test_a_fraction_never_reads_as_a_number():
    assert "12" not in topic_slug(topic_key("Finance Sensor ½"))
    assert topic_slug(topic_key("Finance Sensor ½")) != topic_slug(topic_key("Finance Sensor 12"))


@pytest.mark.parametrize(
    "names",
    [
        ["C++", "C", "C#", "c plus plus"],
        ["Node.js", "Node JS", "node-js", "NODE_JS"],
        ["人工知能", "機械学習", "😀", "🙂"],
        ["AI!", "AI?", "AI"],
        ["Batteries Drone", "Batteries Drone Москва", "batteries drone moskva"],
        ["model 1a2b3c4d", "model"],  # a plain name that looks hashed
    ],
)
def test_different_topics_never_share_a_slug(names):
    keys = {topic_key(n) for n in names}
    slugs = {topic_slug(key) for key in keys}
    assert len(slugs) == len(keys)
    for slug in slugs:
        assert SLUG.fullmatch(slug), slug


def test_a_slug_does_not_depend_on_other_names():
    alone = topic_slug("batteries drone москва")
    # The earlier rule gave it "batteries-drone" until a plain "Batteries Drone" came.
    assert alone != "batteries-drone"
    assert topic_slug("batteries drone") == "batteries-drone"
    assert topic_slug("batteries drone москва") == alone


def test_legacy_slugs_are_what_the_earlier_rule_gave():
    legacy = legacy_slugs(["batteries drone москва", "node js", "node.js", "c++"])
    assert "batteries-drone" in legacy["batteries drone москва"]  # alone, so unhashed
    assert legacy["node js"] >= {"node-js"}
    assert "node-js" not in legacy["node.js"]  # the plain one had it
    assert "c-plus-plus" in legacy["c++"]
    # Latin names kept the same hashed form, so their hashed URL is still canonical.
    assert topic_slug("node.js") in legacy["node.js"]


# What the earlier rule gave these names in one store (computed by that code, as the
# catalog, OPML, pages and self links advertised them).
EARLIER = {
    "Batteries Drone Москва": "batteries-drone",
    "C++": "c-plus-plus",
    "Café": "cafe",
    "Finance Sensor ½": "finance-sensor-12",
    "Node JS": "node-js",
    "Node.js": "node-js-9d676bb2",
    "東京": "t-bd8aa045",
}


def test_every_url_the_earlier_rule_advertised_still_serves_its_topic(store_dir):
    from feedcheck import read, shown

    for n, name in enumerate(EARLIER):
        store_dir.add_numbered(n, topics=[name])
    client = store_dir.app().test_client()
    for name, old in EARLIER.items():
        response = client.get(f"/topics/{old}/feed.rss")
        new = topic_slug(topic_key(name))
        if old == new:
            assert response.status_code == 200
        else:
            assert response.status_code == 301
            assert response.location == f"/topics/{new}/feed.rss"
            response = client.get(response.location)
        assert shown(read(response.data).feed.title_detail) == f"feedsvc: {name}"
