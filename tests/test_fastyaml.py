"""The fast front-matter path gives PyYAML's result exactly, or steps aside."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from conftest import SAMPLE, article, front_matter

from feedsvc.content import articles, fastyaml, frontmatter


def fast_load(text: str) -> object:
    return fastyaml.load(text, frontmatter.MAX_DEPTH, frontmatter.MAX_NODES)


def pyyaml(text: str) -> object:
    return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - safe loader


def stripped(path) -> str:
    front = frontmatter.front_matter(path.read_text(encoding="utf-8"))
    return frontmatter._SECURED.sub("", front + "\n", count=1)


@pytest.mark.parametrize("path", sorted(SAMPLE.glob("*.txt")), ids=lambda p: p.name)
def test_the_samples_take_the_fast_path_with_the_same_result(path):
    text = stripped(path)
    fast = fast_load(text)
    assert fast is not None
    assert fast == pyyaml(text)


def test_a_dumped_article_is_read_alike():
    text = front_matter(article(title="Café “quoted” 🚀")).strip("-\n") + "\n"
    assert fast_load(text) in (None, pyyaml(text))


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
        fast = fast_load(text)
    except ValueError as exc:
        fast = type(exc)
    assert fast is None or fast == expected


@pytest.mark.parametrize("stamp", ["2021-02-31T09:31:00Z", "2021-02-01T24:00:00Z"])
def test_a_date_that_does_not_exist_reads_alike_on_both_paths(stamp, monkeypatch):
    text = f"publishedDateTime: {stamp}\n"
    assert fast_load(text) is None  # the article loader decides what it means
    raw = f"---\ntitle: t\nwebUrl: https://e.example/\n{text}---\n".encode()
    with_fast = articles.read_article(raw, "a.txt")
    monkeypatch.setattr(fastyaml, "yaml_rs", None)
    assert articles.read_article(raw, "a.txt") == with_fast
    assert "publishedDateTime" in with_fast.reason


def test_without_yaml_rs_everything_goes_to_pyyaml(monkeypatch):
    monkeypatch.setattr(fastyaml, "yaml_rs", None)
    text = stripped(sorted(SAMPLE.glob("*.txt"))[0])
    assert fast_load(text) is None
    assert frontmatter.parse_yaml(text) == {k: v for k, v in pyyaml(text).items()}


@pytest.mark.parametrize(
    "text",
    [
        "topics:\n  " + "- " * 100_000 + "x\n",
        "".join(" " * i + f"k{i}:\n" for i in range(500)) + " " * 500 + "k: v\n",
        "topics:\n" + "  - x\n" * 30_000,
    ],
    ids=["dashes", "indents", "values"],
)
def test_deep_or_huge_front_matter_goes_to_the_bounded_parser(text):
    # yaml_rs recurses without a limit: 100k nested dashes crash the process.
    assert fast_load(text) is None
    script = (
        "import sys; from feedsvc.content.articles import read_article;"
        "print(read_article(sys.stdin.buffer.read(), 'deep.txt').reason)"
    )
    raw = ("---\ntitle: t\n" + text + "---\n").encode()
    done = subprocess.run(
        [sys.executable, "-c", script], input=raw, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert b"nested deeper than" in done.stdout or b"more than" in done.stdout


def test_front_matter_just_inside_the_bounds_still_takes_the_fast_path():
    text = "topics:\n" + "  - x\n" * 1_000 + "".join(" " * i + f"k{i}:\n" for i in range(20))
    text += " " * 20 + "k: v\n"
    assert fast_load(text) == pyyaml(text)
