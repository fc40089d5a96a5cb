"""The fast front-matter path gives PyYAML's result exactly, or steps aside."""

from __future__ import annotations

import pytest
import yaml
from conftest import SAMPLE, article, front_matter

from feedsvc import articles, fastyaml


def pyyaml(text: str) -> object:
    return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - safe loader


def stripped(path) -> str:
    front = articles.front_matter(path.read_text(encoding="utf-8"))
    return articles._SECURED.sub("", front + "\n", count=1)


@pytest.mark.parametrize("path", sorted(SAMPLE.glob("*.txt")), ids=lambda p: p.name)
def test_the_samples_take_the_fast_path_with_the_same_result(path):
    text = stripped(path)
    fast = fastyaml.load(text)
    assert fast is not None
    assert fast == pyyaml(text)


def test_a_dumped_article_is_read_alike():
    text = front_matter(article(title="Café “quoted” 🚀")).strip("-\n") + "\n"
    assert fastyaml.load(text) in (None, pyyaml(text))


@pytest.mark.parametrize(
    "text",
    [
        # YAML 1.1 and 1.2 read these plain scalars differently.
        "published: yes\n",
        "published: on\n",
        "published: No\n",
        "quality: 012\n",
        "quality: 1_000\n",
        "quality: 0x1F\n",
        "heat: 1e3\n",
        "heat: 1:20\n",
        "title: ~\n",
        "title: null\n",
        # Dates: a quoted one stays text, a plain one is a datetime, a bad one an error.
        'publishedDateTime: "2020-04-17T09:31:00Z"\n',
        "publishedDateTime: 2020-04-17T09:31:00Z\n",
        "publishedDateTime: 2020-04-17T09:31:00.1234567+02:00\n",
        "publishedDateTime: 2020-04-17\n",
        "publishedDateTime:   2020-04-17T09:31:00Z\n",
        "topics:\n  -   2020-04-17T09:31:00Z\n",
        'a: 2020-04-17T09:31:00Z\nb: "2020-04-17T09:31:00Z"\n',
        # Structures and characters where parsers are known to differ.
        "title: a\ntitle: b\n",
        "title: &a x\nexcerpt: *a\n",
        "<<: {title: x}\n",
        "title: !!str 1\n",
        'title: "line\u2028break"\n',
        'title: "nel\x85here"\n',
        'title: "\\ud800"\n',
        "title: plain\n  continued\n",
        "title: 'single'\n",
        "yes: key\n",
        "topics: [a, b]\n",
        "title:\tx\n",
        "title: x # comment\n",
        "- a\n- b\n",
        'images: []\nrelated:\n  - title: x\n    webUrl: "https://e.com/"\n',
    ],
)
def test_the_fast_path_agrees_with_pyyaml_or_steps_aside(text):
    try:
        expected = pyyaml(text)
    except (yaml.YAMLError, ValueError) as exc:
        expected = type(exc)
    try:
        fast = fastyaml.load(text)
    except ValueError as exc:
        fast = type(exc)
    assert fast is None or fast == expected


def test_a_day_that_does_not_exist_fails_as_pyyaml_fails():
    text = "publishedDateTime: 2021-02-31T09:31:00Z\n"
    with pytest.raises(ValueError):
        pyyaml(text)
    with pytest.raises(ValueError):
        fastyaml.load(text)


def test_without_yaml_rs_everything_goes_to_pyyaml(monkeypatch):
    monkeypatch.setattr(fastyaml, "yaml_rs", None)
    text = stripped(sorted(SAMPLE.glob("*.txt"))[0])
    assert fastyaml.load(text) is None
    assert articles._parse_yaml(text) == {k: v for k, v in pyyaml(text).items()}
